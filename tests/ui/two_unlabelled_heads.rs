static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/two_unlabelled_heads");

fn main() {
    let _ = MIGRATIONS.len();
}
