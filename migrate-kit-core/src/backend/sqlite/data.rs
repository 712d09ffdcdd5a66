//! Reading and writing the rows of every user table (the ledger excluded):
//! `export`, `import`, the schema listing and a squash's baseline.

use super::error::Doing;
use crate::backend::ledger::LEDGER_TABLES;
use crate::error::RunError;
use crate::model::data::{
    Export, ImportError, ImportMode, ImportOptions, ImportTarget, Loaded, Orphans, SchemaObject,
    TableData, Value,
};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, Transaction, TransactionBehavior};

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(r) => ValueRef::Real(*r),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

impl rusqlite::types::FromSql for Value {
    fn column_result(value: ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        Ok(match value {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(r) => Value::Real(r),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        })
    }
}

/// Quotes an identifier for SQL.
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The user tables (not the ledger, not SQLite's own, not virtual), by name.
pub(crate) fn user_tables(conn: &Connection) -> Result<Vec<String>, RunError> {
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
             AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
        )
        .doing("listing tables")?;
    let names: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|r| r.collect())
        .doing("listing tables")?;
    Ok(names
        .into_iter()
        .filter(|n| !LEDGER_TABLES.contains(&n.as_str()))
        .collect())
}

/// The insertable columns of a table (generated columns excluded), in order.
pub(crate) fn columns(conn: &Connection, table: &str) -> Result<Vec<String>, RunError> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_xinfo(?1) WHERE hidden = 0")
        .doing("reading columns")?;
    stmt.query_map([table], |r| r.get(0))
        .and_then(|r| r.collect())
        .doing("reading columns")
}

/// Reads every row of every user table.
pub(crate) fn read_all(conn: &Connection) -> Result<Vec<TableData>, RunError> {
    let mut tables = Vec::new();
    for name in user_tables(conn)? {
        let columns = columns(conn, &name)?;
        let list = columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = conn
            .prepare(&format!("SELECT {list} FROM {} ORDER BY 1", quote(&name)))
            .doing("reading rows")?;
        let width = columns.len();
        let rows = stmt
            .query_map([], |row| {
                (0..width)
                    .map(|i| row.get::<_, Value>(i))
                    .collect::<Result<Vec<_>, _>>()
            })
            .and_then(|r| r.collect())
            .doing("reading rows")?;
        tables.push(TableData {
            name,
            columns,
            rows,
        });
    }
    Ok(tables)
}

/// The heads and every row, read in one snapshot.
pub(crate) fn export(conn: &Connection) -> Result<Export, RunError> {
    let tx = conn.unchecked_transaction().doing("reading the database")?;
    let heads = super::current(&tx)?;
    let tables = read_all(&tx)?;
    tx.finish().doing("reading the database")?;
    Ok(Export { heads, tables })
}

/// Row count of a table.
fn count_rows(conn: &Connection, table: &str) -> Result<u64, RunError> {
    conn.query_row(&format!("SELECT count(*) FROM {}", quote(table)), [], |r| {
        r.get::<_, i64>(0)
    })
    .doing("counting rows")
    .map(|n| n.unsigned_abs())
}

/// The user tables as an import fits to them: insertable columns, primary
/// key and row count.
pub(crate) fn import_targets(conn: &Connection) -> Result<Vec<ImportTarget>, RunError> {
    user_tables(conn)?
        .into_iter()
        .map(|table| {
            let mut stmt = conn
                .prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")
                .doing("reading primary keys")?;
            let key: Vec<String> = stmt
                .query_map([&table], |r| r.get(0))
                .and_then(|r| r.collect())
                .doing("reading primary keys")?;
            Ok(ImportTarget {
                columns: columns(conn, &table)?,
                rows: count_rows(conn, &table)?,
                name: table,
                key,
                temporal: Vec::new(),
            })
        })
        .collect()
}

/// A row whose foreign key names a missing row: `pragma_foreign_key_check`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Orphan {
    table: String,
    rowid: i64,
    parent: String,
    fkid: i64,
}

fn orphans(conn: &Connection) -> Result<Vec<Orphan>, RunError> {
    let mut stmt = conn
        .prepare("SELECT \"table\", rowid, parent, fkid FROM pragma_foreign_key_check")
        .doing("checking foreign keys")?;
    stmt.query_map([], |r| {
        Ok(Orphan {
            table: r.get(0)?,
            rowid: r.get::<_, Option<i64>>(1)?.unwrap_or(0),
            parent: r.get(2)?,
            fkid: r.get(3)?,
        })
    })
    .and_then(|rows| rows.collect())
    .doing("checking foreign keys")
}

/// `repair_requests` row id=7: user_id = 42 names no `users` row.
fn describe(conn: &Connection, orphan: &Orphan) -> Result<String, RunError> {
    let column: String = conn
        .query_row(
            "SELECT \"from\" FROM pragma_foreign_key_list(?1) WHERE id = ?2",
            rusqlite::params![orphan.table, orphan.fkid],
            |r| r.get(0),
        )
        .doing("reading foreign keys")?;
    let key_column = columns(conn, &orphan.table)?
        .into_iter()
        .next()
        .unwrap_or_default();
    let (key, value): (Value, Value) = conn
        .query_row(
            &format!(
                "SELECT {}, {} FROM {} WHERE rowid = ?1",
                quote(&key_column),
                quote(&column),
                quote(&orphan.table)
            ),
            [orphan.rowid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .doing("reading a row")?;
    let shown = |v: &Value| match v {
        Value::Text(t) => format!("'{t}'"),
        other => other.to_sql_literal(),
    };
    Ok(format!(
        "`{}` row {key_column}={}: {column} = {} names no `{}` row",
        orphan.table,
        shown(&key),
        shown(&value),
        orphan.parent
    ))
}

/// Fills each table as `options.mode` says, in one write transaction with
/// foreign keys off, then checks every row count and the foreign keys the
/// load broke (refused, kept or dropped as `options.orphans` says); any
/// problem rolls the whole import back.
pub(crate) fn import(
    conn: &Connection,
    tables: &[(TableData, ImportTarget)],
    options: &ImportOptions,
) -> Result<Loaded, RunError> {
    let enforced: bool = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .doing("reading PRAGMA foreign_keys")?;
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .doing("switching foreign keys off")?;
    let result = (|| {
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
            .doing("taking the write lock")?;
        let before = orphans(&tx)?;
        let mut loaded = Loaded::default();
        for (table, target) in tables {
            let added = fill(&tx, table, target, options.mode)?;
            loaded.rows += added;
            loaded.kept += table.rows.len() - added;
            let expected = match options.mode {
                ImportMode::Replace => added as u64,
                ImportMode::IntoEmpty | ImportMode::Merge => target.rows + added as u64,
            };
            let found = count_rows(&tx, &table.name)?;
            if found != expected {
                return Err(ImportError::RowCount {
                    table: table.name.clone(),
                    found,
                    expected,
                }
                .into());
            }
        }
        // The orphans the load made; leaving one out may orphan its children.
        for _ in 0..16 {
            let new: Vec<Orphan> = orphans(&tx)?
                .into_iter()
                .filter(|o| !before.contains(o))
                .collect();
            if new.is_empty() {
                break;
            }
            let lines = new
                .iter()
                .map(|o| describe(&tx, o))
                .collect::<Result<Vec<_>, _>>()?;
            match options.orphans {
                Orphans::Refuse => return Err(ImportError::Orphans { orphans: lines }.into()),
                Orphans::Keep => {
                    loaded.orphans = lines;
                    break;
                }
                Orphans::Drop => {
                    for orphan in &new {
                        tx.execute(
                            &format!("DELETE FROM {} WHERE rowid = ?1", quote(&orphan.table)),
                            [orphan.rowid],
                        )
                        .doing("leaving out a row with a missing parent")?;
                        loaded.rows = loaded.rows.saturating_sub(1);
                    }
                    loaded.orphans.extend(lines);
                }
            }
        }
        tx.commit().doing("committing the import")?;
        Ok(loaded)
    })();
    if enforced {
        let restored = conn
            .execute_batch("PRAGMA foreign_keys = ON")
            .doing("switching foreign keys back on");
        if result.is_ok() {
            restored?;
        }
    }
    result
}

/// Writes the rows of `table` as `mode` says; returns how many were added
/// (with `Merge`, a row whose key is there already is not).
fn fill(
    conn: &Connection,
    table: &TableData,
    target: &ImportTarget,
    mode: ImportMode,
) -> Result<usize, RunError> {
    if mode == ImportMode::Replace {
        conn.execute(&format!("DELETE FROM {}", quote(&table.name)), [])
            .doing("clearing a table")?;
    }
    let list = table
        .columns
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(", ");
    let marks = vec!["?"; table.columns.len()].join(", ");
    let on_conflict = if mode == ImportMode::Merge && !target.key.is_empty() {
        let key: Vec<String> = target.key.iter().map(|c| quote(c)).collect();
        format!(" ON CONFLICT ({}) DO NOTHING", key.join(", "))
    } else {
        String::new()
    };
    let mut stmt = conn
        .prepare(&format!(
            "INSERT INTO {} ({list}) VALUES ({marks}){on_conflict}",
            quote(&table.name)
        ))
        .doing("preparing the import")?;
    let mut added = 0;
    for row in &table.rows {
        added += stmt
            .execute(rusqlite::params_from_iter(row.iter()))
            .map_err(|error| ImportError::Row {
                table: table.name.clone(),
                row: table.row_key(row),
                message: match &error {
                    rusqlite::Error::SqliteFailure(_, Some(message)) => message.clone(),
                    other => other.to_string(),
                },
            })?;
    }
    Ok(added)
}

/// Every schema object with SQL (SQLite's own left out, the ledger's
/// included), in the order they were created.
pub(crate) fn schema_rows(conn: &Connection) -> Result<Vec<SchemaObject>, RunError> {
    let mut stmt = conn
        .prepare(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema
             WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
        )
        .doing("reading the schema")?;
    stmt.query_map([], |r| {
        Ok(SchemaObject {
            kind: r.get(0)?,
            name: r.get(1)?,
            table: r.get(2)?,
            sql: r.get(3)?,
        })
    })
    .and_then(|rows| rows.collect())
    .doing("reading the schema")
}

/// Every schema object (the ledger's included), tables first, in the order
/// `migrate schema` prints them.
pub(crate) fn schema_objects(conn: &Connection) -> Result<Vec<SchemaObject>, RunError> {
    let mut objects = schema_rows(conn)?;
    let rank = |kind: &str| match kind {
        "table" => 0,
        "index" => 1,
        "trigger" => 2,
        _ => 3,
    };
    objects.sort_by(|a, b| {
        (rank(&a.kind), &a.table, &a.name).cmp(&(rank(&b.kind), &b.table, &b.name))
    });
    Ok(objects)
}

/// The schema and rows of a database as SQL, and the SQL that drops it
/// again: what a squash's baseline runs.
pub(crate) fn dump(conn: &Connection) -> Result<(String, String), RunError> {
    let objects: Vec<SchemaObject> = schema_rows(conn)?
        .into_iter()
        .filter(|o| !LEDGER_TABLES.contains(&o.table.as_str()))
        .collect();
    let mut upgrade = String::new();
    for object in &objects {
        upgrade += &format!("{};\n\n", object.sql);
    }
    for table in read_all(conn)? {
        let columns = table
            .columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ");
        for row in &table.rows {
            let values = row
                .iter()
                .map(Value::to_sql_literal)
                .collect::<Vec<_>>()
                .join(", ");
            upgrade += &format!(
                "INSERT INTO {} ({columns}) VALUES ({values});\n",
                quote(&table.name)
            );
        }
    }
    let mut downgrade = String::new();
    for kind in ["trigger", "view", "table"] {
        for object in objects.iter().rev().filter(|o| o.kind == kind) {
            downgrade += &format!(
                "DROP {} {};\n",
                object.kind.to_uppercase(),
                quote(&object.name)
            );
        }
    }
    Ok((upgrade, downgrade))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_round_trip_through_sqlite() {
        let conn = Connection::open_in_memory().unwrap();
        for value in [
            Value::Null,
            Value::Integer(i64::MIN),
            Value::Real(-0.5),
            Value::Real(f64::INFINITY),
            Value::Text("it's".into()),
            Value::Blob(vec![0, 255]),
        ] {
            let back: Value = conn
                .query_row(&format!("SELECT {}", value.to_sql_literal()), [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(back, value);
        }
    }
}
