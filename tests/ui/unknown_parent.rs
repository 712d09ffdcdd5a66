static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("$MIGRATE_UI_FIXTURES/unknown_parent");

fn main() {
    let _ = MIGRATIONS.len();
}
