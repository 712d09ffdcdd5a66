//! [`Database`]: an open database of any backend, the handle the command
//! line and an application's embedded command line work through. Each
//! operation dispatches to its backend's module; an operation a backend
//! cannot do says so.

use crate::backend::foreign_keys::Violation;
use crate::backend::ledger::{AppliedRowRef, LedgerState, LogEntry, NewRow, StoredDowngrade};
use crate::backend::location::Location;
use crate::backend::sealed::{Blocking, Ops, StepRecord};
use crate::backend::settings::OpenOptions;
use crate::backend::{in_ledger_transaction, Dialect, Origin, RunScope, WaitPolicy};
use crate::backend::{read_ledger, ready};
use crate::error::{BackendError, RunError};
use crate::files::pieces::Pieces;
use crate::graph::plan::RowOp;
use std::path::Path;
use std::time::Duration;

use crate::backend::sqlite;

/// An open database.
#[derive(Debug)]
#[non_exhaustive]
pub enum Database {
    /// An SQLite file (or a scratch database in memory).
    Sqlite(sqlite::Connection),
    /// A PostgreSQL server.
    #[cfg(feature = "postgres")]
    Postgres(Box<crate::backend::postgres::Postgres>),
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

impl Database {
    /// Opens the database at `location` as `options` say: an SQLite file is
    /// created, with its folder, unless the location says `mode=ro` or
    /// `mode=rw`; a server is connected to (TLS and libpq's environment as
    /// `sslmode` and the variables say).
    pub fn open(location: &Location, options: &OpenOptions) -> Result<Database, RunError> {
        match location {
            Location::Sqlite { .. } | Location::Memory => {
                let conn = sqlite::open(location)?;
                sqlite::set_busy_timeout(&conn, options.busy_timeout)?;
                Ok(Database::Sqlite(conn))
            }
            #[cfg(feature = "postgres")]
            Location::Postgres { .. } => Ok(Database::Postgres(Box::new(
                crate::backend::postgres::Postgres::connect(location, options.server.clone())?,
            ))),
            #[cfg(not(feature = "postgres"))]
            Location::Postgres { .. } => {
                Err(RunError::Backend(BackendError::UnsupportedLocation {
                    location: location.to_string(),
                }))
            }
        }
    }

    /// An empty scratch database in memory, for replaying migrations.
    pub(crate) fn scratch() -> Result<Database, RunError> {
        sqlite::scratch().map(Database::Sqlite)
    }

    /// The offline-SQL text of the backend `location` names: what
    /// `upgrade --sql` writes without connecting (as Alembic picks its
    /// dialect from the URL). `version_table_schema` qualifies the version
    /// table on a server.
    pub(crate) fn dialect_of(
        location: &Location,
        version_table_schema: Option<&str>,
    ) -> Box<dyn Dialect> {
        match location {
            #[cfg(feature = "postgres")]
            Location::Postgres { .. } => Box::new(crate::backend::postgres::PostgresDialect {
                schema: version_table_schema.map(str::to_owned),
            }),
            _ => {
                let _ = version_table_schema;
                Box::new(sqlite::SqliteDialect)
            }
        }
    }

    /// The ledger, read in one snapshot.
    pub(crate) fn ledger(&mut self) -> Result<LedgerState, RunError> {
        ready(read_ledger(self))
    }

    /// Rows that reference missing rows (foreign keys left off by the
    /// program that wrote them).
    pub(crate) fn foreign_key_violations(&mut self) -> Result<Vec<Violation>, RunError> {
        ready(Ops::foreign_key_violations(self))
    }

    /// The PostgreSQL connection, for the server's own schema tools.
    #[cfg(feature = "postgres")]
    pub(crate) fn as_postgres(&mut self) -> Option<&mut crate::backend::postgres::Postgres> {
        match self {
            Database::Postgres(postgres) => Some(postgres),
            Database::Sqlite(_) => None,
        }
    }

    /// Writes a consistent, checked copy to `target` while other processes
    /// may keep writing: SQLite's online backup and integrity check, or on
    /// a server `pg_dump --format=custom` read back by `pg_restore --list`.
    pub(crate) fn backup_to(&self, target: &Path, patience: Duration) -> Result<(), RunError> {
        match self {
            Database::Sqlite(conn) => sqlite::backup::backup_to(conn, target, patience)?,
            #[cfg(feature = "postgres")]
            Database::Postgres(pg) => {
                crate::backend::postgres::dump::dump(server_location(pg)?, target)?;
            }
        }
        crate::events::backup_written(&target.display());
        Ok(())
    }

    /// What a backup of this database is called: the SQLite file's stem or
    /// the server database's name, and the extension of its backups (`db`,
    /// or `dump` for `pg_dump`'s custom format).
    pub(crate) fn backup_name(&mut self) -> Result<(String, &'static str), RunError> {
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
                crate::backend::postgres::dump::database_name(&mut pg.client)?,
                "dump",
            )),
        }
    }

    /// Replaces the contents with the backup at `source`, atomically, after
    /// checking it, and logs the restore when the backup has a ledger.
    /// Returns the heads the database is at now.
    pub(crate) fn restore_from(
        &mut self,
        source: &Path,
        patience: Duration,
    ) -> Result<Vec<String>, RunError> {
        match self {
            Database::Sqlite(conn) => sqlite::backup::restore_from(conn, source, patience)?,
            #[cfg(feature = "postgres")]
            Database::Postgres(pg) => {
                let location = server_location(pg)?.clone();
                crate::backend::postgres::dump::restore(&mut pg.client, &location, source)?;
            }
        }
        let state = self.ledger()?;
        if state.has_version_table && state.has_applied_table {
            let from = [source.display().to_string()];
            ready(in_ledger_transaction(self, async |tx, _| {
                tx.ensure_ledger().await?;
                tx.log(&LogEntry {
                    operation: "restore",
                    heads_before: &state.heads,
                    heads_after: &state.heads,
                    revisions: &from,
                    outcome: "ok",
                    error: None,
                })
                .await
            }))?;
        }
        Ok(state.heads)
    }
}

/// A session of a [`Database`]: its backend's own.
#[derive(Debug)]
pub enum DatabaseSession {
    /// SQLite's.
    Sqlite(sqlite::SqliteSession),
    /// PostgreSQL's.
    #[cfg(feature = "postgres")]
    Postgres(crate::backend::postgres::PostgresSession),
}

/// Both of its backends block.
impl Blocking for Database {}

// `Ops` is sealed: its ledger types stay crate-private (docs/DESIGN.md §2).
#[allow(private_interfaces)]
impl Ops for Database {
    type Session = DatabaseSession;

    async fn acquire(
        &mut self,
        wait: &WaitPolicy<'_>,
        scope: RunScope,
    ) -> Result<DatabaseSession, RunError> {
        match self {
            Database::Sqlite(conn) => conn.acquire(wait, scope).await.map(DatabaseSession::Sqlite),
            #[cfg(feature = "postgres")]
            Database::Postgres(conn) => conn
                .acquire(wait, scope)
                .await
                .map(DatabaseSession::Postgres),
        }
    }

    async fn release(&mut self, session: DatabaseSession) -> Result<(), RunError> {
        match (self, session) {
            (Database::Sqlite(conn), DatabaseSession::Sqlite(session)) => {
                conn.release(session).await
            }
            #[cfg(feature = "postgres")]
            (Database::Postgres(conn), DatabaseSession::Postgres(session)) => {
                conn.release(session).await
            }
            #[cfg(feature = "postgres")]
            _ => Ok(()),
        }
    }

    async fn begin(
        &mut self,
        wait: &WaitPolicy<'_>,
        session: &DatabaseSession,
    ) -> Result<(), RunError> {
        match (self, session) {
            (Database::Sqlite(conn), DatabaseSession::Sqlite(session)) => {
                conn.begin(wait, session).await
            }
            #[cfg(feature = "postgres")]
            (Database::Postgres(conn), DatabaseSession::Postgres(session)) => {
                conn.begin(wait, session).await
            }
            #[cfg(feature = "postgres")]
            _ => unreachable!("a session belongs to the database that acquired it"),
        }
    }

    async fn commit(&mut self) -> Result<(), RunError> {
        dispatch!(self, conn => conn.commit().await)
    }

    async fn transaction_is_open(&mut self) -> Result<bool, RunError> {
        dispatch!(self, conn => conn.transaction_is_open().await)
    }

    fn abandon(&mut self, session: &DatabaseSession) {
        match (self, session) {
            (Database::Sqlite(conn), DatabaseSession::Sqlite(session)) => conn.abandon(session),
            #[cfg(feature = "postgres")]
            (Database::Postgres(conn), DatabaseSession::Postgres(session)) => conn.abandon(session),
            #[cfg(feature = "postgres")]
            _ => {}
        }
    }

    async fn settle(&mut self, session: &DatabaseSession) -> Result<(), RunError> {
        match (self, session) {
            (Database::Sqlite(conn), DatabaseSession::Sqlite(session)) => {
                conn.settle(session).await
            }
            #[cfg(feature = "postgres")]
            (Database::Postgres(conn), DatabaseSession::Postgres(session)) => {
                conn.settle(session).await
            }
            #[cfg(feature = "postgres")]
            _ => Ok(()),
        }
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

    async fn run_script(
        &mut self,
        pieces: &mut Pieces<'_>,
        origin: &Origin<'_>,
    ) -> Result<(), RunError> {
        dispatch!(self, conn => conn.run_script(pieces, origin).await)
    }

    async fn run_script_in_transaction(
        &mut self,
        pieces: &mut Pieces<'_>,
        origin: &Origin<'_>,
    ) -> Result<bool, RunError> {
        dispatch!(self, conn => conn.run_script_in_transaction(pieces, origin).await)
    }

    async fn read_ledger(
        &mut self,
        visit: &mut (dyn FnMut(AppliedRowRef<'_>) + Send),
    ) -> Result<LedgerState, RunError> {
        dispatch!(self, conn => conn.read_ledger(visit).await)
    }

    async fn ensure_ledger(&mut self) -> Result<(), RunError> {
        dispatch!(self, conn => conn.ensure_ledger().await)
    }

    async fn apply_row_op(&mut self, op: &RowOp) -> Result<usize, RunError> {
        dispatch!(self, conn => conn.apply_row_op(op).await)
    }

    async fn record(&mut self, row: &NewRow<'_>) -> Result<(), RunError> {
        dispatch!(self, conn => conn.record(row).await)
    }

    async fn forget(&mut self, revision: &str) -> Result<(), RunError> {
        dispatch!(self, conn => conn.forget(revision).await)
    }

    async fn record_step(&mut self, step: &StepRecord<'_>) -> Result<(), RunError> {
        dispatch!(self, conn => conn.record_step(step).await)
    }

    async fn record_steps(&mut self, steps: &[StepRecord<'_>]) -> Result<(), RunError> {
        dispatch!(self, conn => conn.record_steps(steps).await)
    }

    async fn set_checksum(&mut self, revision: &str, checksum: &str) -> Result<(), RunError> {
        dispatch!(self, conn => conn.set_checksum(revision, checksum).await)
    }

    async fn stored_downgrades(&mut self) -> Result<Vec<StoredDowngrade>, RunError> {
        dispatch!(self, conn => conn.stored_downgrades().await)
    }

    async fn log(&mut self, entry: &LogEntry<'_>) -> Result<(), RunError> {
        dispatch!(self, conn => conn.log(entry).await)
    }

    async fn foreign_key_violations(&mut self) -> Result<Vec<Violation>, RunError> {
        dispatch!(self, conn => conn.foreign_key_violations().await)
    }
}

/// Where a server connection was opened, for the client tools that open
/// their own.
#[cfg(feature = "postgres")]
fn server_location(pg: &crate::backend::postgres::Postgres) -> Result<&Location, RunError> {
    pg.location()
        .ok_or(RunError::Backend(BackendError::NoServerLocation))
}
