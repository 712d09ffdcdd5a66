//! `bench-sqlx MODE DB`: times one operation of sqlx's `migrate!` on
//! SQLite with the migrations embedded from `migrations/`. Modes: `apply` (sqlx's
//! defaults, a transaction per migration) and `check` (a run with nothing
//! to apply, which validates checksums). Prints one JSON line, the time in
//! microseconds.

use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use std::path::Path;
use std::time::Instant;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

async fn apply(db: &Path) {
    let options = SqliteConnectOptions::new()
        .filename(db)
        .create_if_missing(true);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    MIGRATOR.run(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

async fn sqlite_version() -> String {
    let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
    sqlx::query_scalar("SELECT sqlite_version()")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, db) = (args[1].as_str(), Path::new(&args[2]));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    #[cfg(feature = "postgres")]
    if args[2].starts_with("postgres") {
        runtime.block_on(async {
            let started = Instant::now();
            let mut conn = sqlx::PgConnection::connect(&args[2]).await.unwrap();
            MIGRATOR.run(&mut conn).await.unwrap();
            conn.close().await.unwrap();
            println!("{{\"us\":{}}}", started.elapsed().as_micros());
        });
        return;
    }
    runtime.block_on(async {
        let started = Instant::now();
        match mode {
            "apply" | "check" => apply(db).await,
            other => panic!("unknown mode {other}"),
        }
        let us = started.elapsed().as_micros();
        let version = sqlite_version().await;
        println!("{{\"sqlite\":\"{version}\",\"us\":{us}}}");
    });
}
