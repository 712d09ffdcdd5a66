static MIGRATIONS: migrate_kit::Migrations =
    migrate_kit::embed_migrations!("$MIGRATE_UI_FIXTURES/concurrently_in_transaction");

fn main() {
    let _ = MIGRATIONS.len();
}
