//! `backup`, `restore`, `export`, `import` and `schema`.

use super::args::{DateOrderArg, ImportArgs, OrphansArg};
use super::output::{print_json, tell};
use super::{clock, CliError, Context};
use crate::model::data::{
    DateOrder, Export, ImportError, ImportMode, ImportOptions, Orphans, TableData, Value,
};
use crate::tools::Imported;
use crate::{Database, RunError, ToolError};
use serde_json::{json, Map, Value as Json};
use std::path::{Path, PathBuf};

/// The format tag of export files.
const EXPORT_FORMAT: &str = "migrate-export";
const EXPORT_VERSION: u64 = 1;

fn require_database(ctx: &Context<'_>) -> Result<Database, CliError> {
    ctx.open_existing()?.ok_or_else(|| ctx.missing())
}

/// `backup [--out FILE]`: prints the file written.
pub(crate) fn backup(ctx: &Context<'_>, out: Option<&Path>) -> Result<(), CliError> {
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
pub(crate) fn backup_file(
    ctx: &Context<'_>,
    out: Option<&Path>,
) -> Result<(PathBuf, Vec<String>), CliError> {
    let mut db = require_database(ctx)?;
    let heads = db.ledger()?.heads;
    let (stem, extension) = db.backup_name()?;
    let target = match out {
        Some(path) => path.to_owned(),
        None => {
            let dir = &ctx.config().backup_dir;
            std::fs::create_dir_all(dir).map_err(CliError::io(dir))?;
            let revision = if heads.is_empty() {
                "base".to_owned()
            } else {
                heads.join("+")
            };
            let base = format!("{stem}-{}-{revision}", clock::compact());
            (1..)
                .map(|n| {
                    if n == 1 {
                        dir.join(format!("{base}.{extension}"))
                    } else {
                        dir.join(format!("{base}-{n}.{extension}"))
                    }
                })
                .find(|candidate| !candidate.exists())
                .unwrap_or_else(|| dir.join(format!("{base}.{extension}")))
        }
    };
    if target.exists() {
        return Err(CliError::Refused(format!(
            "{} already exists; choose another --out",
            target.display()
        )));
    }
    db.backup_to(&target, ctx.config().busy_timeout)?;
    eprintln!("backup written to {} (read back whole)", target.display());
    if out.is_none() {
        if let Some(keep) = ctx.config().backup_keep {
            prune_backups(&ctx.config().backup_dir, &stem, extension, keep);
        }
    }
    Ok((target, heads))
}

/// Removes the oldest backups of the database `stem` in `dir` beyond the
/// newest `keep` (`backup_keep`). Only files named as `backup` names them
/// (`STEM-<UTC time>-<revision>.EXT`) count, oldest first by the time in
/// the name, then (within a second) by when the file was written.
fn prune_backups(dir: &Path, stem: &str, extension: &str, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!("{stem}-");
    let suffix = format!(".{extension}");
    let mut ours: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(&suffix))
                .is_some_and(clock::is_compact_prefix)
        })
        .collect();
    ours.sort_by_key(|p| {
        let written = std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let time = name.get(prefix.len()..prefix.len() + 16).map(str::to_owned);
        (time, written)
    });
    let excess = ours.len().saturating_sub(keep.max(1));
    for old in &ours[..excess] {
        if std::fs::remove_file(old).is_ok() {
            eprintln!(
                "removed the old backup {} (backup_keep = {keep})",
                old.display()
            );
        }
    }
}

/// `restore FILE`: backs up the current database, then replaces it.
pub(crate) fn restore(ctx: &Context<'_>, file: &Path) -> Result<(), CliError> {
    if !file.is_file() {
        return Err(CliError::Refused(format!(
            "backup {} does not exist",
            file.display()
        )));
    }
    if ctx.database_exists()? {
        backup_file(ctx, None)?;
    }
    let heads = ctx.open()?.restore_from(file, ctx.config().busy_timeout)?;
    if ctx.json() {
        print_json(
            &json!({ "restored": ctx.config().database.to_string(), "from": file, "heads": heads }),
        );
    } else {
        println!(
            "restored {} from {} (now at {})",
            ctx.config().database,
            file.display(),
            crate::graph::heads_text(&heads)
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
pub(crate) fn export(ctx: &Context<'_>, out: Option<&Path>) -> Result<(), CliError> {
    let Export { heads, tables } = require_database(ctx)?.export()?;
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
        "revision": heads,
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
            &json!({ "export": path, "rows": rows, "tables": tables.len(), "revision": heads }),
        );
    } else {
        println!("{}", path.display());
    }
    Ok(())
}

fn parse_export(path: &Path) -> Result<Export, CliError> {
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
    Ok(Export {
        heads: revision,
        tables,
    })
}

/// `import FILE`: fills every exported table in one transaction, after a
/// backup, and checks the row counts. Tables that hold rows are refused
/// unless `--replace` or `--merge` says what becomes of them; a refused or
/// failed import leaves no backup behind (the database did not change).
pub(crate) fn import(ctx: &Context<'_>, args: &ImportArgs) -> Result<(), CliError> {
    let file = args.file.as_path();
    let export = parse_export(file)?;
    let mut db = require_database(ctx)?;
    let options = ImportOptions {
        mode: match (args.replace, args.merge) {
            (true, _) => ImportMode::Replace,
            (_, true) => ImportMode::Merge,
            _ => ImportMode::IntoEmpty,
        },
        orphans: match args.orphans {
            None => Orphans::Refuse,
            Some(OrphansArg::Keep) => Orphans::Keep,
            Some(OrphansArg::Drop) => Orphans::Drop,
        },
        drop_tables: args.drop_table.clone(),
        date_order: args.date_order.map(|order| match order {
            DateOrderArg::Dmy => DateOrder::DayMonthYear,
            DateOrderArg::Mdy => DateOrder::MonthDayYear,
        }),
    };
    // What does not fit is refused before a backup is taken.
    let prepared = db.prepare_import(export, &options).map_err(|error| {
        if let RunError::Tool(ToolError::Import(ImportError::HoldsRows { .. })) = &error {
            let file = file.display();
            CliError::Refused(format!(
                "{error}:\n  `migrate import {file} --replace`\n  `migrate import {file} --merge`"
            ))
        } else {
            error.into()
        }
    })?;
    if prepared.by_column_name() {
        eprintln!(
            "the export has no revision (a database made by hand); importing its rows by column name into {}",
            ctx.config().database
        );
    }
    let (backup, _) = backup_file(ctx, None)?;
    let Imported { loaded, tables, .. } = match db.import(prepared) {
        Ok(imported) => imported,
        Err(error) => {
            // Nothing changed: the backup of this attempt is not kept.
            if std::fs::remove_file(&backup).is_ok() {
                eprintln!("removed {}: the database did not change", backup.display());
            }
            return Err(error.into());
        }
    };
    for orphan in &loaded.orphans {
        let what = if args.orphans.is_some_and(|o| matches!(o, OrphansArg::Drop)) {
            "left out"
        } else {
            "kept with a missing parent"
        };
        tell!(ctx, "{what}: {orphan}");
    }
    if ctx.json() {
        print_json(&json!({
            "imported_rows": loaded.rows,
            "kept_rows": loaded.kept,
            "orphans": loaded.orphans,
            "tables": tables,
            "database": ctx.config().database.to_string()
        }));
    } else {
        let kept = if loaded.kept > 0 {
            format!(
                "; {} rows of the export were there already and stay as they were",
                loaded.kept
            )
        } else {
            String::new()
        };
        println!(
            "imported {} rows into {tables} tables of {} (row counts verified){kept}",
            loaded.rows,
            ctx.config().database
        );
    }
    Ok(())
}

/// `schema [TABLE]`.
pub(crate) fn schema(ctx: &Context<'_>, table: Option<&str>) -> Result<(), CliError> {
    let objects: Vec<_> = require_database(ctx)?
        .schema_objects()?
        .into_iter()
        .filter(|o| table.is_none_or(|t| o.table == t))
        .collect();
    if objects.is_empty() {
        if let Some(table) = table {
            return Err(CliError::Refused(format!(
                "there is no table `{table}`; `migrate schema` lists them"
            )));
        }
    }
    if ctx.json() {
        let list: Vec<_> = objects
            .iter()
            .map(|o| json!({"type": o.kind, "name": o.name, "table": o.table, "sql": o.sql}))
            .collect();
        print_json(&json!({ "objects": list }));
    } else {
        for object in objects {
            println!("{};\n", object.sql);
        }
    }
    Ok(())
}
