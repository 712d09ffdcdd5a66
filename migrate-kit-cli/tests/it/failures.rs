//! Failed migrations and hostile environments: whatever fails, the
//! database (schema, rows, every ledger table) is exactly as before.

use crate::common::{migration, non_transactional, snapshot, write_folder};
use migrate_kit::{Migrations, RunError, RunOptions, Target};
use rusqlite::Connection;
use std::time::Duration;
use tempfile::TempDir;

const N: usize = 10;

/// `N` migrations after a base; the one at `failing` ends with a bad statement.
fn run_with_failure_at(dir: &std::path::Path, failing: usize) -> Migrations {
    let mut files = vec![("m00.sql".to_owned(), migration("m00", "none", "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER);\nINSERT INTO t (v) VALUES (1), (2);", None))];
    for k in 1..=N {
        let mut sql = format!("CREATE TABLE k{k} (x);\nUPDATE t SET v = v + {k};\nALTER TABLE t ADD COLUMN c{k} TEXT;");
        if k == failing {
            sql += "\nINSERT INTO missing_table VALUES (1);";
        }
        files.push((
            format!("m{k:02}.sql"),
            migration(&format!("m{k:02}"), &format!("m{:02}", k - 1), &sql, None),
        ));
    }
    let refs: Vec<(&str, String)> = files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    Migrations::from_dir(write_folder(dir, &refs)).unwrap()
}

#[test]
fn a_failure_at_every_position_leaves_the_database_exactly_as_before() {
    for failing in 1..=N {
        let dir = TempDir::new().unwrap();
        let set = run_with_failure_at(dir.path(), failing);
        let mut conn = Connection::open(dir.path().join("db")).unwrap();
        set.upgrade(&mut conn, "m00").unwrap();
        conn.execute("INSERT INTO t (v) VALUES (100)", []).unwrap();
        let before = snapshot(&conn);
        let error = set.upgrade(&mut conn, "head").unwrap_err();
        assert!(
            matches!(&error, RunError::Statement(failure) if failure.revision == format!("m{failing:02}")),
            "{error}"
        );
        assert_eq!(snapshot(&conn), before, "failure at position {failing}");
    }
}

#[test]
fn the_bot_refuses_to_start_on_an_interrupted_migration() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("bot.db");
    let mut conn = Connection::open(&db).unwrap();
    Migrations::from_dir(concat!(workspace_root!(), "/migrations"))
        .unwrap()
        .upgrade(&mut conn, "head")
        .unwrap();
    conn.execute(
        "UPDATE migrate_applied SET status = 'started' WHERE revision = '003'",
        [],
    )
    .unwrap();
    let out = std::process::Command::new(crate::common::bot_binary())
        .env("DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("dirty: 003") && err.contains("migrate repair"),
        "{err}"
    );
}

#[test]
fn a_full_disk_during_an_upgrade_changes_nothing() {
    let dir = TempDir::new().unwrap();
    let big = "CREATE TABLE filler (x BLOB);\nWITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO filler SELECT randomblob(4000) FROM n;";
    let files = [
        (
            "a.sql",
            migration(
                "a1",
                "none",
                "CREATE TABLE t (x); INSERT INTO t VALUES (1);",
                None,
            ),
        ),
        ("b.sql", migration("b1", "a1", big, None)),
    ];
    let set = Migrations::from_dir(write_folder(dir.path(), &files)).unwrap();
    let mut conn = Connection::open(dir.path().join("db")).unwrap();
    set.upgrade(&mut conn, "a1").unwrap();
    let before = snapshot(&conn);
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    conn.pragma_update(None, "max_page_count", pages + 50)
        .unwrap();
    let error = set.upgrade(&mut conn, "head").unwrap_err().to_string();
    assert!(error.contains("full"), "{error}");
    assert!(error.contains("the disk is full; free space"), "{error}");
    assert!(!error.contains("fix the migration"), "{error}");
    assert_eq!(snapshot(&conn), before);
}

#[test]
fn a_database_locked_longer_than_the_busy_timeout_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    let files = [(
        "a.sql",
        migration("a1", "none", "CREATE TABLE t (x);", None),
    )];
    let set = Migrations::from_dir(write_folder(dir.path(), &files)).unwrap();
    let path = dir.path().join("db");
    let holder = Connection::open(&path).unwrap();
    holder
        .execute_batch("CREATE TABLE other (x); BEGIN EXCLUSIVE; INSERT INTO other VALUES (1);")
        .unwrap();
    let mut conn = Connection::open(&path).unwrap();
    let options = RunOptions {
        busy_timeout: Duration::from_millis(200),
        ..RunOptions::default()
    };
    let error = set
        .upgrade_with(&mut conn, &Target::Head, &options)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("another process held the database longer than the busy timeout"),
        "{error}"
    );
    holder.execute_batch("ROLLBACK").unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 't'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0, "nothing changed");
}

#[test]
fn a_database_with_a_schema_this_sqlite_cannot_read_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    let files = [(
        "a.sql",
        migration("a1", "none", "CREATE TABLE t (x);", None),
    )];
    let set = Migrations::from_dir(write_folder(dir.path(), &files)).unwrap();
    let path = dir.path().join("db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t0 (x); PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = 'CREATE TABLE t0 (x) WITH FUTURE_FEATURE' WHERE name = 't0'; PRAGMA writable_schema = OFF;").unwrap();
    }
    let mut conn = Connection::open(&path).unwrap();
    let error = set.upgrade(&mut conn, "head").unwrap_err().to_string();
    assert!(error.contains("malformed database schema"), "{error}");
}

#[test]
fn a_typo_is_blamed_on_the_migration_and_drift_on_the_database() {
    let dir = TempDir::new().unwrap();
    let folder = dir.path().join("migrations");
    write_folder(
        &folder,
        &[
            (
                "a.sql",
                migration(
                    "a1",
                    "none",
                    "CREATE TABLE repair_requests (id INTEGER PRIMARY KEY, status TEXT);",
                    None,
                ),
            ),
            (
                "b.sql",
                migration(
                    "b1",
                    "a1",
                    "UPDATE repair_request SET status = 'new';",
                    None,
                ),
            ),
        ],
    );
    let cli = || {
        let mut cmd = crate::common::migrate_in(dir.path());
        cmd.env("DATABASE_URL", "bot.db");
        cmd
    };
    assert_eq!(crate::common::run(cli().args(["upgrade", "a1"])).0, 0);
    // The database is exactly what a1 builds: the migration is wrong.
    let (code, _, err) = crate::common::run(cli().args(["upgrade", "head"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no such table: repair_request"), "{err}");
    assert!(
        err.contains("the mistake is in this migration: it names `repair_request`"),
        "{err}"
    );
    assert!(err.contains("fix versions/b.sql:6"), "{err}");
    assert!(!err.contains("does not have the schema"), "{err}");

    // The table a1 made was dropped by hand: that is drift, and the hint's
    // command shows it.
    std::fs::write(
        folder.join("versions/b.sql"),
        migration(
            "b1",
            "a1",
            "UPDATE repair_requests SET status = 'new';",
            None,
        ),
    )
    .unwrap();
    Connection::open(dir.path().join("bot.db"))
        .unwrap()
        .execute_batch("DROP TABLE repair_requests")
        .unwrap();
    let (code, _, err) = crate::common::run(cli().args(["upgrade", "head"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("does not have the schema its recorded revision implies"),
        "{err}"
    );
    assert!(
        err.contains("`migrate check` shows the difference"),
        "{err}"
    );
    let (code, out, err) = crate::common::run(cli().arg("check"));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("repair_requests"),
        "{out}{err}"
    );
}

#[test]
fn a_migration_switching_foreign_keys_on_is_refused_before_it_can_cascade() {
    // The case: 002 turns foreign keys on outside the run's
    // transaction, 003 rebuilds the parent table, which would cascade.
    let dir = TempDir::new().unwrap();
    let folder = dir.path().join("migrations");
    write_folder(
        &folder,
        &[
            ("001.sql", migration("001", "none", "CREATE TABLE p (id INTEGER PRIMARY KEY);\nCREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id) ON DELETE CASCADE);\nINSERT INTO p VALUES (1);\nINSERT INTO c VALUES (1, 1), (2, 1);", None)),
            (
                "002.sql",
                non_transactional("002", "001", "PRAGMA foreign_keys = ON;", None),
            ),
            ("003.sql", migration("003", "002", "CREATE TABLE p_new (id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO p_new (id) SELECT id FROM p;\nDROP TABLE p;\nALTER TABLE p_new RENAME TO p;", None)),
        ],
    );
    let cli = || {
        let mut cmd = crate::common::migrate_in(dir.path());
        cmd.env("DATABASE_URL", "bot.db");
        cmd
    };
    let (code, _, err) = crate::common::run(cli().args(["upgrade", "head"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("versions/002.sql:7: `PRAGMA foreign_keys` cannot change"),
        "{err}"
    );
    assert!(!dir.path().join("bot.db").exists(), "nothing ran");
    // Without 002 the rebuild keeps every child row.
    std::fs::remove_file(folder.join("versions/002.sql")).unwrap();
    std::fs::write(
        folder.join("versions/003.sql"),
        std::fs::read_to_string(folder.join("versions/003.sql"))
            .unwrap()
            .replace("down_revision: 002", "down_revision: 001"),
    )
    .unwrap();
    let (code, _, err) = crate::common::run(cli().args(["upgrade", "head"]));
    assert_eq!(code, 0, "{err}");
    let children: i64 = Connection::open(dir.path().join("bot.db"))
        .unwrap()
        .query_row("SELECT count(*) FROM c", [], |r| r.get(0))
        .unwrap();
    assert_eq!(children, 2);
}
