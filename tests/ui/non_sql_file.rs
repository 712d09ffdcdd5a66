static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("$MIGRATE_UI_FIXTURES/non_sql_file");

fn main() {
    let _ = MIGRATIONS.len();
}
