static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("$MIGRATE_UI_FIXTURES/upgrade_only_comments");

fn main() {
    let _ = MIGRATIONS.len();
}
