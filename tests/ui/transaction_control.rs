static MIGRATIONS: migrate::Migrations =
    migrate::embed_migrations!("../../../../tests/fixtures/transaction_control");

fn main() {
    let _ = MIGRATIONS.len();
}
