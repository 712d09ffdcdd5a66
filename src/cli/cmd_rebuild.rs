//! `rebuild`: the seed guide's manual routine for a database created
//! without migrations, as one safe command. Back up, read every row, build
//! a fresh database through the migrations, load the rows, verify the
//! counts, then swap the files and keep the old one.

use super::{clock, cmd_data, CliError, Context};
use migrate_core::sqlite::data::{self, TableData};
use migrate_core::{RunOptions, Target};
use rusqlite::types::Value;
use rusqlite::Connection;

/// Keeps only the columns the new table has; says what would be lost.
fn carry_over(old: &TableData, new_columns: &[String], lost: &mut Vec<String>) -> TableData {
    let keep: Vec<usize> = (0..old.columns.len())
        .filter(|&i| {
            new_columns
                .iter()
                .any(|c| c.eq_ignore_ascii_case(&old.columns[i]))
        })
        .collect();
    for (i, column) in old.columns.iter().enumerate() {
        if !keep.contains(&i) && old.rows.iter().any(|row| row[i] != Value::Null) {
            lost.push(format!("{}.{column}", old.name));
        }
    }
    TableData {
        name: old.name.clone(),
        columns: keep.iter().map(|&i| old.columns[i].clone()).collect(),
        rows: old
            .rows
            .iter()
            .map(|row| keep.iter().map(|&i| row[i].clone()).collect())
            .collect(),
    }
}

/// `rebuild`.
pub fn rebuild(ctx: &Context<'_>) -> Result<(), CliError> {
    let set = ctx.migrations()?;
    let database = ctx.database_file()?.to_owned();
    if !database.exists() {
        return Err(ctx.missing());
    }
    let backup = cmd_data::backup(ctx, None)?;
    let old_tables = {
        let conn = ctx.open()?;
        data::read_all(&conn)?
    };
    let stamp = clock::compact();
    let stem = database
        .file_stem()
        .map_or("database".into(), |s| s.to_string_lossy().into_owned());
    let fresh_path = database.with_file_name(format!("{stem}.rebuild-{stamp}.db"));
    let kept_path = database.with_file_name(format!("{stem}.before-rebuild-{stamp}.db"));
    let result = (|| -> Result<usize, CliError> {
        let mut fresh = Connection::open(&fresh_path)?;
        set.upgrade_with(&mut fresh, &Target::Heads, &RunOptions::default())?;
        let new_tables = data::user_tables(&fresh)?;
        let mut lost = Vec::new();
        let mut load = Vec::new();
        for table in &old_tables {
            if !new_tables
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&table.name))
            {
                if !table.rows.is_empty() {
                    lost.push(format!("{} ({} rows)", table.name, table.rows.len()));
                }
                continue;
            }
            let columns = data::columns(&fresh, &table.name)?;
            load.push(carry_over(table, &columns, &mut lost));
        }
        if !lost.is_empty() {
            return Err(CliError::Refused(format!(
                "the migrations' schema has no place for {}; nothing was changed (the backup is {})",
                lost.join(", "),
                backup.display()
            )));
        }
        fresh.execute_batch("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE")?;
        data::replace_all(&fresh, &load)?;
        for table in &load {
            let count = data::count_rows(&fresh, &table.name)?;
            if usize::try_from(count).ok() != Some(table.rows.len()) {
                return Err(CliError::Refused(format!(
                    "table `{}` holds {count} rows, the old database {}",
                    table.name,
                    table.rows.len()
                )));
            }
        }
        let violations: i64 =
            fresh.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })?;
        if violations > 0 {
            return Err(CliError::Refused(format!("the rows would break {violations} foreign keys in the new schema; nothing was changed")));
        }
        fresh.execute_batch("COMMIT")?;
        fresh.close().map_err(|(_, e)| e)?;
        Ok(load.iter().map(|t| t.rows.len()).sum())
    })();
    let rows = match result {
        Ok(rows) => rows,
        Err(error) => {
            let _ = std::fs::remove_file(&fresh_path);
            return Err(error);
        }
    };
    std::fs::rename(&database, &kept_path).map_err(CliError::io(&database))?;
    if let Err(e) = std::fs::rename(&fresh_path, &database) {
        // Put the old database back rather than leave none.
        let _ = std::fs::rename(&kept_path, &database);
        return Err(CliError::Io {
            path: database,
            source: e,
        });
    }
    println!(
        "rebuilt {} through the migrations: {rows} rows carried over, row counts verified; the old database is kept as {}",
        database.display(),
        kept_path.display()
    );
    Ok(())
}
