static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("$MIGRATE_UI_FIXTURES/missing_folder");

fn main() {
    let _ = MIGRATIONS.len();
}
