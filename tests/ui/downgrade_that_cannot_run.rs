static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/downgrade_that_cannot_run", replay);

fn main() {
    let _ = MIGRATIONS.len();
}
