//! Reading a live database into the typed schema model, and building
//! scratch databases: the migrations replayed to some heads, or a
//! declared `schema.sql`.

use super::error::Doing;
use crate::backend::ledger::LEDGER_TABLES;
use crate::error::{BackendError, RunError, ToolError};
use crate::model::data::SchemaObject;
use crate::model::schema::{parse_table, Object, Schema};
use rusqlite::Connection;
use std::path::Path;

/// Reads every table, index, view and trigger (the ledger excluded).
pub(crate) fn read_schema(conn: &Connection) -> Result<Schema, RunError> {
    let mut rows = super::data::schema_rows(conn)?;
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    let mut schema = Schema::default();
    for SchemaObject {
        kind,
        name,
        table,
        sql,
    } in rows
    {
        if LEDGER_TABLES.contains(&table.as_str()) {
            continue;
        }
        let key = name.to_lowercase();
        match kind.as_str() {
            "table" => {
                let pk = primary_key_positions(conn, &name)?;
                let order = |column: &str| {
                    pk.iter()
                        .find(|(c, _)| c.eq_ignore_ascii_case(column))
                        .map_or(0, |(_, p)| *p)
                };
                let parsed = parse_table(&name, &sql, &order).map_err(|e| {
                    RunError::Tool(ToolError::TableDefinition {
                        table: name.clone(),
                        reason: e.to_string(),
                    })
                })?;
                schema.tables.insert(key, parsed);
            }
            "index" => {
                schema.indexes.insert(key, Object::new(&name, &table, &sql));
            }
            "view" => {
                schema.views.insert(key, Object::new(&name, &table, &sql));
            }
            "trigger" => {
                schema
                    .triggers
                    .insert(key, Object::new(&name, &table, &sql));
            }
            _ => {}
        }
    }
    Ok(schema)
}

fn primary_key_positions(conn: &Connection, table: &str) -> Result<Vec<(String, u32)>, RunError> {
    let mut stmt = conn
        .prepare("SELECT name, pk FROM pragma_table_info(?1) WHERE pk > 0")
        .doing("reading columns")?;
    stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect())
        .doing("reading columns")
}

/// A scratch in-memory database holding the declared schema of `path`.
pub(crate) fn declared(path: &Path) -> Result<Connection, RunError> {
    let sql = std::fs::read_to_string(path).map_err(|source| {
        RunError::Backend(BackendError::Io {
            path: path.display().to_string(),
            source,
        })
    })?;
    let conn = Connection::open_in_memory().doing("opening a scratch database")?;
    conn.execute_batch(&sql).map_err(|e| {
        RunError::Tool(ToolError::DeclaredSchema {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    })?;
    Ok(conn)
}
