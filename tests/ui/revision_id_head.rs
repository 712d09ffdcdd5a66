static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/revision_id_head");

fn main() {
    let _ = MIGRATIONS.len();
}
