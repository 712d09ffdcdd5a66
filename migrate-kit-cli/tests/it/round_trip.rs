//! Property: export then import, and backup then restore, give back exactly
//! the same contents, for databases of every SQLite value type and
//! extreme, with table and column names that need quoting.
//! 32 cases by default (each runs four processes); `PROPTEST_CASES=N` for more.

use assert_cmd::Command;
use proptest::prelude::*;
use rusqlite::types::Value;
use rusqlite::Connection;
use std::path::Path;
use tempfile::TempDir;

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::Integer),
        prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0)].prop_map(Value::Integer),
        any::<f64>()
            .prop_filter("SQLite stores NaN as NULL", |f| !f.is_nan())
            .prop_map(Value::Real),
        prop_oneof![
            Just(-0.0),
            Just(f64::MIN_POSITIVE),
            Just(5e-324),
            Just(1.7976931348623157e308),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY)
        ]
        .prop_map(Value::Real),
        any::<String>().prop_map(Value::Text),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Value::Blob),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("order".to_owned()),
        Just("select".to_owned()),
        Just("with space".to_owned()),
        Just("quote\"d".to_owned()),
        Just("кириллица".to_owned()),
        "[a-z]{1,8}",
    ]
}

#[derive(Debug, Clone)]
struct TableSpec {
    name: String,
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

fn table() -> impl Strategy<Value = TableSpec> {
    (name(), prop::collection::vec(name(), 1..4)).prop_flat_map(|(name, mut columns)| {
        columns.sort();
        columns.dedup();
        let width = columns.len();
        prop::collection::vec(prop::collection::vec(value(), width), 0..6).prop_map(move |rows| {
            TableSpec {
                name: name.clone(),
                columns: columns.clone(),
                rows,
            }
        })
    })
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn create(path: &Path, tables: &[TableSpec], with_rows: bool) {
    let conn = Connection::open(path).unwrap();
    for t in tables {
        // No declared types: every value keeps its storage class exactly.
        let cols: Vec<String> = t.columns.iter().map(|c| quote(c)).collect();
        conn.execute_batch(&format!(
            "CREATE TABLE {} (rowkey INTEGER PRIMARY KEY, {})",
            quote(&t.name),
            cols.join(", ")
        ))
        .unwrap();
        if with_rows {
            for (i, row) in t.rows.iter().enumerate() {
                let marks = vec!["?"; row.len()].join(", ");
                let sql = format!(
                    "INSERT INTO {} (rowkey, {}) VALUES ({i}, {marks})",
                    quote(&t.name),
                    cols.join(", ")
                );
                conn.execute(&sql, rusqlite::params_from_iter(row.iter()))
                    .unwrap();
            }
        }
    }
}

/// Every value of every table, reals compared bit for bit.
fn contents(path: &Path, tables: &[TableSpec]) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut out = Vec::new();
    for t in tables {
        let cols: Vec<String> = t.columns.iter().map(|c| quote(c)).collect();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT rowkey, {} FROM {} ORDER BY rowkey",
                cols.join(", "),
                quote(&t.name)
            ))
            .unwrap();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..=cols.len() {
                let v: Value = row.get(i).unwrap();
                out.push(match v {
                    Value::Real(r) => format!("real {:x}", r.to_bits()),
                    other => format!("{other:?}"),
                });
            }
        }
    }
    out
}

fn migrate(dir: &Path, db: &Path, args: &[&str]) {
    let migrations = dir.join("migrations/versions");
    std::fs::create_dir_all(&migrations).unwrap();
    let mut cmd = Command::cargo_bin("migrate").unwrap();
    cmd.current_dir(dir)
        .arg("--database")
        .arg(db)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATE_DIR");
    cmd.assert().success();
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn export_import_and_backup_restore_are_lossless(tables in prop::collection::vec(table(), 1..4)) {
        let mut tables = tables;
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        tables.dedup_by(|a, b| a.name == b.name);
        let dir = TempDir::new().unwrap();
        let original = dir.path().join("original.db");
        create(&original, &tables, true);
        let expected = contents(&original, &tables);

        let empty = dir.path().join("empty.db");
        create(&empty, &tables, false);
        migrate(dir.path(), &original, &["export", "--out", "export.json"]);
        migrate(dir.path(), &empty, &["import", "export.json"]);
        prop_assert_eq!(&contents(&empty, &tables), &expected);

        let restored = dir.path().join("restored.db");
        create(&restored, &tables, false);
        migrate(dir.path(), &original, &["backup", "--out", "copy.db"]);
        migrate(dir.path(), &restored, &["restore", "copy.db"]);
        prop_assert_eq!(&contents(&restored, &tables), &expected);
    }
}
