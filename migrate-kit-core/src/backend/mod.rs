//! The boundary between the orchestration (plan, run, record, verify,
//! repair, stamp, offline SQL), written once, and a database
//! (DESIGN §2).
//!
//! A [`Backend`] is a connection that can take the migration lock, open a
//! write transaction, run one migration section and read and write the
//! ledger tables of DESIGN §5. A [`Dialect`] renders the version-table DDL
//! and row operations for offline SQL. SQLite implements both in
//! `sqlite/`, PostgreSQL in `postgres/`. The boundary owns its options
//! ([`WaitPolicy`]) and imports nothing of the runs or tools above it. Run
//! SQL is written by the backends; the dialect-neutral row operations
//! (`RowOp`) and the SQLite schema diff (`tools::schema::diff`) write SQL
//! text too, for offline scripts and generated migrations.

#[cfg(feature = "sqlite")]
pub(crate) mod database;
pub mod foreign_keys;
pub(crate) mod ledger;
pub mod location;
#[cfg(feature = "postgres")]
pub mod postgres;
pub(crate) mod settings;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use crate::backend::foreign_keys::Violation;
use crate::backend::ledger::{AppliedRowRef, LedgerState, LogEntry, NewRow, StoredDowngrade};
use crate::error::{LedgerError, RunError};
use crate::files::migration::Migration;
use crate::files::pieces::Pieces;
use crate::files::sql_text::string_literal;
use crate::graph::plan::RowOp;
use std::borrow::Cow;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

/// How long a wait for another migrator goes unmentioned before
/// [`WaitPolicy::on_wait`] is called.
pub(crate) const QUIET_WAIT: Duration = Duration::from_secs(1);

/// How a backend waits for another process's lock (the SQLite write lock,
/// the PostgreSQL migration lock): the boundary's own options, which the
/// runner derives from its [`RunOptions`](crate::RunOptions).
#[derive(Clone, Copy)]
pub(crate) struct WaitPolicy<'a> {
    /// How long to wait in all before giving up.
    pub limit: Duration,
    /// Told once when another connection has held the lock for
    /// [`QUIET_WAIT`], with the limit and who holds it.
    pub on_wait: Option<&'a (dyn Fn(&LockWait) + Sync)>,
}

impl Default for WaitPolicy<'_> {
    /// Thirty seconds, told to no one.
    fn default() -> Self {
        WaitPolicy {
            limit: Duration::from_secs(30),
            on_wait: None,
        }
    }
}

impl WaitPolicy<'_> {
    /// Whether anyone hears of a wait ([`WaitPolicy::on_wait`], or a
    /// `tracing` subscriber): finding the holder costs a query.
    #[cfg(feature = "postgres")]
    pub(crate) fn is_heard(&self) -> bool {
        self.on_wait.is_some() || crate::events::lock_wait_heard()
    }

    /// Tells the bot's logs and [`WaitPolicy::on_wait`] that the run waits
    /// for another process's lock.
    pub(crate) fn tell(&self, wait: &LockWait) {
        crate::events::lock_wait(wait.limit, wait.holder.as_deref());
        if let Some(on_wait) = self.on_wait {
            on_wait(wait);
        }
    }
}

impl std::fmt::Debug for WaitPolicy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitPolicy")
            .field("limit", &self.limit)
            .field("on_wait", &self.on_wait.is_some())
            .finish()
    }
}

/// A run waiting for another one's lock, as
/// [`RunOptions::on_wait`](crate::RunOptions::on_wait) hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockWait {
    /// How long the run waits in all before giving up.
    pub limit: Duration,
    /// Who holds the lock, when the database says (PostgreSQL names the
    /// server process, application, client and since when; SQLite does
    /// not say).
    pub holder: Option<String>,
}

/// Where SQL being run comes from, for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    /// The revision.
    pub revision: &'a str,
    /// Its file, or where the SQL was stored.
    pub path: &'a str,
    /// `upgrade` or `downgrade`.
    pub direction: &'static str,
}

/// A database that migrations run against from blocking code:
/// [`sqlite::Connection`](crate::backend::sqlite::Connection),
/// `postgres::Client`, [`Postgres`](crate::postgres::Postgres) and
/// [`Database`](crate::Database). The operations behind it (transactions,
/// ledger writes) are the crate's own, so that nothing outside it can
/// desynchronise `alembic_version` from `migrate_applied`; call
/// [`Migrations`](crate::Migrations)' methods instead.
pub trait Backend: sealed::Ops + sealed::Blocking {}

impl<T: sealed::Ops + sealed::Blocking + ?Sized> Backend for T {}

/// A database that migrations run against from async code, awaiting the
/// server instead of blocking a thread: `tokio_postgres::Client` (what
/// deadpool-postgres and bb8 hand out) and
/// [`Postgres`](crate::postgres::Postgres) over one. The runs are the
/// blocking ones ([`Migrations::start_async`](crate::Migrations::start_async)
/// and its siblings share their code), with the same lock, transaction
/// and checks.
pub trait AsyncBackend: sealed::Ops + sealed::Awaits {}

impl<T: sealed::Ops + sealed::Awaits + ?Sized> AsyncBackend for T {}

pub(crate) use sealed::{Ops, RunScope};

// The trait is sealed: no one outside this crate can name or implement it,
// so the ledger types of its methods stay crate-private.
#[allow(private_interfaces)]
pub(crate) mod sealed {
    use super::*;

    /// Whether a run stays in one transaction, or commits partway (a
    /// `transactional: false` migration, a transaction per migration, stored
    /// downgrade SQL run outside a transaction) and so needs a lock that
    /// outlives its transactions.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum RunScope {
        /// Everything in one transaction.
        OneTransaction,
        /// Commits before its end.
        CommitsPartway,
    }

    /// The ledger writes of one migration step (see `Ops::record_step`).
    #[derive(Debug)]
    pub(crate) struct StepRecord<'a> {
        /// The `alembic_version` changes.
        pub row_ops: &'a [RowOp],
        /// The `migrate_applied` row of an upgrade.
        pub applied: Option<NewRow<'a>>,
        /// The `migrate_applied` rows a downgrade removes.
        pub forget: Vec<&'a str>,
    }

    /// A backend whose operations block the thread and complete at their
    /// first poll: the runs drive them with [`ready`](super::ready), no
    /// runtime needed.
    pub trait Blocking {}

    /// A backend whose operations await a server connection driven by the
    /// caller's runtime.
    pub trait Awaits {}

    /// What a backend does for the orchestration, written once for the
    /// blocking and the async API. For a run it calls [`Ops::acquire`], then
    /// transactions ([`Transaction::begin`]) holding ledger reads and
    /// writes and [`Ops::run_script`], then [`Ops::release`] on every path.
    /// A backend never commits or rolls back on its own.
    // Sealed, and its futures are awaited only by this crate's runs, whose
    // own futures are `Send` whenever the backend's are.
    #[allow(async_fn_in_trait, private_interfaces)]
    pub trait Ops {
        /// What [`Ops::acquire`] hands to [`Ops::release`] (for SQLite,
        /// whether foreign keys were on; for a server, the lock it took).
        type Session;

        /// Prepares the connection for a run that writes: refuses a read-only
        /// database, applies `wait` and the backend's timeouts and, when the run
        /// commits partway (`scope`), takes whatever lock the database keeps
        /// outside transactions.
        async fn acquire(
            &mut self,
            wait: &WaitPolicy<'_>,
            scope: RunScope,
        ) -> Result<Self::Session, RunError>;

        /// Undoes [`Ops::acquire`]. Called on every path, after the last
        /// transaction ended.
        async fn release(&mut self, session: Self::Session) -> Result<(), RunError>;

        /// Opens a write transaction of the run `session` belongs to,
        /// waiting for other writers as `wait` says.
        async fn begin(
            &mut self,
            wait: &WaitPolicy<'_>,
            session: &Self::Session,
        ) -> Result<(), RunError>;

        /// Commits the open transaction.
        async fn commit(&mut self) -> Result<(), RunError>;

        /// Whether the transaction [`Ops::begin`] opened is still open: a
        /// migration that ended it (a `COMMIT` the folder check missed) is
        /// caught after it ran.
        async fn transaction_is_open(&mut self) -> Result<bool, RunError>;

        /// Whether a run may commit before its end (a `transactional: false`
        /// migration, a transaction per migration) and keep its lock.
        fn allows_commits_within_a_run(&mut self, _session: &Self::Session) -> bool {
            true
        }

        /// Rolls back the open transaction of `session`'s run, if any,
        /// without awaiting: a blocking backend rolls back now, an async one
        /// marks `session` so that the run's next statement on it (the next
        /// [`Ops::begin`], or [`Ops::release`]) rolls back first. A failure
        /// here is not reported: the database rolls back on close, and the
        /// error that led here matters more.
        fn abandon(&mut self, session: &Self::Session);

        /// Sends the rollback [`Ops::abandon`] left for later, if any, so
        /// that the connection is out of the failed transaction. A blocking
        /// backend has nothing to send.
        async fn settle(&mut self, _session: &Self::Session) -> Result<(), RunError> {
            Ok(())
        }

        /// Runs every statement of `pieces` (a migration section, or stored
        /// downgrade SQL). On failure the error names `origin`, the line of
        /// the file, the statement and the database's message.
        async fn run_script(
            &mut self,
            pieces: &mut Pieces<'_>,
            origin: &Origin<'_>,
        ) -> Result<(), RunError>;

        /// Runs every statement of `pieces` (a transactional migration's
        /// section) inside the run's transaction, as [`Ops::run_script`]
        /// does, and tells whether that transaction is still open after it:
        /// a migration that ended it (a `COMMIT` the folder check missed) is
        /// caught here. A server backend sends both in one round trip.
        async fn run_script_in_transaction(
            &mut self,
            pieces: &mut Pieces<'_>,
            origin: &Origin<'_>,
        ) -> Result<bool, RunError> {
            self.run_script(pieces, origin).await?;
            self.transaction_is_open().await
        }

        /// Reads the ledger in one snapshot, handing each `migrate_applied` row
        /// to `visit` in the order it was recorded instead of collecting it.
        /// Missing tables read as empty.
        async fn read_ledger(
            &mut self,
            visit: &mut (dyn FnMut(AppliedRowRef<'_>) + Send),
        ) -> Result<LedgerState, RunError>;

        /// Creates whichever ledger tables are missing.
        async fn ensure_ledger(&mut self) -> Result<(), RunError>;

        /// Applies one change to `alembic_version`; returns the rows changed.
        async fn apply_row_op(&mut self, op: &RowOp) -> Result<usize, RunError>;

        /// Inserts or replaces the `migrate_applied` row of a revision.
        async fn record(&mut self, row: &NewRow<'_>) -> Result<(), RunError>;

        /// Deletes the `migrate_applied` row of a revision.
        async fn forget(&mut self, revision: &str) -> Result<(), RunError>;

        /// Records one migration step: the `alembic_version` changes (each
        /// must touch exactly one row), then the `migrate_applied` row
        /// written or the rows removed.
        async fn record_step(&mut self, step: &StepRecord<'_>) -> Result<(), RunError> {
            for op in step.row_ops {
                apply_row_op_checked(self, op).await?;
            }
            if let Some(row) = &step.applied {
                self.record(row).await?;
            }
            for revision in &step.forget {
                self.forget(revision).await?;
            }
            Ok(())
        }

        /// Records steps in order, each as [`Ops::record_step`] does. A
        /// server backend sends them all as one round trip.
        async fn record_steps(&mut self, steps: &[StepRecord<'_>]) -> Result<(), RunError> {
            for step in steps {
                self.record_step(step).await?;
            }
            Ok(())
        }

        /// Sets the recorded checksum of an applied revision.
        async fn set_checksum(&mut self, revision: &str, checksum: &str) -> Result<(), RunError>;

        /// The stored downgrades of every recorded revision, newest first.
        async fn stored_downgrades(&mut self) -> Result<Vec<StoredDowngrade>, RunError>;

        /// Appends a row to `migrate_log`.
        async fn log(&mut self, entry: &LogEntry<'_>) -> Result<(), RunError>;

        /// Rows that reference missing rows, for a database that lets them in
        /// (SQLite with foreign keys off during a run). A backend that enforces
        /// foreign keys on every statement returns none.
        async fn foreign_key_violations(&mut self) -> Result<Vec<Violation>, RunError>;
    }
}

/// A write transaction that rolls back when dropped without
/// [`Transaction::commit`] ([`Ops::abandon`]): every early return of the
/// orchestration leaves the database as it was.
pub(crate) struct Transaction<'c, B: Ops + ?Sized> {
    backend: &'c mut B,
    session: &'c B::Session,
    open: bool,
}

impl<'c, B: Ops + ?Sized> Transaction<'c, B> {
    /// Opens a write transaction on `backend`, in the run `session`
    /// belongs to.
    pub(crate) async fn begin(
        backend: &'c mut B,
        session: &'c B::Session,
        wait: &WaitPolicy<'_>,
    ) -> Result<Self, RunError> {
        backend.begin(wait, session).await?;
        Ok(Transaction {
            backend,
            session,
            open: true,
        })
    }

    /// Whether the run may commit before its end and keep its lock.
    pub(crate) fn allows_commits_within_a_run(&mut self) -> bool {
        self.backend.allows_commits_within_a_run(self.session)
    }

    /// Commits.
    pub(crate) async fn commit(mut self) -> Result<(), RunError> {
        self.open = false;
        self.backend.commit().await
    }

    /// Commits what was done so far and leaves no transaction open, for
    /// work outside any transaction (a `transactional: false` migration);
    /// [`Transaction::resume`] opens the next one. Dropping the guard in
    /// between does nothing.
    pub(crate) async fn suspend(&mut self) -> Result<(), RunError> {
        self.open = false;
        self.backend.commit().await
    }

    /// Opens the run's next transaction after [`Transaction::suspend`].
    pub(crate) async fn resume(&mut self, wait: &WaitPolicy<'_>) -> Result<(), RunError> {
        self.backend.begin(wait, self.session).await?;
        self.open = true;
        Ok(())
    }

    /// Commits what was done so far and opens a new transaction.
    pub(crate) async fn checkpoint(&mut self, wait: &WaitPolicy<'_>) -> Result<(), RunError> {
        self.suspend().await?;
        self.resume(wait).await
    }
}

impl<B: Ops + ?Sized> Deref for Transaction<'_, B> {
    type Target = B;

    fn deref(&self) -> &B {
        self.backend
    }
}

impl<B: Ops + ?Sized> DerefMut for Transaction<'_, B> {
    fn deref_mut(&mut self) -> &mut B {
        self.backend
    }
}

impl<B: Ops + ?Sized> Drop for Transaction<'_, B> {
    fn drop(&mut self) {
        if self.open {
            self.backend.abandon(self.session);
        }
    }
}

/// Drives a future of a [`Blocking`](sealed::Blocking) backend's run to its
/// end on this thread: such futures never wait, so one poll finishes them
/// and no runtime is needed.
///
/// # Panics
///
/// When the future is not ready at its first poll: a blocking backend's
/// operation awaited something that waits, a bug in this crate.
pub(crate) fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(future).poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => {
            unreachable!(
                "a blocking backend's operation waited: a bug in migrate, please report it"
            )
        }
    }
}

/// Reads the ledger in one snapshot, collecting the `migrate_applied` rows.
pub(crate) async fn read_ledger<B: Ops + ?Sized>(db: &mut B) -> Result<LedgerState, RunError> {
    let mut applied = Vec::new();
    let mut state = db
        .read_ledger(&mut |row| applied.push(row.to_owned_row()))
        .await?;
    state.applied = applied;
    Ok(state)
}

/// Reads the current heads (`alembic_version` rows), without taking a lock.
pub fn current<B: Backend + ?Sized>(db: &mut B) -> Result<Vec<String>, RunError> {
    ready(current_heads(db))
}

/// [`current`] from async code.
pub async fn current_async<B: AsyncBackend + ?Sized>(db: &mut B) -> Result<Vec<String>, RunError> {
    current_heads(db).await
}

/// The `alembic_version` rows, read without a lock.
pub(crate) async fn current_heads<B: Ops + ?Sized>(db: &mut B) -> Result<Vec<String>, RunError> {
    Ok(db.read_ledger(&mut |_| {}).await?.heads)
}

/// The outcome of work done between [`Ops::acquire`] and [`Ops::release`]:
/// the release's own failure counts only when the work succeeded.
pub(crate) fn released<T>(
    work: Result<T, RunError>,
    release: Result<(), RunError>,
) -> Result<T, RunError> {
    match work {
        Ok(value) => release.map(|()| value),
        Err(error) => Err(error),
    }
}

/// Runs `body` in one write transaction under the run's lock (the default
/// wait), with the ledger as it stood when the transaction began, and
/// commits when `body` succeeds; a failure rolls everything back. Stamp,
/// repair and the restore's log entry are such one-transaction runs.
pub(crate) async fn in_ledger_transaction<B: Ops + ?Sized, T>(
    db: &mut B,
    body: impl AsyncFnOnce(&mut Transaction<'_, B>, LedgerState) -> Result<T, RunError>,
) -> Result<T, RunError> {
    let wait = WaitPolicy::default();
    let session = db.acquire(&wait, RunScope::OneTransaction).await?;
    let work = async {
        let mut tx = Transaction::begin(db, &session, &wait).await?;
        let state = read_ledger(&mut *tx).await?;
        let value = body(&mut tx, state).await?;
        tx.commit().await?;
        Ok(value)
    }
    .await;
    let release = db.release(session).await;
    released(work, release)
}

/// Records a revision as applied (or stamped, or started) with its
/// checksum and downgrade SQL.
pub(crate) async fn record_migration<B: Ops + ?Sized>(
    backend: &mut B,
    m: &Migration,
    status: crate::backend::ledger::Status,
    checksum: Option<String>,
    execution_ms: Option<i64>,
) -> Result<(), RunError> {
    let down = m.down_revisions().collect::<Vec<_>>().join(",");
    let downgrade = downgrade_sql(m)?;
    backend
        .record(&new_row(
            m,
            status,
            checksum.as_deref(),
            (&down, downgrade.as_deref()),
            execution_ms,
        ))
        .await
}

/// The downgrade SQL the ledger keeps for `m` (read back from its file
/// when that is too large to hold).
pub(crate) fn downgrade_sql(m: &Migration) -> Result<Option<Cow<'_, str>>, RunError> {
    Ok(m.downgrade().map(|s| s.sql()).transpose()?)
}

/// The `migrate_applied` row of `m`; `down` is its parents, comma-separated,
/// and its [`downgrade_sql`].
pub(crate) fn new_row<'a>(
    m: &'a Migration,
    status: crate::backend::ledger::Status,
    checksum: Option<&'a str>,
    (down, downgrade_sql): (&'a str, Option<&'a str>),
    execution_ms: Option<i64>,
) -> NewRow<'a> {
    NewRow {
        revision: m.revision(),
        checksum,
        message: m.message(),
        down_revisions: down,
        downgrade_sql,
        execution_ms,
        status,
    }
}

/// Applies a row change that must touch exactly one row of
/// `alembic_version`.
pub(crate) async fn apply_row_op_checked<B: Ops + ?Sized>(
    backend: &mut B,
    op: &RowOp,
) -> Result<(), RunError> {
    match backend.apply_row_op(op).await? {
        1 => Ok(()),
        changed => Err(RunError::Ledger(LedgerError::VersionRows {
            operation: op.clone(),
            changed,
        })),
    }
}

/// How offline SQL (`upgrade --sql`) writes the ledger in a database's
/// own text, as Alembic writes it.
pub trait Dialect {
    /// The statement that opens a transaction (`BEGIN;`).
    fn begin(&self) -> &'static str {
        "BEGIN;"
    }

    /// The statement that commits it (`COMMIT;`).
    fn commit(&self) -> &'static str {
        "COMMIT;"
    }

    /// The last line of a script: the final `COMMIT;`, as Alembic ends it
    /// for this database.
    fn end(&self) -> String {
        format!("{}\n", self.commit())
    }

    /// `CREATE TABLE alembic_version ...;`.
    fn create_version_table(&self) -> String;

    /// The version table as the script names it: `alembic_version`, or
    /// qualified by the configured schema.
    fn version_table(&self) -> String {
        "alembic_version".to_owned()
    }

    /// What an insert's `RETURNING` names: Alembic writes
    /// `alembic_version.version_num` (qualified like the table) on
    /// PostgreSQL, `version_num` on SQLite.
    fn returning(&self) -> String;

    /// One [`RowOp`] as a statement, with its `;`, in Alembic's text.
    fn row_op(&self, op: &RowOp) -> String {
        let table = self.version_table();
        match op {
            RowOp::Insert(rev) => format!(
                "INSERT INTO {table} (version_num) VALUES ({}) RETURNING {};",
                string_literal(rev),
                self.returning()
            ),
            RowOp::Delete(rev) => format!(
                "DELETE FROM {table} WHERE {table}.version_num = {};",
                string_literal(rev)
            ),
            RowOp::Update { from, to } => format!(
                "UPDATE {table} SET version_num={} WHERE {table}.version_num = {};",
                string_literal(to),
                string_literal(from)
            ),
        }
    }
}
