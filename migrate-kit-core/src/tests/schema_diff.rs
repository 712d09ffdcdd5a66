//! Property: for random schemas A and B, the generated upgrade turns a
//! database holding A and rows into B, the downgrade returns it to A,
//! `foreign_key_check` stays clean, and rows in persisting columns survive.
//!
//! 256 cases by default; `PROPTEST_CASES=5000 cargo test -p migrate-kit-core
//! --test it schema_diff::` runs more.

use crate::model::schema::Schema;
use crate::sqlite::introspect::read_schema;
use crate::tools::schema::diff::{diff, Renames};
use proptest::prelude::*;
use rusqlite::types::Value;
use rusqlite::Connection;

#[derive(Debug, Clone)]
struct ColumnSpec {
    name: usize,
    kind: usize,
    not_null: bool,
    default: bool,
    unique: bool,
    check: bool,
}

#[derive(Debug, Clone)]
struct TableSpec {
    name: usize,
    columns: Vec<ColumnSpec>,
    references: Option<usize>,
    index_on: Option<usize>,
    view: bool,
    trigger: bool,
    without_rowid: bool,
}

const TYPES: [&str; 6] = ["INTEGER", "TEXT", "REAL", "BLOB", "NUMERIC", ""];

fn column() -> impl Strategy<Value = ColumnSpec> {
    (
        0..6usize,
        0..6usize,
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
    )
        // A UNIQUE column has no default: rows that gain it must not collide.
        .prop_map(
            |(name, kind, not_null, default, unique, check)| ColumnSpec {
                name,
                kind,
                not_null: not_null && !unique,
                default: default && !unique,
                unique,
                check,
            },
        )
}

fn table() -> impl Strategy<Value = TableSpec> {
    (
        0..4usize,
        prop::collection::vec(column(), 0..4),
        prop::option::weighted(0.3, 0..4usize),
        prop::option::of(0..4usize),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.15),
    )
        .prop_map(
            |(name, columns, references, index_on, view, trigger, without_rowid)| TableSpec {
                name,
                columns,
                references,
                index_on,
                view,
                trigger,
                without_rowid,
            },
        )
}

/// The SQL of a schema; duplicate names are dropped so the SQL is valid.
fn schema_sql(tables: &[TableSpec]) -> (String, Vec<(String, Vec<String>)>) {
    let mut seen_tables = Vec::new();
    let mut sql = String::new();
    let mut shape = Vec::new();
    let names: Vec<usize> = {
        let mut n: Vec<usize> = tables.iter().map(|t| t.name).collect();
        n.sort();
        n.dedup();
        n
    };
    for t in tables {
        if seen_tables.contains(&t.name) {
            continue;
        }
        seen_tables.push(t.name);
        let name = format!("t{}", t.name);
        let mut defs = vec!["id INTEGER PRIMARY KEY NOT NULL".to_owned()];
        let mut cols = Vec::new();
        for c in &t.columns {
            let col = format!("c{}", c.name);
            if cols.contains(&col) {
                continue;
            }
            let mut def = format!("{col} {}", TYPES[c.kind]).trim_end().to_owned();
            if c.not_null {
                def += " NOT NULL DEFAULT 'dflt'";
            } else if c.default {
                def += " DEFAULT 'd'";
            }
            if c.unique {
                def += " UNIQUE";
            }
            if c.check {
                def += &format!(" CHECK (length({col}) >= 0)");
            }
            defs.push(def);
            cols.push(col);
        }
        if let Some(parent) = t.references.filter(|p| names.contains(p)) {
            defs.push(format!(
                "ref_id INTEGER REFERENCES t{parent} (id) ON DELETE CASCADE"
            ));
            cols.push("ref_id".to_owned());
        }
        let options = if t.without_rowid {
            " WITHOUT ROWID"
        } else {
            ""
        };
        sql += &format!(
            "CREATE TABLE {name} (\n    {}\n){options};\n",
            defs.join(",\n    ")
        );
        if let Some(i) = t.index_on {
            if let Some(col) = cols
                .iter()
                .filter(|c| c.starts_with('c'))
                .nth(i % cols.len().max(1))
            {
                sql += &format!("CREATE INDEX ix_{name}_{col} ON {name} ({col});\n");
            }
        }
        if t.view {
            sql += &format!("CREATE VIEW v_{name} AS SELECT id FROM {name};\n");
        }
        if t.trigger {
            sql +=
                &format!("CREATE TRIGGER trg_{name} AFTER INSERT ON {name} BEGIN SELECT 1; END;\n");
        }
        shape.push((name, cols));
    }
    (sql, shape)
}

fn rows_of(conn: &Connection, table: &str, column: &str) -> Vec<(i64, Value)> {
    let mut stmt = conn
        .prepare(&format!("SELECT id, {column} FROM {table} ORDER BY id"))
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn apply(conn: &Connection, statements: &[String]) {
    conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN")
        .unwrap();
    for statement in statements {
        if let Err(e) = conn.execute_batch(statement) {
            panic!("statement failed: {statement}\n{e}");
        }
    }
    let violations: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(violations, 0, "foreign_key_check is clean");
    conn.execute_batch("COMMIT; PRAGMA foreign_keys = ON")
        .unwrap();
}

fn model(sql: &str) -> Schema {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(sql).unwrap();
    read_schema(&conn).unwrap()
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn upgrade_reaches_b_and_downgrade_returns_to_a(a in prop::collection::vec(table(), 0..4), b in prop::collection::vec(table(), 0..4)) {
        let (sql_a, shape_a) = schema_sql(&a);
        let (sql_b, shape_b) = schema_sql(&b);
        let (model_a, model_b) = (model(&sql_a), model(&sql_b));
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&sql_a).unwrap();
        for (table, cols) in &shape_a {
            for row in 1..=3 {
                let values: Vec<String> = cols.iter().map(|c| if c == "ref_id" { "NULL".to_owned() } else { format!("'r{row}{c}x'") }).collect();
                let names: Vec<&str> = std::iter::once("id").chain(cols.iter().map(String::as_str)).collect();
                let values = std::iter::once(row.to_string()).chain(values).collect::<Vec<_>>().join(", ");
                conn.execute(&format!("INSERT INTO {table} ({}) VALUES ({values})", names.join(", ")), []).unwrap();
            }
        }
        let before: Vec<_> = shape_a.iter().flat_map(|(t, cols)| cols.iter().map(move |c| (t.clone(), c.clone()))).map(|(t, c)| {
            let rows = rows_of(&conn, &t, &c);
            (t, c, rows)
        }).collect();
        let d = diff(&model_a, &model_b, &Renames::default());
        apply(&conn, &d.upgrade);
        prop_assert_eq!(read_schema(&conn).unwrap(), model_b.clone(), "upgrade SQL: {:#?}", d.upgrade);
        let persists = |t: &str, c: &str, shape: &[(String, Vec<String>)]| shape.iter().any(|(name, cols)| name == t && cols.iter().any(|x| x == c));
        for (t, c, rows) in &before {
            if persists(t, c, &shape_b) {
                prop_assert_eq!(&rows_of(&conn, t, c), rows, "rows of {}.{} after upgrade", t, c);
            }
        }
        apply(&conn, &d.downgrade);
        prop_assert_eq!(read_schema(&conn).unwrap(), model_a, "downgrade SQL: {:#?}", d.downgrade);
        for (t, c, rows) in &before {
            if persists(t, c, &shape_b) {
                prop_assert_eq!(&rows_of(&conn, t, c), rows, "rows of {}.{} after downgrade", t, c);
            }
        }
        prop_assert!(diff(&model_b, &model_b, &Renames::default()).is_empty());
    }
}
