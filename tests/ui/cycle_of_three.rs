static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("$MIGRATE_UI_FIXTURES/cycle_of_three");

fn main() {
    let _ = MIGRATIONS.len();
}
