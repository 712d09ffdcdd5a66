//! `bench-migrate MODE DIR REPEATS`: times this project on the migrations
//! embedded from `migrations/`. Modes: `apply` (one transaction),
//! `apply-per-migration`, `check` (start-up verify on an up-to-date
//! database) and `floor` (the same upgrade SQL in one transaction with no
//! bookkeeping). Prints one JSON line with the samples in microseconds.

use migrate::{Migrations, RunOptions, Target};
use rusqlite::Connection;
use std::path::Path;
use std::time::Instant;

static MIGRATIONS: Migrations = migrate::embed_migrations!("migrations");

fn apply(db: &Path, per_migration: bool) {
    let mut conn = Connection::open(db).unwrap();
    let options = RunOptions {
        transaction_per_migration: per_migration,
        ..RunOptions::default()
    };
    MIGRATIONS.upgrade_with(&mut conn, &Target::Head, &options).unwrap();
}

fn floor(db: &Path) {
    let mut conn = Connection::open(db).unwrap();
    let tx = conn.transaction().unwrap();
    for migration in MIGRATIONS.as_slice() {
        tx.execute_batch(migration.upgrade().sql()).unwrap();
    }
    tx.commit().unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, dir, repeats) = (&args[1], Path::new(&args[2]), args[3].parse().unwrap());
    let mut samples = Vec::new();
    let checked = dir.join("checked.db");
    if mode == "check" {
        apply(&checked, false);
    }
    for i in 0..repeats {
        let db = dir.join(format!("sample{i}.db"));
        let started = Instant::now();
        match mode.as_str() {
            "apply" => apply(&db, false),
            "apply-per-migration" => apply(&db, true),
            "floor" => floor(&db),
            "check" => {
                let conn = Connection::open(&checked).unwrap();
                MIGRATIONS.verify(&conn).unwrap().ensure_clean().unwrap();
            }
            other => panic!("unknown mode {other}"),
        }
        samples.push(started.elapsed().as_micros());
        let _ = std::fs::remove_file(&db);
    }
    let version = rusqlite::version();
    println!("{{\"sqlite\":\"{version}\",\"samples_us\":{samples:?}}}");
}
