//! `rebuild`: the seed guide's manual routine for a database created
//! without migrations, as one safe command. Every row is first loaded into
//! a scratch database the migrations build, so every problem (a table or a
//! column with no place, a row a constraint refuses, a foreign key the new
//! schema breaks) is found and listed at once, before anything is written.
//! Only then: back up, write the new file, swap the files, keep the old one.

use super::args::RebuildArgs;
use super::output::{print_json, say};
use super::{clock, cmd_data, CliError, Context};
use migrate_core::sqlite::backup::backup_to;
use migrate_core::sqlite::data::{self, quote, TableData};
use migrate_core::sqlite::foreign_keys;
use migrate_core::{Migrations, RunOptions, Target};
use rusqlite::types::Value;
use rusqlite::Connection;
use serde_json::json;

/// The scratch database with the old rows in it, and what happened.
struct Loaded {
    fresh: Connection,
    /// One line per table: what was carried over, kept or dropped.
    summary: Vec<String>,
    /// What stops the rebuild, each with table, row and column.
    problems: Vec<String>,
    /// What carries over as it was (foreign key violations the old file had).
    warnings: Vec<String>,
}

/// A row named by its first column, which is the key in a Python bot's tables.
fn row_name(table: &TableData, row: &[Value]) -> String {
    let value = match row.first() {
        Some(Value::Integer(i)) => i.to_string(),
        Some(Value::Text(t)) => format!("'{t}'"),
        Some(Value::Real(r)) => r.to_string(),
        Some(Value::Null) | None => "NULL".to_owned(),
        Some(Value::Blob(_)) => "(blob)".to_owned(),
    };
    let column = table.columns.first().map_or("row", String::as_str);
    format!("{} row {column}={value}", table.name)
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Loads `old` into a fresh database built by the migrations, collecting
/// every problem instead of stopping at the first.
fn load(
    set: &Migrations,
    old: &[TableData],
    old_violations: &[foreign_keys::Violation],
    args: &RebuildArgs,
) -> Result<Loaded, CliError> {
    let mut fresh = Connection::open_in_memory()?;
    set.upgrade_with(&mut fresh, &Target::Heads, &RunOptions::default())?;
    fresh.execute_batch("PRAGMA foreign_keys = OFF; BEGIN")?;
    let new_tables = data::user_tables(&fresh)?;
    let mut loaded = Loaded {
        fresh,
        summary: Vec::new(),
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    let dropped = |list: &[String], name: &str| list.iter().any(|d| d.eq_ignore_ascii_case(name));
    for table in old {
        if dropped(&args.drop_table, &table.name) {
            loaded.summary.push(format!(
                "{}: dropped with --drop-table ({})",
                table.name,
                plural(table.rows.len(), "row")
            ));
            continue;
        }
        let Some(name) = new_tables
            .iter()
            .find(|t| t.eq_ignore_ascii_case(&table.name))
        else {
            if !table.rows.is_empty() {
                loaded.problems.push(format!(
                    "table `{}` ({}) has no place: the migrations create no such table; add it with a migration, or drop it with --drop-table {}",
                    table.name,
                    plural(table.rows.len(), "row"),
                    table.name
                ));
            }
            continue;
        };
        let columns = data::columns(&loaded.fresh, name)?;
        let mut keep = Vec::new();
        let mut notes = Vec::new();
        for (i, column) in table.columns.iter().enumerate() {
            if columns.iter().any(|c| c.eq_ignore_ascii_case(column)) {
                keep.push(i);
                continue;
            }
            let with_value = table.rows.iter().filter(|r| r[i] != Value::Null).count();
            let qualified = format!("{}.{column}", table.name);
            if with_value == 0 {
                notes.push(format!("column {column} left behind (empty)"));
            } else if dropped(&args.drop_column, &qualified) {
                notes.push(format!(
                    "column {column} dropped with --drop-column ({} with a value)",
                    plural(with_value, "row")
                ));
            } else {
                loaded.problems.push(format!(
                    "column `{qualified}` has no place ({} with a value): the migrations' `{name}` has {}; add it with a migration, or drop it with --drop-column {qualified}",
                    plural(with_value, "row"),
                    columns.join(", ")
                ));
            }
        }
        // The rows the migrations inserted step aside while the old rows
        // load, then return unless an old row took their key.
        let seeded = data::read_all(&loaded.fresh)?
            .into_iter()
            .find(|t| t.name == *name)
            .map(|t| t.rows)
            .unwrap_or_default();
        loaded
            .fresh
            .execute(&format!("DELETE FROM {}", quote(name)), [])?;
        let list: Vec<String> = keep.iter().map(|&i| quote(&table.columns[i])).collect();
        let marks = vec!["?"; keep.len()].join(", ");
        let mut carried = 0;
        {
            let mut insert = loaded.fresh.prepare(&format!(
                "INSERT INTO {} ({}) VALUES ({marks})",
                quote(name),
                list.join(", ")
            ))?;
            for row in &table.rows {
                match insert.execute(rusqlite::params_from_iter(keep.iter().map(|&i| &row[i]))) {
                    Ok(_) => carried += 1,
                    Err(error) => loaded.problems.push(format!(
                        "{}: {}",
                        row_name(table, row),
                        sqlite_message(&error)
                    )),
                }
            }
        }
        let all: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        let marks = vec!["?"; columns.len()].join(", ");
        let mut kept = 0;
        {
            let mut restore = loaded.fresh.prepare(&format!(
                "INSERT OR IGNORE INTO {} ({}) VALUES ({marks})",
                quote(name),
                all.join(", ")
            ))?;
            for row in &seeded {
                kept += restore.execute(rusqlite::params_from_iter(row.iter()))?;
            }
        }
        let mut line = format!("{}: {} carried over", table.name, plural(carried, "row"));
        if !seeded.is_empty() {
            line += &format!(
                ", {} the migrations inserted kept, {} replaced by an old row with the same key",
                kept,
                seeded.len() - kept
            );
        }
        for note in notes {
            line += &format!("; {note}");
        }
        loaded.summary.push(line);
    }
    let after = foreign_keys::violations(&loaded.fresh)?;
    let new = foreign_keys::introduced(old_violations, &after);
    for v in &after {
        if new.contains(&v) {
            loaded
                .problems
                .push(format!("{v} in the migrations' schema"));
        } else {
            loaded.warnings.push(format!(
                "{v} (it did in the old database too; carried over as it was)"
            ));
        }
    }
    Ok(loaded)
}

fn sqlite_message(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(_, Some(message)) => message.clone(),
        other => other.to_string(),
    }
}

/// `rebuild [--dry-run] [--drop-column TABLE.COLUMN] [--drop-table TABLE]`.
pub fn rebuild(ctx: &Context<'_>, args: &RebuildArgs) -> Result<(), CliError> {
    let set = ctx.migrations()?;
    let database = ctx.database_file()?.to_owned();
    let Some(old_conn) = ctx.open_existing()? else {
        return Err(ctx.missing());
    };
    let old_tables = data::read_all(&old_conn)?;
    let old_violations = foreign_keys::violations(&old_conn)?;
    drop(old_conn);
    let loaded = load(set, &old_tables, &old_violations, args)?;
    for line in &loaded.summary {
        say!(ctx, "{line}");
    }
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    if ctx.json() && (args.dry_run || !loaded.problems.is_empty()) {
        print_json(
            &json!({ "dry_run": args.dry_run, "tables": loaded.summary, "warnings": loaded.warnings, "problems": loaded.problems }),
        );
    }
    if !loaded.problems.is_empty() {
        return Err(CliError::Refused(format!(
            "{} stop{} the rebuild; nothing was changed and no backup was taken:\n  {}",
            plural(loaded.problems.len(), "problem"),
            if loaded.problems.len() == 1 { "s" } else { "" },
            loaded.problems.join("\n  ")
        )));
    }
    if args.dry_run {
        say!(
            ctx,
            "dry run: the rebuild would succeed; nothing was changed"
        );
        return Ok(());
    }
    loaded.fresh.execute_batch("COMMIT")?;
    let (backup, _) = cmd_data::backup_file(ctx, None)?;
    let stamp = clock::compact();
    let stem = database
        .file_stem()
        .map_or("database".into(), |s| s.to_string_lossy().into_owned());
    let fresh_path = database.with_file_name(format!("{stem}.rebuild-{stamp}.db"));
    let kept_path = database.with_file_name(format!("{stem}.before-rebuild-{stamp}.db"));
    backup_to(&loaded.fresh, &fresh_path, ctx.config().busy_timeout)?;
    std::fs::rename(&database, &kept_path).map_err(CliError::io(&database))?;
    if let Err(e) = std::fs::rename(&fresh_path, &database) {
        // Put the old database back rather than leave none.
        let _ = std::fs::rename(&kept_path, &database);
        return Err(CliError::Io {
            path: database,
            source: e,
        });
    }
    if ctx.json() {
        print_json(
            &json!({ "rebuilt": database, "kept": kept_path, "backup": backup, "tables": loaded.summary, "warnings": loaded.warnings }),
        );
        return Ok(());
    }
    say!(
        ctx,
        "rebuilt {} through the migrations; the old database is kept as {} (and backed up as {})",
        database.display(),
        kept_path.display(),
        backup.display()
    );
    Ok(())
}
