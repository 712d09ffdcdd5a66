//! Measures how long a large revision graph takes to load, validate and plan.
//!
//! ```text
//! cargo run --release --example graph_scale -- 100000
//! ```
//!
//! It writes N migration files (a single chain) to a scratch folder, then
//! times reading + parsing + validating the folder, and planning
//! `upgrade head` from an empty database. Each figure is the median of 5 runs.

use migrate_kit::{Migrations, Target};
use std::time::{Duration, Instant};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(100_000), |a| a.parse())?;
    let dir = std::env::temp_dir().join(format!("migrate-graph-scale-{}", std::process::id()));
    let versions = dir.join("versions");
    std::fs::create_dir_all(&versions)?;
    for i in 0..n {
        let down = if i == 0 {
            "none".to_owned()
        } else {
            format!("r{:06}", i - 1)
        };
        let text = format!(
            "-- revision: r{i:06}\n-- down_revision: {down}\n-- message: step {i}\n\n-- migrate:upgrade\nCREATE TABLE t{i} (id INTEGER);\n\n-- migrate:downgrade\nDROP TABLE t{i};\n"
        );
        std::fs::write(versions.join(format!("r{i:06}.sql")), text)?;
    }
    let mut read = Vec::new();
    let mut parse = Vec::new();
    let mut load = Vec::new();
    let mut plan = Vec::new();
    let mut steps = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let files = migrate_kit_core::load::read_folder(&dir)?;
        read.push(started.elapsed());
        let started = Instant::now();
        migrate_kit_core::load::parse_files(&files)?;
        parse.push(started.elapsed());
        let started = Instant::now();
        let set = Migrations::from_dir(&dir)?;
        load.push(started.elapsed());
        let started = Instant::now();
        steps = set.graph()?.plan_upgrade(&[], &Target::Head)?.steps.len();
        plan.push(started.elapsed());
    }
    std::fs::remove_dir_all(&dir)?;
    println!("revisions: {n}");
    println!(
        "read the folder: {:.1} ms",
        median(read).as_secs_f64() * 1e3
    );
    println!(
        "parse + validate + order, in memory: {:.1} ms",
        median(parse).as_secs_f64() * 1e3
    );
    println!(
        "load + parse + validate from a folder: {:.1} ms",
        median(load).as_secs_f64() * 1e3
    );
    println!(
        "plan `upgrade head` ({steps} steps): {:.1} ms",
        median(plan).as_secs_f64() * 1e3
    );
    Ok(())
}
