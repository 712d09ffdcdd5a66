//! Crash trials: `migrate` is killed with SIGKILL at a random moment while
//! it upgrades a database with data through a long history (or backs up,
//! restores, imports, rebuilds), and the database must come out whole.
//!
//! Default: 50 upgrade trials (half rollback journal, half WAL) and 5 for
//! each other command. `MIGRATE_CRASH_TRIALS=1000 cargo test --release
//! --test it crash::` runs 1,000 upgrade trials.

use crate::common::{long_history, qty_updates, seeded_database, Rng, ITEM_ROWS};
use migrate_kit::{Migrations, Target};
use migrate_kit_core::replay::replay;
use rusqlite::Connection;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const HISTORY: usize = 300;

/// Every table, index, view and trigger but the ledger, as SQLite stores
/// its SQL: equal lists mean the same schema.
fn schema_sql(conn: &Connection) -> Vec<(String, String, Option<String>)> {
    let mut statement = conn
        .prepare(
            "SELECT type, name, sql FROM sqlite_master \
             WHERE name NOT LIKE 'sqlite_%' \
             AND tbl_name NOT IN ('alembic_version', 'migrate_applied', 'migrate_log') \
             ORDER BY type, name",
        )
        .unwrap();
    let rows = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn trials() -> usize {
    std::env::var("MIGRATE_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

/// `migrate` on `db`, run from the database's folder so that the backups
/// `restore` and `rebuild` take land in the temp dir, not in the checkout.
fn migrate_cmd(dir: &Path, db: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_migrate"));
    cmd.current_dir(db.parent().expect("a database path has a folder"))
        .arg("--dir")
        .arg(dir)
        .arg("--database")
        .arg(db)
        .args(args);
    cmd.env_remove("DATABASE_URL")
        .env_remove("MIGRATE_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Runs the command and kills it after `after`; returns whether it finished first.
fn run_and_kill(mut cmd: Command, after: Duration) -> bool {
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    while started.elapsed() < after {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    false
}

fn integrity(conn: &Connection) {
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(result, "ok");
}

/// Everything a crash must not break, checked on the database at `db`.
fn assert_whole(set: &Migrations, db: &Path, trial: usize) {
    let mut conn = Connection::open(db).unwrap();
    integrity(&conn);
    let report = set.verify(&mut conn).unwrap();
    assert!(
        report.is_clean() && report.unverified.is_empty(),
        "trial {trial}: {report}"
    );
    let heads = report.heads.clone();
    let expected = match heads.first() {
        Some(head) => schema_sql(&replay(set, &Target::Revision(head.clone())).unwrap()),
        None => Vec::new(),
    };
    assert_eq!(
        schema_sql(&conn),
        expected,
        "trial {trial}: schema differs from the replay at {heads:?}"
    );
    let at = heads.first().map(|h| h[1..].parse::<usize>().unwrap());
    let (count, qty): (i64, i64) = conn
        .query_row("SELECT count(*), sum(qty) FROM items", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(count, ITEM_ROWS, "trial {trial}: rows lost");
    assert_eq!(
        qty,
        ITEM_ROWS * (1 + qty_updates(at)),
        "trial {trial}: updates half-applied at {heads:?}"
    );
}

#[test]
fn killing_an_upgrade_at_any_moment_leaves_a_whole_database() {
    let dir = TempDir::new().unwrap();
    let folder = long_history(&dir.path().join("migrations"), HISTORY);
    let set = Migrations::from_dir(&folder).unwrap();
    let templates = [dir.path().join("journal.db"), dir.path().join("wal.db")];
    seeded_database(&templates[0], &set, false);
    seeded_database(&templates[1], &set, true);
    // How long a full run takes, to spread the kills over it.
    let probe = dir.path().join("probe.db");
    std::fs::copy(&templates[0], &probe).unwrap();
    let started = Instant::now();
    assert!(migrate_cmd(&folder, &probe, &["upgrade", "head"])
        .status()
        .unwrap()
        .success());
    let full = started.elapsed();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut killed, mut finished) = (0, 0);
    for trial in 0..trials() {
        let wal = trial % 2 == 1;
        let db = dir.path().join(format!("trial{trial}.db"));
        std::fs::copy(&templates[usize::from(wal)], &db).unwrap();
        let after = Duration::from_micros(rng.below(full.as_micros() as u64 * 12 / 10 + 1));
        if run_and_kill(migrate_cmd(&folder, &db, &["upgrade", "head"]), after) {
            finished += 1;
        } else {
            killed += 1;
        }
        assert_whole(&set, &db, trial);
        // A fresh upgrade completes from wherever the kill left it.
        assert!(
            migrate_cmd(&folder, &db, &["upgrade", "head"])
                .status()
                .unwrap()
                .success(),
            "trial {trial}"
        );
        assert_whole(&set, &db, trial);
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    }
    eprintln!(
        "crash trials: {} ({killed} killed mid-run, {finished} finished first), full run {full:?}",
        trials()
    );
    assert!(killed > 0, "the kills must land inside runs");
}

/// Row count of `items`, or `None` when the table is missing.
fn items(db: &Path) -> Option<i64> {
    let conn = Connection::open(db).unwrap();
    integrity(&conn);
    conn.query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .ok()
}

/// A database at head with `rows` items, for the data commands.
fn big_database(dir: &Path, set: &Migrations, name: &str) -> std::path::PathBuf {
    let db = dir.join(name);
    seeded_database(&db, set, false);
    let mut conn = Connection::open(&db).unwrap();
    set.upgrade(&mut conn, "head").unwrap();
    conn.execute_batch("INSERT INTO items (name, qty) SELECT name || ' copy', qty FROM items; INSERT INTO items (name, qty) SELECT name || ' again', qty FROM items;").unwrap();
    db
}

#[test]
fn killing_backup_restore_import_and_rebuild_loses_nothing() {
    let dir = TempDir::new().unwrap();
    let folder = long_history(&dir.path().join("migrations"), 20);
    let set = Migrations::from_dir(&folder).unwrap();
    let db = big_database(dir.path(), &set, "live.db");
    let rows = items(&db).unwrap();
    let mut rng = Rng(77);
    // Backups: the live database is untouched; a finished backup is whole.
    for trial in 0..5 {
        let out = dir.path().join(format!("b{trial}.db"));
        run_and_kill(
            migrate_cmd(&folder, &db, &["backup", "--out", out.to_str().unwrap()]),
            Duration::from_micros(rng.below(40_000)),
        );
        assert_eq!(items(&db), Some(rows));
        if out.exists() {
            assert_eq!(
                items(&out),
                Some(rows),
                "a backup under its final name is complete"
            );
        }
    }
    // Restores: the live database is the old one or the backup, never a mix.
    let backup = dir.path().join("restore_from.db");
    assert!(
        migrate_cmd(&folder, &db, &["backup", "--out", backup.to_str().unwrap()])
            .status()
            .unwrap()
            .success()
    );
    Connection::open(&db)
        .unwrap()
        .execute("DELETE FROM items WHERE id % 2 = 0", [])
        .unwrap();
    let halved = items(&db).unwrap();
    for _ in 0..5 {
        run_and_kill(
            migrate_cmd(&folder, &db, &["restore", backup.to_str().unwrap()]),
            Duration::from_micros(rng.below(60_000)),
        );
        let now = items(&db).unwrap();
        assert!(now == halved || now == rows, "restore left {now} rows");
        let conn = Connection::open(&db).unwrap();
        conn.execute("DELETE FROM items WHERE id % 2 = 0", [])
            .unwrap();
    }
    assert!(
        std::fs::read_dir(dir.path().join("backups")).is_ok_and(|mut d| d.next().is_some()),
        "every restore first backs up the live database"
    );
    // Imports: all of the export or none of it.
    let export = dir.path().join("export.json");
    std::fs::copy(&backup, &db).unwrap();
    assert!(
        migrate_cmd(&folder, &db, &["export", "--out", export.to_str().unwrap()])
            .status()
            .unwrap()
            .success()
    );
    for _ in 0..5 {
        Connection::open(&db)
            .unwrap()
            .execute("DELETE FROM items WHERE id > 100", [])
            .unwrap();
        let before = items(&db).unwrap();
        run_and_kill(
            migrate_cmd(&folder, &db, &["import", export.to_str().unwrap()]),
            Duration::from_micros(rng.below(150_000)),
        );
        let now = items(&db).unwrap();
        assert!(now == before || now == rows, "import left {now} rows");
    }
    // Rebuilds: the database path always holds a whole database.
    for trial in 0..5 {
        let hand = dir.path().join(format!("hand{trial}.db"));
        {
            let conn = Connection::open(&hand).unwrap();
            conn.execute_batch("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL DEFAULT 0);").unwrap();
            conn.execute_batch("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) INSERT INTO items (id, name, qty) SELECT i, 'x' || i, 1 FROM n;").unwrap();
        }
        run_and_kill(
            migrate_cmd(&folder, &hand, &["rebuild"]),
            Duration::from_micros(rng.below(200_000)),
        );
        assert_eq!(items(&hand), Some(3000), "trial {trial}");
    }
}
