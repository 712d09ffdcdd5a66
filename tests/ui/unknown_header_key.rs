static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/unknown_header_key");

fn main() {
    let _ = MIGRATIONS.len();
}
