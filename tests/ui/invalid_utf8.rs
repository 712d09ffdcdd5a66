static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("$MIGRATE_UI_FIXTURES/invalid_utf8");

fn main() {
    let _ = MIGRATIONS.len();
}
