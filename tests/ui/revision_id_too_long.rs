static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("$MIGRATE_UI_FIXTURES/revision_id_too_long");

fn main() {
    let _ = MIGRATIONS.len();
}
