static MIGRATIONS: migrate::Migrations =
    migrate::embed_migrations!("../../../../tests/fixtures/concurrently_in_transaction");

fn main() {
    let _ = MIGRATIONS.len();
}
