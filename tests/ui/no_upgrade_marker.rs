static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/no_upgrade_marker");

fn main() {
    let _ = MIGRATIONS.len();
}
