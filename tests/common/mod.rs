//! Helpers shared by the integration tests: scratch migration folders and
//! exact snapshots of a SQLite database.
#![allow(dead_code)]

use rusqlite::types::ValueRef;
use rusqlite::Connection;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The bot's own migrations folder.
pub const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");

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
        .env_remove("MIGRATE_DIR");
    cmd
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

/// Writes `versions/<name>` files under `dir` and returns `dir`.
pub fn write_folder(dir: &Path, files: &[(&str, String)]) -> PathBuf {
    let versions = dir.join("versions");
    std::fs::create_dir_all(&versions).unwrap();
    for (name, text) in files {
        std::fs::write(versions.join(name), text).unwrap();
    }
    dir.to_owned()
}

/// The text of a migration file.
pub fn migration(rev: &str, down: &str, upgrade: &str, downgrade: Option<&str>) -> String {
    let mut text = format!("-- revision: {rev}\n-- down_revision: {down}\n-- message: step {rev}\n\n-- migrate:upgrade\n{upgrade}\n");
    if let Some(downgrade) = downgrade {
        text += &format!("\n-- migrate:downgrade\n{downgrade}\n");
    }
    text
}

/// Every object of `sqlite_schema` and every row of every table, in a
/// deterministic text form: two equal snapshots mean equal databases.
pub fn snapshot(conn: &Connection) -> String {
    let mut out = String::new();
    let mut stmt = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name")
        .unwrap();
    let objects: Vec<(String, String, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (kind, name, sql) in &objects {
        writeln!(out, "{kind} {name}: {}", sql.as_deref().unwrap_or("")).unwrap();
    }
    for (kind, name, _) in &objects {
        if kind != "table" {
            continue;
        }
        let mut rows = conn
            .prepare(&format!(
                "SELECT * FROM \"{}\" ORDER BY 1",
                name.replace('"', "\"\"")
            ))
            .unwrap();
        let columns = rows.column_count();
        let mut cursor = rows.query([]).unwrap();
        while let Some(row) = cursor.next().unwrap() {
            let values: Vec<String> = (0..columns)
                .map(|i| match row.get_ref(i).unwrap() {
                    ValueRef::Null => "NULL".to_owned(),
                    ValueRef::Integer(v) => v.to_string(),
                    ValueRef::Real(v) => format!("{v:e}"),
                    ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
                    ValueRef::Blob(b) => format!("x{b:02x?}"),
                })
                .collect();
            writeln!(out, "{name}: {}", values.join(" | ")).unwrap();
        }
    }
    out
}

/// Column names of a table.
pub fn columns(conn: &Connection, table: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info({table})"))
        .unwrap();
    stmt.query_map([], |r| r.get(1))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The rows of `alembic_version`.
pub fn version_rows(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT version_num FROM alembic_version ORDER BY version_num")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
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
pub fn seeded_database(path: &Path, set: &migrate::Migrations, wal: bool) {
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
/// filtered run such as `cargo test --release --test concurrency`).
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
            "--example",
            "repair_bot",
            "--manifest-path",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
        ]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        assert!(build.status().unwrap().success(), "building repair_bot");
    }
    assert!(bot.exists(), "{} was not built", bot.display());
    bot
}
