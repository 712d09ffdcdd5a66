static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/duplicate_revision");

fn main() {
    let _ = MIGRATIONS.len();
}
