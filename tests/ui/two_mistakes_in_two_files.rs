static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/two_mistakes_in_two_files");

fn main() {
    let _ = MIGRATIONS.len();
}
