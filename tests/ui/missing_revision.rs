static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("$MIGRATE_UI_FIXTURES/missing_revision");

fn main() {
    let _ = MIGRATIONS.len();
}
