//! Concurrent starts and writes: eight bots starting at once on one file,
//! and a bot writing while another process upgrades.

use crate::common::{bot_binary, long_history, seeded_database};
use migrate_kit::Migrations;
use rusqlite::Connection;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

#[test]
fn eight_bots_starting_at_once_apply_each_migration_once() {
    let bot = bot_binary();
    for round in 0..20 {
        let dir = TempDir::new().unwrap();
        let db = dir.path().join("bot.db");
        let children: Vec<_> = (0..8)
            .map(|_| {
                Command::new(&bot)
                    .env("DATABASE_URL", &db)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success(),
                "round {round}: a bot failed: {stderr}"
            );
            assert!(!stderr.contains("locked"), "round {round}: {stderr}");
        }
        let conn = Connection::open(&db).unwrap();
        let applied: i64 = conn
            .query_row("SELECT count(*) FROM migrate_applied", [], |r| r.get(0))
            .unwrap();
        let upgrades: i64 = conn
            .query_row(
                "SELECT count(*) FROM migrate_log WHERE operation = 'upgrade'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let requests: i64 = conn
            .query_row("SELECT count(*) FROM repair_requests", [], |r| r.get(0))
            .unwrap();
        assert_eq!((applied, upgrades, requests), (3, 1, 8), "round {round}");
    }
}

fn writer_during_upgrade(wal: bool) {
    let dir = TempDir::new().unwrap();
    let folder = long_history(&dir.path().join("migrations"), 120);
    let set = Migrations::from_dir(&folder).unwrap();
    let db = dir.path().join("bot.db");
    seeded_database(&db, &set, wal);
    Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE bot_events (id INTEGER PRIMARY KEY, at TEXT)")
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let conn = Connection::open(db).unwrap();
            conn.busy_timeout(Duration::from_secs(30)).unwrap();
            let mut written = 0i64;
            // Each write holds the lock for a while, as a commit waiting on a
            // slow disk does, and the next one follows at once: the upgrade
            // only gets the lock in the microseconds between two writes.
            while !stop.load(Ordering::Relaxed) {
                conn.execute_batch("BEGIN IMMEDIATE")
                    .expect("a bot write failed");
                conn.execute("INSERT INTO bot_events (at) VALUES (datetime('now'))", [])
                    .expect("a bot write failed");
                std::thread::sleep(Duration::from_millis(1));
                conn.execute_batch("COMMIT").expect("a bot write failed");
                written += 1;
            }
            written
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    let out = Command::new(env!("CARGO_BIN_EXE_migrate"))
        .arg("--dir")
        .arg(&folder)
        .arg("--database")
        .arg(&db)
        .args(["upgrade", "head"])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = Connection::open(&db).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM bot_events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, written, "no write was lost");
    assert!(written > 0);
}

#[test]
fn a_bot_writing_during_an_upgrade_loses_nothing_in_rollback_journal_mode() {
    writer_during_upgrade(false);
}

#[test]
fn a_bot_writing_during_an_upgrade_loses_nothing_in_wal_mode() {
    writer_during_upgrade(true);
}
