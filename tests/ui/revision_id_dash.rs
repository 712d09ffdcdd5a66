static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/revision_id_dash");

fn main() {
    let _ = MIGRATIONS.len();
}
