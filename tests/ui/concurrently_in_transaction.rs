static MIGRATIONS: migrate::Migrations =
    migrate::embed_migrations!("$MIGRATE_UI_FIXTURES/concurrently_in_transaction");

fn main() {
    let _ = MIGRATIONS.len();
}
