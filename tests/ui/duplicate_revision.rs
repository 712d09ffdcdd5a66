static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("$MIGRATE_UI_FIXTURES/duplicate_revision");

fn main() {
    let _ = MIGRATIONS.len();
}
