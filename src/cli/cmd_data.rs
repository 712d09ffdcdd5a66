//! `backup`, `restore`, `export`, `import` and `schema`.

use super::output::print_json;
use super::{clock, CliError, Context};
use migrate_core::sqlite::data::{self, TableData};
use migrate_core::sqlite::{backup as online, ledger, lock};
use migrate_core::RunError;
use rusqlite::types::Value;
use serde_json::{json, Map, Value as Json};
use std::path::{Path, PathBuf};

/// The format tag of export files.
const EXPORT_FORMAT: &str = "migrate-export";
const EXPORT_VERSION: u64 = 1;

fn require_database(ctx: &Context<'_>) -> Result<rusqlite::Connection, CliError> {
    ctx.open_existing()?.ok_or_else(|| ctx.missing())
}

/// `backup [--out FILE]`: prints the file written.
pub fn backup(ctx: &Context<'_>, out: Option<&Path>) -> Result<(), CliError> {
    let (target, heads) = backup_file(ctx, out)?;
    if ctx.json() {
        print_json(&json!({ "backup": target, "heads": heads }));
    } else {
        println!("{}", target.display());
    }
    Ok(())
}

/// A checked copy, named after the database, the time and the revision
/// unless `out` is given; said on stderr. Returns the file and the
/// revision(s) it is at. Commands that back up first call this.
pub fn backup_file(
    ctx: &Context<'_>,
    out: Option<&Path>,
) -> Result<(PathBuf, Vec<String>), CliError> {
    let conn = require_database(ctx)?;
    let heads = ledger::read(&conn)?.heads;
    let target = match out {
        Some(path) => path.to_owned(),
        None => {
            let dir = &ctx.config().backup_dir;
            std::fs::create_dir_all(dir).map_err(CliError::io(dir))?;
            let stem = ctx
                .database_file()?
                .file_stem()
                .map_or("database".into(), |s| s.to_string_lossy());
            let revision = if heads.is_empty() {
                "base".to_owned()
            } else {
                heads.join("+")
            };
            let base = format!("{stem}-{}-{revision}", clock::compact());
            (1..)
                .map(|n| {
                    if n == 1 {
                        dir.join(format!("{base}.db"))
                    } else {
                        dir.join(format!("{base}-{n}.db"))
                    }
                })
                .find(|candidate| !candidate.exists())
                .unwrap_or_else(|| dir.join(format!("{base}.db")))
        }
    };
    if target.exists() {
        return Err(CliError::Refused(format!(
            "{} already exists; choose another --out",
            target.display()
        )));
    }
    online::backup_to(&conn, &target, ctx.config().busy_timeout)?;
    eprintln!(
        "backup written to {} (integrity check ok)",
        target.display()
    );
    Ok((target, heads))
}

/// `restore FILE`: backs up the current database, then replaces it.
pub fn restore(ctx: &Context<'_>, file: &Path) -> Result<(), CliError> {
    if !file.is_file() {
        return Err(CliError::Refused(format!(
            "backup {} does not exist",
            file.display()
        )));
    }
    if ctx.database_file()?.exists() {
        backup_file(ctx, None)?;
    }
    let mut conn = ctx.open()?;
    online::restore_from(&mut conn, file, ctx.config().busy_timeout)?;
    let state = ledger::read(&conn)?;
    if state.has_version_table && state.has_applied_table {
        let heads = state.heads.clone();
        let from = [file.display().to_string()];
        ledger::ensure_tables(&conn)?;
        ledger::log(
            &conn,
            &ledger::LogEntry {
                operation: "restore",
                heads_before: &heads,
                heads_after: &heads,
                revisions: &from,
                outcome: "ok",
                error: None,
            },
        )?;
    }
    if ctx.json() {
        print_json(
            &json!({ "restored": ctx.config().database.to_string(), "from": file, "heads": state.heads }),
        );
    } else {
        println!(
            "restored {} from {} (now at {})",
            ctx.config().database,
            file.display(),
            if state.heads.is_empty() {
                "base".to_owned()
            } else {
                state.heads.join(", ")
            }
        );
    }
    Ok(())
}

/// A SQLite value as JSON, losslessly: integers as numbers, text as
/// strings, reals and blobs tagged.
fn value_to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Integer(i) => json!(i),
        Value::Real(r) => json!({ "real": format!("{r:?}") }),
        Value::Text(t) => json!(t),
        Value::Blob(b) => {
            json!({ "blob": hex::encode(b) })
        }
    }
}

fn value_from_json(value: &Json) -> Option<Value> {
    match value {
        Json::Null => Some(Value::Null),
        Json::Number(n) => n.as_i64().map(Value::Integer),
        Json::String(s) => Some(Value::Text(s.clone())),
        Json::Object(tagged) => {
            if let Some(Json::String(real)) = tagged.get("real") {
                real.parse::<f64>().ok().map(Value::Real)
            } else if let Some(Json::String(digits)) = tagged.get("blob") {
                hex::decode(digits).ok().map(Value::Blob)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// `export [--out FILE]`.
pub fn export(ctx: &Context<'_>, out: Option<&Path>) -> Result<(), CliError> {
    let conn = require_database(ctx)?;
    conn.execute_batch("BEGIN")?;
    let state = ledger::read(&conn);
    let tables = data::read_all(&conn);
    let _ = conn.execute_batch("COMMIT");
    let (state, tables) = (state?, tables?);
    let table_json: Vec<Json> = tables
        .iter()
        .map(|t| {
            let rows: Vec<Json> = t
                .rows
                .iter()
                .map(|row| Json::Array(row.iter().map(value_to_json).collect()))
                .collect();
            json!({ "name": t.name, "columns": t.columns, "rows": rows })
        })
        .collect();
    let document = json!({
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "revision": state.heads,
        "exported_at": clock::readable(),
        "tables": table_json,
    });
    let path = out.map_or_else(
        || PathBuf::from(format!("db_export_{}.json", clock::compact())),
        Path::to_owned,
    );
    let text = serde_json::to_string(&document).unwrap_or_default();
    std::fs::write(&path, text).map_err(CliError::io(&path))?;
    let rows: usize = tables.iter().map(|t| t.rows.len()).sum();
    eprintln!("exported {rows} rows from {} tables", tables.len());
    if ctx.json() {
        print_json(
            &json!({ "export": path, "rows": rows, "tables": tables.len(), "revision": state.heads }),
        );
    } else {
        println!("{}", path.display());
    }
    Ok(())
}

fn parse_export(path: &Path) -> Result<(Vec<String>, Vec<TableData>), CliError> {
    let bad =
        |why: &str| CliError::Refused(format!("{} is not a migrate export: {why}", path.display()));
    let text = std::fs::read_to_string(path).map_err(CliError::io(path))?;
    let document: Map<String, Json> =
        serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
    if document.get("format") != Some(&json!(EXPORT_FORMAT))
        || document.get("version") != Some(&json!(EXPORT_VERSION))
    {
        return Err(bad("missing or unknown `format`/`version`"));
    }
    let revision: Vec<String> = document
        .get("revision")
        .and_then(Json::as_array)
        .ok_or_else(|| bad("missing `revision`"))?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let mut tables = Vec::new();
    for table in document
        .get("tables")
        .and_then(Json::as_array)
        .ok_or_else(|| bad("missing `tables`"))?
    {
        let name = table
            .get("name")
            .and_then(Json::as_str)
            .ok_or_else(|| bad("a table without `name`"))?;
        let columns: Vec<String> = table
            .get("columns")
            .and_then(Json::as_array)
            .ok_or_else(|| bad("a table without `columns`"))?
            .iter()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect();
        let mut rows = Vec::new();
        for row in table
            .get("rows")
            .and_then(Json::as_array)
            .ok_or_else(|| bad("a table without `rows`"))?
        {
            let cells = row
                .as_array()
                .filter(|cells| cells.len() == columns.len())
                .ok_or_else(|| {
                    bad(&format!(
                        "a row of `{name}` does not have {} values",
                        columns.len()
                    ))
                })?;
            let values: Option<Vec<Value>> = cells.iter().map(value_from_json).collect();
            rows.push(
                values.ok_or_else(|| bad(&format!("a value in `{name}` is not a SQLite value")))?,
            );
        }
        tables.push(TableData {
            name: name.to_owned(),
            columns,
            rows,
        });
    }
    Ok((revision, tables))
}

/// The exported tables that have rows, checked against the database's
/// tables and columns; every problem is listed at once.
fn fit_to_schema(
    conn: &rusqlite::Connection,
    tables: Vec<TableData>,
) -> Result<Vec<TableData>, CliError> {
    let existing = data::user_tables(conn)?;
    let mut problems = Vec::new();
    let mut kept = Vec::new();
    for table in tables {
        let Some(name) = existing
            .iter()
            .find(|t| t.eq_ignore_ascii_case(&table.name))
        else {
            if !table.rows.is_empty() {
                problems.push(format!(
                    "table `{}` ({} rows) has no place: the migrations create no such table",
                    table.name,
                    table.rows.len()
                ));
            }
            continue;
        };
        let columns = data::columns(conn, name)?;
        for column in &table.columns {
            if !columns.iter().any(|c| c.eq_ignore_ascii_case(column)) {
                problems.push(format!(
                    "column `{}.{column}` has no place: the migrations' `{name}` has {}",
                    table.name,
                    columns.join(", ")
                ));
            }
        }
        kept.push(TableData {
            name: name.clone(),
            ..table
        });
    }
    if problems.is_empty() {
        Ok(kept)
    } else {
        Err(CliError::Refused(format!(
            "nothing was imported; the export does not fit the database:\n  {}\nadd the missing tables or columns with a migration, or edit the export",
            problems.join("\n  ")
        )))
    }
}

/// `import FILE`: replaces the rows of every exported table in one
/// transaction, after a backup, and checks the row counts.
pub fn import(ctx: &Context<'_>, file: &Path) -> Result<(), CliError> {
    let (revision, mut tables) = parse_export(file)?;
    let conn = require_database(ctx)?;
    let mut heads = ledger::read(&conn)?.heads;
    let mut expected = revision.clone();
    heads.sort();
    expected.sort();
    let show = |h: &[String]| {
        if h.is_empty() {
            "base".to_owned()
        } else {
            h.join(", ")
        }
    };
    if heads != expected && !expected.is_empty() {
        return Err(CliError::Refused(format!(
            "the export was taken at revision {} but the database is at {}; move the database to that revision first (`migrate upgrade {0}` or `migrate downgrade {0}`), or import into a database at {0}",
            show(&expected),
            show(&heads),
        )));
    }
    if heads != expected {
        // An export of a database made by hand (no revision) into one the
        // migrations built: the rows move by column name, as long as every
        // exported column has a place.
        tables = fit_to_schema(&conn, tables)?;
        eprintln!(
            "the export has no revision (a database made by hand); importing its rows by column name into {} at {}",
            ctx.config().database,
            show(&heads)
        );
    }
    let existing = data::user_tables(&conn)?;
    for table in &tables {
        if !existing.contains(&table.name) {
            return Err(CliError::Refused(format!(
                "table `{}` of the export does not exist in the database",
                table.name
            )));
        }
    }
    drop(conn);
    backup_file(ctx, None)?;
    let conn = ctx.open()?;
    let fk: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    lock::begin_immediate(&conn)?;
    let result = (|| -> Result<(), CliError> {
        data::replace_all(&conn, &tables)?;
        for table in &tables {
            let count = data::count_rows(&conn, &table.name)?;
            if usize::try_from(count).ok() != Some(table.rows.len()) {
                return Err(CliError::Refused(format!(
                    "table `{}` holds {count} rows after the import, the export has {}; nothing was imported",
                    table.name,
                    table.rows.len()
                )));
            }
        }
        let violations: i64 =
            conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })?;
        if violations > 0 {
            return Err(CliError::Refused(format!(
                "the import would leave {violations} foreign key violations; nothing was imported"
            )));
        }
        conn.execute_batch("COMMIT")?;
        Ok(())
    })();
    if result.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    if fk {
        conn.execute_batch("PRAGMA foreign_keys = ON")?;
    }
    result?;
    let rows: usize = tables.iter().map(|t| t.rows.len()).sum();
    if ctx.json() {
        print_json(
            &json!({ "imported_rows": rows, "tables": tables.len(), "database": ctx.config().database.to_string() }),
        );
    } else {
        println!(
            "imported {rows} rows into {} tables of {} (row counts verified)",
            tables.len(),
            ctx.config().database
        );
    }
    Ok(())
}

/// `schema [TABLE]`.
pub fn schema(ctx: &Context<'_>, table: Option<&str>) -> Result<(), CliError> {
    let conn = require_database(ctx)?;
    let mut stmt = conn.prepare(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
         ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'trigger' THEN 2 ELSE 3 END, tbl_name, name",
    )?;
    let objects: Vec<(String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let objects: Vec<_> = objects
        .into_iter()
        .filter(|(_, _, owner, _)| table.is_none_or(|t| owner == t))
        .collect();
    if objects.is_empty() {
        if let Some(table) = table {
            return Err(RunError::Ledger(format!(
                "there is no table `{table}`; `migrate schema` lists them"
            ))
            .into());
        }
    }
    if ctx.json() {
        let list: Vec<_> = objects
            .iter()
            .map(|(k, n, t, s)| json!({"type": k, "name": n, "table": t, "sql": s}))
            .collect();
        print_json(&json!({ "objects": list }));
    } else {
        for (_, _, _, sql) in objects {
            println!("{sql};\n");
        }
    }
    Ok(())
}
