//! PostgreSQL as a [`Backend`](crate::Backend): the advisory lock, one
//! transaction per run with `SET LOCAL lock_timeout`, the ledger tables of
//! DESIGN §5 in PostgreSQL types, and Alembic's PostgreSQL text for
//! offline SQL.

use super::exec::{run_sql, run_sql_in_transaction};
use super::link::sealed::Exec;
use super::link::Link;
use super::lock::{self, lock_key, Attempt};
use super::text::{
    changed_rows, command_counts, identifier, literal, literal_or_null, run, simple_results,
    simple_row, simple_rows, simple_value, TextRow,
};
use crate::backend::foreign_keys::Violation;
use crate::backend::ledger::{
    AppliedRowRef, LedgerState, LogEntry, NewRow, Status, StoredDowngrade, LEDGER_TABLES,
};
use crate::backend::sealed::{Awaits, Blocking, Ops, StepRecord};
use crate::backend::settings::{LockMode, ServerSettings};
use crate::backend::WaitPolicy;
use crate::backend::{Dialect, Origin, RunScope};
use crate::error::{BackendError, LedgerError, RunError};
use crate::files::pieces::Pieces;
use crate::graph::plan::RowOp;
use postgres::Client;
use std::sync::atomic::{AtomicBool, Ordering};

/// A client with its [`ServerSettings`]: a blocking `postgres::Client` (the
/// default), or for the async API a `tokio_postgres::Client` or a `&mut`
/// of one (a pooled connection).
pub struct Postgres<C: Link = Client> {
    /// The connection.
    pub client: C,
    /// How runs behave.
    pub settings: ServerSettings,
    /// The location it was opened from, when known: the schema tools
    /// create their scratch databases on the same server.
    location: Option<crate::backend::location::Location>,
}

impl<C: Link> Postgres<C> {
    /// A connected client with `settings`.
    pub fn new(client: C, settings: ServerSettings) -> Postgres<C> {
        Postgres {
            client,
            settings,
            location: None,
        }
    }

    /// The location it was opened from, when known.
    pub(crate) fn location(&self) -> Option<&crate::backend::location::Location> {
        self.location.as_ref()
    }
}

impl Postgres {
    /// Connects to `location` with `settings`.
    pub(crate) fn connect(
        location: &crate::backend::location::Location,
        settings: ServerSettings,
    ) -> Result<Postgres, RunError> {
        Ok(Postgres {
            client: super::connect(location)?,
            settings,
            location: Some(location.clone()),
        })
    }
}

impl<C: Link> std::fmt::Debug for Postgres<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// What a run's session holds: the lock key, and the session lock when
/// the run commits partway.
#[derive(Debug)]
pub struct PostgresSession {
    /// The advisory lock key of the version table.
    key: i64,
    /// When the run holds a session lock: the server process holding it,
    /// and the statement that restores the session's timeouts.
    session_lock: Option<SessionLock>,
    /// A transaction of the run was dropped open on a link that cannot
    /// roll back without awaiting: the next statement of the run rolls it
    /// back first.
    abandoned: AtomicBool,
}

/// A session lock taken for a run that commits partway.
#[derive(Debug)]
struct SessionLock {
    /// `pg_backend_pid()` of the connection that took it: every
    /// transaction of the run must run there.
    backend_pid: String,
    /// What this run wrote in the server session's `migrate.lock_owner`:
    /// through a pooler, another client can reach the same server session
    /// and take the (re-entrant) lock again; the token tells them apart.
    token: String,
    /// `SET ...;` statements that put `lock_timeout` and
    /// `statement_timeout` back as they were before the run.
    restore: String,
}

impl PostgresSession {
    /// Marks the run's open transaction as abandoned (see `Ops::abandon`).
    fn abandon(&self) {
        self.abandoned.store(true, Ordering::Relaxed);
    }

    /// Whether a transaction was abandoned since the last call.
    fn take_abandoned(&self) -> bool {
        self.abandoned.swap(false, Ordering::Relaxed)
    }
}

/// The ledger tables, qualified as the settings say: in the configured
/// schema, or unqualified (the first schema of `search_path`, as Alembic
/// names them) without one. Naming them takes no round trip.
struct Tables {
    /// An SQL expression that yields the schema's name.
    schema: String,
    version: String,
    applied: String,
    log: String,
}

impl Tables {
    fn of(settings: &ServerSettings) -> Tables {
        let q = |table: &str| match &settings.schema {
            Some(schema) => format!("{}.{}", identifier(schema), identifier(table)),
            None => table.to_owned(),
        };
        Tables {
            schema: settings
                .schema
                .as_deref()
                .map_or_else(|| "current_schema()".to_owned(), literal),
            version: q("alembic_version"),
            applied: q("migrate_applied"),
            log: q("migrate_log"),
        }
    }

    /// The lock key of this version table, in one round trip that also
    /// refuses a connection a run cannot write through: a read-only one,
    /// and one inside a transaction of its own (where the run's `BEGIN`
    /// would only warn, and its `COMMIT` or `ROLLBACK` would end the
    /// caller's work with the run's). The key names the schema of the table
    /// the name resolves to (without a configured schema, the one
    /// `search_path` finds, else the one it would be created in), so every
    /// migrator of one table takes one key.
    ///
    /// A query sent alone runs in a transaction that starts with it, at its
    /// statement timestamp; a transaction the caller opened started at an
    /// earlier message's.
    async fn lock_key_for_a_run<C: Link + ?Sized>(&self, client: &mut C) -> Result<i64, RunError> {
        let sql = format!(
            "SELECT coalesce((SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.oid = to_regclass({})), {}), current_setting('transaction_read_only'), \
             transaction_timestamp() <> statement_timestamp()",
            literal(&self.version),
            self.schema
        );
        let mut columns = simple_row(client, &sql, "reading search_path")
            .await?
            .into_iter();
        let schema = columns
            .next()
            .flatten()
            .ok_or(RunError::Backend(BackendError::NoSchema))?;
        if columns.next().flatten().as_deref() == Some("on") {
            return Err(RunError::Backend(BackendError::ReadOnly {
                path: "the PostgreSQL connection (transaction_read_only is on)".to_owned(),
            }));
        }
        if columns.next().flatten().as_deref() == Some("t") {
            return Err(RunError::Backend(BackendError::InTransaction));
        }
        Ok(lock_key(&format!("{schema}.alembic_version")))
    }
}

/// Alembic's own DDL for its version table on PostgreSQL.
pub(crate) const ALEMBIC_VERSION_DDL: &str = "CREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)";

async fn create_ledger<C: Link + ?Sized>(
    client: &mut C,
    settings: &ServerSettings,
) -> Result<(), RunError> {
    let tables = Tables::of(settings);
    if let Some(schema) = &settings.schema {
        run(
            client,
            &format!("CREATE SCHEMA IF NOT EXISTS {}", identifier(schema)),
            "creating the ledger schema",
        )
        .await?;
    }
    let present = present_tables(client, &tables).await?;
    let ddl = [
        (
            "alembic_version",
            ALEMBIC_VERSION_DDL.replacen("alembic_version", &tables.version, 1),
        ),
        (
            "migrate_applied",
            format!(
                "CREATE TABLE {} (
    revision VARCHAR(32) NOT NULL PRIMARY KEY,
    checksum TEXT,
    message TEXT NOT NULL,
    down_revision TEXT NOT NULL,
    downgrade_sql TEXT,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    execution_ms BIGINT,
    status TEXT NOT NULL DEFAULT 'applied' CHECK (status IN ('applied', 'stamped', 'started')),
    seq BIGINT GENERATED ALWAYS AS IDENTITY
)",
                tables.applied
            ),
        ),
        (
            "migrate_log",
            format!(
                "CREATE TABLE {} (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    logged_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    operation TEXT NOT NULL,
    heads_before TEXT NOT NULL,
    heads_after TEXT NOT NULL,
    revisions TEXT NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT
)",
                tables.log
            ),
        ),
    ];
    for (name, sql) in ddl {
        if !present.contains(&name) {
            run(client, &sql, "creating the ledger tables").await?;
        }
    }
    Ok(())
}

/// The ordinary and partitioned tables of the schema `schema` (an SQL
/// expression) yields, by name.
async fn table_names<C: Link + ?Sized>(
    client: &mut C,
    schema: &str,
) -> Result<Vec<String>, RunError> {
    let sql = format!(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = {schema} AND c.relkind IN ('r', 'p') ORDER BY c.relname"
    );
    Ok(simple_rows(client, &sql, "reading the schema")
        .await?
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .collect())
}

/// Which ledger tables exist, as the names the tables are read by
/// resolve (through `search_path` when no schema is configured, as
/// Alembic's `has_table` looks): one cheap round trip, with no scan of the
/// catalog.
async fn present_tables<C: Link + ?Sized>(
    client: &mut C,
    tables: &Tables,
) -> Result<Vec<&'static str>, RunError> {
    let named = [&tables.version, &tables.applied, &tables.log];
    let probes: Vec<String> = named
        .iter()
        .map(|table| format!("to_regclass({}) IS NOT NULL", literal(table)))
        .collect();
    let row = simple_row(
        client,
        &format!("SELECT {}", probes.join(", ")),
        "reading the schema",
    )
    .await?;
    Ok(LEDGER_TABLES
        .into_iter()
        .zip(row)
        .filter(|(_, present)| present.as_deref() == Some("t"))
        .map(|(name, _)| name)
        .collect())
}

async fn read_ledger<C: Link + ?Sized>(
    client: &mut C,
    settings: &ServerSettings,
    visit: &mut (dyn FnMut(AppliedRowRef<'_>) + Send),
) -> Result<LedgerState, RunError> {
    let tables = Tables::of(settings);
    let present = present_tables(client, &tables).await?;
    let mut state = LedgerState {
        has_version_table: present.contains(&"alembic_version"),
        has_applied_table: present.contains(&"migrate_applied"),
        ..LedgerState::default()
    };
    if !state.has_version_table {
        // A database nothing has stamped: what is in it decides whether an
        // upgrade may start (only then are the tables listed).
        state.user_tables = table_names(client, &tables.schema)
            .await?
            .into_iter()
            .filter(|t| !LEDGER_TABLES.contains(&t.as_str()))
            .collect();
    }
    // Both tables in one round trip, neither sorted by the server: sorting
    // costs a fresh backend its operator lookups, which dominate a start-up
    // check. alembic_version comes in physical order, as Alembic's own
    // unordered SELECT returns it; migrate_applied is put in seq order here.
    let mut reads = Vec::new();
    if state.has_version_table {
        reads.push(format!("SELECT version_num FROM {}", tables.version));
    }
    if state.has_applied_table {
        reads.push(format!(
            "SELECT revision, checksum, downgrade_sql IS NOT NULL, status, seq FROM {}",
            tables.applied
        ));
    }
    if reads.is_empty() {
        return Ok(state);
    }
    let mut results = simple_results(client, &reads.join(";\n"), "reading the ledger")
        .await?
        .into_iter();
    if state.has_version_table {
        state.heads = results
            .next()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .collect();
    }
    let mut applied = results.next().unwrap_or_default();
    let seq = |row: &TextRow| {
        row.get(4)
            .and_then(|v| v.as_deref())
            .and_then(|v| v.parse::<i64>().ok())
    };
    applied.sort_by_cached_key(seq);
    for row in &applied {
        let text = |i: usize| row.get(i).and_then(|v| v.as_deref());
        visit(AppliedRowRef {
            revision: text(0).unwrap_or_default(),
            checksum: text(1).map(str::as_bytes),
            has_downgrade_sql: text(2) == Some("t"),
            status: Status::parse(text(3).unwrap_or_default().as_bytes()),
        });
    }
    Ok(state)
}

/// One change to `alembic_version`.
fn row_op_sql(tables: &Tables, op: &RowOp) -> String {
    let table = &tables.version;
    match op {
        RowOp::Insert(rev) => format!(
            "INSERT INTO {table} (version_num) VALUES ({})",
            literal(rev)
        ),
        RowOp::Delete(rev) => format!("DELETE FROM {table} WHERE version_num = {}", literal(rev)),
        RowOp::Update { from, to } => format!(
            "UPDATE {table} SET version_num = {} WHERE version_num = {}",
            literal(to),
            literal(from)
        ),
    }
}

/// Inserts or replaces the `migrate_applied` row of a revision.
fn record_sql(tables: &Tables, row: &NewRow<'_>) -> String {
    format!(
        "INSERT INTO {} (revision, checksum, message, down_revision, downgrade_sql, execution_ms, status) \
         VALUES ({}, {}, {}, {}, {}, {}, {}) \
         ON CONFLICT (revision) DO UPDATE SET checksum = EXCLUDED.checksum, message = EXCLUDED.message, \
         down_revision = EXCLUDED.down_revision, downgrade_sql = EXCLUDED.downgrade_sql, \
         applied_at = clock_timestamp(), execution_ms = EXCLUDED.execution_ms, status = EXCLUDED.status",
        tables.applied,
        literal(row.revision),
        literal_or_null(row.checksum),
        literal(row.message),
        literal(row.down_revisions),
        literal_or_null(row.downgrade_sql),
        row.execution_ms.map_or_else(|| "NULL".to_owned(), |ms| ms.to_string()),
        literal(row.status.as_str()),
    )
}

/// Deletes the `migrate_applied` row of a revision.
fn forget_sql(tables: &Tables, revision: &str) -> String {
    format!(
        "DELETE FROM {} WHERE revision = {}",
        tables.applied,
        literal(revision)
    )
}

/// The backend's work, for a client and its settings.
struct Conn<'c, C: Link + ?Sized> {
    client: &'c mut C,
    settings: &'c ServerSettings,
    /// Where the client was opened, when known: the pooler probe opens a
    /// second connection there.
    location: Option<&'c crate::backend::location::Location>,
}

impl<C: Link + ?Sized> Conn<'_, C> {
    async fn acquire(
        &mut self,
        wait: &WaitPolicy<'_>,
        scope: RunScope,
    ) -> Result<PostgresSession, RunError> {
        let key = Tables::of(self.settings)
            .lock_key_for_a_run(self.client)
            .await?;
        if self.settings.lock_mode == LockMode::Transaction || scope == RunScope::OneTransaction {
            // Each transaction takes the lock (see `begin`).
            return Ok(PostgresSession {
                key,
                session_lock: None,
                abandoned: AtomicBool::new(false),
            });
        }
        let token = lock_token();
        self.refuse_a_transaction_pooler(&token).await?;
        // A server session that another client's run marked as its owner
        // is not taken again, although the lock itself would let it.
        let sql = format!(
            "SELECT CASE WHEN coalesce(current_setting('migrate.lock_owner', true), '') NOT IN ('', {token}) THEN 'owned' \
             WHEN pg_try_advisory_lock({key}) THEN set_config('migrate.lock_owner', {token}, false) ELSE 'busy' END, pg_backend_pid()",
            token = literal(&token)
        );
        let taken =
            |row: &TextRow| row.first().cloned().flatten().as_deref() == Some(token.as_str());
        let attempt = Attempt {
            sql: &sql,
            doing: "taking the migration lock",
            taken: &taken,
            after_miss: "",
        };
        let row = lock::take(self.client, key, wait, &attempt).await?;
        let backend_pid = row.get(1).cloned().flatten().unwrap_or_default();
        // Statements outside the run's transactions (`transactional: false`
        // migrations, stored downgrades) are bounded as its transactions are.
        let restore = match self.session_limits().await {
            Ok(restore) => restore,
            Err(error) => {
                let _ = lock::release(self.client, "", key).await;
                return Err(error);
            }
        };
        Ok(PostgresSession {
            key,
            session_lock: Some(SessionLock {
                backend_pid,
                token,
                restore: format!("{restore}SELECT set_config('migrate.lock_owner', '', false); "),
            }),
            abandoned: AtomicBool::new(false),
        })
    }

    /// Refuses, before the run takes its session lock or changes anything,
    /// a connection through a transaction-mode pooler: a setting made in
    /// this session is looked for again while a second connection holds a
    /// server connection in a transaction. Straight to a server the session
    /// keeps it; through a pooler (which hands its most recently used
    /// server connection to the second one) it is gone. Without the
    /// location (a bare client, or a bot's pooled one) the per-transaction
    /// check alone guards.
    async fn refuse_a_transaction_pooler(&mut self, token: &str) -> Result<(), RunError> {
        let Some(location) = self.location else {
            return Ok(());
        };
        let before = simple_row(
            self.client,
            &format!(
                "SELECT set_config('migrate.probe', {}, false), pg_backend_pid()",
                literal(token)
            ),
            "checking for a connection pooler",
        )
        .await?;
        let Ok(mut other) = super::connect(location) else {
            return Ok(());
        };
        let held = other.batch_execute("BEGIN; SELECT 1");
        let after = simple_row(
            self.client,
            "SELECT coalesce(current_setting('migrate.probe', true), ''), pg_backend_pid()",
            "checking for a connection pooler",
        )
        .await;
        let _ = other.batch_execute("ROLLBACK");
        let after = after?;
        if held.is_err() || after.first().cloned().flatten().as_deref() == Some(token) {
            return Ok(());
        }
        Err(RunError::Backend(BackendError::TransactionPooler {
            first_pid: before.get(1).cloned().flatten().unwrap_or_default(),
            then_pid: after.get(1).cloned().flatten().unwrap_or_default(),
        }))
    }

    /// `SET lock_timeout` (and `statement_timeout`, when configured) for
    /// the session, returning the statements that restore what was there.
    async fn session_limits(&mut self) -> Result<String, RunError> {
        let mut read =
            "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')"
                .to_owned();
        read += &format!("; {}", self.limits("SET"));
        let results = simple_results(self.client, &read, "setting the run's timeouts").await?;
        let old = results
            .first()
            .and_then(|rows| rows.first())
            .cloned()
            .unwrap_or_default();
        let value = |i: usize| literal(old.get(i).cloned().flatten().as_deref().unwrap_or("0"));
        Ok(format!(
            "SET lock_timeout = {}; SET statement_timeout = {}; ",
            value(0),
            value(1)
        ))
    }

    /// The `SET` (or `SET LOCAL`) statements of the configured timeouts,
    /// `;`-separated.
    fn limits(&self, set: &str) -> String {
        let mut sql = format!(
            "{set} lock_timeout = {}",
            literal(&format!("{}ms", self.settings.lock_timeout.as_millis()))
        );
        if let Some(timeout) = self.settings.statement_timeout {
            sql += &format!(
                "; {set} statement_timeout = {}",
                literal(&format!("{}ms", timeout.as_millis()))
            );
        }
        sql
    }

    /// Rolls back a transaction of the run that was abandoned on a link
    /// that could not roll back at once.
    async fn settle(&mut self, session: &PostgresSession) -> Result<(), RunError> {
        if session.take_abandoned() {
            run(self.client, "ROLLBACK", "rolling back").await?;
        }
        Ok(())
    }

    /// Opens a transaction of the run and makes sure the run holds the
    /// lock in it: a transaction lock, waited for, or (for a run holding a
    /// session lock) the session lock on this very server connection.
    async fn begin(
        &mut self,
        wait: &WaitPolicy<'_>,
        session: &PostgresSession,
    ) -> Result<(), RunError> {
        self.settle(session).await?;
        // `migrate.run_open` marks the run's transaction: it is gone once a
        // migration ends the transaction (see `transaction_is_open`). The
        // transaction lock is re-entrant for the connection that holds the
        // session lock, and refused anywhere else.
        let key = session.key;
        let sql = format!(
            "BEGIN; SET LOCAL migrate.run_open = 'on'; {}; SELECT pg_try_advisory_xact_lock({key}), pg_backend_pid(), coalesce(current_setting('migrate.lock_owner', true), '')",
            self.limits("SET LOCAL")
        );
        let taken = |row: &TextRow| row.first().cloned().flatten().as_deref() == Some("t");
        let attempt = Attempt {
            sql: &sql,
            doing: "opening a transaction",
            taken: &taken,
            // A new transaction for every attempt: a long one would hold
            // back vacuum and pin a pooler's connection.
            after_miss: "ROLLBACK",
        };
        let Some(lock) = &session.session_lock else {
            lock::take(self.client, key, wait, &attempt).await?;
            return Ok(());
        };
        let row = simple_row(self.client, &sql, attempt.doing).await?;
        let here = row.get(1).cloned().flatten().unwrap_or_default();
        let owner = row.get(2).cloned().flatten().unwrap_or_default();
        let taken = taken(&row);
        if taken && here == lock.backend_pid && owner == lock.token {
            return Ok(());
        }
        let _ = run(self.client, "ROLLBACK", attempt.doing).await;
        Err(RunError::Backend(BackendError::LockOnAnotherConnection {
            lock_pid: lock.backend_pid.clone(),
            transaction_pid: here,
        }))
    }
}

/// A value no other run holds: this process, the time and a counter.
fn lock_token() -> String {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// The client and settings behind a PostgreSQL [`Backend`](crate::Backend).
trait AsConn {
    /// What the backend talks through.
    type Link: Link + ?Sized;

    fn conn(&mut self) -> Conn<'_, Self::Link>;
}

static DEFAULT_SETTINGS: std::sync::LazyLock<ServerSettings> =
    std::sync::LazyLock::new(ServerSettings::default);

/// A bare client (blocking, tokio-postgres's, sqlx's) runs with the
/// default [`ServerSettings`].
macro_rules! bare_client {
    ($client:ty) => {
        impl AsConn for $client {
            type Link = $client;

            fn conn(&mut self) -> Conn<'_, $client> {
                Conn {
                    client: self,
                    settings: &DEFAULT_SETTINGS,
                    location: None,
                }
            }
        }
    };
}

bare_client!(Client);
bare_client!(tokio_postgres::Client);
#[cfg(feature = "sqlx-0_8")]
bare_client!(sqlx_0_8::PgConnection);
#[cfg(feature = "sqlx-0_9")]
bare_client!(sqlx_0_9::PgConnection);

impl<C: Link> AsConn for Postgres<C> {
    type Link = C;

    fn conn(&mut self) -> Conn<'_, C> {
        Conn {
            client: &mut self.client,
            settings: &self.settings,
            location: self.location.as_ref(),
        }
    }
}

impl<C: Link + Blocking> Blocking for Postgres<C> {}
impl<C: Link + Awaits> Awaits for Postgres<C> {}

// `Ops` is sealed: its ledger types stay crate-private (docs/DESIGN.md §2).
#[allow(private_interfaces)]
impl<T: AsConn + Send> Ops for T {
    type Session = PostgresSession;

    async fn acquire(
        &mut self,
        wait: &WaitPolicy<'_>,
        scope: RunScope,
    ) -> Result<PostgresSession, RunError> {
        self.conn().acquire(wait, scope).await
    }

    async fn release(&mut self, session: PostgresSession) -> Result<(), RunError> {
        let mut conn = self.conn();
        conn.settle(&session).await?;
        match session.session_lock {
            Some(lock) => lock::release(conn.client, &lock.restore, session.key).await,
            None => Ok(()),
        }
    }

    async fn begin(
        &mut self,
        wait: &WaitPolicy<'_>,
        session: &PostgresSession,
    ) -> Result<(), RunError> {
        self.conn().begin(wait, session).await
    }

    async fn commit(&mut self) -> Result<(), RunError> {
        run(self.conn().client, "COMMIT", "committing").await
    }

    async fn transaction_is_open(&mut self) -> Result<bool, RunError> {
        let marker = simple_value(
            self.conn().client,
            "SELECT current_setting('migrate.run_open', true)",
            "checking the run's transaction",
        )
        .await?;
        Ok(marker.as_deref() == Some("on"))
    }

    fn abandon(&mut self, session: &PostgresSession) {
        if !self.conn().client.roll_back_now() {
            session.abandon();
        }
    }

    async fn settle(&mut self, session: &PostgresSession) -> Result<(), RunError> {
        self.conn().settle(session).await
    }

    fn allows_commits_within_a_run(&mut self, session: &PostgresSession) -> bool {
        session.session_lock.is_some()
    }

    async fn run_script(
        &mut self,
        pieces: &mut Pieces<'_>,
        origin: &Origin<'_>,
    ) -> Result<(), RunError> {
        run_sql(self.conn().client, pieces, origin).await
    }

    async fn run_script_in_transaction(
        &mut self,
        pieces: &mut Pieces<'_>,
        origin: &Origin<'_>,
    ) -> Result<bool, RunError> {
        run_sql_in_transaction(self.conn().client, pieces, origin).await
    }

    async fn read_ledger(
        &mut self,
        visit: &mut (dyn FnMut(AppliedRowRef<'_>) + Send),
    ) -> Result<LedgerState, RunError> {
        let conn = self.conn();
        read_ledger(conn.client, conn.settings, visit).await
    }

    async fn ensure_ledger(&mut self) -> Result<(), RunError> {
        let conn = self.conn();
        create_ledger(conn.client, conn.settings).await
    }

    async fn apply_row_op(&mut self, op: &RowOp) -> Result<usize, RunError> {
        let conn = self.conn();
        let sql = row_op_sql(&Tables::of(conn.settings), op);
        let changed = changed_rows(conn.client, &sql, "updating alembic_version").await?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    }

    async fn record(&mut self, row: &NewRow<'_>) -> Result<(), RunError> {
        let conn = self.conn();
        let sql = record_sql(&Tables::of(conn.settings), row);
        run(
            conn.client,
            &sql,
            "recording the migration in migrate_applied",
        )
        .await
    }

    async fn forget(&mut self, revision: &str) -> Result<(), RunError> {
        let conn = self.conn();
        let sql = forget_sql(&Tables::of(conn.settings), revision);
        run(conn.client, &sql, "updating migrate_applied").await
    }

    async fn record_step(&mut self, step: &StepRecord<'_>) -> Result<(), RunError> {
        self.record_steps(std::slice::from_ref(step)).await
    }

    /// The steps' ledger writes in one round trip.
    async fn record_steps(&mut self, steps: &[StepRecord<'_>]) -> Result<(), RunError> {
        if steps.is_empty() {
            return Ok(());
        }
        let conn = self.conn();
        let tables = Tables::of(conn.settings);
        let mut statements = Vec::new();
        // Where each alembic_version change falls among the statements.
        let mut row_ops = Vec::new();
        for step in steps {
            for op in step.row_ops {
                row_ops.push((statements.len(), op));
                statements.push(row_op_sql(&tables, op));
            }
            statements.extend(step.applied.iter().map(|row| record_sql(&tables, row)));
            statements.extend(
                step.forget
                    .iter()
                    .map(|revision| forget_sql(&tables, revision)),
            );
        }
        let counts = command_counts(
            conn.client,
            &statements.join(";\n"),
            "recording the migrations",
        )
        .await?;
        for (at, op) in row_ops {
            let changed = counts.get(at).copied().unwrap_or(0);
            if changed != 1 {
                return Err(RunError::Ledger(LedgerError::VersionRows {
                    operation: op.clone(),
                    changed: usize::try_from(changed).unwrap_or(usize::MAX),
                }));
            }
        }
        Ok(())
    }

    async fn set_checksum(&mut self, revision: &str, checksum: &str) -> Result<(), RunError> {
        let conn = self.conn();
        let table = Tables::of(conn.settings).applied;
        run(
            conn.client,
            &format!(
                "UPDATE {table} SET checksum = {} WHERE revision = {}",
                literal(checksum),
                literal(revision)
            ),
            "updating migrate_applied",
        )
        .await
    }

    async fn stored_downgrades(&mut self) -> Result<Vec<StoredDowngrade>, RunError> {
        let conn = self.conn();
        let table = Tables::of(conn.settings).applied;
        let sql = format!(
            "SELECT revision, message, down_revision, downgrade_sql FROM {table} ORDER BY seq DESC"
        );
        Ok(simple_rows(conn.client, &sql, "reading migrate_applied")
            .await?
            .into_iter()
            .map(|row| {
                let text = |i: usize| row.get(i).cloned().flatten();
                StoredDowngrade {
                    revision: text(0).unwrap_or_default(),
                    message: text(1).unwrap_or_default(),
                    down_revisions: text(2)
                        .unwrap_or_default()
                        .split(',')
                        .filter(|d| !d.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    sql: text(3),
                }
            })
            .collect())
    }

    async fn log(&mut self, entry: &LogEntry<'_>) -> Result<(), RunError> {
        let conn = self.conn();
        let table = Tables::of(conn.settings).log;
        let sql = format!(
            "INSERT INTO {table} (operation, heads_before, heads_after, revisions, outcome, error) VALUES ({}, {}, {}, {}, {}, {})",
            literal(entry.operation),
            literal(&entry.heads_before.join(",")),
            literal(&entry.heads_after.join(",")),
            literal(&entry.revisions.join(",")),
            literal(entry.outcome),
            literal_or_null(entry.error),
        );
        run(conn.client, &sql, "writing migrate_log").await
    }

    async fn foreign_key_violations(&mut self) -> Result<Vec<Violation>, RunError> {
        // The server checks foreign keys on every statement.
        Ok(Vec::new())
    }
}

/// Alembic's PostgreSQL text for offline SQL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostgresDialect {
    /// The schema of the version table (`version_table_schema`); `None`:
    /// the first schema of the `search_path` the script runs with.
    pub schema: Option<String>,
}

impl Dialect for PostgresDialect {
    /// Alembic leaves a blank line after the final `COMMIT;` here.
    fn end(&self) -> String {
        format!("{}\n\n", self.commit())
    }

    /// Alembic's DDL, qualified by the schema as Alembic qualifies it.
    /// Alembic's script assumes the schema exists; this one creates it when
    /// missing, as an online run does, so that `psql -f` on a new database
    /// puts the ledger where `current` and `upgrade` look for it.
    fn create_version_table(&self) -> String {
        match &self.schema {
            None => format!("{ALEMBIC_VERSION_DDL};"),
            Some(schema) => format!(
                "CREATE SCHEMA IF NOT EXISTS {};\n\n{};",
                offline_identifier(schema),
                ALEMBIC_VERSION_DDL.replacen("alembic_version", &self.version_table(), 1)
            ),
        }
    }

    fn version_table(&self) -> String {
        match &self.schema {
            None => "alembic_version".to_owned(),
            Some(schema) => format!("{}.alembic_version", offline_identifier(schema)),
        }
    }

    fn returning(&self) -> String {
        format!("{}.version_num", self.version_table())
    }
}

/// A name as SQLAlchemy writes it in Alembic's scripts: bare when it is a
/// lower-case identifier, quoted otherwise.
fn offline_identifier(name: &str) -> String {
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_owned()
    } else {
        identifier(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ready;

    /// The test server (`MIGRATE_TEST_POSTGRES_URL`, default the machine's),
    /// or `None` outside CI when none answers.
    fn server() -> Option<Client> {
        let url = std::env::var("MIGRATE_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "postgresql://postgres@127.0.0.1:5432/postgres".to_owned());
        match Client::connect(&url, postgres::NoTls) {
            Ok(client) => Some(client),
            Err(error) if std::env::var_os("CI").is_none() => {
                eprintln!("skipped: no PostgreSQL server at {url} ({error})");
                None
            }
            Err(error) => {
                panic!("CI is set but the PostgreSQL server at {url} is unreachable: {error}")
            }
        }
    }

    #[test]
    fn a_transaction_a_statement_ended_is_seen_as_closed() {
        let Some(mut client) = server() else {
            return;
        };
        let wait = crate::backend::WaitPolicy::default();
        let session = ready(client.acquire(&wait, RunScope::OneTransaction)).unwrap();
        ready(client.begin(&wait, &session)).unwrap();
        assert!(ready(client.transaction_is_open()).unwrap());
        // What a COMMIT the folder check could not see does.
        client.batch_execute("COMMIT").unwrap();
        assert!(!ready(client.transaction_is_open()).unwrap());
        ready(client.begin(&wait, &session)).unwrap();
        client.batch_execute("ROLLBACK").unwrap();
        assert!(!ready(client.transaction_is_open()).unwrap());
        client.abandon(&session);
        ready(client.release(session)).unwrap();
    }
}
