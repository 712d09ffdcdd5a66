//! sqlx 0.9's `SqliteConnection` as a SQLite backend, for a bot whose
//! pool is sqlx's (feature `sqlx-0_9-sqlite`).
//!
//! sqlx runs SQLite's C library on a worker thread per connection and
//! lends the raw handle out while that worker is locked out
//! (`SqliteConnection::lock_handle`). [`SqlxSqlite`] holds that lock for as
//! long as it lives and wraps the same handle in a `rusqlite::Connection`,
//! so a run on it is the SQLite backend's own run: the write lock, one
//! transaction, the checksums and the drift refusal are the same, and so
//! are the database and the transaction the bot's pool sees (an in-memory
//! database included).

use super::error::Doing;
use super::SqliteSession;
use crate::backend::foreign_keys::Violation;
use crate::backend::ledger::{AppliedRowRef, LedgerState, LogEntry, NewRow, StoredDowngrade};
use crate::backend::sealed::{Blocking, Ops, StepRecord};
use crate::backend::{Origin, RunScope, WaitPolicy};
use crate::error::{BackendError, RunError};
use crate::files::pieces::Pieces;
use crate::graph::plan::RowOp;
use rusqlite::Connection;
use sqlx_0_9::sqlite::{LockedSqliteHandle, SqliteConnection};
use std::mem::ManuallyDrop;
use std::time::Duration;

/// A `SqliteConnection` of a sqlx 0.9 pool, locked for migrations: a
/// [`Backend`](crate::Backend) for the blocking API, on the same SQLite
/// handle. The bot reads through its sqlx connection again once this is
/// dropped: the rusqlite view of the handle is not lent out, since parts of
/// it (an interrupt handle) could outlive the lock.
///
/// ```no_run
/// # async fn start(
/// #     pool: sqlx_0_9::SqlitePool,
/// #     migrations: &migrate_kit_core::Migrations,
/// # ) -> Result<(), Box<dyn std::error::Error>> {
/// let mut conn = pool.acquire().await?;
/// let mut db = migrate_kit_core::sqlite::SqlxSqlite::lock(&mut conn).await?;
/// let startup = migrations.start(&mut db)?;
/// drop(db); // sqlx's worker has the connection back
/// # Ok(()) }
/// ```
///
/// SQLite blocks, so the run blocks the task's thread, as it would block
/// sqlx's worker thread; with the handle locked no other task can use
/// this connection in between, and a run never awaits midway, so starts on
/// several connections of one runtime each run whole. A long migration on a
/// multi-thread runtime goes in `tokio::task::block_in_place` so that the
/// thread's other tasks move on.
///
/// Dropping it restores the connection's busy timeout (a run sets its
/// own) and hands the handle back to sqlx's worker; the run has restored
/// the foreign-key setting and ended its transactions.
pub struct SqlxSqlite<'c> {
    /// The handle as rusqlite sees it. Never dropped: an older rusqlite's
    /// drop of a borrowed handle unregisters the hooks sqlx set on it
    /// (0.32 with its `hooks` feature); the statements it cached are
    /// finalized in [`Drop`] instead, and the one small allocation it owns
    /// (its interrupt handle's `Arc`) is left behind.
    conn: ManuallyDrop<Connection>,
    /// `PRAGMA busy_timeout` as sqlx had it.
    busy_timeout: Duration,
    /// sqlx's lock on the handle, released after `conn` is done with.
    _locked: LockedSqliteHandle<'c>,
}

impl<'c> SqlxSqlite<'c> {
    /// Locks sqlx's worker out of `conn` and takes its SQLite handle for
    /// migrations. Awaits the statement the worker is running, if any.
    ///
    /// # Errors
    ///
    /// When sqlx's worker thread has stopped, or SQLite fails to read the
    /// busy timeout.
    pub async fn lock(conn: &'c mut SqliteConnection) -> Result<SqlxSqlite<'c>, RunError> {
        let mut locked = conn.lock_handle().await.map_err(|source| {
            RunError::Backend(BackendError::Database {
                doing: "taking sqlx's connection from its worker",
                source: Box::new(source),
                code: None,
                hint: None,
            })
        })?;
        // Never dropped, from here on (see the field).
        let conn = ManuallyDrop::new(borrow_handle(&mut locked).doing("borrowing sqlx's handle")?);
        let busy_timeout: u32 = conn
            .query_row("PRAGMA busy_timeout", [], |row| row.get(0))
            .doing("reading the busy timeout")?;
        Ok(SqlxSqlite {
            conn,
            busy_timeout: Duration::from_millis(u64::from(busy_timeout)),
            _locked: locked,
        })
    }
}

/// The handle `locked` holds, as a rusqlite connection that does not own it.
#[allow(unsafe_code)]
fn borrow_handle(locked: &mut LockedSqliteHandle<'_>) -> rusqlite::Result<Connection> {
    let handle = locked.as_raw_handle();
    // SAFETY: the handle is open and stays open while `locked` lives, and
    // sqlx's worker makes no call on it meanwhile (`lock_handle`'s
    // contract); `SqlxSqlite` drops the connection's use before `locked`.
    // rusqlite and sqlx call the same SQLite library: a build links one
    // `libsqlite3-sys` (it declares `links = "sqlite3"`), which is also why
    // sqlx's `sqlite3` type is rusqlite's here. A connection made by
    // `from_handle` never closes the handle. The connection is never handed
    // out, so nothing of it (a moved-out connection, an interrupt handle)
    // outlives the lock.
    unsafe { Connection::from_handle(handle.as_ptr()) }
}

/// SQLite blocks: a run on it needs no runtime.
impl Blocking for SqlxSqlite<'_> {}

// The SQLite backend's own operations, on the borrowed handle.
// `Ops` is sealed: its ledger types stay crate-private (docs/DESIGN.md §2).
#[allow(private_interfaces)]
impl Ops for SqlxSqlite<'_> {
    type Session = SqliteSession;

    async fn acquire(
        &mut self,
        wait: &WaitPolicy<'_>,
        scope: RunScope,
    ) -> Result<SqliteSession, RunError> {
        self.conn.acquire(wait, scope).await
    }

    async fn release(&mut self, session: SqliteSession) -> Result<(), RunError> {
        self.conn.release(session).await
    }

    async fn begin(
        &mut self,
        wait: &WaitPolicy<'_>,
        session: &SqliteSession,
    ) -> Result<(), RunError> {
        self.conn.begin(wait, session).await
    }

    async fn commit(&mut self) -> Result<(), RunError> {
        self.conn.commit().await
    }

    async fn transaction_is_open(&mut self) -> Result<bool, RunError> {
        self.conn.transaction_is_open().await
    }

    fn allows_commits_within_a_run(&mut self, session: &SqliteSession) -> bool {
        self.conn.allows_commits_within_a_run(session)
    }

    fn abandon(&mut self, session: &SqliteSession) {
        self.conn.abandon(session);
    }

    async fn settle(&mut self, session: &SqliteSession) -> Result<(), RunError> {
        self.conn.settle(session).await
    }

    async fn run_script(
        &mut self,
        pieces: &mut Pieces<'_>,
        origin: &Origin<'_>,
    ) -> Result<(), RunError> {
        self.conn.run_script(pieces, origin).await
    }

    async fn run_script_in_transaction(
        &mut self,
        pieces: &mut Pieces<'_>,
        origin: &Origin<'_>,
    ) -> Result<bool, RunError> {
        self.conn.run_script_in_transaction(pieces, origin).await
    }

    async fn read_ledger(
        &mut self,
        visit: &mut (dyn FnMut(AppliedRowRef<'_>) + Send),
    ) -> Result<LedgerState, RunError> {
        self.conn.read_ledger(visit).await
    }

    async fn ensure_ledger(&mut self) -> Result<(), RunError> {
        self.conn.ensure_ledger().await
    }

    async fn apply_row_op(&mut self, op: &RowOp) -> Result<usize, RunError> {
        self.conn.apply_row_op(op).await
    }

    async fn record(&mut self, row: &NewRow<'_>) -> Result<(), RunError> {
        self.conn.record(row).await
    }

    async fn forget(&mut self, revision: &str) -> Result<(), RunError> {
        self.conn.forget(revision).await
    }

    async fn record_step(&mut self, step: &StepRecord<'_>) -> Result<(), RunError> {
        self.conn.record_step(step).await
    }

    async fn record_steps(&mut self, steps: &[StepRecord<'_>]) -> Result<(), RunError> {
        self.conn.record_steps(steps).await
    }

    async fn set_checksum(&mut self, revision: &str, checksum: &str) -> Result<(), RunError> {
        self.conn.set_checksum(revision, checksum).await
    }

    async fn stored_downgrades(&mut self) -> Result<Vec<StoredDowngrade>, RunError> {
        self.conn.stored_downgrades().await
    }

    async fn log(&mut self, entry: &LogEntry<'_>) -> Result<(), RunError> {
        self.conn.log(entry).await
    }

    async fn foreign_key_violations(&mut self) -> Result<Vec<Violation>, RunError> {
        self.conn.foreign_key_violations().await
    }
}

impl Drop for SqlxSqlite<'_> {
    fn drop(&mut self) {
        // Failures here leave sqlx's connection as the run left it, which
        // is usable; there is no one to tell.
        let _ = self.conn.busy_timeout(self.busy_timeout);
        self.conn.flush_prepared_statement_cache();
    }
}

impl std::fmt::Debug for SqlxSqlite<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlxSqlite")
            .field("path", &self.conn.path())
            .field("busy_timeout", &self.busy_timeout)
            .finish_non_exhaustive()
    }
}
