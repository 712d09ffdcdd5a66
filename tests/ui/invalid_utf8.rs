static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("$MIGRATE_UI_FIXTURES/invalid_utf8");

fn main() {
    let _ = MIGRATIONS.len();
}
