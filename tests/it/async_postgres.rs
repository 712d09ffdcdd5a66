//! The async API on the bot's own connection (`tokio_postgres::Client`, a
//! deadpool-postgres object, `Postgres` over one), on the real server under
//! both runtime flavours: the same lock, one transaction per run,
//! checksums and drift refusal as the blocking API.

use crate::pg::TestDb;
use crate::sets::{leaked, runtimes, set_of, SERVER_SET};
use migrate_kit::postgres::{Postgres, ServerSettings};
use migrate_kit::{BackendError, Migrations, RunError, StartError};
use std::path::Path;
use tokio::runtime::Builder;

/// A client whose connection runs on the current runtime.
async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// The server set without its `transactional: false` migration, in a
/// folder of its own.
fn transactional_set(dir: &Path) -> Migrations {
    let versions = dir.join("versions");
    std::fs::create_dir_all(&versions).unwrap();
    for entry in std::fs::read_dir(Path::new(SERVER_SET).join("versions")).unwrap() {
        let path = entry.unwrap().path();
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("004")
        {
            std::fs::copy(&path, versions.join(path.file_name().unwrap())).unwrap();
        }
    }
    Migrations::from_dir(dir).unwrap()
}

/// Eight tasks start at once, each on a connection of its own: every
/// migration is applied once, by one of them, and all end at head.
async fn eight_starts(url: String, set: &'static Migrations) -> (usize, Vec<Vec<String>>) {
    let starts: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            // `tokio::spawn` needs the start's future to be `Send`.
            tokio::spawn(async move {
                let mut client = connect(&url).await;
                set.start_async(&mut client).await
            })
        })
        .collect();
    let mut applied = 0;
    let mut heads = Vec::new();
    for start in starts {
        let startup = start.await.unwrap().unwrap();
        applied += startup.run.steps.len();
        heads.push(startup.run.heads_after);
    }
    (applied, heads)
}

#[test]
fn eight_async_starts_apply_each_migration_once() {
    let set = leaked(Migrations::from_dir(SERVER_SET).unwrap());
    for (flavor, runtime) in runtimes() {
        let Some(db) = TestDb::create("async_eight") else {
            return;
        };
        let (applied, heads) = runtime.block_on(eight_starts(db.url().to_owned(), set));
        assert_eq!(applied, set.len(), "{flavor}");
        assert!(heads.iter().all(|h| h == &["004"]), "{flavor}: {heads:?}");
        assert_eq!(
            db.column("SELECT count(*) FROM migrate_applied WHERE checksum IS NOT NULL"),
            [set.len().to_string()],
            "{flavor}"
        );
        assert_eq!(
            db.column(
                "SELECT count(*) FROM migrate_log WHERE operation = 'upgrade' AND outcome = 'ok'"
            ),
            ["1"],
            "{flavor}: one run applied everything"
        );
    }
}

#[test]
fn eight_async_starts_through_pgbouncer_in_transaction_mode() {
    let dir = tempfile::TempDir::new().unwrap();
    let set = leaked(transactional_set(dir.path()));
    let Some(db) = TestDb::create("async_pooler") else {
        return;
    };
    let Some(pooled) = db.pooled_url() else {
        return;
    };
    let runtime = Builder::new_multi_thread().enable_all().build().unwrap();
    let (applied, heads) = runtime.block_on(eight_starts(pooled, set));
    assert_eq!(applied, set.len());
    assert!(heads.iter().all(|h| h == &["003"]), "{heads:?}");
    assert_eq!(
        db.column("SELECT version_num FROM alembic_version"),
        ["003"]
    );
}

#[test]
fn a_deadpool_object_is_migrated_and_goes_back_to_the_pool() {
    let set = leaked(Migrations::from_dir(SERVER_SET).unwrap());
    let Some(db) = TestDb::create("async_deadpool") else {
        return;
    };
    let runtime = Builder::new_current_thread().enable_all().build().unwrap();
    let url = db.url().to_owned();
    let (steps, rows) = runtime.block_on(async move {
        let config: tokio_postgres::Config = url.parse().unwrap();
        let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(2)
            .build()
            .unwrap();
        let mut object = pool.get().await.unwrap();
        let startup = set.start_async(&mut **object).await.unwrap();
        drop(object);
        // The bot's own queries on the same pool see the migrated schema.
        let object = pool.get().await.unwrap();
        let rows = object
            .query("SELECT count(*) FROM settings", &[])
            .await
            .unwrap();
        (startup.run.steps.len(), rows.len())
    });
    assert_eq!(steps, set.len());
    assert_eq!(rows, 1);
}

#[test]
fn a_failing_migration_rolls_back_the_run_and_frees_the_connection() {
    let dir = tempfile::TempDir::new().unwrap();
    let set = set_of(
        dir.path(),
        &[
            ("001_ok.sql", "-- revision: 001\n-- down_revision: None\n-- message: ok\n\n-- migrate:upgrade\nCREATE TABLE repairs (id BIGINT PRIMARY KEY);\n"),
            ("002_broken.sql", "-- revision: 002\n-- down_revision: 001\n-- message: broken\n\n-- migrate:upgrade\nALTER TABLE repairs ADD COLUMN status TEXT;\nINSERT INTO no_such_table VALUES (1);\n"),
        ],
    );
    for (flavor, runtime) in runtimes() {
        let Some(db) = TestDb::create("async_failing") else {
            return;
        };
        let url = db.url().to_owned();
        let (error, after) = runtime.block_on(async {
            let mut client = connect(&url).await;
            let error = set.start_async(&mut client).await.unwrap_err();
            // Out of the failed transaction: the bot's next query works.
            let after = client.simple_query("SELECT 1").await.map(|_| ());
            (error, after)
        });
        let StartError::Run(RunError::Statement(statement)) = &error else {
            panic!("{flavor}: {error:?}");
        };
        assert_eq!(statement.revision, "002", "{flavor}");
        assert!(statement.path.ends_with("002_broken.sql"), "{flavor}");
        assert_eq!(statement.line, 7, "{flavor}");
        assert!(after.is_ok(), "{flavor}: {after:?}");
        // One transaction: neither the first migration nor the ledger stayed.
        assert_eq!(
            db.column("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
            ["0"],
            "{flavor}"
        );
    }
}

#[test]
fn a_run_that_failed_after_a_commit_says_what_is_committed_and_logs_it() {
    let dir = tempfile::TempDir::new().unwrap();
    let set = set_of(
        dir.path(),
        &[
            ("001_ok.sql", "-- revision: 001\n-- down_revision: None\n-- message: ok\n\n-- migrate:upgrade\nCREATE TABLE repairs (id BIGINT PRIMARY KEY, status TEXT);\n"),
            ("002_index.sql", "-- revision: 002\n-- down_revision: 001\n-- message: index\n-- transactional: false\n\n-- migrate:upgrade\nCREATE INDEX CONCURRENTLY ix_repairs_status ON repairs (status);\n"),
            ("003_broken.sql", "-- revision: 003\n-- down_revision: 002\n-- message: broken\n\n-- migrate:upgrade\nALTER TABLE repairs ADD COLUMN note TEXT;\nINSERT INTO no_such_table VALUES (1);\n"),
        ],
    );
    let Some(db) = TestDb::create("async_partly") else {
        return;
    };
    let runtime = Builder::new_multi_thread().enable_all().build().unwrap();
    let url = db.url().to_owned();
    let (error, after) = runtime.block_on(async {
        let mut client = connect(&url).await;
        let error = set.upgrade_async(&mut client, "head").await.unwrap_err();
        let after = client.simple_query("SELECT 1").await.map(|_| ());
        (error, after)
    });
    let RunError::PartlyCommitted {
        cause,
        committed,
        started,
        heads_now,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert!(matches!(**cause, RunError::Statement(_)), "{cause:?}");
    assert_eq!(committed, &["001", "002"]);
    assert_eq!(started, &None);
    assert_eq!(heads_now.as_deref(), Some(&["002".to_owned()][..]));
    assert!(after.is_ok(), "{after:?}");
    assert_eq!(
        db.column("SELECT outcome FROM migrate_log ORDER BY id"),
        ["failed"]
    );
    assert_eq!(
        db.column("SELECT count(*) FROM information_schema.columns WHERE column_name = 'note'"),
        ["0"],
        "the failed migration is rolled back"
    );
}

#[test]
fn an_edited_applied_file_is_refused_before_anything_runs() {
    let dir = tempfile::TempDir::new().unwrap();
    let set = transactional_set(dir.path());
    let Some(db) = TestDb::create("async_drift") else {
        return;
    };
    let runtime = Builder::new_current_thread().enable_all().build().unwrap();
    let url = db.url().to_owned();
    runtime.block_on(async {
        let mut client = connect(&url).await;
        set.upgrade_async(&mut client, "002").await.unwrap();
    });
    let edited = dir
        .path()
        .join("versions/002_add_phone_number_to_users.sql");
    let text = std::fs::read_to_string(&edited).unwrap();
    std::fs::write(&edited, format!("{text}\n-- edited after it was applied\n")).unwrap();
    let set = Migrations::from_dir(dir.path()).unwrap();
    let (error, heads) = runtime.block_on(async {
        let mut client = connect(&url).await;
        let error = set.start_async(&mut client).await.unwrap_err();
        (
            error,
            migrate_kit::current_async(&mut client).await.unwrap(),
        )
    });
    let StartError::Drift(drift) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(drift.report.modified.len(), 1);
    assert_eq!(drift.report.modified[0].revision, "002");
    assert_eq!(heads, ["002"], "nothing ran");
}

#[test]
fn a_client_inside_a_transaction_of_its_own_is_refused_and_the_transaction_kept() {
    let set = Migrations::from_dir(SERVER_SET).unwrap();
    let Some(db) = TestDb::create("async_in_transaction") else {
        return;
    };
    let runtime = Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut client = connect(db.url()).await;
        set.upgrade_async(&mut client, "001").await.unwrap();
        client
            .batch_execute("BEGIN; INSERT INTO users (telegram_id, full_name) VALUES (7, 'kept')")
            .await
            .unwrap();
        let error = set.start_async(&mut client).await.unwrap_err();
        assert!(
            matches!(
                error,
                StartError::Run(RunError::Backend(BackendError::InTransaction))
            ),
            "{error:?}"
        );
        client.batch_execute("COMMIT").await.unwrap();
    });
    assert_eq!(db.column("SELECT full_name FROM users"), ["kept"]);
    assert_eq!(
        db.column("SELECT version_num FROM alembic_version"),
        ["001"],
        "nothing ran"
    );
}

#[test]
fn postgres_over_an_async_client_takes_its_settings() {
    let set = leaked(Migrations::from_dir(SERVER_SET).unwrap());
    let Some(db) = TestDb::create("async_settings") else {
        return;
    };
    let runtime = Builder::new_multi_thread().enable_all().build().unwrap();
    let url = db.url().to_owned();
    let report = runtime.block_on(async move {
        let mut client = connect(&url).await;
        let settings = ServerSettings {
            schema: Some("bot_ledger".to_owned()),
            ..ServerSettings::default()
        };
        let mut pg = Postgres::new(&mut client, settings);
        let verify = set.verify_async(&mut pg).await.unwrap();
        assert!(verify.heads.is_empty());
        set.upgrade_async(&mut pg, "head").await.unwrap()
    });
    assert_eq!(report.steps.len(), set.len());
    assert_eq!(
        db.column("SELECT version_num FROM bot_ledger.alembic_version"),
        ["004"]
    );
}
