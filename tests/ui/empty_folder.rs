static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/empty_folder");

fn main() {
    let _ = MIGRATIONS.len();
}
