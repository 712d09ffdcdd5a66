static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("$MIGRATE_UI_FIXTURES/revision_id_dash");

fn main() {
    let _ = MIGRATIONS.len();
}
