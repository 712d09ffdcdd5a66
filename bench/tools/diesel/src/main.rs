//! `bench-diesel MODE DIR REPEATS`: times diesel_migrations on SQLite with
//! the migrations embedded from `migrations/`. Modes: `apply` (diesel's
//! default, a transaction per migration) and `check` (a run with nothing
//! to apply). Prints one JSON line, samples in microseconds.

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
    let (mode, dir, repeats) = (&args[1], Path::new(&args[2]), args[3].parse().unwrap());
    let mut samples = Vec::new();
    let checked = dir.join("checked.db");
    if mode == "check" {
        apply(&checked);
    }
    for i in 0..repeats {
        let db = dir.join(format!("sample{i}.db"));
        let started = Instant::now();
        match mode.as_str() {
            "apply" => apply(&db),
            "check" => apply(&checked),
            other => panic!("unknown mode {other}"),
        }
        samples.push(started.elapsed().as_micros());
        let _ = std::fs::remove_file(&db);
    }
    let mut conn = SqliteConnection::establish(":memory:").unwrap();
    let version = diesel::sql_query("SELECT sqlite_version() AS version")
        .get_result::<Version>(&mut conn)
        .unwrap()
        .version;
    println!("{{\"sqlite\":\"{version}\",\"samples_us\":{samples:?}}}");
}
