//! `import` on PostgreSQL: the rows of an export (taken from SQLite, for
//! moving the bot to a server) into the tables the migrations built. Each
//! value travels as an untyped literal, so the server converts it to the
//! column's type as it would a value typed in psql (`1` to `true`, an ISO
//! text to `timestamptz`); blobs travel as `bytea` hex.

use super::text::{identifier, literal, run, simple_rows, simple_value};
use crate::backend::ledger::LEDGER_TABLES;
use crate::backend::ready;
use crate::error::{BackendError, RunError};
use crate::model::data::{
    DateOrder, ImportError, ImportMode, ImportOptions, ImportTarget, Loaded, TableData, Value,
};
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
    for row in ready(simple_rows(client, &sql, "reading columns"))? {
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
    ready(simple_value(
        client,
        "SELECT current_schema()",
        "reading search_path",
    ))?
    .ok_or(RunError::Backend(BackendError::NoSchema))
}

/// The tables of the connection's schema as an import fits to them:
/// insertable columns, primary key, row count and date and time columns.
pub(crate) fn import_targets(client: &mut Client) -> Result<Vec<ImportTarget>, RunError> {
    let schema = schema_of(client)?;
    let mut targets = Vec::new();
    for (name, columns) in columns(client, &schema)? {
        let table = format!("{}.{}", identifier(&schema), identifier(&name));
        let row = ready(simple_rows(
            client,
            &format!(
                "SELECT (SELECT count(*) FROM {table}), \
                 (SELECT string_agg(a.attname, ',' ORDER BY array_position(i.indkey, a.attnum)) FROM pg_index i \
                  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                  WHERE i.indrelid = {rel}::regclass AND i.indisprimary), \
                 (SELECT string_agg(attname, ',') FROM pg_attribute WHERE attrelid = {rel}::regclass AND attnum > 0 \
                  AND NOT attisdropped AND atttypid IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype, 'time'::regtype, 'timetz'::regtype))",
                rel = literal(&table)
            ),
            "reading a table's shape",
        ))?;
        let field = |i: usize| -> Vec<String> {
            row.first()
                .and_then(|r| r.get(i).cloned().flatten())
                .map(|list| list.split(',').map(str::to_owned).collect())
                .unwrap_or_default()
        };
        let rows = row
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        targets.push(ImportTarget {
            key: field(1),
            temporal: field(2),
            name,
            columns,
            rows,
        });
    }
    Ok(targets)
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
fn parents_first(
    client: &mut Client,
    tables: Vec<(TableData, ImportTarget)>,
) -> Result<Vec<(TableData, ImportTarget)>, RunError> {
    let sql =
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c \
               WHERE c.contype = 'f' AND c.conrelid <> c.confrelid";
    let edges: Vec<(String, String)> = ready(simple_rows(client, sql, "reading foreign keys"))?
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
    let mut ordered: Vec<(TableData, ImportTarget)> = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready = pending.iter().position(|(t, _)| {
            !edges.iter().any(|(child, parent)| {
                bare(child) == t.name
                    && pending
                        .iter()
                        .any(|(p, _)| p.name == bare(parent) && p.name != t.name)
            })
        });
        ordered.push(pending.remove(ready.unwrap_or(0)));
    }
    Ok(ordered)
}

/// Fills each table as `options.mode` says in one transaction, with the
/// session's DateStyle and TimeZone set so that date text means the same
/// on every server; moves identity and serial sequences past the imported
/// keys and checks every row count. A row the server refuses (a missing
/// parent, a CHECK) is named with its table and what the server says.
pub(crate) fn import(
    client: &mut Client,
    tables: &[(TableData, ImportTarget)],
    options: &ImportOptions,
) -> Result<Loaded, RunError> {
    let ordered = parents_first(client, tables.to_vec())?;
    let order = match options.date_order {
        Some(DateOrder::DayMonthYear) => "DMY",
        Some(DateOrder::MonthDayYear) => "MDY",
        None => "YMD",
    };
    ready(run(
        client,
        &format!("BEGIN; SET LOCAL DateStyle = 'ISO, {order}'; SET LOCAL TimeZone = 'UTC'"),
        "opening the import's transaction",
    ))?;
    let result = (|| {
        if options.mode == ImportMode::Replace {
            // Children first when clearing, parents first when filling.
            for (table, _) in ordered.iter().rev() {
                ready(run(
                    client,
                    &format!("DELETE FROM {}", identifier(&table.name)),
                    "clearing a table",
                ))?;
            }
        }
        let mut loaded = Loaded::default();
        for (table, target) in &ordered {
            let list: Vec<String> = table.columns.iter().map(|c| identifier(c)).collect();
            let on_conflict = if options.mode == ImportMode::Merge && !target.key.is_empty() {
                let key: Vec<String> = target.key.iter().map(|c| identifier(c)).collect();
                format!(" ON CONFLICT ({}) DO NOTHING", key.join(", "))
            } else {
                String::new()
            };
            let mut added = 0;
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
                let sql = format!(
                    "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE VALUES {}{on_conflict}",
                    identifier(&table.name),
                    list.join(", "),
                    values.join(", ")
                );
                added += client
                    .simple_query(&sql)
                    .map(|messages| {
                        messages
                            .iter()
                            .map(|m| match m {
                                postgres::SimpleQueryMessage::CommandComplete(n) => *n,
                                _ => 0,
                            })
                            .sum::<u64>()
                    })
                    .map_err(|error| refused_row(&table.name, error))?;
            }
            for column in &table.columns {
                let sequence = ready(simple_value(
                    client,
                    &format!(
                        "SELECT pg_get_serial_sequence({}, {})",
                        literal(&identifier(&table.name)),
                        literal(column)
                    ),
                    "reading sequences",
                ))?;
                if let Some(sequence) = sequence {
                    ready(run(
                        client,
                        &format!(
                            "SELECT setval({}, coalesce((SELECT max({}) FROM {}), 0) + 1, false)",
                            literal(&sequence),
                            identifier(column),
                            identifier(&table.name)
                        ),
                        "moving a sequence past the imported keys",
                    ))?;
                }
            }
            let found: u64 = ready(simple_value(
                client,
                &format!("SELECT count(*) FROM {}", identifier(&table.name)),
                "counting rows",
            ))?
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
            let expected = match options.mode {
                ImportMode::Replace => added,
                ImportMode::IntoEmpty | ImportMode::Merge => target.rows + added,
            };
            if found != expected {
                return Err(ImportError::RowCount {
                    table: table.name.clone(),
                    found,
                    expected,
                }
                .into());
            }
            let added = usize::try_from(added).unwrap_or(usize::MAX);
            loaded.rows += added;
            loaded.kept += table.rows.len().saturating_sub(added);
        }
        ready(run(client, "COMMIT", "committing the import"))?;
        Ok(loaded)
    })();
    if result.is_err() {
        let _ = client.batch_execute("ROLLBACK");
    }
    result
}

/// The error of a batch of rows the server refused: a missing parent
/// (23503) as an orphan, a constraint (CHECK, NOT NULL, UNIQUE) or a value
/// that does not convert as the row it names.
fn refused_row(table: &str, error: postgres::Error) -> RunError {
    let Some(db) = error.as_db_error() else {
        return super::text::database_error("importing rows", error);
    };
    let detail = db.detail().map(|d| format!(" ({d})")).unwrap_or_default();
    if db.code().code() == "23503" {
        return ImportError::Orphans {
            orphans: vec![format!("`{table}`: {}{detail}", db.message())],
        }
        .into();
    }
    ImportError::Row {
        table: table.to_owned(),
        row: db.detail().unwrap_or("the server names no row").to_owned(),
        message: format!("{} (SQLSTATE {})", db.message(), db.code().code()),
    }
    .into()
}
