static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("$MIGRATE_UI_FIXTURES/two_unlabelled_heads");

fn main() {
    let _ = MIGRATIONS.len();
}
