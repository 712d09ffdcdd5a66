//! `backup`, `restore`, `export`, `import` and `schema`.

use super::args::{DateOrderArg, ImportArgs, OrphansArg};
use super::output::print_json;
use super::{clock, export_file, CliError, Context};
use crate::hint::Cmd;
use crate::model::data::{DateOrder, Export, ImportError, ImportMode, ImportOptions, Orphans};
use crate::tools::Imported;
use crate::{Database, RunError, ToolError};
use serde_json::json;
use std::path::{Path, PathBuf};

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

/// `export [--out FILE]`.
pub(crate) fn export(ctx: &Context<'_>, out: Option<&Path>) -> Result<(), CliError> {
    let export = require_database(ctx)?.export()?;
    let text = export_file::to_json(&export, clock::readable());
    let Export { heads, tables } = export;
    let path = out.map_or_else(
        || PathBuf::from(format!("db_export_{}.json", clock::compact())),
        Path::to_owned,
    );
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

fn read_export(path: &Path) -> Result<Export, CliError> {
    let text = std::fs::read_to_string(path).map_err(CliError::io(path))?;
    export_file::from_json(path, &text).map_err(CliError::Refused)
}

/// `import FILE`: fills every exported table in one transaction, after a
/// backup, and checks the row counts. Tables that hold rows are refused
/// unless `--replace` or `--merge` says what becomes of them; a refused or
/// failed import leaves no backup behind (the database did not change).
pub(crate) fn import(ctx: &Context<'_>, args: &ImportArgs) -> Result<(), CliError> {
    let file = args.file.as_path();
    let export = read_export(file)?;
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
                "{error}:\n  {}\n  {}",
                Cmd(format!("import {file} --replace")),
                Cmd(format!("import {file} --merge"))
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
        eprintln!("{what}: {orphan}");
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
                "there is no table `{table}`; {} lists them",
                Cmd("schema")
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
