//! Hostile environments made real: an immutable database file and folder
//! (SQLite cannot write or create its journal) and a full disk (a 1 MiB
//! tmpfs) during upgrade, backup and import. These need root's `chattr`
//! and `mount`; where the machine does not allow them the test says so on
//! stderr and checks nothing else.

use crate::common::{migration, snapshot, write_folder};
use assert_cmd::Command;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// Undoes an environment change when dropped.
struct Undo(Vec<String>);

impl Drop for Undo {
    fn drop(&mut self) {
        let _ = std::process::Command::new("sh")
            .arg("-c")
            .arg(self.0.join("; "))
            .status();
    }
}

fn sh(command: &str) -> bool {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{command} 2>/dev/null"))
        .status()
        .is_ok_and(|s| s.success())
}

fn migrate(dir: &Path, db: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::cargo_bin("migrate")
        .unwrap()
        .current_dir(dir)
        .arg("--database")
        .arg(db)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATE_DIR")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn project(dir: &Path) {
    let big = "CREATE TABLE filler (x BLOB);\nWITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600) INSERT INTO filler SELECT randomblob(4000) FROM n;";
    write_folder(
        &dir.join("migrations"),
        &[
            (
                "a.sql",
                migration(
                    "a1",
                    "none",
                    "CREATE TABLE t (x); INSERT INTO t VALUES (1), (2);",
                    None,
                ),
            ),
            ("b.sql", migration("b1", "a1", big, None)),
        ],
    );
}

#[test]
fn an_immutable_database_or_folder_is_refused_and_unchanged() {
    let dir = TempDir::new().unwrap();
    project(dir.path());
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let db = data.join("bot.db");
    assert!(migrate(dir.path(), &db, &["upgrade", "a1"]).0);
    let before = snapshot(&Connection::open(&db).unwrap());
    if !sh(&format!("chattr +i {}", db.display())) {
        eprintln!("skipped: chattr is not available on this machine");
        return;
    }
    let undo = Undo(vec![format!("chattr -i {}", db.display())]);
    let (ok, err) = migrate(dir.path(), &db, &["upgrade", "head"]);
    assert!(!ok && err.contains("read-only"), "{err}");
    drop(undo);
    assert_eq!(snapshot(&Connection::open(&db).unwrap()), before);

    assert!(sh(&format!("chattr +i {}", data.display())));
    let undo = Undo(vec![format!("chattr -i {}", data.display())]);
    let (ok, err) = migrate(dir.path(), &db, &["upgrade", "head"]);
    assert!(!ok && err.contains("error:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    drop(undo);
    assert_eq!(snapshot(&Connection::open(&db).unwrap()), before);
}

/// A 1 MiB tmpfs, unmounted when dropped.
fn small_disk(dir: &Path) -> Option<(PathBuf, Undo)> {
    let mount = dir.join("small");
    std::fs::create_dir_all(&mount).unwrap();
    if !sh(&format!(
        "mount -t tmpfs -o size=1m tmpfs {}",
        mount.display()
    )) {
        eprintln!("skipped: mounting a tmpfs is not allowed on this machine");
        return None;
    }
    let undo = Undo(vec![format!("umount {}", mount.display())]);
    Some((mount, undo))
}

#[test]
fn a_full_disk_during_upgrade_backup_and_import_loses_nothing() {
    let dir = TempDir::new().unwrap();
    project(dir.path());
    let Some((disk, _undo)) = small_disk(dir.path()) else {
        return;
    };

    // Upgrade: the database lives on the full disk.
    let db = disk.join("bot.db");
    assert!(migrate(dir.path(), &db, &["upgrade", "a1"]).0);
    let before = snapshot(&Connection::open(&db).unwrap());
    let (ok, err) = migrate(dir.path(), &db, &["upgrade", "head"]);
    assert!(!ok && err.contains("full"), "{err}");
    let conn = Connection::open(&db).unwrap();
    assert_eq!(snapshot(&conn), before);
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");

    // Backup: a big database, the copy goes to the full disk.
    let big = dir.path().join("big.db");
    assert!(migrate(dir.path(), &big, &["upgrade", "head"]).0);
    let big_before = snapshot(&Connection::open(&big).unwrap());
    let target = disk.join("copy.db");
    let (ok, err) = migrate(
        dir.path(),
        &big,
        &["backup", "--out", target.to_str().unwrap()],
    );
    assert!(!ok && err.contains("error:"), "{err}");
    assert!(!target.exists(), "no half backup under the final name");
    assert_eq!(snapshot(&Connection::open(&big).unwrap()), big_before);

    // Import: the rows do not fit; the database keeps what it had.
    assert!(migrate(dir.path(), &big, &["export", "--out", "dump.json"]).0);
    let small = disk.join("small.db");
    std::fs::remove_file(&db).unwrap();
    let conn = Connection::open(&small).unwrap();
    conn.execute_batch(
        "CREATE TABLE t (x); CREATE TABLE filler (x BLOB); INSERT INTO t VALUES (42);",
    )
    .unwrap();
    drop(conn);
    let small_before = snapshot(&Connection::open(&small).unwrap());
    std::fs::create_dir_all(dir.path().join("backups")).unwrap();
    let (ok, _) = migrate(dir.path(), &small, &["import", "dump.json"]);
    assert!(!ok);
    assert_eq!(snapshot(&Connection::open(&small).unwrap()), small_before);
}
