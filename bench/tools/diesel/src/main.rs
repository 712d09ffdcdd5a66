//! `bench-diesel MODE DB`: times one operation of diesel_migrations on
//! SQLite with the migrations embedded from `migrations/`. Modes: `apply` (diesel's
//! default, a transaction per migration) and `check` (a run with nothing
//! to apply). Prints one JSON line, the time in microseconds.

use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::path::Path;
use std::time::Instant;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

fn apply(db: &Path) {
    let mut conn = SqliteConnection::establish(db.to_str().unwrap()).unwrap();
    conn.run_pending_migrations(MIGRATIONS).unwrap();
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    #[cfg(feature = "postgres")]
    if args[2].starts_with("postgres") {
        let started = Instant::now();
        let mut conn = diesel::pg::PgConnection::establish(&args[2]).unwrap();
        conn.run_pending_migrations(MIGRATIONS).unwrap();
        println!("{{\"us\":{}}}", started.elapsed().as_micros());
        return;
    }
    let (mode, db) = (args[1].as_str(), Path::new(&args[2]));
    let started = Instant::now();
    match mode {
        "apply" | "check" => apply(db),
        other => panic!("unknown mode {other}"),
    }
    let us = started.elapsed().as_micros();
    let mut conn = SqliteConnection::establish(":memory:").unwrap();
    let version = diesel::sql_query("SELECT sqlite_version() AS version")
        .get_result::<Version>(&mut conn)
        .unwrap()
        .version;
    println!("{{\"sqlite\":\"{version}\",\"us\":{us}}}");
}
