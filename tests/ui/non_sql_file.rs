static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/fixtures/non_sql_file");

fn main() {
    let _ = MIGRATIONS.len();
}
