static MIGRATIONS: migrate_kit::Migrations =
    migrate_kit::embed_migrations!("$MIGRATE_UI_FIXTURES/foreign_keys_pragma");

fn main() {
    let _ = MIGRATIONS.len();
}
