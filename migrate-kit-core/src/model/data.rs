//! Rows as the data tools (`export`, `import`, `rebuild`, `squash`) move
//! them between databases, whatever the backend.

use crate::hint::Cmd;

/// One value of a row, as SQLite types it (a server's values map onto
/// these five).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `NULL`.
    Null,
    /// An integer.
    Integer(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl Value {
    /// The value as an SQL literal that reads back as the same value
    /// (infinities as `9e999`, blobs as `X'..'`).
    pub(crate) fn to_sql_literal(&self) -> String {
        match self {
            Value::Null => "NULL".to_owned(),
            Value::Integer(i) => i.to_string(),
            Value::Real(r) if r.is_infinite() => {
                if *r > 0.0 { "9e999" } else { "-9e999" }.to_owned()
            }
            Value::Real(r) => format!("{r:?}"),
            Value::Text(t) => crate::files::sql_text::string_literal(t),
            Value::Blob(b) => format!("X'{}'", hex::encode(b)),
        }
    }
}

/// The rows of one table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TableData {
    /// The table name.
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<String>,
    /// Its rows, in rowid (or primary key) order.
    pub rows: Vec<Vec<Value>>,
}

impl TableData {
    /// A row named by its first column, which is the key in a Python
    /// bot's tables: `id=7`.
    pub(crate) fn row_key(&self, row: &[Value]) -> String {
        let value = match row.first() {
            Some(Value::Integer(i)) => i.to_string(),
            Some(Value::Text(t)) => format!("'{t}'"),
            Some(Value::Real(r)) => r.to_string(),
            Some(Value::Null) | None => "NULL".to_owned(),
            Some(Value::Blob(_)) => "(blob)".to_owned(),
        };
        let column = self.columns.first().map_or("row", String::as_str);
        format!("{column}={value}")
    }
}

/// What an export holds: the revision the database was at and its rows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Export {
    /// `alembic_version` when it was taken (empty: a database made by hand,
    /// or one at base).
    pub heads: Vec<String>,
    /// Every user table (the ledger excluded), by name.
    pub tables: Vec<TableData>,
}

/// What an import does with tables that already hold rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ImportMode {
    /// Refuse when any table the export fills holds rows (the default): an
    /// import never replaces rows unasked.
    #[default]
    IntoEmpty,
    /// The tables hold exactly the export's rows afterwards (`--replace`).
    Replace,
    /// Rows whose primary key is already there are kept as they are; the
    /// others are added (`--merge`).
    Merge,
}

/// What an import does with rows whose foreign keys name missing rows.
/// SQLite can load them and say which; a server refuses them row by row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Orphans {
    /// Refuse the import, naming each (the default).
    #[default]
    Refuse,
    /// Load them as they are and report them, as `rebuild` carries over
    /// what the old file had (`--orphans keep`, SQLite only).
    Keep,
    /// Leave them out and report them (`--orphans drop`, SQLite only).
    Drop,
}

/// How day and month are ordered in date text that is not ISO 8601, for a
/// server's date and time columns (`--date-order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateOrder {
    /// `02.12.2026` is the 2nd of December.
    DayMonthYear,
    /// `12/02/2026` is the 2nd of December.
    MonthDayYear,
}

/// How an import treats what the database already holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ImportOptions {
    /// Tables that hold rows.
    pub mode: ImportMode,
    /// Rows with a broken foreign key.
    pub orphans: Orphans,
    /// Tables of the export whose rows are left out (`--drop-table`).
    pub drop_tables: Vec<String>,
    /// The order of non-ISO date text; `None`: such text is refused.
    pub date_order: Option<DateOrder>,
}

/// A table an import can fill, as the database has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImportTarget {
    /// Its name.
    pub name: String,
    /// Its insertable columns, in order.
    pub columns: Vec<String>,
    /// The columns of its primary key (empty: none).
    pub key: Vec<String>,
    /// The rows it holds now.
    pub rows: u64,
    /// Its date and time columns whose text the server parses (empty on
    /// SQLite, which stores text as it is).
    pub temporal: Vec<String>,
}

/// What a load wrote (see [`crate::Database::import`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Loaded {
    /// Rows written.
    pub rows: usize,
    /// Rows of the export left out because their key was there already
    /// (`--merge`).
    pub kept: usize,
    /// Rows with a missing parent, kept or left out as asked: one line
    /// each, with table, key and column.
    pub orphans: Vec<String>,
}

/// The exported tables that have a place among `targets` (names compare
/// without regard to case, and come out as the database names them), with
/// the tables `options` drops left out; every misfit is listed at once,
/// and tables that hold rows are refused unless `options` says what to do
/// with them. Tables without rows and without a place are left out.
pub(crate) fn fit(
    tables: Vec<TableData>,
    targets: &[ImportTarget],
    options: &ImportOptions,
) -> Result<Vec<(TableData, ImportTarget)>, ImportError> {
    let mut problems = Vec::new();
    let mut kept = Vec::new();
    for table in tables {
        if options
            .drop_tables
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&table.name))
        {
            continue;
        }
        let Some(target) = targets
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(&table.name))
        else {
            if !table.rows.is_empty() {
                problems.push(format!(
                    "table `{}` ({} rows) has no place: the migrations create no such table (leave it out with --drop-table {})",
                    table.name,
                    table.rows.len(),
                    table.name
                ));
            }
            continue;
        };
        let mut placed = Vec::with_capacity(table.columns.len());
        for column in &table.columns {
            match target
                .columns
                .iter()
                .find(|c| c.eq_ignore_ascii_case(column))
            {
                Some(c) => placed.push(c.clone()),
                None => problems.push(format!(
                    "column `{}.{column}` has no place: the migrations' `{}` has {}",
                    table.name,
                    target.name,
                    target.columns.join(", ")
                )),
            }
        }
        kept.push((
            TableData {
                name: target.name.clone(),
                columns: placed,
                rows: table.rows,
            },
            target.clone(),
        ));
    }
    if !problems.is_empty() {
        return Err(ImportError::DoesNotFit { problems });
    }
    let holding: Vec<String> = kept
        .iter()
        .filter(|(_, target)| target.rows > 0)
        .map(|(_, target)| format!("`{}` ({} rows)", target.name, target.rows))
        .collect();
    if options.mode == ImportMode::IntoEmpty && !holding.is_empty() {
        return Err(ImportError::HoldsRows { tables: holding });
    }
    if options.mode == ImportMode::Merge {
        if let Some((_, keyless)) = kept.iter().find(|(_, t)| t.key.is_empty() && t.rows > 0) {
            return Err(ImportError::NoKey {
                table: keyless.name.clone(),
            });
        }
    }
    for (table, target) in &kept {
        check_dates(table, target, options.date_order)?;
    }
    Ok(kept)
}

/// Refuses date text a server would read by its DateStyle (`02.12.2026`
/// is the 2nd of December or the 12th of February) unless the order is
/// given: only ISO 8601 is read the same everywhere.
fn check_dates(
    table: &TableData,
    target: &ImportTarget,
    order: Option<DateOrder>,
) -> Result<(), ImportError> {
    if order.is_some() {
        return Ok(());
    }
    for (i, column) in table.columns.iter().enumerate() {
        if !target.temporal.contains(column) {
            continue;
        }
        for (n, row) in table.rows.iter().enumerate() {
            if let Some(Value::Text(text)) = row.get(i) {
                if !is_unambiguous_date(text) {
                    return Err(ImportError::AmbiguousDate {
                        table: table.name.clone(),
                        row: n + 1,
                        column: column.clone(),
                        value: text.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// ISO 8601 (`2026-12-02`, `2026-12-02 10:00:00+03`), a time of day
/// (`10:00`), or a word the server knows (`now`, `infinity`).
fn is_unambiguous_date(text: &str) -> bool {
    let t = text.trim();
    let b = t.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let iso_date = digits(0..4) && b.get(4) == Some(&b'-');
    let time_of_day = digits(0..2) && b.get(2) == Some(&b':');
    let word = ["now", "today", "infinity", "-infinity", "epoch", "allballs"]
        .iter()
        .any(|w| t.eq_ignore_ascii_case(w));
    iso_date || time_of_day || word
}

/// Why an import was refused; nothing was imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The export was taken at another revision.
    #[error("the export was taken at revision {} but the database is at {}; move the database to that revision first ({} or {}), or import into a database at {0}", crate::graph::heads_text(.export), crate::graph::heads_text(.database), Cmd(format!("upgrade {}", crate::graph::heads_text(.export))), Cmd(format!("downgrade {}", crate::graph::heads_text(.export))))]
    Revision {
        /// The export's heads.
        export: Vec<String>,
        /// The database's heads.
        database: Vec<String>,
    },
    /// Tables or columns of the export have no place in the database.
    #[error("nothing was imported; the export does not fit the database:\n  {}\nadd the missing tables or columns with a migration, or edit the export", .problems.join("\n  "))]
    DoesNotFit {
        /// One line per table or column.
        problems: Vec<String>,
    },
    /// Tables the export fills already hold rows, and no mode was chosen.
    #[error("nothing was imported: {} already hold{} rows, which the import would replace. Choose: --replace makes the tables hold exactly the export's rows (rows added since the export are lost), --merge adds the export's rows whose key is not there yet and keeps every row that is", .tables.join(", "), if .tables.len() == 1 { "s" } else { "" })]
    HoldsRows {
        /// Each table with its row count.
        tables: Vec<String>,
    },
    /// `--merge` into a table without a primary key.
    #[error("nothing was imported: table `{table}` has no primary key, so --merge cannot tell which of its rows are already there; use --replace, or leave it out with --drop-table {table}")]
    NoKey {
        /// The table.
        table: String,
    },
    /// Date text a server would read by its DateStyle.
    #[error("nothing was imported: `{table}` row {row}, column `{column}`: `{value}` is not an ISO 8601 date, so its day and month could be read either way; write it as 2026-12-02 10:00, or give the order with --date-order dmy (day first) or --date-order mdy (month first)")]
    AmbiguousDate {
        /// The table.
        table: String,
        /// The row's position in the export, from 1.
        row: usize,
        /// The column.
        column: String,
        /// The text.
        value: String,
    },
    /// A row the database refuses (a CHECK, NOT NULL or UNIQUE constraint).
    #[error("nothing was imported: table `{table}` refuses a row ({row}): {message}; fix the row in the export, or leave the table out with --drop-table {table}")]
    Row {
        /// The table.
        table: String,
        /// The row, by its key, or what the database says of it.
        row: String,
        /// The database's message.
        message: String,
    },
    /// A table's row count after the load differs from what it should be.
    #[error("table `{table}` holds {found} rows after the import, {expected} were expected; nothing was imported")]
    RowCount {
        /// The table.
        table: String,
        /// Rows in the database after the load.
        found: u64,
        /// Rows it should hold.
        expected: u64,
    },
    /// Rows whose foreign keys name missing rows.
    #[error("nothing was imported: {} row{} would reference missing rows:\n  {}\nadd the missing rows to the export, leave a table out with --drop-table TABLE, or (on SQLite) load them anyway with --orphans keep or leave them out with --orphans drop", .orphans.len(), if .orphans.len() == 1 { "" } else { "s" }, .orphans.join("\n  "))]
    Orphans {
        /// One line per row: table, key, column and the missing parent.
        orphans: Vec<String>,
    },
    /// `--orphans keep` or `drop` on a server.
    #[error("--orphans keep and --orphans drop work on SQLite, which can load a row before checking it; a PostgreSQL server checks every foreign key as the row arrives, so fix the export or leave a table out with --drop-table TABLE")]
    OrphansOnServer,
}

/// One schema object as the database stores it, for `migrate schema`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaObject {
    /// `table`, `index`, `trigger` or `view`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// The table it belongs to.
    pub table: String,
    /// Its SQL.
    pub sql: String,
}
