static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("$MIGRATE_UI_FIXTURES/unknown_parent");

fn main() {
    let _ = MIGRATIONS.len();
}
