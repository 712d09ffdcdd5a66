static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/unknown_depends_on");

fn main() {
    let _ = MIGRATIONS.len();
}
