//! `bench-refinery MODE DIR REPEATS`: times refinery (rusqlite) on the
//! migrations embedded from `migrations/`. Modes: `apply` (refinery's
//! default, a transaction per migration), `apply-grouped` (one
//! transaction) and `check` (a run with nothing to apply, which validates
//! the applied migrations). Prints one JSON line, samples in microseconds.

use rusqlite::Connection;
use std::path::Path;
use std::time::Instant;

mod embedded {
    refinery::embed_migrations!("migrations");
}

fn apply(db: &Path, grouped: bool) {
    let mut conn = Connection::open(db).unwrap();
    embedded::migrations::runner()
        .set_grouped(grouped)
        .run(&mut conn)
        .unwrap();
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
            "apply-grouped" => apply(&db, true),
            "check" => apply(&checked, false),
            other => panic!("unknown mode {other}"),
        }
        samples.push(started.elapsed().as_micros());
        let _ = std::fs::remove_file(&db);
    }
    let version = rusqlite::version();
    println!("{{\"sqlite\":\"{version}\",\"samples_us\":{samples:?}}}");
}
