static MIGRATIONS: migrate::Migrations =
    migrate::embed_migrations!("$MIGRATE_UI_FIXTURES/transaction_control");

fn main() {
    let _ = MIGRATIONS.len();
}
