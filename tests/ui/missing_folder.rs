static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/missing_folder");

fn main() {
    let _ = MIGRATIONS.len();
}
