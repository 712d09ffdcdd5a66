//! [`Database`]: an open database of any backend, the handle the command
//! line and an application's embedded command line work through. Each
//! operation dispatches to its backend's module; an operation a backend
//! cannot do says so.

use crate::backend::sealed::{Ops, StepRecord};
use crate::backend::{with_session, Dialect, Origin, RunScope, Transaction, WaitPolicy};
use crate::data::{
    Export, ImportError, ImportOptions, ImportTarget, Loaded, SchemaObject, TableData,
};
use crate::error::{BackendError, RunError};
use crate::foreign_keys::Violation;
use crate::graph::plan::RowOp;
use crate::ledger::{AppliedRowRef, LedgerState, LogEntry, NewRow, StoredDowngrade};
use crate::location::Location;
use crate::runner::{read_ledger, RunOptions};
use crate::schema::Schema;
use crate::set::Migrations;
use std::path::Path;
use std::time::Duration;

use crate::sqlite;

/// An open database.
#[derive(Debug)]
#[non_exhaustive]
pub enum Database {
    /// An SQLite file (or a scratch database in memory).
    Sqlite(sqlite::Connection),
    /// A PostgreSQL server.
    #[cfg(feature = "postgres")]
    Postgres(Box<crate::postgres::Postgres>),
}

/// Calls the same expression on whichever backend `$db` holds.
macro_rules! dispatch {
    ($db:expr, $conn:ident => $body:expr) => {
        match $db {
            Database::Sqlite($conn) => $body,
            #[cfg(feature = "postgres")]
            Database::Postgres($conn) => $body,
        }
    };
}

/// Calls `$body` on an SQLite database; on a server, refuses `$operation`
/// and says what to do `$instead`.
macro_rules! sqlite_only {
    ($db:expr, $operation:literal, $instead:literal, $conn:ident => $body:expr) => {
        match $db {
            Database::Sqlite($conn) => $body,
            #[cfg(feature = "postgres")]
            Database::Postgres(_) => Err(RunError::Backend(BackendError::Unsupported {
                operation: $operation,
                backend: "PostgreSQL",
                instead: $instead,
            })),
        }
    };
}

/// An export checked against a database by [`Database::prepare_import`].
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedImport {
    tables: Vec<(TableData, ImportTarget)>,
    by_column_name: bool,
    options: ImportOptions,
}

impl PreparedImport {
    /// Whether the export had no revision (a database made by hand) and
    /// its rows are placed by column name.
    pub fn by_column_name(&self) -> bool {
        self.by_column_name
    }
}

/// What [`Database::import`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
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
    /// Opens the database at `location`: an SQLite file is created, with
    /// its folder, unless the location says `mode=ro` or `mode=rw`.
    pub fn open(location: &Location, busy_timeout: Duration) -> Result<Database, RunError> {
        match location {
            Location::Sqlite { .. } | Location::Memory => {
                let conn = sqlite::open(location)?;
                sqlite::set_busy_timeout(&conn, busy_timeout)?;
                Ok(Database::Sqlite(conn))
            }
            #[cfg(feature = "postgres")]
            Location::Postgres { .. } => Ok(Database::Postgres(Box::new(
                crate::postgres::Postgres::connect(location, crate::postgres::Settings::default())?,
            ))),
            #[cfg(not(feature = "postgres"))]
            Location::Postgres { .. } => Err(RunError::Backend(BackendError::UnsupportedLocation {
                location: location.to_string(),
            })),
        }
    }

    /// The settings of a PostgreSQL connection (schema, lock mode,
    /// timeouts); `None` for SQLite.
    #[cfg(feature = "postgres")]
    pub fn postgres_settings(&mut self) -> Option<&mut crate::postgres::Settings> {
        match self {
            Database::Postgres(postgres) => Some(&mut postgres.settings),
            Database::Sqlite(_) => None,
        }
    }

    /// An empty scratch database in memory, for replaying migrations.
    pub fn scratch() -> Result<Database, RunError> {
        sqlite::scratch().map(Database::Sqlite)
    }

    /// A scratch database holding the declared schema in the file at `path`.
    pub fn declared(path: &Path) -> Result<Database, RunError> {
        sqlite::introspect::declared(path).map(Database::Sqlite)
    }

    /// The offline-SQL text of the backend `location` names: what
    /// `upgrade --sql` writes without connecting (as Alembic picks its
    /// dialect from the URL). `version_table_schema` qualifies the version
    /// table on a server.
    pub fn dialect_of(location: &Location, version_table_schema: Option<&str>) -> Box<dyn Dialect> {
        match location {
            #[cfg(feature = "postgres")]
            Location::Postgres { .. } => Box::new(crate::postgres::PostgresDialect {
                schema: version_table_schema.map(str::to_owned),
            }),
            _ => {
                let _ = version_table_schema;
                Box::new(sqlite::SqliteDialect)
            }
        }
    }

    /// The ledger, read in one snapshot.
    pub fn ledger(&mut self) -> Result<LedgerState, RunError> {
        read_ledger(self)
    }

    /// Rows that reference missing rows (foreign keys left off by the
    /// program that wrote them).
    pub fn foreign_key_violations(&mut self) -> Result<Vec<Violation>, RunError> {
        Ops::foreign_key_violations(self)
    }

    /// The PostgreSQL connection, for the server's own schema tools.
    #[cfg(feature = "postgres")]
    pub fn as_postgres(&mut self) -> Option<&mut crate::postgres::Postgres> {
        match self {
            Database::Postgres(postgres) => Some(postgres),
            Database::Sqlite(_) => None,
        }
    }

    /// The schema (tables, indexes, views, triggers; the ledger excluded).
    pub fn schema(&self) -> Result<Schema, RunError> {
        sqlite_only!(self, "reading the schema", "the schema tools on PostgreSQL come with the next release; use `pg_dump --schema-only`", conn => sqlite::introspect::read_schema(conn))
    }

    /// Every schema object as the database stores it, tables first.
    pub fn schema_objects(&self) -> Result<Vec<SchemaObject>, RunError> {
        sqlite_only!(self, "listing the schema", "run `pg_dump --schema-only` or psql's `\\d`", conn => sqlite::data::schema_objects(conn))
    }

    /// Every row of every user table.
    pub fn tables(&self) -> Result<Vec<TableData>, RunError> {
        sqlite_only!(self, "reading every table", "use `pg_dump --data-only`", conn => sqlite::data::read_all(conn))
    }

    /// The heads and every row, read in one snapshot.
    pub fn export(&self) -> Result<Export, RunError> {
        sqlite_only!(self, "export", "use `pg_dump --data-only --format=custom`, or export from the SQLite database before moving", conn => sqlite::data::export(conn))
    }

    /// Checks that `export` fits this database, changing nothing. An
    /// export taken at another revision is refused; one without a revision
    /// (a database made by hand) is placed by column name, every misfit
    /// listed at once.
    pub fn prepare_import(
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
                if options.orphans != crate::data::Orphans::Refuse {
                    return Err(ImportError::OrphansOnServer.into());
                }
                crate::postgres::data::import_targets(&mut pg.client)?
            }
        };
        let tables = crate::data::fit(export.tables, &targets, options)?;
        Ok(PreparedImport {
            tables,
            by_column_name,
            options: options.clone(),
        })
    }

    /// Fills every table of `prepared` in one transaction, as its options
    /// say, and checks the row counts and foreign keys; any problem rolls
    /// the whole import back.
    pub fn import(&mut self, prepared: PreparedImport) -> Result<Imported, RunError> {
        let PreparedImport {
            tables,
            by_column_name,
            options,
        } = prepared;
        let loaded = match self {
            Database::Sqlite(conn) => sqlite::data::import(conn, &tables, &options)?,
            #[cfg(feature = "postgres")]
            Database::Postgres(pg) => {
                crate::postgres::data::import(&mut pg.client, &tables, &options)?
            }
        };
        Ok(Imported {
            loaded,
            tables: tables.len(),
            by_column_name,
        })
    }

    /// Writes a consistent, checked copy to `target` while other processes
    /// may keep writing: SQLite's online backup and integrity check, or on
    /// a server `pg_dump --format=custom` read back by `pg_restore --list`.
    pub fn backup_to(&self, target: &Path, patience: Duration) -> Result<(), RunError> {
        match self {
            Database::Sqlite(conn) => sqlite::backup::backup_to(conn, target, patience),
            #[cfg(feature = "postgres")]
            Database::Postgres(pg) => crate::postgres::dump::dump(server_location(pg)?, target),
        }
    }

    /// What a backup of this database is called: the SQLite file's stem or
    /// the server database's name, and the extension of its backups (`db`,
    /// or `dump` for `pg_dump`'s custom format).
    pub fn backup_name(&mut self) -> Result<(String, &'static str), RunError> {
        match self {
            Database::Sqlite(conn) => Ok((
                conn.path()
                    .map(Path::new)
                    .and_then(Path::file_stem)
                    .map_or("database".into(), |s| s.to_string_lossy().into_owned()),
                "db",
            )),
            #[cfg(feature = "postgres")]
            Database::Postgres(pg) => Ok((
                crate::postgres::dump::database_name(&mut pg.client)?,
                "dump",
            )),
        }
    }

    /// Replaces the contents with the backup at `source`, atomically, after
    /// checking it, and logs the restore when the backup has a ledger.
    /// Returns the heads the database is at now.
    pub fn restore_from(
        &mut self,
        source: &Path,
        patience: Duration,
    ) -> Result<Vec<String>, RunError> {
        match self {
            Database::Sqlite(conn) => sqlite::backup::restore_from(conn, source, patience)?,
            #[cfg(feature = "postgres")]
            Database::Postgres(pg) => {
                let location = server_location(pg)?.clone();
                crate::postgres::dump::restore(&mut pg.client, &location, source)?;
            }
        }
        let state = self.ledger()?;
        if state.has_version_table && state.has_applied_table {
            let from = [source.display().to_string()];
            let options = RunOptions::default();
            with_session(self, &options.wait_policy(), RunScope::OneTransaction, |db, session| {
                let mut tx = Transaction::begin(db, session, &options.wait_policy())?;
                tx.ensure_ledger()?;
                tx.log(&LogEntry {
                    operation: "restore",
                    heads_before: &state.heads,
                    heads_after: &state.heads,
                    revisions: &from,
                    outcome: "ok",
                    error: None,
                })?;
                tx.commit()
            })?;
        }
        Ok(state.heads)
    }

    /// The schema and rows as SQL, and the SQL that drops them: what a
    /// squash's baseline runs.
    pub fn dump(&self) -> Result<(String, String), RunError> {
        sqlite_only!(self, "squash", "squash on an SQLite copy of the schema", conn => sqlite::data::dump(conn))
    }

    /// Loads every row into a fresh database built by `set` (see
    /// [`sqlite::rebuild`]), changing nothing.
    pub fn rebuild(
        &mut self,
        set: &Migrations,
        options: &sqlite::rebuild::RebuildOptions,
    ) -> Result<sqlite::rebuild::Rebuild, RunError> {
        sqlite_only!(self, "rebuild", "rebuild is for SQLite files made by hand; on a server, `migrate adopt` or `stamp`", conn => sqlite::rebuild::Rebuild::load(set, conn, options))
    }
}

/// A session of a [`Database`]: its backend's own.
#[derive(Debug)]
pub enum DatabaseSession {
    /// SQLite's.
    Sqlite(sqlite::SqliteSession),
    /// PostgreSQL's.
    #[cfg(feature = "postgres")]
    Postgres(crate::postgres::PostgresSession),
}

impl Ops for Database {
    type Session = DatabaseSession;

    fn acquire(
        &mut self,
        wait: &WaitPolicy<'_>,
        scope: RunScope,
    ) -> Result<DatabaseSession, RunError> {
        match self {
            Database::Sqlite(conn) => conn.acquire(wait, scope).map(DatabaseSession::Sqlite),
            #[cfg(feature = "postgres")]
            Database::Postgres(conn) => conn.acquire(wait, scope).map(DatabaseSession::Postgres),
        }
    }

    fn release(&mut self, session: DatabaseSession) -> Result<(), RunError> {
        match (self, session) {
            (Database::Sqlite(conn), DatabaseSession::Sqlite(session)) => conn.release(session),
            #[cfg(feature = "postgres")]
            (Database::Postgres(conn), DatabaseSession::Postgres(session)) => conn.release(session),
            #[cfg(feature = "postgres")]
            _ => Ok(()),
        }
    }

    fn begin(
        &mut self,
        wait: &WaitPolicy<'_>,
        session: &DatabaseSession,
    ) -> Result<(), RunError> {
        match (self, session) {
            (Database::Sqlite(conn), DatabaseSession::Sqlite(session)) => {
                conn.begin(wait, session)
            }
            #[cfg(feature = "postgres")]
            (Database::Postgres(conn), DatabaseSession::Postgres(session)) => {
                conn.begin(wait, session)
            }
            #[cfg(feature = "postgres")]
            _ => unreachable!("a session belongs to the database that acquired it"),
        }
    }

    fn commit(&mut self) -> Result<(), RunError> {
        dispatch!(self, conn => conn.commit())
    }

    fn transaction_is_open(&mut self) -> Result<bool, RunError> {
        dispatch!(self, conn => conn.transaction_is_open())
    }

    fn rollback(&mut self) {
        dispatch!(self, conn => conn.rollback())
    }

    fn allows_commits_within_a_run(&mut self, session: &DatabaseSession) -> bool {
        match (self, session) {
            (Database::Sqlite(conn), DatabaseSession::Sqlite(session)) => {
                conn.allows_commits_within_a_run(session)
            }
            #[cfg(feature = "postgres")]
            (Database::Postgres(conn), DatabaseSession::Postgres(session)) => {
                conn.allows_commits_within_a_run(session)
            }
            #[cfg(feature = "postgres")]
            _ => false,
        }
    }

    fn run_script(
        &mut self,
        sql: &str,
        origin: &Origin<'_>,
        line_of: &dyn Fn(usize) -> u32,
    ) -> Result<(), RunError> {
        dispatch!(self, conn => conn.run_script(sql, origin, line_of))
    }

    fn read_ledger(
        &mut self,
        visit: &mut dyn FnMut(AppliedRowRef<'_>),
    ) -> Result<LedgerState, RunError> {
        dispatch!(self, conn => conn.read_ledger(visit))
    }

    fn ensure_ledger(&mut self) -> Result<(), RunError> {
        dispatch!(self, conn => conn.ensure_ledger())
    }

    fn apply_row_op(&mut self, op: &RowOp) -> Result<usize, RunError> {
        dispatch!(self, conn => conn.apply_row_op(op))
    }

    fn record(&mut self, row: &NewRow<'_>) -> Result<(), RunError> {
        dispatch!(self, conn => conn.record(row))
    }

    fn forget(&mut self, revision: &str) -> Result<(), RunError> {
        dispatch!(self, conn => conn.forget(revision))
    }

    fn record_step(&mut self, step: &StepRecord<'_>) -> Result<(), RunError> {
        dispatch!(self, conn => conn.record_step(step))
    }

    fn record_steps(&mut self, steps: &[StepRecord<'_>]) -> Result<(), RunError> {
        dispatch!(self, conn => conn.record_steps(steps))
    }

    fn set_checksum(&mut self, revision: &str, checksum: &str) -> Result<(), RunError> {
        dispatch!(self, conn => conn.set_checksum(revision, checksum))
    }

    fn stored_downgrades(&mut self) -> Result<Vec<StoredDowngrade>, RunError> {
        dispatch!(self, conn => conn.stored_downgrades())
    }

    fn log(&mut self, entry: &LogEntry<'_>) -> Result<(), RunError> {
        dispatch!(self, conn => conn.log(entry))
    }

    fn foreign_key_violations(&mut self) -> Result<Vec<Violation>, RunError> {
        dispatch!(self, conn => conn.foreign_key_violations())
    }
}

/// Where a server connection was opened, for the client tools that open
/// their own.
#[cfg(feature = "postgres")]
fn server_location(pg: &crate::postgres::Postgres) -> Result<&Location, RunError> {
    pg.location().ok_or(RunError::Backend(BackendError::NoServerLocation))
}
