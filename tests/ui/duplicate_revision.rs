static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("$MIGRATE_UI_FIXTURES/duplicate_revision");

fn main() {
    let _ = MIGRATIONS.len();
}
