//! `bench-migrate MODE DB`: times one operation of this project on the
//! migrations embedded from `migrations/`, as a process start does it.
//! Modes: `apply` (one transaction), `apply-per-migration`, `check` (the
//! start-up verify of an up-to-date DB), `start` on a server (refuse drift,
//! then upgrade to head, as the bot starts), `check-floor` (open it and read
//! its version, which any check must do) and `floor` (the same upgrade SQL
//! in one transaction with no bookkeeping; on a server, one message per
//! migration); on a server, `server-alone` (the same SQL sent as one
//! message). Prints one JSON line with the time
//! in microseconds.

use migrate_kit::{Migrations, RunOptions, Target};
use rusqlite::Connection;
use std::path::Path;
use std::time::Instant;

#[cfg(not(feature = "replay"))]
static MIGRATIONS: Migrations = migrate_kit::embed_migrations!("migrations");
#[cfg(feature = "replay")]
static MIGRATIONS: Migrations = migrate_kit::embed_migrations!("migrations", replay);

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
        tx.execute_batch(&migration.upgrade().sql().unwrap()).unwrap();
    }
    tx.commit().unwrap();
}

/// The same operations on a PostgreSQL server (`--features postgres`).
#[cfg(feature = "postgres")]
fn on_server(mode: &str, url: &str) {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    match mode {
        "apply" => {
            MIGRATIONS.upgrade(&mut client, "head").unwrap();
        }
        "apply-per-migration" => {
            let options = RunOptions {
                transaction_per_migration: true,
                ..RunOptions::default()
            };
            MIGRATIONS.upgrade_with(&mut client, &Target::Head, &options).unwrap();
        }
        "check" => {
            MIGRATIONS.verify(&mut client).unwrap().ensure_clean().unwrap();
        }
        "start" => {
            // What the bot does at start: refuse drift, then upgrade.
            MIGRATIONS.start(&mut client).unwrap();
        }
        "floor" => {
            // Each migration's SQL as one message, in one transaction, with
            // no bookkeeping: a round trip per migration, the least a
            // client that runs migrations one by one can make.
            let mut tx = client.transaction().unwrap();
            for migration in MIGRATIONS.as_slice() {
                tx.batch_execute(&migration.upgrade().sql().unwrap()).unwrap();
            }
            tx.commit().unwrap();
        }
        "server-alone" => {
            // The upgrade SQL as one message in one transaction: no round
            // trip per statement and no bookkeeping, the server's own time.
            let sql: String = MIGRATIONS
                .as_slice()
                .iter()
                .map(|m| m.upgrade().sql().unwrap())
                .collect::<Vec<_>>()
                .join("\n;\n");
            let mut tx = client.transaction().unwrap();
            tx.batch_execute(&sql).unwrap();
            tx.commit().unwrap();
        }
        other => panic!("unknown mode {other}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    #[cfg(feature = "postgres")]
    if args[2].starts_with("postgres") {
        let started = Instant::now();
        on_server(&args[1], &args[2]);
        println!("{{\"us\":{}}}", started.elapsed().as_micros());
        return;
    }
    let (mode, db) = (args[1].as_str(), Path::new(&args[2]));
    let started = Instant::now();
    match mode {
        "apply" => apply(db, false),
        "apply-per-migration" => apply(db, true),
        "floor" => floor(db),
        "check" => {
            let mut conn = Connection::open(db).unwrap();
            MIGRATIONS.verify(&mut conn).unwrap().ensure_clean().unwrap();
        }
        "check-floor" => {
            // What any check must do: open, let SQLite parse the schema, read the version.
            let conn = Connection::open(db).unwrap();
            let version: String = conn
                .query_row("SELECT version_num FROM alembic_version", [], |row| row.get(0))
                .unwrap();
            assert!(!version.is_empty());
        }
        other => panic!("unknown mode {other}"),
    }
    let us = started.elapsed().as_micros();
    let version = rusqlite::version();
    println!("{{\"sqlite\":\"{version}\",\"us\":{us}}}");
}
