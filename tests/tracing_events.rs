//! What a bot's logs receive through `tracing`: a span per run, an event
//! per migration with its milliseconds, the run's end, a lock wait, and each
//! drift finding, captured from a real subscriber.
//!
//! A test binary of its own: tracing caches, per call site, whether anyone
//! listens, and a site first reached by a test running without a
//! subscriber (the other integration tests) could stay silent here.
#![cfg(feature = "tracing")]

/// The repository's root, where the shared migration folders are.
macro_rules! workspace_root {
    () => {
        env!("CARGO_MANIFEST_DIR")
    };
}

#[path = "it/sets.rs"]
mod sets;
#[path = "../migrate-kit-core/tests/it/support.rs"]
mod support;

use crate::sets::REFERENCE;
use crate::support::{migration, write_folder};
use migrate_kit::{Migrations, RunOptions, Target};
use rusqlite::Connection;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tempfile::TempDir;

/// A log that keeps what the subscriber writes.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The lines `work` logs through a plain-text subscriber.
fn logged(work: impl FnOnce()) -> String {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .without_time()
        .finish();
    tracing::subscriber::with_default(subscriber, work);
    let bytes = log.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn a_run_logs_its_span_each_migration_and_where_it_ends() {
    let dir = TempDir::new().unwrap();
    let set = Migrations::from_dir(REFERENCE).unwrap();
    let mut conn = Connection::open(dir.path().join("bot.db")).unwrap();
    let log = logged(|| {
        set.start(&mut conn).unwrap();
    });
    let steps: Vec<&str> = log.lines().filter(|l| l.contains("upgrade 00")).collect();
    assert_eq!(steps.len(), 3, "{log}");
    for (line, revision) in steps.iter().zip(["001", "002", "003"]) {
        assert!(line.contains("INFO"), "{line}");
        assert!(
            line.contains("migrate{operation=\"upgrade\" target=head}"),
            "{line}"
        );
        assert!(line.contains(&format!("revision=\"{revision}\"")), "{line}");
        assert!(line.contains(" ms "), "{line}");
        assert!(line.contains("ms="), "{line}");
    }
    assert!(log.contains("at 003 after 3 migration(s)"), "{log}");
    // Nothing to do: no run, so no span and no events.
    assert_eq!(logged(|| drop(set.start(&mut conn).unwrap())), "");
}

#[test]
fn drift_is_logged_one_finding_at_a_time() {
    let dir = TempDir::new().unwrap();
    let folder = dir.path().join("migrations");
    let file = |sql: &str| migration("a1", "none", sql, Some("DROP TABLE t;"));
    write_folder(&folder, &[("a1.sql", file("CREATE TABLE t (id INTEGER);"))]);
    let mut conn = Connection::open(dir.path().join("bot.db")).unwrap();
    Migrations::from_dir(&folder)
        .unwrap()
        .upgrade(&mut conn, "head")
        .unwrap();
    write_folder(
        &folder,
        &[("a1.sql", file("CREATE TABLE t (id INTEGER, x TEXT);"))],
    );
    let edited = Migrations::from_dir(&folder).unwrap();
    let log = logged(|| {
        assert!(edited.start(&mut conn).is_err());
    });
    let line = log.lines().find(|l| l.contains("drift:")).expect(&log);
    assert!(line.contains("WARN"), "{line}");
    assert!(
        line.contains("modified: a1 (versions/a1.sql) was edited after it was applied"),
        "{line}"
    );
    assert!(line.contains("`migrate repair --accept a1`"), "{line}");
}

#[test]
fn a_wait_for_the_lock_is_logged_once() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("bot.db");
    let set = Migrations::from_dir(REFERENCE).unwrap();
    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        holder.execute_batch("COMMIT").unwrap();
    });
    let mut conn = Connection::open(&path).unwrap();
    let options = RunOptions {
        busy_timeout: Duration::from_secs(20),
        ..RunOptions::default()
    };
    let log = logged(|| {
        set.upgrade_with(&mut conn, &Target::Head, &options)
            .unwrap();
    });
    release.join().unwrap();
    let waits: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("waiting up to"))
        .collect();
    assert_eq!(waits.len(), 1, "{log}");
    assert!(waits[0].contains("WARN"), "{}", waits[0]);
    assert!(
        waits[0].contains("waiting up to 20 s for the migration lock"),
        "{}",
        waits[0]
    );
    assert!(log.contains("at 003 after 3 migration(s)"), "{log}");
}
