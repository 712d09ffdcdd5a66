//! `bench-refinery MODE DB`: times one operation of refinery (rusqlite)
//! on the migrations embedded from `migrations/`, as a process start does. Modes: `apply` (refinery's
//! default, a transaction per migration), `apply-grouped` (one
//! transaction) and `check` (a run with nothing to apply, which validates
//! the applied migrations). Prints one JSON line, the time in microseconds.

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
    #[cfg(feature = "postgres")]
    if args[2].starts_with("postgres") {
        let started = Instant::now();
        let mut client = postgres::Client::connect(&args[2], postgres::NoTls).unwrap();
        embedded::migrations::runner()
            .set_grouped(args[1] == "apply-grouped")
            .run(&mut client)
            .unwrap();
        println!("{{\"us\":{}}}", started.elapsed().as_micros());
        return;
    }
    let (mode, db) = (args[1].as_str(), Path::new(&args[2]));
    let started = Instant::now();
    match mode {
        "apply" | "check" => apply(db, false),
        "apply-grouped" => apply(db, true),
        other => panic!("unknown mode {other}"),
    }
    let us = started.elapsed().as_micros();
    let version = rusqlite::version();
    println!("{{\"sqlite\":\"{version}\",\"us\":{us}}}");
}
