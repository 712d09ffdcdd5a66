static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("$MIGRATE_UI_FIXTURES/sql_that_cannot_run", replay);

fn main() {
    let _ = MIGRATIONS.len();
}
