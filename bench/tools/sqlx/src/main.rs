//! `bench-sqlx MODE DIR REPEATS`: times sqlx's `migrate!` on SQLite with
//! the migrations embedded from `migrations/`. Modes: `apply` (sqlx's
//! defaults, a transaction per migration) and `check` (a run with nothing
//! to apply, which validates checksums). Prints one JSON line, samples in
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
    let (mode, dir, repeats) = (&args[1], Path::new(&args[2]), args[3].parse().unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut samples = Vec::new();
        let checked = dir.join("checked.db");
        if mode == "check" {
            apply(&checked).await;
        }
        for i in 0..repeats {
            let db = dir.join(format!("sample{i}.db"));
            let started = Instant::now();
            match mode.as_str() {
                "apply" => apply(&db).await,
                "check" => apply(&checked).await,
                other => panic!("unknown mode {other}"),
            }
            samples.push(started.elapsed().as_micros());
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
            }
        }
        let version = sqlite_version().await;
        println!("{{\"sqlite\":\"{version}\",\"samples_us\":{samples:?}}}");
    });
}
