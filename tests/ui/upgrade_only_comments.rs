static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("$MIGRATE_UI_FIXTURES/upgrade_only_comments");

fn main() {
    let _ = MIGRATIONS.len();
}
