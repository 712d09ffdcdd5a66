static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("$MIGRATE_UI_FIXTURES/downgrade_that_cannot_run", replay);

fn main() {
    let _ = MIGRATIONS.len();
}
