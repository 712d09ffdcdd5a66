static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/revision_id_too_long");

fn main() {
    let _ = MIGRATIONS.len();
}
