static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/upgrade_only_comments");

fn main() {
    let _ = MIGRATIONS.len();
}
