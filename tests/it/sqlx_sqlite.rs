//! `sqlite::SqlxSqlite`: migrations on a `SqliteConnection` of the bot's
//! sqlx 0.9 pool, under both runtime flavours. The run is the SQLite
//! backend's own (one transaction, the write lock, the drift refusal) on
//! the pool's handle, and the connection goes back to the pool as sqlx
//! configured it.

use crate::sets::{leaked, runtimes, set_of, REFERENCE};
use migrate_kit::sqlite::SqlxSqlite;
use migrate_kit::{BackendError, Migrations, RunError, StartError, Startup};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::SqlitePool;
use std::error::Error;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use tokio::runtime::Builder;

type BoxError = Box<dyn Error + Send + Sync>;

/// A pool on `url` as a bot opens it: the file created when missing, and a
/// busy timeout of its own that a run must not change for good.
async fn pool(url: &str, connections: u32) -> SqlitePool {
    let options = SqliteConnectOptions::from_str(url)
        .unwrap()
        .create_if_missing(true)
        .busy_timeout(Duration::from_millis(4321));
    SqlitePoolOptions::new()
        .max_connections(connections)
        .connect_with(options)
        .await
        .unwrap()
}

/// The `sqlite://` URL of the database file at `path`.
fn file_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// The start-up on a connection of `pool`, as docs/embedding.md writes it.
async fn start(pool: SqlitePool, set: &'static Migrations) -> Result<Startup, BoxError> {
    let mut conn = pool.acquire().await?;
    let mut db = SqlxSqlite::lock(&mut conn).await?;
    Ok(set.start(&mut db)?)
}

async fn count(pool: &SqlitePool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[test]
fn eight_starts_on_one_pool_apply_each_migration_once() {
    let set = leaked(Migrations::from_dir(REFERENCE).unwrap());
    for (flavor, runtime) in runtimes() {
        let dir = tempfile::TempDir::new().unwrap();
        let url = file_url(&dir.path().join("bot.db"));
        runtime.block_on(async {
            let pool = pool(&url, 8).await;
            let starts: Vec<_> = (0..8)
                .map(|_| tokio::spawn(start(pool.clone(), set)))
                .collect();
            let mut applied = 0;
            for handle in starts {
                let startup = handle.await.unwrap().unwrap();
                applied += startup.run.steps.len();
                assert_eq!(startup.run.heads_after, ["003"], "{flavor}");
            }
            assert_eq!(applied, set.len(), "{flavor}");
            let sql = "SELECT count(*) FROM migrate_applied";
            assert_eq!(count(&pool, sql).await, set.len() as i64, "{flavor}");
            // The pool's connections read and write the migrated schema.
            sqlx::query("INSERT INTO users (telegram_id, full_name) VALUES (7, 'Ivan')")
                .execute(&pool)
                .await
                .unwrap();
            assert_eq!(count(&pool, "SELECT count(*) FROM users").await, 1);
        });
    }
}

#[test]
fn a_failing_migration_rolls_back_and_the_connection_is_as_sqlx_set_it() {
    let dir = tempfile::TempDir::new().unwrap();
    let set = set_of(
        dir.path(),
        &[
            ("001_ok.sql", "-- revision: 001\n-- down_revision: None\n-- message: ok\n\n-- migrate:upgrade\nCREATE TABLE repairs (id INTEGER PRIMARY KEY);\n"),
            ("002_broken.sql", "-- revision: 002\n-- down_revision: 001\n-- message: broken\n\n-- migrate:upgrade\nALTER TABLE repairs ADD COLUMN status TEXT;\nINSERT INTO no_such_table VALUES (1);\n"),
        ],
    );
    for (flavor, runtime) in runtimes() {
        let url = file_url(&dir.path().join(format!("{flavor}.db")));
        runtime.block_on(async {
            let pool = pool(&url, 1).await;
            let mut conn = pool.acquire().await.unwrap();
            let mut db = SqlxSqlite::lock(&mut conn).await.unwrap();
            let error = set.start(&mut db).unwrap_err();
            drop(db);
            let StartError::Run(RunError::Statement(statement)) = &error else {
                panic!("{flavor}: {error:?}");
            };
            assert_eq!(statement.revision, "002", "{flavor}");
            assert!(statement.path.ends_with("002_broken.sql"), "{flavor}");
            assert_eq!(statement.line, 7, "{flavor}");
            // One transaction: neither the first migration nor the ledger stayed.
            let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_schema")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(tables, 0, "{flavor}");
            // sqlx's settings are back: foreign keys on, its busy timeout.
            let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(foreign_keys, 1, "{flavor}");
            let busy_timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(busy_timeout, 4321, "{flavor}");
            // And sqlx's own transactions work on it.
            let mut transaction = sqlx::Acquire::begin(&mut *conn).await.unwrap();
            sqlx::query("CREATE TABLE notes (id INTEGER)")
                .execute(&mut *transaction)
                .await
                .unwrap();
            transaction.commit().await.unwrap();
        });
    }
}

#[test]
fn an_in_memory_database_of_the_pool_is_migrated_in_place() {
    let set = leaked(Migrations::from_dir(REFERENCE).unwrap());
    let runtime = Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        // One connection holds the whole database: a connection of
        // migrate's own could never reach it.
        let pool = pool("sqlite::memory:", 1).await;
        let startup = start(pool.clone(), set).await.unwrap();
        assert_eq!(startup.run.steps.len(), set.len());
        let sql = "SELECT count(*) FROM migrate_applied";
        assert_eq!(count(&pool, sql).await, set.len() as i64);
        let mut conn = pool.acquire().await.unwrap();
        let mut db = SqlxSqlite::lock(&mut conn).await.unwrap();
        assert_eq!(migrate_kit::current(&mut db).unwrap(), ["003"]);
        drop(db);
        // The same connection, sqlx's again.
        let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(users, 0);
    });
}

/// The borrowed `rusqlite::Connection` is never dropped, since rusqlite
/// 0.32 with its `hooks` feature unregisters every hook of a handle it
/// drops; this build's rusqlite keeps hooks in SQLite's client data.
#[test]
fn the_hooks_sqlx_set_on_the_connection_survive_a_run() {
    let set = leaked(Migrations::from_dir(REFERENCE).unwrap());
    let runtime = Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let pool = pool("sqlite::memory:", 1).await;
        let mut conn = pool.acquire().await.unwrap();
        let (updates, heard) = std::sync::mpsc::channel();
        conn.lock_handle()
            .await
            .unwrap()
            .set_update_hook(move |update| {
                let _ = updates.send(update.table.to_owned());
            });
        let mut db = SqlxSqlite::lock(&mut conn).await.unwrap();
        set.start(&mut db).unwrap();
        drop(db);
        while heard.try_recv().is_ok() {}
        sqlx::query("INSERT INTO users (telegram_id, full_name) VALUES (7, 'Ivan')")
            .execute(&mut *conn)
            .await
            .unwrap();
        assert_eq!(heard.try_recv().as_deref(), Ok("users"));
    });
}

#[test]
fn an_edited_applied_file_is_refused_before_anything_runs() {
    let dir = tempfile::TempDir::new().unwrap();
    let versions = dir.path().join("versions");
    std::fs::create_dir_all(&versions).unwrap();
    for entry in std::fs::read_dir(Path::new(REFERENCE).join("versions")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, versions.join(path.file_name().unwrap())).unwrap();
    }
    let url = file_url(&dir.path().join("bot.db"));
    let runtime = Builder::new_multi_thread().enable_all().build().unwrap();
    let pool = runtime.block_on(pool(&url, 1));
    let set = Migrations::from_dir(dir.path()).unwrap();
    runtime.block_on(async {
        let mut conn = pool.acquire().await.unwrap();
        let mut db = SqlxSqlite::lock(&mut conn).await.unwrap();
        set.upgrade(&mut db, "002").unwrap();
    });
    let edited = versions.join("002_add_phone_number_to_users.sql");
    let text = std::fs::read_to_string(&edited).unwrap();
    std::fs::write(&edited, format!("{text}\n-- edited after it was applied\n")).unwrap();
    let set = Migrations::from_dir(dir.path()).unwrap();
    let (error, heads) = runtime.block_on(async {
        let mut conn = pool.acquire().await.unwrap();
        let mut db = SqlxSqlite::lock(&mut conn).await.unwrap();
        let error = set.start(&mut db).unwrap_err();
        (error, migrate_kit::current(&mut db).unwrap())
    });
    let StartError::Drift(drift) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(drift.report.modified.len(), 1);
    assert_eq!(drift.report.modified[0].revision, "002");
    assert_eq!(heads, ["002"], "nothing ran");
}

#[test]
fn a_connection_inside_a_sqlx_transaction_is_refused_and_the_transaction_kept() {
    let set = leaked(Migrations::from_dir(REFERENCE).unwrap());
    for (flavor, runtime) in runtimes() {
        let dir = tempfile::TempDir::new().unwrap();
        let url = file_url(&dir.path().join("bot.db"));
        runtime.block_on(async {
            let pool = pool(&url, 1).await;
            let mut conn = pool.acquire().await.unwrap();
            set.upgrade(&mut SqlxSqlite::lock(&mut conn).await.unwrap(), "001")
                .unwrap();
            drop(conn);
            let mut tx = pool.begin().await.unwrap();
            sqlx::query("INSERT INTO users (telegram_id, full_name) VALUES (7, 'kept')")
                .execute(&mut *tx)
                .await
                .unwrap();
            let mut db = SqlxSqlite::lock(&mut tx).await.unwrap();
            let error = set.start(&mut db).unwrap_err();
            drop(db);
            assert!(
                matches!(
                    error,
                    StartError::Run(RunError::Backend(BackendError::InTransaction))
                ),
                "{flavor}: {error:?}"
            );
            assert!(format!("{error:?}").contains("Commit or roll back"));
            tx.commit().await.unwrap();
            let kept = "SELECT count(*) FROM users WHERE full_name = 'kept'";
            assert_eq!(count(&pool, kept).await, 1, "{flavor}");
            let at: String = sqlx::query_scalar("SELECT version_num FROM alembic_version")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(at, "001", "{flavor}: nothing ran");
        });
    }
}

/// A task that holds the lock across an await can still be spawned.
#[test]
fn the_lock_can_be_held_by_a_spawned_task() {
    fn send<T: Send>() {}
    send::<SqlxSqlite<'static>>();
}
