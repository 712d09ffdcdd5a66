//! The schema model and diff on concrete cases: each way a table can
//! change, with the SQL it produces.

use crate::model::schema::Schema;
use crate::sqlite::introspect::read_schema;
use crate::tools::schema::diff::{diff, Renames};
use rusqlite::Connection;

fn model(sql: &str) -> Schema {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(sql).unwrap();
    read_schema(&conn).unwrap()
}

fn codes(sql_a: &str, sql_b: &str) -> Vec<&'static str> {
    diff(&model(sql_a), &model(sql_b), &Renames::default())
        .findings
        .iter()
        .map(|f| f.code.name())
        .collect()
}

#[test]
fn the_same_schema_written_differently_is_equal() {
    let a = model("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'x');\nCREATE INDEX ix ON users (name);");
    let b = model("create table \"users\"(\n  id integer primary key,\n  [name] text not null default 'x' -- comment\n);\ncreate index \"ix\" on users(name);");
    assert_eq!(a, b);
    assert!(diff(&a, &b, &Renames::default()).is_empty());
}

#[test]
fn adding_a_nullable_column_uses_alter_table() {
    let d = diff(
        &model("CREATE TABLE users (id INTEGER PRIMARY KEY)"),
        &model("CREATE TABLE users (id INTEGER PRIMARY KEY, phone_number TEXT)"),
        &Renames::default(),
    );
    assert_eq!(
        d.upgrade,
        ["ALTER TABLE users ADD COLUMN phone_number TEXT"]
    );
    assert_eq!(d.downgrade, ["ALTER TABLE users DROP COLUMN phone_number"]);
    assert_eq!(d.findings.len(), 0);
    assert_eq!(d.summary, ["add column users.phone_number"]);
}

#[test]
fn a_type_change_rebuilds_and_keeps_rows_views_and_triggers() {
    let a = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, w TEXT);
             CREATE INDEX ix_t_v ON t (v);
             CREATE VIEW vt AS SELECT id, v FROM t;
             CREATE TABLE log (msg TEXT);
             CREATE TRIGGER trg AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('x'); END;";
    let b = a.replace(
        "v TEXT, w TEXT",
        "v INTEGER NOT NULL DEFAULT 0, w TEXT CHECK (w <> '')",
    );
    let d = diff(&model(a), &model(&b), &Renames::default());
    assert!(
        d.upgrade
            .iter()
            .any(|s| s.starts_with("CREATE TABLE _migrate_new_t")),
        "{:#?}",
        d.upgrade
    );
    assert!(d
        .upgrade
        .contains(&"INSERT INTO _migrate_new_t (id, v, w) SELECT id, v, w FROM t".to_owned()));
    let mut found = d.findings.iter().map(|f| f.code.name()).collect::<Vec<_>>();
    found.sort();
    assert_eq!(found, ["check_changed", "not_null_added", "type_changed"]);
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(a).unwrap();
    conn.execute_batch("INSERT INTO t VALUES (1, '7', 'a'), (2, '8', 'b');")
        .unwrap();
    conn.execute_batch(&(d.upgrade.join(";\n") + ";")).unwrap();
    assert_eq!(read_schema(&conn).unwrap(), model(&b));
    let v: Vec<i64> = conn
        .prepare("SELECT v FROM vt ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(v, [7, 8], "rows survived, the view works");
    conn.execute("INSERT INTO t (v, w) VALUES (9, 'c')", [])
        .unwrap();
    let logged: i64 = conn
        .query_row("SELECT count(*) FROM log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        logged, 3,
        "two rows logged before the rebuild, one by the recreated trigger"
    );
}

#[test]
fn destructive_changes_are_flagged() {
    assert_eq!(
        codes(
            "CREATE TABLE a (x); CREATE TABLE b (y)",
            "CREATE TABLE a (x)"
        ),
        ["drop_table"]
    );
    assert_eq!(
        codes("CREATE TABLE a (x, y)", "CREATE TABLE a (x)"),
        ["drop_column"]
    );
    assert_eq!(
        codes("CREATE TABLE a (x)", "CREATE TABLE a (x UNIQUE)"),
        ["unique_added"]
    );
    assert_eq!(
        codes(
            "CREATE TABLE a (x)",
            "CREATE TABLE a (x); CREATE UNIQUE INDEX u ON a (x)"
        ),
        ["unique_added"]
    );
    assert!(codes("CREATE TABLE a (x)", "CREATE TABLE a (x, y TEXT)").is_empty());
}

#[test]
fn renames_are_explicit_and_use_rename() {
    let a = model("CREATE TABLE clients (id INTEGER PRIMARY KEY, phone TEXT); CREATE INDEX ix_phone ON clients (phone);");
    let b = model("CREATE TABLE customers (id INTEGER PRIMARY KEY, phone_number TEXT); CREATE INDEX ix_phone ON customers (phone_number);");
    let guessed = diff(&a, &b, &Renames::default());
    assert!(
        guessed.upgrade.iter().any(|s| s == "DROP TABLE clients"),
        "without a rename it is drop + create"
    );
    let renames = Renames {
        tables: vec![("clients".into(), "customers".into())],
        columns: vec![("customers".into(), "phone".into(), "phone_number".into())],
    };
    let d = diff(&a, &b, &renames);
    assert_eq!(
        d.upgrade,
        [
            "ALTER TABLE clients RENAME TO customers",
            "ALTER TABLE customers RENAME COLUMN phone TO phone_number"
        ]
    );
    assert_eq!(
        d.downgrade,
        [
            "ALTER TABLE customers RENAME TO clients",
            "ALTER TABLE clients RENAME COLUMN phone_number TO phone"
        ]
    );
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE clients (id INTEGER PRIMARY KEY, phone TEXT); CREATE INDEX ix_phone ON clients (phone); INSERT INTO clients VALUES (1, '+7');").unwrap();
    conn.execute_batch(&(d.upgrade.join(";\n") + ";")).unwrap();
    assert_eq!(read_schema(&conn).unwrap(), b);
    let phone: String = conn
        .query_row("SELECT phone_number FROM customers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(phone, "+7");
}

#[test]
fn without_rowid_strict_and_generated_columns_are_modelled() {
    let a = model("CREATE TABLE k (a TEXT PRIMARY KEY, b INTEGER) WITHOUT ROWID");
    let b = model("CREATE TABLE k (a TEXT PRIMARY KEY, b INTEGER)");
    assert_ne!(a, b);
    let s =
        model("CREATE TABLE s (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL) STRICT");
    let table = &s.tables["s"];
    assert!(table.strict);
    assert_eq!(
        table.columns[1].generated,
        Some(("( a * 2 )".to_owned(), false))
    );
}
