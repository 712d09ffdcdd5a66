static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("$MIGRATE_UI_FIXTURES/cycle_of_three");

fn main() {
    let _ = MIGRATIONS.len();
}
