//! What [`Database`] offers beyond runs, on either backend: reading the
//! schema and the rows, export and import, and (on SQLite) the squash dump
//! and the rebuild of a hand-made file. Each operation dispatches to its
//! backend's module; one a backend cannot do says so and what to do instead.

use crate::backend::database::Database;
use crate::backend::sqlite;
use crate::error::RunError;
use crate::model::data::{
    Export, ImportError, ImportOptions, ImportTarget, Loaded, SchemaObject, TableData,
};
use crate::model::schema::Schema;
use crate::set::Migrations;
use std::path::Path;

/// Calls `$body` on an SQLite database; on a server, refuses `$operation`
/// and says what to do `$instead`.
macro_rules! sqlite_only {
    ($db:expr, $operation:literal, $instead:literal, $conn:ident => $body:expr) => {
        match $db {
            Database::Sqlite($conn) => $body,
            #[cfg(feature = "postgres")]
            Database::Postgres(_) => {
                Err(RunError::Backend(crate::error::BackendError::Unsupported {
                    operation: $operation,
                    backend: "PostgreSQL",
                    instead: $instead,
                }))
            }
        }
    };
}

/// An export checked against a database by [`Database::prepare_import`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PreparedImport {
    tables: Vec<(TableData, ImportTarget)>,
    by_column_name: bool,
    options: ImportOptions,
}

impl PreparedImport {
    /// Whether the export had no revision (a database made by hand) and
    /// its rows are placed by column name.
    pub(crate) fn by_column_name(&self) -> bool {
        self.by_column_name
    }
}

/// What [`Database::import`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Imported {
    /// Rows written, tables written, rows kept as they were and rows with
    /// a missing parent.
    pub loaded: Loaded,
    /// Tables written.
    pub tables: usize,
    /// Whether the export had no revision (a database made by hand) and
    /// its rows were placed by column name.
    pub by_column_name: bool,
}

impl Database {
    /// A scratch database holding the declared schema in the file at `path`.
    pub(crate) fn declared(path: &Path) -> Result<Database, RunError> {
        sqlite::introspect::declared(path).map(Database::Sqlite)
    }

    /// The schema (tables, indexes, views, triggers; the ledger excluded).
    pub(crate) fn schema(&self) -> Result<Schema, RunError> {
        sqlite_only!(self, "reading the schema", "the schema tools on PostgreSQL come with the next release; use `pg_dump --schema-only`", conn => sqlite::introspect::read_schema(conn))
    }

    /// Every schema object as the database stores it, tables first.
    pub(crate) fn schema_objects(&self) -> Result<Vec<SchemaObject>, RunError> {
        sqlite_only!(self, "listing the schema", "run `pg_dump --schema-only` or psql's `\\d`", conn => sqlite::data::schema_objects(conn))
    }

    /// The heads and every row, read in one snapshot.
    pub(crate) fn export(&self) -> Result<Export, RunError> {
        sqlite_only!(self, "export", "use `pg_dump --data-only --format=custom`, or export from the SQLite database before moving", conn => sqlite::data::export(conn))
    }

    /// Checks that `export` fits this database, changing nothing. An
    /// export taken at another revision is refused; one without a revision
    /// (a database made by hand) is placed by column name, every misfit
    /// listed at once.
    pub(crate) fn prepare_import(
        &mut self,
        export: Export,
        options: &ImportOptions,
    ) -> Result<PreparedImport, RunError> {
        let mut heads = self.ledger()?.heads;
        let mut expected = export.heads.clone();
        heads.sort();
        expected.sort();
        let by_column_name = heads != expected;
        if by_column_name && !expected.is_empty() {
            return Err(ImportError::Revision {
                export: expected,
                database: heads,
            }
            .into());
        }
        let targets = match self {
            Database::Sqlite(conn) => sqlite::data::import_targets(conn)?,
            #[cfg(feature = "postgres")]
            Database::Postgres(pg) => {
                if options.orphans != crate::model::data::Orphans::Refuse {
                    return Err(ImportError::OrphansOnServer.into());
                }
                crate::backend::postgres::data::import_targets(&mut pg.client)?
            }
        };
        let tables = crate::model::data::fit(export.tables, &targets, options)?;
        Ok(PreparedImport {
            tables,
            by_column_name,
            options: options.clone(),
        })
    }

    /// Fills every table of `prepared` in one transaction, as its options
    /// say, and checks the row counts and foreign keys; any problem rolls
    /// the whole import back.
    pub(crate) fn import(&mut self, prepared: PreparedImport) -> Result<Imported, RunError> {
        let PreparedImport {
            tables,
            by_column_name,
            options,
        } = prepared;
        let loaded = match self {
            Database::Sqlite(conn) => sqlite::data::import(conn, &tables, &options)?,
            #[cfg(feature = "postgres")]
            Database::Postgres(pg) => {
                crate::backend::postgres::data::import(&mut pg.client, &tables, &options)?
            }
        };
        Ok(Imported {
            loaded,
            tables: tables.len(),
            by_column_name,
        })
    }

    /// The schema and rows as SQL, and the SQL that drops them: what a
    /// squash's baseline runs.
    pub(crate) fn dump(&self) -> Result<(String, String), RunError> {
        sqlite_only!(self, "squash", "squash on an SQLite copy of the schema", conn => sqlite::data::dump(conn))
    }

    /// Loads every row into a fresh database built by `set` (see
    /// [`sqlite::rebuild`]), changing nothing.
    pub(crate) fn rebuild(
        &mut self,
        set: &Migrations,
        options: &crate::tools::rebuild::RebuildOptions,
    ) -> Result<crate::tools::rebuild::Rebuild, RunError> {
        sqlite_only!(self, "rebuild", "rebuild is for SQLite files made by hand; on a server, adopt or stamp it", conn => crate::tools::rebuild::Rebuild::load(set, conn, options))
    }
}
