//! The bot binary (`examples/repair_bot.rs`) through each start-up case,
//! run as a real process on real database files.

use crate::common::stdout_of;
use crate::common::ALEMBIC_VERSION_DDL;
use crate::common::{bot_binary, version_rows};
use assert_cmd::Command;
use migrate_kit::Migrations;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

fn bot(db: &Path) -> Command {
    let mut cmd = Command::new(bot_binary());
    cmd.env("DATABASE_URL", db);
    cmd
}

fn reference() -> Migrations {
    Migrations::from_dir(concat!(workspace_root!(), "/migrations")).unwrap()
}

#[test]
fn a_fresh_start_creates_the_database_and_serves() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("data").join("bot_database.db");
    let out = stdout_of(&mut bot(&db));
    assert!(out.contains("database at revision 003"), "{out}");
    assert!(out.contains("#1 Ivan Petrov phone [new]"), "{out}");
    // The second start applies nothing and keeps the data.
    let out = stdout_of(&mut bot(&db));
    assert!(out.contains("#2 Ivan Petrov phone [new]"), "{out}");
    let conn = Connection::open(&db).unwrap();
    let upgrades: i64 = conn
        .query_row(
            "SELECT count(*) FROM migrate_log WHERE operation = 'upgrade'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(upgrades, 1, "the second start had nothing to apply");
}

#[test]
fn a_database_alembic_left_at_002_is_taken_over_and_upgraded() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("bot.db");
    {
        let conn = Connection::open(&db).unwrap();
        for rev in ["001", "002"] {
            conn.execute_batch(&reference().get(rev).unwrap().upgrade().sql().unwrap())
                .unwrap();
        }
        conn.execute_batch(ALEMBIC_VERSION_DDL).unwrap();
        conn.execute("INSERT INTO alembic_version VALUES ('002')", [])
            .unwrap();
        conn.execute(
            "INSERT INTO users (telegram_id, full_name) VALUES (7, 'Old Customer')",
            [],
        )
        .unwrap();
    }
    let assert = bot(&db).assert().success();
    let err = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        err.contains("taking over a database migrated by Alembic (001, 002)"),
        "{err}"
    );
    assert!(err.contains("applied 003"), "{err}");
    let conn = Connection::open(&db).unwrap();
    assert_eq!(version_rows(&conn), ["003"]);
    let old: i64 = conn
        .query_row(
            "SELECT count(*) FROM users WHERE full_name = 'Old Customer'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 1);
}

fn started(dir: &TempDir) -> PathBuf {
    let db = dir.path().join("bot.db");
    stdout_of(&mut bot(&db));
    db
}

fn refused(db: &Path, expected: &[&str]) {
    let assert = bot(db).assert().failure();
    let err = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(err.contains("refusing to start"), "{err}");
    for text in expected {
        assert!(err.contains(text), "missing {text:?} in {err}");
    }
}

#[test]
fn an_edited_migration_stops_the_bot() {
    let dir = TempDir::new().unwrap();
    let db = started(&dir);
    let conn = Connection::open(&db).unwrap();
    conn.execute("UPDATE migrate_applied SET checksum = 'sha256:' || hex(zeroblob(32)) WHERE revision = '002'", []).unwrap();
    // The hint names the command as the operator types it on this server.
    refused(
        &db,
        &["modified: 002", "`repair_bot migrate repair --accept 002`"],
    );
    let mut verify = bot(&db);
    verify.args(["migrate", "verify"]);
    let out =
        String::from_utf8_lossy(&verify.assert().code(1).get_output().stdout.clone()).into_owned();
    assert!(
        out.contains("`repair_bot migrate repair --accept 002`")
            && !out.contains("`migrate repair"),
        "{out}"
    );
}

#[test]
fn a_database_ahead_of_the_binary_stops_the_bot() {
    let dir = TempDir::new().unwrap();
    let db = started(&dir);
    let conn = Connection::open(&db).unwrap();
    conn.execute("UPDATE alembic_version SET version_num = '004'", [])
        .unwrap();
    conn.execute(
        "INSERT INTO migrate_applied (revision, checksum, message, down_revision, downgrade_sql, applied_at) VALUES ('004', NULL, 'newer', '003', 'DROP TABLE x;', '2026-01-01')",
        [],
    )
    .unwrap();
    refused(
        &db,
        &["unknown: 004", "its stored downgrade SQL can roll it back"],
    );
    assert_eq!(version_rows(&conn), ["004"], "nothing was changed");
}

#[test]
fn a_hand_edited_ledger_stops_the_bot() {
    let dir = TempDir::new().unwrap();
    let db = started(&dir);
    let conn = Connection::open(&db).unwrap();
    conn.execute("DELETE FROM migrate_applied WHERE revision = '003'", [])
        .unwrap();
    refused(&db, &["inconsistent: 003"]);
}

#[test]
fn a_database_created_by_hand_stops_the_bot() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("bot.db");
    Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY);")
        .unwrap();
    refused(&db, &["created by hand", "`repair_bot migrate adopt`"]);
}

#[test]
fn a_file_that_is_not_sqlite_stops_the_bot_cleanly() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("bot.db");
    std::fs::write(&db, vec![b'x'; 4096]).unwrap();
    refused(&db, &["not a SQLite database"]);
}

#[test]
fn the_bot_binary_carries_the_migrate_command_line() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("bot.db");
    // No migrations folder here: the set is the one compiled into the binary.
    let mut upgrade = bot(&db);
    upgrade
        .current_dir(dir.path())
        .args(["migrate", "upgrade", "head"]);
    assert_eq!(
        stdout_of(&mut upgrade),
        format!(
            "upgrade {}: base -> 003 (3 migrations, in one transaction)\n",
            db.display()
        )
    );
    let mut current = bot(&db);
    current.current_dir(dir.path()).args(["migrate", "current"]);
    assert_eq!(stdout_of(&mut current), "003 (head)\n");
    let mut revision = bot(&db);
    revision
        .current_dir(dir.path())
        .args(["migrate", "revision", "-m", "x"]);
    let err = String::from_utf8_lossy(&revision.assert().code(1).get_output().stderr.clone())
        .into_owned();
    assert!(err.contains("needs the source folder"), "{err}");
}
