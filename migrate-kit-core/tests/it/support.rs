//! Helpers shared by the integration tests of `migrate-kit-core` and of the
//! `migrate` crate (which includes this file): scratch migration folders
//! and exact snapshots of a SQLite database.
#![allow(dead_code)]

use rusqlite::types::ValueRef;
use rusqlite::Connection;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The version table as Alembic (SQLAlchemy) creates it on SQLite, byte for
/// byte: what the crate writes and what tests plant as Alembic's.
pub const ALEMBIC_VERSION_DDL: &str = "CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, \n\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)";

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

/// The text of a `transactional: false` migration (see [`migration`]).
pub fn non_transactional(rev: &str, down: &str, upgrade: &str, downgrade: Option<&str>) -> String {
    migration(rev, down, upgrade, downgrade)
        .replace("-- message:", "-- transactional: false\n-- message:")
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
