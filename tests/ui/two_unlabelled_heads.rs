static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("$MIGRATE_UI_FIXTURES/two_unlabelled_heads");

fn main() {
    let _ = MIGRATIONS.len();
}
