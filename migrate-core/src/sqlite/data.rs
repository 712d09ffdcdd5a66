//! Reading and writing the rows of every user table (the ledger excluded),
//! for `export` and `import`.

use super::error::{Doing, RunError};
use super::ledger::LEDGER_TABLES;
use rusqlite::types::Value;
use rusqlite::Connection;

/// The rows of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableData {
    /// The table name.
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<String>,
    /// Its rows, in rowid (or primary key) order.
    pub rows: Vec<Vec<Value>>,
}

/// Quotes an identifier for SQL.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The user tables (not the ledger, not SQLite's own, not virtual), by name.
pub fn user_tables(conn: &Connection) -> Result<Vec<String>, RunError> {
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
pub fn columns(conn: &Connection, table: &str) -> Result<Vec<String>, RunError> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_xinfo(?1) WHERE hidden = 0")
        .doing("reading columns")?;
    stmt.query_map([table], |r| r.get(0))
        .and_then(|r| r.collect())
        .doing("reading columns")
}

/// Reads every row of every user table.
pub fn read_all(conn: &Connection) -> Result<Vec<TableData>, RunError> {
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

/// Row count of a table.
pub fn count_rows(conn: &Connection, table: &str) -> Result<i64, RunError> {
    conn.query_row(&format!("SELECT count(*) FROM {}", quote(table)), [], |r| {
        r.get(0)
    })
    .doing("counting rows")
}

/// Replaces the rows of each table in `tables` with the given ones. The
/// caller owns the transaction; foreign keys should be off during the load.
pub fn replace_all(conn: &Connection, tables: &[TableData]) -> Result<(), RunError> {
    for table in tables {
        conn.execute(&format!("DELETE FROM {}", quote(&table.name)), [])
            .doing("clearing a table")?;
        let list = table
            .columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ");
        let marks = vec!["?"; table.columns.len()].join(", ");
        let mut stmt = conn
            .prepare(&format!(
                "INSERT INTO {} ({list}) VALUES ({marks})",
                quote(&table.name)
            ))
            .doing("preparing the import")?;
        for row in &table.rows {
            stmt.execute(rusqlite::params_from_iter(row.iter()))
                .doing("importing rows")?;
        }
    }
    Ok(())
}
