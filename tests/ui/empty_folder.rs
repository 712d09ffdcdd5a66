static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("$MIGRATE_UI_FIXTURES/empty_folder");

fn main() {
    let _ = MIGRATIONS.len();
}
