//! Helpers of the command-line and bot tests: the reference project, the
//! `migrate` binary and the bot binary, long histories and seeded
//! databases. The folder and snapshot helpers come from the core's tests.
#![allow(dead_code)]

pub use crate::support::*;
use rusqlite::Connection;
use std::path::{Path, PathBuf};

pub use crate::sets::REFERENCE;

/// A temp project with a copy of the reference migrations in
/// `migrations/versions`, and `schema.sql` when `with_schema`.
pub fn reference_project(with_schema: bool) -> tempfile::TempDir {
    let dir = tempfile::TempDir::new().unwrap();
    let versions = dir.path().join("migrations/versions");
    std::fs::create_dir_all(&versions).unwrap();
    for entry in std::fs::read_dir(Path::new(REFERENCE).join("versions")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), versions.join(entry.file_name())).unwrap();
    }
    if with_schema {
        let schema = Path::new(REFERENCE).join("schema.sql");
        std::fs::copy(schema, dir.path().join("migrations/schema.sql")).unwrap();
    }
    dir
}

/// The `migrate` binary run inside `dir`, with no configuration from the
/// environment.
pub fn migrate_in(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("migrate").unwrap();
    cmd.current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATE_DIR")
        .env_remove("MIGRATE_DEV_URL");
    cmd
}

/// The stdout of a command that must succeed.
pub fn stdout_of(cmd: &mut assert_cmd::Command) -> String {
    String::from_utf8(cmd.assert().success().get_output().stdout.clone()).unwrap()
}

/// Runs a command: its exit code, stdout and stderr.
pub fn run(cmd: &mut assert_cmd::Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Rows the long-history tests put in `items` before migrating.
pub const ITEM_ROWS: i64 = 2_000;

/// A long migration history of `n` revisions `r000`.. that creates tables,
/// adds columns, updates data, rebuilds `items` and adds indexes. Every
/// fifth revision from `r002` on adds 1 to every `items.qty`.
pub fn long_history(dir: &Path, n: usize) -> PathBuf {
    let mut files = Vec::with_capacity(n);
    let mut columns: Vec<String> = vec![
        "id INTEGER PRIMARY KEY".into(),
        "name TEXT NOT NULL".into(),
        "qty INTEGER NOT NULL DEFAULT 0".into(),
    ];
    for i in 0..n {
        let rev = format!("r{i:03}");
        let down = if i == 0 {
            "none".to_owned()
        } else {
            format!("r{:03}", i - 1)
        };
        let sql = if i == 0 {
            format!("CREATE TABLE items ({});", columns.join(", "))
        } else {
            match i % 5 {
                0 => format!("CREATE TABLE aux{i} (id INTEGER PRIMARY KEY, v TEXT);\nINSERT INTO aux{i} (v) SELECT name FROM items WHERE id % 50 = 0;"),
                1 => {
                    columns.push(format!("c{i} INTEGER DEFAULT {i}"));
                    format!("ALTER TABLE items ADD COLUMN c{i} INTEGER DEFAULT {i};")
                }
                2 => "UPDATE items SET qty = qty + 1;".to_owned(),
                3 => {
                    let names: Vec<&str> = columns.iter().map(|c| c.split(' ').next().unwrap()).collect();
                    format!(
                        "CREATE TABLE items_new ({});\nINSERT INTO items_new ({list}) SELECT {list} FROM items;\nDROP TABLE items;\nALTER TABLE items_new RENAME TO items;",
                        columns.join(", "),
                        list = names.join(", ")
                    )
                }
                _ if i == 4 => "CREATE INDEX ix_items_name ON items (name);".to_owned(),
                _ => format!("CREATE INDEX ix_aux{0} ON aux{0} (v);", i - 4),
            }
        };
        files.push((format!("{rev}.sql"), migration(&rev, &down, &sql, None)));
    }
    let refs: Vec<(&str, String)> = files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    write_folder(dir, &refs)
}

/// How many `qty` updates the history has applied up to revision index `upto`.
pub fn qty_updates(upto: Option<usize>) -> i64 {
    upto.map_or(0, |u| {
        (0..=u).filter(|i| *i > 0 && i % 5 == 2).count() as i64
    })
}

/// A database with `items` created by `r000` and filled, in the given journal mode.
pub fn seeded_database(path: &Path, set: &migrate_kit::Migrations, wal: bool) {
    let mut conn = Connection::open(path).unwrap();
    if wal {
        conn.pragma_update(None, "journal_mode", "wal").unwrap();
    }
    set.upgrade(&mut conn, "r000").unwrap();
    let tx = conn.transaction().unwrap();
    for i in 1..=ITEM_ROWS {
        tx.execute(
            "INSERT INTO items (id, name, qty) VALUES (?1, ?2, 1)",
            rusqlite::params![i, format!("item {i}")],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

/// A small deterministic random sequence (xorshift), so a failing trial can be replayed.
pub struct Rng(pub u64);

impl Rng {
    /// The next number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

/// The bot example (`examples/repair_bot.rs`) of the profile these tests
/// were built with; built first when `cargo test` has not built it (a
/// filtered run such as `cargo test --release --test it concurrency::`).
pub fn bot_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let bot = profile_dir
        .join("examples")
        .join(format!("repair_bot{}", std::env::consts::EXE_SUFFIX));
    if !bot.exists() {
        let mut build = std::process::Command::new(env!("CARGO"));
        build.args([
            "build",
            "-p",
            "migrate-kit",
            "--example",
            "repair_bot",
            "--features",
            "cli",
            "--manifest-path",
            concat!(workspace_root!(), "/Cargo.toml"),
        ]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        assert!(build.status().unwrap().success(), "building repair_bot");
    }
    assert!(bot.exists(), "{} was not built", bot.display());
    bot
}
