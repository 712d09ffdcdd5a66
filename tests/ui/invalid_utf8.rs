static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/invalid_utf8");

fn main() {
    let _ = MIGRATIONS.len();
}
