static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/unknown_parent");

fn main() {
    let _ = MIGRATIONS.len();
}
