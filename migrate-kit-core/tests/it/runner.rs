//! The SQLite runner on real database files: atomic runs, error locations,
//! foreign keys, non-transactional migrations, stamps and bad databases.

use crate::support::ALEMBIC_VERSION_DDL;
use crate::support::{columns, migration, snapshot, version_rows, write_folder};
use migrate_kit_core::{LedgerError, Migrations, RunError, RunOptions};
use rusqlite::Connection;
use tempfile::TempDir;

fn reference() -> Migrations {
    Migrations::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations")).unwrap()
}

fn open(dir: &TempDir) -> Connection {
    Connection::open(dir.path().join("bot.db")).unwrap()
}

/// Five migrations after a base; the fourth's third statement fails.
fn five_with_a_failure(dir: &std::path::Path) -> Migrations {
    let base = migration("r1", "none", "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\nINSERT INTO items (name) VALUES ('kept');", Some("DROP TABLE items;"));
    let mut files = vec![("r1.sql", base)];
    let steps = [
        ("r2", "r1", "ALTER TABLE items ADD COLUMN price INTEGER;\nUPDATE items SET price = 10;".to_owned()),
        ("r3", "r2", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\nINSERT INTO notes (body) VALUES ('a;b -- not a comment');".to_owned()),
        ("r4", "r3", "CREATE INDEX ix_items_name ON items (name);\nUPDATE items SET price = 20;\nINSERT INTO no_such_table VALUES (1);\nCREATE TABLE never (x);".to_owned()),
        ("r5", "r4", "CREATE TABLE r5 (x);".to_owned()),
        ("r6", "r5", "CREATE TABLE r6 (x);".to_owned()),
    ];
    for (rev, down, sql) in steps {
        files.push((
            Box::leak(format!("{rev}.sql").into_boxed_str()),
            migration(rev, down, &sql, Some("SELECT 1;")),
        ));
    }
    Migrations::from_dir(write_folder(dir, &files)).unwrap()
}

#[test]
fn the_reference_set_upgrades_and_records_the_ledger() {
    let dir = TempDir::new().unwrap();
    let mut conn = open(&dir);
    let report = reference().upgrade(&mut conn, "head").unwrap();
    assert_eq!(report.heads_after, ["003"]);
    assert_eq!(report.steps.len(), 3);
    assert!(columns(&conn, "users").contains(&"phone_number".to_owned()));
    let ddl: String = conn
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE name = 'alembic_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ddl, ALEMBIC_VERSION_DDL);
    let applied: Vec<(String, String, String)> = conn
        .prepare("SELECT revision, checksum, status FROM migrate_applied ORDER BY revision")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(applied.len(), 3);
    assert_eq!(
        applied[1].1,
        reference().get("002").unwrap().checksum().to_string()
    );
    assert!(applied.iter().all(|(_, _, status)| status == "applied"));
    let downgrade_sql: String = conn
        .query_row(
            "SELECT downgrade_sql FROM migrate_applied WHERE revision = '003'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(downgrade_sql.contains("DROP TABLE settings"));
    let log: (String, String, String) = conn
        .query_row(
            "SELECT operation, revisions, outcome FROM migrate_log",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(log, ("upgrade".into(), "001,002,003".into(), "ok".into()));
    // A second run finds nothing to do and writes nothing.
    let before = snapshot(&conn);
    assert!(reference()
        .upgrade(&mut conn, "head")
        .unwrap()
        .steps
        .is_empty());
    assert_eq!(snapshot(&conn), before);
}

#[test]
fn every_downgrade_works_and_returns_to_an_empty_schema() {
    let dir = TempDir::new().unwrap();
    let mut conn = open(&dir);
    let set = reference();
    set.upgrade(&mut conn, "head").unwrap();
    assert_eq!(set.downgrade(&mut conn, "-1").unwrap().heads_after, ["002"]);
    assert_eq!(version_rows(&conn), ["002"]);
    set.downgrade(&mut conn, "base").unwrap();
    assert!(version_rows(&conn).is_empty());
    let user_tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema WHERE name IN ('users', 'repair_requests', 'settings')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(user_tables, 0);
    let applied: i64 = conn
        .query_row("SELECT count(*) FROM migrate_applied", [], |r| r.get(0))
        .unwrap();
    assert_eq!(applied, 0);
}

#[test]
fn a_failing_statement_rolls_back_the_whole_run_and_says_where() {
    let dir = TempDir::new().unwrap();
    let set = five_with_a_failure(dir.path());
    let mut conn = open(&dir);
    set.upgrade(&mut conn, "r1").unwrap();
    conn.execute("INSERT INTO items (name) VALUES ('added by the bot')", [])
        .unwrap();
    let before = snapshot(&conn);
    let error = set.upgrade(&mut conn, "head").unwrap_err();
    match &error {
        RunError::Statement(failure) => {
            assert_eq!(failure.revision, "r4");
            assert_eq!(failure.path, "versions/r4.sql");
            assert_eq!(
                failure.line, 8,
                "the third statement is on line 8 of the file"
            );
            assert_eq!(failure.statement, "INSERT INTO no_such_table VALUES (1);");
            assert!(
                failure.message.contains("no such table"),
                "{}",
                failure.message
            );
        }
        other => panic!("unexpected error {other}"),
    }
    assert_eq!(
        snapshot(&conn),
        before,
        "schema, rows and all three ledger tables are unchanged"
    );
}

#[test]
fn a_syntax_error_points_at_its_line() {
    let dir = TempDir::new().unwrap();
    let files = [(
        "a.sql",
        migration(
            "a1",
            "none",
            "CREATE TABLE t (x);\n\nCREATE TABEL u (y);",
            None,
        ),
    )];
    let set = Migrations::from_dir(write_folder(dir.path(), &files)).unwrap();
    let mut conn = open(&dir);
    let error = set.upgrade(&mut conn, "head").unwrap_err().to_string();
    assert!(error.contains("versions/a.sql:8"), "{error}");
    assert!(error.contains("CREATE TABEL u (y);"), "{error}");
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 0, "nothing was created, not even the ledger");
}

#[test]
fn per_migration_commits_keep_what_succeeded_and_log_the_failure() {
    let dir = TempDir::new().unwrap();
    let set = five_with_a_failure(dir.path());
    let mut conn = open(&dir);
    let options = RunOptions {
        transaction_per_migration: true,
        ..RunOptions::default()
    };
    set.upgrade_with(&mut conn, &"head".parse().unwrap(), &options)
        .unwrap_err();
    assert_eq!(version_rows(&conn), ["r3"]);
    let (outcome, error): (String, String) = conn
        .query_row(
            "SELECT outcome, error FROM migrate_log ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(outcome, "failed");
    assert!(error.contains("r4"), "{error}");
}

#[test]
fn a_downgrade_through_an_irreversible_migration_changes_nothing() {
    let dir = TempDir::new().unwrap();
    let files = [
        (
            "a.sql",
            migration("a1", "none", "CREATE TABLE t (x);", Some("DROP TABLE t;")),
        ),
        ("b.sql", migration("b1", "a1", "CREATE TABLE u (x);", None)),
        (
            "c.sql",
            migration("c1", "b1", "CREATE TABLE v (x);", Some("DROP TABLE v;")),
        ),
    ];
    let set = Migrations::from_dir(write_folder(dir.path(), &files)).unwrap();
    let mut conn = open(&dir);
    set.upgrade(&mut conn, "head").unwrap();
    let before = snapshot(&conn);
    let error = set.downgrade(&mut conn, "base").unwrap_err();
    assert!(
        matches!(&error, RunError::Ledger(LedgerError::Irreversible { revision, .. }) if revision == "b1"),
        "{error}"
    );
    assert_eq!(snapshot(&conn), before);
    assert_eq!(set.downgrade(&mut conn, "-1").unwrap().heads_after, ["b1"]);
}

#[test]
fn foreign_keys_are_off_during_the_run_and_checked_before_commit() {
    let dir = TempDir::new().unwrap();
    let rebuild = "CREATE TABLE parent_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');\nINSERT INTO parent_new (id) SELECT id FROM parent;\nDROP TABLE parent;\nALTER TABLE parent_new RENAME TO parent;";
    let files = [
        ("a.sql", migration("a1", "none", "CREATE TABLE parent (id INTEGER PRIMARY KEY);\nCREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) ON DELETE CASCADE);\nINSERT INTO parent VALUES (1);\nINSERT INTO child VALUES (10, 1);", None)),
        ("b.sql", migration("b1", "a1", rebuild, None)),
        ("c.sql", migration("c1", "b1", "DELETE FROM parent;", None)),
    ];
    let set = Migrations::from_dir(write_folder(dir.path(), &files)).unwrap();
    let mut conn = open(&dir);
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    set.upgrade(&mut conn, "b1").unwrap();
    let children: i64 = conn
        .query_row("SELECT count(*) FROM child", [], |r| r.get(0))
        .unwrap();
    assert_eq!(children, 1, "the rebuild did not cascade-delete child rows");
    let before = snapshot(&conn);
    let error = set.upgrade(&mut conn, "head").unwrap_err();
    assert!(matches!(error, RunError::ForeignKeys { .. }), "{error}");
    assert_eq!(snapshot(&conn), before);
    let enabled: bool = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert!(enabled, "the setting is restored");
}

#[test]
fn a_failed_non_transactional_migration_leaves_a_visible_dirty_mark() {
    let dir = TempDir::new().unwrap();
    let bad = "-- revision: b1\n-- down_revision: a1\n-- message: vacuum\n-- transactional: false\n\n-- migrate:upgrade\nCREATE TABLE half (x);\nSELECT no_such_function();\n";
    let files = [
        (
            "a.sql",
            migration("a1", "none", "CREATE TABLE t (x);", None),
        ),
        ("b.sql", bad.to_owned()),
    ];
    let set = Migrations::from_dir(write_folder(dir.path(), &files)).unwrap();
    let mut conn = open(&dir);
    set.upgrade(&mut conn, "head").unwrap_err();
    assert_eq!(
        version_rows(&conn),
        ["a1"],
        "the transactional part before it is committed"
    );
    let report = set.verify(&mut conn).unwrap();
    assert_eq!(report.dirty, ["b1"]);
    assert!(report.ensure_clean().is_err());
    let again = set.upgrade(&mut conn, "head").unwrap_err();
    assert!(
        matches!(&again, RunError::Ledger(LedgerError::Dirty { revision }) if revision == "b1"),
        "{again}"
    );
}

#[test]
fn statements_are_split_by_sqlite_not_by_semicolons() {
    let dir = TempDir::new().unwrap();
    let sql = "CREATE TABLE log (msg TEXT);\nCREATE TABLE t (x);\nCREATE TRIGGER t_ins AFTER INSERT ON t BEGIN\n  INSERT INTO log VALUES ('one; two');\n  INSERT INTO log VALUES ('three');\nEND;\n/* a ; in a comment */ INSERT INTO t VALUES (1); -- trailing ; comment\n";
    let files = [("a.sql", migration("a1", "none", sql, None))];
    let set = Migrations::from_dir(write_folder(dir.path(), &files)).unwrap();
    let mut conn = open(&dir);
    set.upgrade(&mut conn, "head").unwrap();
    let logged: Vec<String> = conn
        .prepare("SELECT msg FROM log ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(logged, ["one; two", "three"]);
}

#[test]
fn stamp_marks_without_running_and_is_logged() {
    let dir = TempDir::new().unwrap();
    let mut conn = open(&dir);
    let set = reference();
    set.stamp(&mut conn, &"002".parse().unwrap(), false)
        .unwrap();
    assert_eq!(version_rows(&conn), ["002"]);
    let users: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'users'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(users, 0, "stamp runs no migration");
    let report = set.verify(&mut conn).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.pending, ["003"]);
    let op: String = conn
        .query_row("SELECT operation FROM migrate_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(op, "stamp");
    set.stamp(&mut conn, &"base".parse().unwrap(), false)
        .unwrap();
    assert!(version_rows(&conn).is_empty());
}

#[test]
fn concurrent_upgrades_apply_each_migration_once() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("bot.db");
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut conn = Connection::open(path).unwrap();
                reference()
                    .upgrade(&mut conn, "head")
                    .map(|r| r.steps.len())
            })
        })
        .collect();
    let applied: usize = threads
        .into_iter()
        .map(|t| t.join().unwrap().unwrap())
        .sum();
    assert_eq!(applied, 3);
    let conn = Connection::open(path).unwrap();
    assert_eq!(version_rows(&conn), ["003"]);
}

#[test]
fn bad_databases_give_errors_not_panics() {
    let dir = TempDir::new().unwrap();
    let junk = dir.path().join("junk.db");
    std::fs::write(
        &junk,
        b"this is not a database, just text that is long enough to have a header",
    )
    .unwrap();
    let mut conn = Connection::open(&junk).unwrap();
    let error = reference()
        .upgrade(&mut conn, "head")
        .unwrap_err()
        .to_string();
    assert!(error.contains("not a SQLite database"), "{error}");

    let good = dir.path().join("ro.db");
    reference()
        .upgrade(&mut Connection::open(&good).unwrap(), "002")
        .unwrap();
    let mut ro =
        Connection::open_with_flags(&good, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let error = reference()
        .upgrade(&mut ro, "head")
        .unwrap_err()
        .to_string();
    assert!(error.contains("read-only"), "{error}");
    assert_eq!(version_rows(&ro), ["002"]);
}

#[test]
fn a_database_created_by_hand_is_refused_with_the_fix() {
    let dir = TempDir::new().unwrap();
    let mut conn = open(&dir);
    conn.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY);")
        .unwrap();
    let error = reference().upgrade(&mut conn, "head").unwrap_err();
    assert!(matches!(
        error,
        RunError::Ledger(LedgerError::CreatedByHand { .. })
    ));
    let text = error.to_string();
    assert!(
        text.contains("created by hand") && text.contains("`migrate adopt`"),
        "{text}"
    );
    let report = reference().verify(&mut conn).unwrap();
    assert_eq!(report.untracked_tables, ["users"]);
}

#[test]
fn an_upgrade_with_nothing_to_run_needs_no_write_lock() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("bot.db");
    reference()
        .upgrade(&mut Connection::open(&path).unwrap(), "head")
        .unwrap();
    // Another process is writing: a bot's start at head does not wait for
    // it (the wait would end in a busy error after busy_timeout).
    let writer = Connection::open(&path).unwrap();
    writer
        .execute_batch("BEGIN IMMEDIATE; CREATE TABLE scratch (x);")
        .unwrap();
    let options = RunOptions {
        busy_timeout: std::time::Duration::from_millis(100),
        ..RunOptions::default()
    };
    let report = reference()
        .upgrade_with(
            &mut Connection::open(&path).unwrap(),
            &migrate_kit_core::Target::Heads,
            &options,
        )
        .unwrap();
    assert!(report.steps.is_empty());
    assert_eq!(report.heads_after, version_rows(&writer));
    // With something to run, the run does wait for the lock.
    let error = reference()
        .downgrade_with(
            &mut Connection::open(&path).unwrap(),
            &migrate_kit_core::Target::Base,
            &options,
        )
        .unwrap_err();
    assert!(
        error.to_string().contains("taking the write lock"),
        "{error}"
    );
    writer.execute_batch("ROLLBACK").unwrap();
    // A read-only database at head: nothing to run, nothing refused.
    let mut ro =
        Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let report = reference().upgrade(&mut ro, "head").unwrap();
    assert!(report.steps.is_empty());
}

#[test]
fn a_migration_that_edits_alembic_version_fails_the_run_and_rolls_it_back() {
    let dir = TempDir::new().unwrap();
    let folder = write_folder(
        dir.path(),
        &[
            (
                "r1.sql",
                migration("r1", "none", "CREATE TABLE a (x);", None),
            ),
            (
                "r2.sql",
                migration("r2", "r1", "DELETE FROM alembic_version;", None),
            ),
            ("r3.sql", migration("r3", "r2", "CREATE TABLE c (x);", None)),
        ],
    );
    let set = Migrations::from_dir(folder).unwrap();
    let mut conn = open(&dir);
    set.upgrade(&mut conn, "r1").unwrap();
    let error = set.upgrade(&mut conn, "head").unwrap_err();
    // The run's ledger writes go together before its commit: r2's version
    // row change finds no row, and nothing of the run stays.
    assert!(
        matches!(error, RunError::Ledger(LedgerError::VersionRows { .. })),
        "{error}"
    );
    assert!(error.to_string().contains("`r1` to `r2`"), "{error}");
    assert!(columns(&conn, "c").is_empty());
    assert_eq!(version_rows(&conn), ["r1"]);
}

#[test]
fn a_migration_that_ends_the_run_transaction_stops_the_run_with_an_account() {
    // SQLite does not nest comments, so it runs the `COMMIT` that the
    // folder check (which nests them, as PostgreSQL does) reads as a
    // comment: the run-time guard must catch it.
    let dir = TempDir::new().unwrap();
    let files = [
        (
            "a.sql",
            migration("a", "none", "CREATE TABLE a (x);", Some("DROP TABLE a;")),
        ),
        (
            "b.sql",
            migration(
                "b",
                "a",
                "CREATE TABLE b (x);\n/* /* */ COMMIT; /* */\nCREATE TABLE b2 (x);",
                Some("DROP TABLE b;"),
            ),
        ),
        (
            "c.sql",
            migration("c", "b", "CREATE TABLE c (x);", Some("DROP TABLE c;")),
        ),
    ];
    let set = Migrations::from_dir(write_folder(dir.path(), &files)).unwrap();
    let mut conn = open(&dir);
    let error = set.upgrade(&mut conn, "head").unwrap_err();
    let RunError::TransactionEnded {
        revision,
        unrecorded,
        heads_now,
        ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(revision, "b");
    assert_eq!(unrecorded, &["a", "b"]);
    assert_eq!(heads_now.as_deref(), Some(&[][..]));
    let text = error.to_string();
    assert!(
        text.contains("alembic_version now holds no row (base)"),
        "{text}"
    );
    // Exactly what the message says: a, b and b2 are there, c never ran,
    // and the ledger records nothing.
    assert!(conn.is_autocommit());
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('a', 'b', 'b2', 'c') ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tables, ["a", "b", "b2"]);
    assert!(version_rows(&conn).is_empty());
}

#[test]
fn transaction_control_in_a_transactional_migration_is_refused_when_the_folder_loads() {
    let dir = TempDir::new().unwrap();
    let files = [(
        "a.sql",
        migration("a", "none", "CREATE TABLE a (x);\nCOMMIT;", None),
    )];
    let error = Migrations::from_dir(write_folder(dir.path(), &files)).unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("versions/a.sql:7: `COMMIT` would commit the run halfway"),
        "{text}"
    );
}

/// A migration of `rows` inserts (about 60 bytes each) into `items`.
fn inserts(rows: usize) -> String {
    let mut sql = String::from("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);\n");
    for i in 0..rows {
        sql += &format!("INSERT INTO items VALUES ({i}, 'item number {i}; with a semicolon');\n");
    }
    sql
}

#[test]
fn a_file_too_large_to_hold_runs_from_the_file_and_an_edit_during_the_run_rolls_it_back() {
    let dir = TempDir::new().unwrap();
    // About 1.8 MB: more than the 1 MiB a loaded file is held up to.
    let big = migration("r2", "r1", &inserts(30_000), Some("DROP TABLE items;"));
    let files = [
        (
            "r1.sql",
            migration(
                "r1",
                "none",
                "CREATE TABLE first (x);",
                Some("DROP TABLE first;"),
            ),
        ),
        ("r2.sql", big.clone()),
    ];
    let folder = write_folder(dir.path(), &files);
    let set = Migrations::from_dir(&folder).unwrap();
    assert!(set.get("r2").unwrap().upgrade().is_read_back());
    assert!(!set.get("r2").unwrap().downgrade().unwrap().is_read_back());
    // The file is saved again, one character changed, while r1 runs.
    let edit = |report: &migrate_kit_core::StepReport| {
        if report.revision == "r1" {
            let edited = big.replace("'item number 29999;", "'item number 2999x;");
            std::fs::write(folder.join("versions/r2.sql"), edited).unwrap();
        }
    };
    let options = RunOptions {
        on_step: Some(&edit),
        ..RunOptions::default()
    };
    let mut conn = open(&dir);
    let error = set
        .upgrade_with(&mut conn, &"head".parse().unwrap(), &options)
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("versions/r2.sql changed while the command was using it"),
        "{error}"
    );
    // Rolled back whole: not even the ledger's tables are left.
    assert_eq!(
        snapshot(&conn),
        snapshot(&Connection::open_in_memory().unwrap())
    );
    // Loaded again, it runs: every row once, the downgrade kept.
    let set = Migrations::from_dir(&folder).unwrap();
    set.upgrade(&mut conn, "head").unwrap();
    let count: i64 = conn
        .query_row("SELECT count(DISTINCT id) FROM items", [], |row| row.get(0))
        .unwrap();
    assert_eq!(count, 30_000);
    assert_eq!(version_rows(&conn), ["r2"]);
    set.downgrade(&mut conn, "r1").unwrap();
    assert_eq!(version_rows(&conn), ["r1"]);
}
