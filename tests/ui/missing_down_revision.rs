static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/missing_down_revision");

fn main() {
    let _ = MIGRATIONS.len();
}
