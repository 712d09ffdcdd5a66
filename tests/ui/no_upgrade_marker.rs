static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("$MIGRATE_UI_FIXTURES/no_upgrade_marker");

fn main() {
    let _ = MIGRATIONS.len();
}
