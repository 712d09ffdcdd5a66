static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("$MIGRATE_UI_FIXTURES/unknown_depends_on");

fn main() {
    let _ = MIGRATIONS.len();
}
