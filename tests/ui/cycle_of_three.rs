static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/cycle_of_three");

fn main() {
    let _ = MIGRATIONS.len();
}
