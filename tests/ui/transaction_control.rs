static MIGRATIONS: migrate_kit::Migrations =
    migrate_kit::embed_migrations!("$MIGRATE_UI_FIXTURES/transaction_control");

fn main() {
    let _ = MIGRATIONS.len();
}
