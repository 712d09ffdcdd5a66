//! `import` on PostgreSQL: the rows of an export (taken from SQLite, for
//! moving the bot to a server) into the tables the migrations built. Each
//! value travels as an untyped literal, so the server converts it to the
//! column's type as it would a value typed in psql (`1` to `true`, an ISO
//! text to `timestamptz`); blobs travel as `bytea` hex.

use super::text::{identifier, literal, run, simple_rows, simple_value};
use crate::data::{ImportError, TableData, Value};
use crate::error::RunError;
use crate::ledger::LEDGER_TABLES;
use postgres::Client;

/// The tables of `schema` and their insertable columns (generated ones
/// left out), by name.
fn columns(client: &mut Client, schema: &str) -> Result<Vec<(String, Vec<String>)>, RunError> {
    let sql = format!(
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = {} AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' \
         ORDER BY c.relname, a.attnum",
        literal(schema)
    );
    let mut tables: Vec<(String, Vec<String>)> = Vec::new();
    for row in simple_rows(client, &sql, "reading columns")? {
        let (Some(Some(table)), Some(Some(column))) = (row.first().cloned(), row.get(1).cloned())
        else {
            continue;
        };
        if LEDGER_TABLES.contains(&table.as_str()) {
            continue;
        }
        match tables.last_mut() {
            Some((name, list)) if *name == table => list.push(column),
            _ => tables.push((table, vec![column])),
        }
    }
    Ok(tables)
}

fn schema_of(client: &mut Client) -> Result<String, RunError> {
    simple_value(client, "SELECT current_schema()", "reading search_path")?
        .ok_or(RunError::NoSchema)
}

/// The tables of the connection's schema and their insertable columns,
/// what an import fits to.
pub(crate) fn tables_and_columns(
    client: &mut Client,
) -> Result<Vec<(String, Vec<String>)>, RunError> {
    let schema = schema_of(client)?;
    columns(client, &schema)
}

/// A value as an untyped literal, for the server to convert.
fn untyped(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Integer(i) => literal(&i.to_string()),
        Value::Real(r) => literal(&format!("{r:?}")),
        Value::Text(t) => literal(t),
        Value::Blob(b) => literal(&format!("\\x{}", hex::encode(b))),
    }
}

/// `tables` ordered so that every table comes after those its foreign keys
/// reference (cycles keep their export order; the server then refuses).
fn parents_first(client: &mut Client, tables: Vec<TableData>) -> Result<Vec<TableData>, RunError> {
    let sql =
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c \
               WHERE c.contype = 'f' AND c.conrelid <> c.confrelid";
    let edges: Vec<(String, String)> = simple_rows(client, sql, "reading foreign keys")?
        .into_iter()
        .filter_map(|row| Some((row.first()?.clone()?, row.get(1)?.clone()?)))
        .collect();
    let bare = |name: &str| {
        name.rsplit('.')
            .next()
            .unwrap_or(name)
            .trim_matches('"')
            .to_owned()
    };
    let mut pending = tables;
    let mut ordered: Vec<TableData> = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready = pending.iter().position(|t| {
            !edges.iter().any(|(child, parent)| {
                bare(child) == t.name
                    && pending
                        .iter()
                        .any(|p| p.name == bare(parent) && p.name != t.name)
            })
        });
        ordered.push(pending.remove(ready.unwrap_or(0)));
    }
    Ok(ordered)
}

/// Replaces the rows of each table in one transaction, moves identity and
/// serial sequences past the imported keys, and checks every row count.
pub(crate) fn import(client: &mut Client, tables: &[TableData]) -> Result<(), RunError> {
    let ordered = parents_first(client, tables.to_vec())?;
    run(client, "BEGIN", "opening the import's transaction")?;
    let result = (|| {
        // Children first when clearing, parents first when filling.
        for table in ordered.iter().rev() {
            run(
                client,
                &format!("DELETE FROM {}", identifier(&table.name)),
                "clearing a table",
            )?;
        }
        for table in &ordered {
            let list: Vec<String> = table.columns.iter().map(|c| identifier(c)).collect();
            for chunk in table.rows.chunks(500) {
                let values: Vec<String> = chunk
                    .iter()
                    .map(|row| {
                        format!(
                            "({})",
                            row.iter().map(untyped).collect::<Vec<_>>().join(", ")
                        )
                    })
                    .collect();
                run(
                    client,
                    &format!(
                        "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE VALUES {}",
                        identifier(&table.name),
                        list.join(", "),
                        values.join(", ")
                    ),
                    "importing rows",
                )?;
            }
            for column in &table.columns {
                let sequence = simple_value(
                    client,
                    &format!(
                        "SELECT pg_get_serial_sequence({}, {})",
                        literal(&identifier(&table.name)),
                        literal(column)
                    ),
                    "reading sequences",
                )?;
                if let Some(sequence) = sequence {
                    run(
                        client,
                        &format!(
                            "SELECT setval({}, coalesce((SELECT max({}) FROM {}), 0) + 1, false)",
                            literal(&sequence),
                            identifier(column),
                            identifier(&table.name)
                        ),
                        "moving a sequence past the imported keys",
                    )?;
                }
            }
            let found: u64 = simple_value(
                client,
                &format!("SELECT count(*) FROM {}", identifier(&table.name)),
                "counting rows",
            )?
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
            if found != table.rows.len() as u64 {
                return Err(ImportError::RowCount {
                    table: table.name.clone(),
                    found,
                    expected: table.rows.len() as u64,
                }
                .into());
            }
        }
        run(client, "COMMIT", "committing the import")
    })();
    if result.is_err() {
        let _ = client.batch_execute("ROLLBACK");
    }
    result
}
