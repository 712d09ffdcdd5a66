static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("$MIGRATE_UI_FIXTURES/two_mistakes_in_two_files");

fn main() {
    let _ = MIGRATIONS.len();
}
