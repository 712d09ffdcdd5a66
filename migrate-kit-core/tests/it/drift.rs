//! Drift detection: modified, unknown, inconsistent, unverified and pending
//! revisions, on real database files.

use crate::support::ALEMBIC_VERSION_DDL;
use crate::support::{version_rows, write_folder};
use migrate_kit_core::{LedgerError, Migrations, RunError};
use rusqlite::Connection;
use std::path::Path;
use tempfile::TempDir;

const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");

fn reference() -> Migrations {
    Migrations::from_dir(REFERENCE).unwrap()
}

/// A copy of the reference folder, changed by `edit`.
fn copy_reference(into: &Path, edit: impl FnOnce(&Path)) -> Migrations {
    let versions = into.join("versions");
    std::fs::create_dir_all(&versions).unwrap();
    for entry in std::fs::read_dir(Path::new(REFERENCE).join("versions")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), versions.join(entry.file_name())).unwrap();
    }
    edit(into);
    Migrations::from_dir(into).unwrap()
}

/// A database at 002 as Alembic leaves it: the schema and alembic_version only.
pub fn alembic_database_at_002(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    let set = reference();
    for rev in ["001", "002"] {
        conn.execute_batch(&set.get(rev).unwrap().upgrade().sql().unwrap())
            .unwrap();
    }
    conn.execute_batch(ALEMBIC_VERSION_DDL).unwrap();
    conn.execute("INSERT INTO alembic_version VALUES ('002')", [])
        .unwrap();
    conn.execute(
        "INSERT INTO users (telegram_id, full_name, phone_number) VALUES (1, 'Anna', '+7 1')",
        [],
    )
    .unwrap();
    conn
}

#[test]
fn a_fresh_database_has_everything_pending_and_is_clean() {
    let dir = TempDir::new().unwrap();
    let mut conn = Connection::open(dir.path().join("db")).unwrap();
    let report = reference().verify(&mut conn).unwrap();
    assert_eq!(report.pending, ["001", "002", "003"]);
    assert!(report.ensure_clean().is_ok());
}

#[test]
fn an_edited_migration_is_reported_as_modified() {
    let dir = TempDir::new().unwrap();
    let mut conn = Connection::open(dir.path().join("db")).unwrap();
    reference().upgrade(&mut conn, "head").unwrap();
    let edited = copy_reference(&dir.path().join("m"), |root| {
        let file = root.join("versions/002_add_phone_number_to_users.sql");
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("phone_number TEXT", "phone_number TEXT NOT NULL DEFAULT ''");
        std::fs::write(file, text).unwrap();
    });
    let report = edited.verify(&mut conn).unwrap();
    assert_eq!(report.modified.len(), 1);
    assert_eq!(report.modified[0].revision, "002");
    assert_eq!(
        report.modified[0].recorded,
        reference().get("002").unwrap().checksum().to_string()
    );
    let error = report.ensure_clean().unwrap_err().to_string();
    assert!(
        error.contains("modified: 002") && error.contains("migrate repair"),
        "{error}"
    );
}

#[test]
fn a_database_ahead_of_the_binary_is_unknown_and_refused() {
    let dir = TempDir::new().unwrap();
    let mut conn = Connection::open(dir.path().join("db")).unwrap();
    let newer = copy_reference(&dir.path().join("m"), |root| {
        let text = "-- revision: 004\n-- down_revision: 003\n-- message: add notes\n-- migrate:upgrade\nCREATE TABLE notes (x);\n-- migrate:downgrade\nDROP TABLE notes;\n";
        std::fs::write(root.join("versions/004_add_notes.sql"), text).unwrap();
    });
    newer.upgrade(&mut conn, "head").unwrap();
    let report = reference().verify(&mut conn).unwrap();
    assert_eq!(report.unknown.len(), 1);
    assert_eq!(report.unknown[0].revision, "004");
    assert!(report.unknown[0].has_downgrade_sql);
    assert!(report.ensure_clean().is_err());
    let error = reference().upgrade(&mut conn, "head").unwrap_err();
    assert!(matches!(
        error,
        RunError::Ledger(LedgerError::UnknownRevisions { .. })
    ));
    let text = error.to_string();
    assert!(
        text.contains("Can't locate revision identified by '004'"),
        "{text}"
    );
    assert!(
        text.contains("Stored downgrade SQL can roll back 004"),
        "{text}"
    );
}

#[test]
fn a_hand_edited_ledger_is_inconsistent() {
    let dir = TempDir::new().unwrap();
    let mut conn = Connection::open(dir.path().join("db")).unwrap();
    reference().upgrade(&mut conn, "head").unwrap();
    conn.execute("UPDATE alembic_version SET version_num = '001'", [])
        .unwrap();
    let report = reference().verify(&mut conn).unwrap();
    assert!(!report.inconsistent.is_empty(), "{report}");
    assert!(report.ensure_clean().is_err());

    conn.execute("UPDATE alembic_version SET version_num = '003'", [])
        .unwrap();
    conn.execute("DELETE FROM migrate_applied WHERE revision = '002'", [])
        .unwrap();
    let report = reference().verify(&mut conn).unwrap();
    assert!(
        report.inconsistent.iter().any(|i| i.starts_with("002 ")),
        "{report}"
    );
}

#[test]
fn a_database_migrated_by_alembic_is_taken_over_as_unverified() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("db");
    let mut conn = alembic_database_at_002(&path);
    let report = reference().verify(&mut conn).unwrap();
    assert_eq!(report.unverified, ["001", "002"]);
    assert_eq!(report.pending, ["003"]);
    assert!(report.ensure_clean().is_ok(), "{report}");
    let run = reference().upgrade(&mut conn, "head").unwrap();
    let ran: Vec<&str> = run.steps.iter().map(|s| s.revision.as_str()).collect();
    assert_eq!(ran, ["003"]);
    assert_eq!(version_rows(&conn), ["003"]);
    let anna: String = conn
        .query_row("SELECT full_name FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(anna, "Anna");
    let report = reference().verify(&mut conn).unwrap();
    assert_eq!(
        report.unverified,
        ["001", "002"],
        "taken-over revisions stay unverified until repair"
    );
    assert!(report.is_clean(), "{report}");
}

#[test]
fn verify_reads_without_changing_anything() {
    let dir = TempDir::new().unwrap();
    let mut conn = Connection::open(dir.path().join("db")).unwrap();
    reference().verify(&mut conn).unwrap();
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(objects, 0);
    let _ = write_folder;
}

#[test]
fn start_upgrades_a_clean_database_and_refuses_a_drifted_one_untouched() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("bot.db");
    let mut conn = Connection::open(&path).unwrap();
    let first = reference().start(&mut conn).unwrap();
    assert!(first.drift.is_clean());
    assert_eq!(first.run.steps.len(), reference().len());
    assert_eq!(first.run.heads_after, version_rows(&conn));

    // At head: nothing runs, and a writer elsewhere does not hold it up.
    let writer = Connection::open(&path).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let again = reference().start(&mut conn).unwrap();
    assert!(again.run.steps.is_empty());
    assert_eq!(again.run.heads_before, again.run.heads_after);
    writer.execute_batch("ROLLBACK").unwrap();

    // An applied file edited afterwards: refused, nothing run or written.
    let edited = copy_reference(&dir.path().join("m"), |root| {
        let file = root.join("versions/002_add_phone_number_to_users.sql");
        let text = std::fs::read_to_string(&file).unwrap() + "\n-- edited\n";
        std::fs::write(file, text).unwrap();
    });
    let before = crate::support::snapshot(&conn);
    let error = edited.start(&mut conn).unwrap_err();
    assert!(
        matches!(error, migrate_kit_core::StartError::Drift(_)),
        "{error}"
    );
    assert!(error.to_string().contains("modified: 002"), "{error}");
    assert_eq!(crate::support::snapshot(&conn), before);
}

#[test]
fn start_upgrades_independent_labelled_branches_to_every_head() {
    let dir = TempDir::new().unwrap();
    let branch = |rev: &str, label: &str| {
        format!("-- revision: {rev}\n-- down_revision: none\n-- branch_labels: {label}\n-- message: {label}\n\n-- migrate:upgrade\nCREATE TABLE {label} (x);\n")
    };
    let set = migrate_kit_core::Migrations::from_dir(crate::support::write_folder(
        dir.path(),
        &[
            ("a.sql", branch("a1", "shop")),
            ("b.sql", branch("b1", "audit")),
        ],
    ))
    .unwrap();
    let mut conn = Connection::open(dir.path().join("bot.db")).unwrap();
    let started = set.start(&mut conn).unwrap();
    assert_eq!(started.run.steps.len(), 2);
    let mut rows = version_rows(&conn);
    rows.sort();
    assert_eq!(rows, ["a1", "b1"]);
    assert!(set.start(&mut conn).unwrap().run.steps.is_empty());
}
