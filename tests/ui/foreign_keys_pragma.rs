static MIGRATIONS: migrate::Migrations =
    migrate::embed_migrations!("../../../../tests/fixtures/foreign_keys_pragma");

fn main() {
    let _ = MIGRATIONS.len();
}
