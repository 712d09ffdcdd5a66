//! The runner, drift detection, the lock and failures on a real PostgreSQL
//! server; each test in a database of its own.

use crate::pg::TestDb;
use crate::support::{migration, write_folder};
use migrate_kit_core::postgres::{LockMode, Postgres, ServerSettings};
use migrate_kit_core::{BackendError, LedgerError, Migrations, RunError, RunOptions, Target};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/postgres/migrations"
);

fn example() -> Migrations {
    Migrations::from_dir(EXAMPLE).unwrap()
}

fn with_settings(db: &TestDb, settings: ServerSettings) -> Postgres {
    Postgres::new(db.connect(), settings)
}

#[test]
fn the_example_upgrades_verifies_and_downgrades_with_a_bare_client() {
    let Some(db) = TestDb::create("example") else {
        return;
    };
    let set = example();
    let mut client = db.connect();
    let report = set.upgrade(&mut client, "head").unwrap();
    assert_eq!(report.heads_after, ["004"]);
    assert_eq!(report.steps.len(), 4);
    assert_eq!(
        db.column("SELECT version_num FROM alembic_version"),
        ["004"]
    );
    assert_eq!(
        db.column("SELECT revision || ':' || status FROM migrate_applied ORDER BY seq"),
        ["001:applied", "002:applied", "003:applied", "004:applied"]
    );
    // Alembic's own table: the same column and constraint names.
    assert_eq!(
        db.rows("SELECT column_name, data_type, character_maximum_length::text, is_nullable FROM information_schema.columns WHERE table_name = 'alembic_version'"),
        [["version_num", "character varying", "32", "NO"]]
    );
    assert_eq!(
        db.column("SELECT conname FROM pg_constraint WHERE conrelid = 'alembic_version'::regclass"),
        ["alembic_version_pkc"]
    );
    // The concurrently built index is valid.
    assert_eq!(
        db.column("SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'ix_repair_requests_status'::regclass"),
        ["true"]
    );
    let drift = set.verify(&mut client).unwrap();
    assert!(drift.is_clean(), "{drift}");
    assert!(drift.pending.is_empty());
    let down = set.downgrade(&mut client, "base").unwrap();
    assert_eq!(down.steps.len(), 4);
    assert!(db
        .column("SELECT version_num FROM alembic_version")
        .is_empty());
    assert_eq!(
        db.column("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('alembic_version', 'migrate_applied', 'migrate_log')"),
        ["0"]
    );
    // Nothing was left prepared on the connection (a pooler may reuse it).
    assert_eq!(
        db.column("SELECT count(*) FROM pg_prepared_statements"),
        ["0"]
    );
}

#[test]
fn a_failing_statement_names_file_line_column_and_sqlstate_and_rolls_back() {
    let Some(db) = TestDb::create("failing") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    write_folder(
        dir.path(),
        &[
            (
                "001.sql",
                migration(
                    "001",
                    "none",
                    "CREATE TABLE кот (имя text);",
                    Some("DROP TABLE кот;"),
                ),
            ),
            (
                "002.sql",
                migration(
                    "002",
                    "001",
                    "INSERT INTO кот VALUES ('Мурзик');\nSELECT 'ёж', нет_такой_колонки FROM кот;",
                    None,
                ),
            ),
        ],
    );
    let set = Migrations::from_dir(dir.path()).unwrap();
    let mut client = db.connect();
    let error = set.upgrade(&mut client, "head").unwrap_err();
    let RunError::Statement(failure) = &error else {
        panic!("{error}");
    };
    let migrate_kit_core::StatementError {
        path,
        line,
        column,
        code,
        message,
        ..
    } = &**failure;
    assert_eq!(path, "versions/002.sql");
    assert_eq!(*line, 7);
    // Counted in characters: `SELECT 'ёж', ` is 13 of them, in 15 bytes.
    assert_eq!(*column, Some(14));
    assert_eq!(code.as_deref(), Some("42703"));
    assert!(message.contains("нет_такой_колонки"), "{message}");
    let text = error.to_string();
    assert!(text.contains("versions/002.sql:7:14"), "{text}");
    assert!(text.contains("SQLSTATE 42703"), "{text}");
    // One transaction: not even 001 or the ledger tables remain.
    assert_eq!(
        db.column("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        ["0"]
    );
    // And the lock was released: a run right away proceeds.
    assert_eq!(db.column("SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()"), ["0"]);
    set.upgrade(&mut client, "001").unwrap();
}

#[test]
fn a_held_lock_makes_a_run_wait_and_the_timeout_names_the_holder() {
    let Some(db) = TestDb::create("holder") else {
        return;
    };
    let mut holder = postgres::Client::connect(
        &format!("{}?application_name=other_deploy", db.url()),
        postgres::NoTls,
    )
    .unwrap();
    let key = migrate_kit_core::postgres::lock_key("public.alembic_version");
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({key})"))
        .unwrap();
    let options = RunOptions {
        busy_timeout: Duration::from_millis(400),
        ..RunOptions::default()
    };
    let started = Instant::now();
    let error = example()
        .upgrade_with(&mut db.connect(), &Target::Heads, &options)
        .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(400));
    let text = error.to_string();
    assert!(
        matches!(error, RunError::Backend(BackendError::LockTimeout { .. })),
        "{text}"
    );
    assert!(text.contains("other_deploy"), "{text}");
    assert!(text.contains("pid "), "{text}");
    // Released by its holder, the lock is taken at once.
    holder
        .batch_execute(&format!("SELECT pg_advisory_unlock({key})"))
        .unwrap();
    example().upgrade(&mut db.connect(), "head").unwrap();
    // At head, a bot's start does not wait for another holder: with
    // nothing to run it needs no lock.
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({key})"))
        .unwrap();
    let report = example()
        .upgrade_with(&mut db.connect(), &Target::Heads, &options)
        .unwrap();
    assert!(report.steps.is_empty());
}

#[test]
fn lock_timeout_against_a_held_table_lock_rolls_the_whole_run_back() {
    let Some(db) = TestDb::create("locktimeout") else {
        return;
    };
    let set = example();
    set.upgrade(&mut db.connect(), "001").unwrap();
    // The live bot holds a lock on users in a long transaction.
    let mut bot = db.connect();
    bot.batch_execute("BEGIN; LOCK TABLE users IN ACCESS SHARE MODE")
        .unwrap();
    let mut migrator = with_settings(
        &db,
        ServerSettings {
            lock_timeout: Duration::from_millis(200),
            ..ServerSettings::default()
        },
    );
    let started = Instant::now();
    let error = set.upgrade(&mut migrator, "003").unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "it waited {:?}",
        started.elapsed()
    );
    let RunError::Statement(failure) = &error else {
        panic!("{error}");
    };
    let (code, revision) = (&failure.code, &failure.revision);
    assert_eq!(code.as_deref(), Some("55P03"), "{error}");
    assert_eq!(revision, "002");
    bot.batch_execute("COMMIT").unwrap();
    assert_eq!(
        db.column("SELECT version_num FROM alembic_version"),
        ["001"]
    );
    assert_eq!(
        db.column("SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'phone_number'"),
        ["0"]
    );
}

#[test]
fn a_concurrent_index_build_and_a_waiting_migrator_both_finish() {
    let Some(db) = TestDb::create("concurrently") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let mut files = vec![(
        "001.sql",
        migration(
            "001",
            "none",
            "CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 20000);",
            Some("DROP TABLE t;"),
        ),
    )];
    // A slow step, then the concurrent build while the other migrator polls.
    files.push((
        "002.sql",
        migration("002", "001", "SELECT pg_sleep(0.5);", Some("SELECT 1;")),
    ));
    files.push((
        "003.sql",
        "-- revision: 003\n-- down_revision: 002\n-- message: index\n-- transactional: false\n\n-- migrate:upgrade\nCREATE INDEX CONCURRENTLY t_x ON t (x);\n\n-- migrate:downgrade\nDROP INDEX CONCURRENTLY t_x;\n".to_owned(),
    ));
    write_folder(dir.path(), &files);
    let set = std::sync::Arc::new(Migrations::from_dir(dir.path()).unwrap());
    let started = Instant::now();
    let runs: Vec<_> = (0..2)
        .map(|i| {
            let set = set.clone();
            let url = db.url().to_owned();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100 * i));
                let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                set.upgrade(&mut client, "head").map(|r| r.steps.len())
            })
        })
        .collect();
    let applied: Vec<usize> = runs
        .into_iter()
        .map(|r| r.join().unwrap().unwrap())
        .collect();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(applied.iter().sum::<usize>(), 3, "{applied:?}");
    assert_eq!(
        db.column("SELECT indisvalid::text FROM pg_index WHERE indexrelid = 't_x'::regclass"),
        ["true"]
    );
}

#[test]
fn transaction_lock_mode_serves_a_pooler_and_refuses_what_would_outlive_it() {
    let Some(db) = TestDb::create("txmode") else {
        return;
    };
    let settings = ServerSettings {
        lock_mode: LockMode::Transaction,
        ..ServerSettings::default()
    };
    let set = example();
    let mut pooled = with_settings(&db, settings.clone());
    set.upgrade(&mut pooled, "003").unwrap();
    // No session lock or prepared statement is left on the connection.
    assert_eq!(db.column("SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()"), ["0"]);
    assert_eq!(
        db.column("SELECT count(*) FROM pg_prepared_statements"),
        ["0"]
    );
    let error = set.upgrade(&mut pooled, "head").unwrap_err();
    assert!(
        matches!(&error, RunError::Backend(BackendError::NeedsSessionLock { revision, .. }) if revision == "004"),
        "{error}"
    );
    assert_eq!(
        db.column("SELECT version_num FROM alembic_version"),
        ["003"]
    );
    // Two pooled migrators at once: each migration runs once.
    set.downgrade(&mut pooled, "base").unwrap();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url().to_owned();
            let settings = settings.clone();
            std::thread::spawn(move || {
                let mut pooled = Postgres::new(
                    postgres::Client::connect(&url, postgres::NoTls).unwrap(),
                    settings,
                );
                example().upgrade(&mut pooled, "003").map(|r| r.steps.len())
            })
        })
        .collect();
    let applied: usize = runs.into_iter().map(|r| r.join().unwrap().unwrap()).sum();
    assert_eq!(applied, 3);
}

#[test]
fn a_version_table_schema_keeps_the_ledger_apart() {
    let Some(db) = TestDb::create("schema") else {
        return;
    };
    let mut pg = with_settings(
        &db,
        ServerSettings {
            schema: Some("ledger".into()),
            ..ServerSettings::default()
        },
    );
    example().upgrade(&mut pg, "002").unwrap();
    assert_eq!(
        db.column("SELECT version_num FROM ledger.alembic_version"),
        ["002"]
    );
    assert_eq!(
        db.column("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'migrate%'"),
        ["0"]
    );
    assert!(example().verify(&mut pg).unwrap().is_clean());
}

#[test]
fn the_ledger_is_found_where_search_path_resolves_it_as_alembic_finds_it() {
    let Some(db) = TestDb::create("search_path") else {
        return;
    };
    example().upgrade(&mut db.connect(), "002").unwrap();
    // A later connection puts an empty schema first: Alembic's has_table
    // still sees public.alembic_version (visible through search_path), and
    // so must the ledger reads, or the run would take the database for new.
    let mut client = db.connect();
    client
        .batch_execute("CREATE SCHEMA app; SET search_path = app, public")
        .unwrap();
    let drift = example().verify(&mut client).unwrap();
    assert_eq!(drift.heads, ["002"]);
    assert!(drift.is_clean(), "{drift}");
    // The migration lock is the table's, whichever search_path found it:
    // a migrator that resolves it plainly holds this one out.
    let mut holder = db.connect();
    let key = migrate_kit_core::postgres::lock_key("public.alembic_version");
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({key})"))
        .unwrap();
    let options = RunOptions {
        busy_timeout: Duration::from_millis(200),
        ..RunOptions::default()
    };
    let error = example()
        .upgrade_with(&mut client, &Target::Heads, &options)
        .unwrap_err();
    assert!(
        matches!(error, RunError::Backend(BackendError::LockTimeout { .. })),
        "{error}"
    );
    drop(holder);
    example().upgrade(&mut client, "head").unwrap();
    assert_eq!(
        db.column("SELECT version_num FROM public.alembic_version"),
        ["004"]
    );
    assert_eq!(
        db.column("SELECT count(*) FROM pg_tables WHERE schemaname = 'app' AND tablename IN ('alembic_version', 'migrate_applied')"),
        ["0"]
    );
}

#[test]
fn a_database_ahead_of_the_files_rolls_back_with_stored_sql() {
    let Some(db) = TestDb::create("ahead") else {
        return;
    };
    example().upgrade(&mut db.connect(), "head").unwrap();
    // An older binary: its files stop at 002.
    let dir = TempDir::new().unwrap();
    let versions = dir.path().join("versions");
    std::fs::create_dir_all(&versions).unwrap();
    for name in [
        "001_initial_schema.sql",
        "002_add_phone_number_to_users.sql",
    ] {
        std::fs::copy(format!("{EXAMPLE}/versions/{name}"), versions.join(name)).unwrap();
    }
    let older = Migrations::from_dir(dir.path()).unwrap();
    let mut client = db.connect();
    let refused = older.upgrade(&mut client, "head").unwrap_err();
    assert!(
        matches!(
            refused,
            RunError::Ledger(LedgerError::UnknownRevisions { .. })
        ),
        "{refused}"
    );
    let report = older
        .downgrade_with(
            &mut client,
            &Target::Revision("002".into()),
            &RunOptions {
                roll_back_unknown: true,
                ..RunOptions::default()
            },
        )
        .unwrap();
    assert_eq!(report.heads_after, ["002"]);
    assert_eq!(
        db.column("SELECT count(*) FROM pg_tables WHERE tablename = 'settings'"),
        ["0"]
    );
    assert!(older.verify(&mut client).unwrap().is_clean());
}

#[test]
fn an_interrupted_non_transactional_migration_is_dirty_until_repaired() {
    let Some(db) = TestDb::create("dirty") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    write_folder(
        dir.path(),
        &[
            ("001.sql", migration("001", "none", "CREATE TABLE t (x int);", Some("DROP TABLE t;"))),
            (
                "002.sql",
                "-- revision: 002\n-- down_revision: 001\n-- message: index\n-- transactional: false\n\n-- migrate:upgrade\nCREATE INDEX CONCURRENTLY t_x ON t (x);\nCREATE INDEX CONCURRENTLY t_y ON t (y);\n".to_owned(),
            ),
        ],
    );
    let set = Migrations::from_dir(dir.path()).unwrap();
    let mut client = db.connect();
    let error = set.upgrade(&mut client, "head").unwrap_err();
    let RunError::PartlyCommitted {
        committed,
        started,
        heads_now,
        ..
    } = &error
    else {
        panic!("{error}");
    };
    assert_eq!(committed, &["001"]);
    assert_eq!(started.as_deref(), Some("002"));
    assert_eq!(heads_now.as_deref(), Some(&["001".to_owned()][..]));
    // Its first statement stays applied; the mark stops every run.
    assert_eq!(
        db.column("SELECT count(*) FROM pg_indexes WHERE indexname = 't_x'"),
        ["1"]
    );
    let report = set.verify(&mut client).unwrap();
    assert_eq!(report.dirty, ["002"]);
    assert!(matches!(
        set.upgrade(&mut client, "head").unwrap_err(),
        RunError::Ledger(LedgerError::Dirty { .. })
    ));
    // The operator fixes the file and the database, then clears the mark.
    client.batch_execute("DROP INDEX t_x").unwrap();
    set.clear_started(&mut client, "002").unwrap();
    assert_eq!(
        db.column("SELECT operation || ':' || outcome FROM migrate_log ORDER BY id"),
        ["upgrade:failed", "repair:ok"]
    );
}

#[test]
fn the_batched_ledger_writes_still_count_each_version_row_change() {
    let Some(db) = TestDb::create("version_rows") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let folder = write_folder(
        dir.path(),
        &[
            (
                "r1.sql",
                migration("r1", "none", "CREATE TABLE a (x int);", None),
            ),
            (
                "r2.sql",
                migration("r2", "r1", "DELETE FROM alembic_version;", None),
            ),
            (
                "r3.sql",
                migration("r3", "r2", "CREATE TABLE c (x int);", None),
            ),
        ],
    );
    let set = Migrations::from_dir(folder).unwrap();
    let mut client = db.connect();
    set.upgrade(&mut client, "r1").unwrap();
    let error = set.upgrade(&mut client, "head").unwrap_err();
    assert!(
        matches!(error, RunError::Ledger(LedgerError::VersionRows { .. })),
        "{error}"
    );
    assert!(error.to_string().contains("`r1` to `r2`"), "{error}");
    assert_eq!(db.column("SELECT version_num FROM alembic_version"), ["r1"]);
    assert_eq!(db.column("SELECT to_regclass('c') IS NULL"), ["t"]);
}

#[test]
fn a_big_section_goes_in_few_messages_and_a_failure_without_a_position_still_names_its_line() {
    let Some(db) = TestDb::create("big_section") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    // About 1.3 MB of statements: several messages. Statement 20,001 breaks
    // the primary key, an error the server gives no position for.
    let mut upgrade = String::from("CREATE TABLE items (id int PRIMARY KEY, name text);\n");
    for i in 0..30_000 {
        let id = if i == 20_000 { 7 } else { i };
        upgrade +=
            &format!("INSERT INTO items VALUES ({id}, 'item number {i}; with a semicolon');\n");
    }
    let files = [(
        "001.sql",
        migration("001", "none", &upgrade, Some("DROP TABLE items;")),
    )];
    let set = Migrations::from_dir(write_folder(dir.path(), &files)).unwrap();
    // Larger than a file is held up to: it runs read back from the file,
    // and the failure is in its second piece.
    assert!(set.as_slice()[0].upgrade().is_read_back());
    let mut client = db.connect();
    let error = set.upgrade(&mut client, "head").unwrap_err();
    let RunError::Statement(failure) = &error else {
        panic!("{error}");
    };
    // The header is 5 lines, then CREATE TABLE, then INSERT number i on
    // line 7 + i.
    assert_eq!(failure.line, 7 + 20_000, "{error}");
    assert_eq!(
        failure.statement,
        "INSERT INTO items VALUES (7, 'item number 20000; with a semicolon')"
    );
    assert_eq!(failure.code.as_deref(), Some("23505"));
    assert_eq!(
        db.column("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        ["0"]
    );
    // Without the duplicate, every row arrives, once.
    let fixed = upgrade.replace(
        "VALUES (7, 'item number 20000;",
        "VALUES (20000, 'item number 20000;",
    );
    let files = [(
        "001.sql",
        migration("001", "none", &fixed, Some("DROP TABLE items;")),
    )];
    let set = Migrations::from_dir(write_folder(dir.path(), &files)).unwrap();
    set.upgrade(&mut client, "head").unwrap();
    assert_eq!(
        db.column("SELECT count(*) || ' ' || count(DISTINCT id) FROM items"),
        ["30000 30000"]
    );
}
