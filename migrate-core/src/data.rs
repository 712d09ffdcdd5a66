//! Rows as the data tools (`export`, `import`, `rebuild`, `squash`) move
//! them between databases, whatever the backend.

/// One value of a row, as SQLite types it (a server's values map onto
/// these five).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
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
    pub fn to_sql_literal(&self) -> String {
        match self {
            Value::Null => "NULL".to_owned(),
            Value::Integer(i) => i.to_string(),
            Value::Real(r) if r.is_infinite() => {
                if *r > 0.0 { "9e999" } else { "-9e999" }.to_owned()
            }
            Value::Real(r) => format!("{r:?}"),
            Value::Text(t) => crate::backend::string_literal(t),
            Value::Blob(b) => format!("X'{}'", hex::encode(b)),
        }
    }
}

/// The rows of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableData {
    /// The table name.
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<String>,
    /// Its rows, in rowid (or primary key) order.
    pub rows: Vec<Vec<Value>>,
}

/// What an export holds: the revision the database was at and its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// `alembic_version` when it was taken (empty: a database made by hand,
    /// or one at base).
    pub heads: Vec<String>,
    /// Every user table (the ledger excluded), by name.
    pub tables: Vec<TableData>,
}

/// The exported tables that have a place in a database whose tables and
/// insertable columns are `existing`, named as the database names them
/// (names compare without regard to case); every misfit is listed at once.
/// Tables without rows and without a place are left out.
pub fn fit(
    tables: Vec<TableData>,
    existing: &[(String, Vec<String>)],
) -> Result<Vec<TableData>, ImportError> {
    let mut problems = Vec::new();
    let mut kept = Vec::new();
    for table in tables {
        let Some((name, columns)) = existing
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(&table.name))
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
        let mut placed = Vec::with_capacity(table.columns.len());
        for column in &table.columns {
            match columns.iter().find(|c| c.eq_ignore_ascii_case(column)) {
                Some(c) => placed.push(c.clone()),
                None => problems.push(format!(
                    "column `{}.{column}` has no place: the migrations' `{name}` has {}",
                    table.name,
                    columns.join(", ")
                )),
            }
        }
        kept.push(TableData {
            name: name.clone(),
            columns: placed,
            rows: table.rows,
        });
    }
    if problems.is_empty() {
        Ok(kept)
    } else {
        Err(ImportError::DoesNotFit { problems })
    }
}

/// Why an import was refused; nothing was imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The export was taken at another revision.
    #[error("the export was taken at revision {} but the database is at {}; move the database to that revision first (`migrate upgrade {0}` or `migrate downgrade {0}`), or import into a database at {0}", heads_text(.export), heads_text(.database))]
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
    /// A table's row count after the load differs from the export's.
    #[error("table `{table}` holds {found} rows after the import, the export has {expected}; nothing was imported")]
    RowCount {
        /// The table.
        table: String,
        /// Rows in the database after the load.
        found: u64,
        /// Rows in the export.
        expected: u64,
    },
    /// The rows would break foreign keys.
    #[error("the import would leave {count} foreign key violations; nothing was imported")]
    ForeignKeys {
        /// How many.
        count: u64,
    },
}

fn heads_text(heads: &[String]) -> String {
    if heads.is_empty() {
        "base".to_owned()
    } else {
        heads.join(", ")
    }
}

/// One schema object as the database stores it, for `migrate schema`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaObject {
    /// `table`, `index`, `trigger` or `view`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// The table it belongs to.
    pub table: String,
    /// Its SQL.
    pub sql: String,
}
