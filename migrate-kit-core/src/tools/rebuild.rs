//! `rebuild`: the seed guide's manual routine for a database created
//! without migrations, as one safe operation. Every row is first loaded
//! into a scratch database the migrations build, so every problem (a table
//! or a column with no place, a row a constraint refuses, a foreign key the
//! new schema breaks) is found and listed at once, before anything is
//! written. Only then is the new file written beside the old one and the
//! two swapped.

use crate::backend::foreign_keys::{self, Violation};
use crate::backend::ready;
use crate::backend::sealed::Ops;
use crate::backend::sqlite::backup::backup_to;
use crate::backend::sqlite::data::{columns, quote, read_all, user_tables};
use crate::backend::sqlite::Doing;
use crate::error::{BackendError, RunError};
use crate::graph::target::Target;
use crate::model::data::{TableData, Value};
use crate::run::options::RunOptions;
use crate::set::Migrations;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What may be left behind.
#[derive(Debug, Clone, Default)]
pub(crate) struct RebuildOptions {
    /// Tables whose rows are dropped (`--drop-table`).
    pub drop_tables: Vec<String>,
    /// `TABLE.COLUMN`s whose values are dropped (`--drop-column`).
    pub drop_columns: Vec<String>,
}

/// The old rows loaded into a database the migrations built, and what
/// happened on the way.
pub(crate) struct Rebuild {
    fresh: Connection,
    /// One line per table: what was carried over, kept or dropped.
    pub summary: Vec<String>,
    /// What stops the rebuild, each with table, row and column.
    pub problems: Vec<String>,
    /// What carries over as it was (foreign key violations the old file had).
    pub warnings: Vec<String>,
}

/// A row named with its table.
fn row_name(table: &TableData, row: &[Value]) -> String {
    format!("{} row {}", table.name, table.row_key(row))
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn sqlite_message(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(_, Some(message)) => message.clone(),
        other => other.to_string(),
    }
}

impl Rebuild {
    /// Loads every row of `old` into a fresh database built by `set`,
    /// collecting every problem instead of stopping at the first. Changes
    /// nothing on disk.
    pub(crate) fn load(
        set: &Migrations,
        old: &mut Connection,
        options: &RebuildOptions,
    ) -> Result<Rebuild, RunError> {
        let old_tables = read_all(old)?;
        let old_violations = ready(old.foreign_key_violations())?;
        let mut fresh = Connection::open_in_memory().doing("opening a scratch database")?;
        set.upgrade_with(&mut fresh, &Target::Heads, &RunOptions::default())?;
        fresh
            .execute_batch("PRAGMA foreign_keys = OFF; BEGIN")
            .doing("opening the scratch database")?;
        let mut rebuild = Rebuild {
            fresh,
            summary: Vec::new(),
            problems: Vec::new(),
            warnings: Vec::new(),
        };
        for table in &old_tables {
            rebuild.load_table(table, options)?;
        }
        rebuild.check_foreign_keys(&old_violations)?;
        rebuild
            .fresh
            .execute_batch("COMMIT")
            .doing("committing the scratch database")?;
        Ok(rebuild)
    }

    fn load_table(&mut self, table: &TableData, options: &RebuildOptions) -> Result<(), RunError> {
        let dropped =
            |list: &[String], name: &str| list.iter().any(|d| d.eq_ignore_ascii_case(name));
        if dropped(&options.drop_tables, &table.name) {
            self.summary.push(format!(
                "{}: dropped with --drop-table ({})",
                table.name,
                plural(table.rows.len(), "row")
            ));
            return Ok(());
        }
        let new_tables = user_tables(&self.fresh)?;
        let Some(name) = new_tables
            .iter()
            .find(|t| t.eq_ignore_ascii_case(&table.name))
        else {
            if !table.rows.is_empty() {
                self.problems.push(format!(
                    "table `{}` ({}) has no place: the migrations create no such table; add it with a migration, or drop it with --drop-table {}",
                    table.name,
                    plural(table.rows.len(), "row"),
                    table.name
                ));
            }
            return Ok(());
        };
        let columns = columns(&self.fresh, name)?;
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
            } else if dropped(&options.drop_columns, &qualified) {
                notes.push(format!(
                    "column {column} dropped with --drop-column ({} with a value)",
                    plural(with_value, "row")
                ));
            } else {
                self.problems.push(format!(
                    "column `{qualified}` has no place ({} with a value): the migrations' `{name}` has {}; add it with a migration, or drop it with --drop-column {qualified}",
                    plural(with_value, "row"),
                    columns.join(", ")
                ));
            }
        }
        // The rows the migrations inserted step aside while the old rows
        // load, then return unless an old row took their key.
        let seeded = read_all(&self.fresh)?
            .into_iter()
            .find(|t| t.name == *name)
            .map(|t| t.rows)
            .unwrap_or_default();
        self.fresh
            .execute(&format!("DELETE FROM {}", quote(name)), [])
            .doing("clearing a table")?;
        let list: Vec<String> = keep.iter().map(|&i| quote(&table.columns[i])).collect();
        let marks = vec!["?"; keep.len()].join(", ");
        let mut carried = 0;
        {
            let mut insert = self
                .fresh
                .prepare(&format!(
                    "INSERT INTO {} ({}) VALUES ({marks})",
                    quote(name),
                    list.join(", ")
                ))
                .doing("preparing the load")?;
            for row in &table.rows {
                match insert.execute(rusqlite::params_from_iter(keep.iter().map(|&i| &row[i]))) {
                    Ok(_) => carried += 1,
                    Err(error) => self.problems.push(format!(
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
            let mut restore = self
                .fresh
                .prepare(&format!(
                    "INSERT OR IGNORE INTO {} ({}) VALUES ({marks})",
                    quote(name),
                    all.join(", ")
                ))
                .doing("preparing the load")?;
            for row in &seeded {
                kept += restore
                    .execute(rusqlite::params_from_iter(row.iter()))
                    .doing("restoring the rows the migrations inserted")?;
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
        self.summary.push(line);
        Ok(())
    }

    fn check_foreign_keys(&mut self, old_violations: &[Violation]) -> Result<(), RunError> {
        let after = ready(self.fresh.foreign_key_violations())?;
        let new = foreign_keys::introduced(old_violations, &after);
        for v in &after {
            if new.contains(&v) {
                self.problems.push(format!("{v} in the migrations' schema"));
            } else {
                self.warnings.push(format!(
                    "{v} (it did in the old database too; carried over as it was)"
                ));
            }
        }
        Ok(())
    }

    /// Writes the rebuilt database beside `database` and swaps the two; the
    /// old file is kept as `<stem>.before-rebuild-<stamp>.db`, which is
    /// returned. Refuses when there were problems. If the swap fails, the
    /// old file is put back.
    pub(crate) fn replace(
        &self,
        database: &Path,
        stamp: &str,
        patience: Duration,
    ) -> Result<PathBuf, RunError> {
        let stem = database
            .file_stem()
            .map_or("database".into(), |s| s.to_string_lossy().into_owned());
        let fresh_path = database.with_file_name(format!("{stem}.rebuild-{stamp}.db"));
        let kept_path = database.with_file_name(format!("{stem}.before-rebuild-{stamp}.db"));
        backup_to(&self.fresh, &fresh_path, patience)?;
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| RunError::Backend(BackendError::Io { path, source })
        };
        std::fs::rename(database, &kept_path).map_err(io(database))?;
        if let Err(error) = std::fs::rename(&fresh_path, database) {
            // Put the old database back rather than leave none.
            let _ = std::fs::rename(&kept_path, database);
            return Err(io(database)(error));
        }
        Ok(kept_path)
    }
}
