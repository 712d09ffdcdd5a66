//! `#[migrate_kit::test]`: each test gets a database of its own, migrated by
//! the embedded folder (to head, or to the revision `to` names), for sync
//! and async tests, removed when the test ends.

use migrate_kit::TestDatabase;
use rusqlite::Connection;

/// The test's own connection to its database (SQLite here: no
/// `DATABASE_URL` names a server in this suite).
fn open(db: &TestDatabase) -> Connection {
    open_url(db.url())
}

fn open_url(url: &str) -> Connection {
    Connection::open(url.trim_start_matches("sqlite://")).unwrap()
}

fn version(conn: &Connection) -> String {
    conn.query_row("SELECT version_num FROM alembic_version", [], |r| r.get(0))
        .unwrap()
}

#[migrate_kit::test("migrations")]
fn a_test_gets_a_fresh_database_at_head(db: TestDatabase) {
    let conn = open(&db);
    assert_eq!(version(&conn), "003");
    let users: i64 = conn
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(users, 0);
    conn.execute(
        "INSERT INTO users (telegram_id, full_name) VALUES (1, 'Ivan')",
        [],
    )
    .unwrap();
}

#[migrate_kit::test("migrations")]
fn no_two_tests_share_one(db: TestDatabase) {
    // The test above inserts telegram_id 1 in its own database.
    let conn = open(&db);
    conn.execute(
        "INSERT INTO users (telegram_id, full_name) VALUES (1, 'Olga')",
        [],
    )
    .unwrap();
}

#[migrate_kit::test("migrations", to = "002")]
fn the_next_migration_runs_on_rows_inserted_before_it(mut db: TestDatabase) {
    let conn = open(&db);
    assert_eq!(version(&conn), "002");
    conn.execute(
        "INSERT INTO users (telegram_id, full_name, phone_number) VALUES (7, 'Ivan', '+7 900')",
        [],
    )
    .unwrap();
    let report = db.upgrade("head").unwrap();
    assert_eq!(report.heads_after, ["003"]);
    let phone: String = conn
        .query_row(
            "SELECT phone_number FROM users WHERE telegram_id = 7",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(phone, "+7 900");
}

#[migrate_kit::test("migrations")]
async fn an_async_test_gets_one_too(db: TestDatabase) {
    let url = db.url().to_owned();
    let heads = tokio::task::spawn_blocking(move || version(&open_url(&url)))
        .await
        .unwrap();
    assert_eq!(heads, "003");
}

#[test]
fn the_database_is_removed_when_the_test_ends() {
    static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("migrations");
    let db = TestDatabase::new(&MIGRATIONS).unwrap();
    let file = std::path::PathBuf::from(db.url().trim_start_matches("sqlite://"));
    assert!(file.exists());
    drop(db);
    assert!(!file.exists() && !file.parent().unwrap().exists());
}

/// Run by the next test in a process of its own, with `DATABASE_URL`
/// naming the PostgreSQL server.
#[cfg(feature = "postgres")]
#[migrate_kit::test("examples/postgres/migrations", to = "003")]
#[ignore = "run by a_server_test_gets_a_scratch_database_that_is_dropped"]
fn on_the_server(mut db: TestDatabase) {
    let url = db.url().to_owned();
    assert!(url.contains("/migrate_scratch_"), "{url}");
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .execute(
            "INSERT INTO users (telegram_id, full_name) VALUES (7, 'Ivan')",
            &[],
        )
        .unwrap();
    assert_eq!(db.upgrade("head").unwrap().heads_after, ["004"]);
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .unwrap()
        .get(0);
    assert_eq!(users, 1);
    println!("scratch database: {}", url.rsplit('/').next().unwrap());
}

#[cfg(feature = "postgres")]
#[test]
fn a_server_test_gets_a_scratch_database_that_is_dropped() {
    let server = crate::pg::server_url();
    if crate::pg::TestDb::create("test_attribute").is_none() {
        return; // no server, outside CI: said so already
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "test_attribute::on_the_server",
            "--nocapture",
        ])
        .env("DATABASE_URL", &server)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
    let name = stdout
        .lines()
        .find_map(|l| l.strip_prefix("scratch database: "))
        .expect("the test printed its database");
    let mut admin = postgres::Client::connect(&server, postgres::NoTls).unwrap();
    let left: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "{name} was not dropped");
}

/// Run by the next test in a process of its own, with a `DATABASE_URL`
/// that names no database this crate opens.
#[test]
#[ignore = "run by an_unusable_database_url_is_refused_not_tested_around"]
fn with_an_unusable_database_url() {
    static MIGRATIONS: migrate_kit::Migrations = migrate_kit::embed_migrations!("migrations");
    let error = TestDatabase::new(&MIGRATIONS).unwrap_err().to_string();
    assert!(
        error.starts_with("DATABASE_URL names the server") && error.contains("mysql"),
        "{error}"
    );
}

#[test]
fn an_unusable_database_url_is_refused_not_tested_around() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "test_attribute::with_an_unusable_database_url",
        ])
        .env("DATABASE_URL", "mysql://shop@db/bot")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
