//! How a database is opened: the options every backend reads, in one
//! place, so that a face builds them from its configuration without
//! knowing which backend the location names.

use crate::backend::location::Location;
use std::time::Duration;

/// How [`Database::open`](crate::Database::open) opens a location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOptions {
    /// How long to wait for another process's lock (SQLite's busy timeout,
    /// the PostgreSQL migration lock).
    pub busy_timeout: Duration,
    /// How runs behave on a server; SQLite ignores it.
    pub server: ServerSettings,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            busy_timeout: Duration::from_secs(30),
            server: ServerSettings::default(),
        }
    }
}

/// How runs behave on a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// The schema of the ledger tables (Alembic's `version_table_schema`),
    /// created when missing; `None`: the first schema of `search_path`.
    pub schema: Option<String>,
    /// How the migration lock is held.
    pub lock_mode: LockMode,
    /// `SET LOCAL lock_timeout` in every run's transaction: a migration
    /// that waits this long for a table lock the live bot holds fails and
    /// rolls back, instead of stalling every query queued behind it.
    pub lock_timeout: Duration,
    /// `SET LOCAL statement_timeout`, when set.
    pub statement_timeout: Option<Duration>,
    /// The schema the schema tools read and compare; `None`: the first
    /// schema of `search_path` (`public` by default).
    pub managed_schema: Option<String>,
    /// Where the schema tools create their scratch databases (`--dev-url`),
    /// when the live server's user may not create databases; `None`: the
    /// live server.
    pub scratch_server: Option<Location>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            schema: None,
            lock_mode: LockMode::Session,
            lock_timeout: Duration::from_secs(5),
            statement_timeout: None,
            managed_schema: None,
            scratch_server: None,
        }
    }
}

/// How the lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockMode {
    /// The default. A run that stays in one transaction takes a
    /// transaction lock (`pg_try_advisory_xact_lock`), which works through
    /// a transaction-mode pooler as well. A run that commits partway
    /// (`transactional: false`, a transaction per migration) takes a
    /// session lock for the whole run, released (and the release checked)
    /// on every path; each of its transactions checks that it runs on the
    /// server connection holding that lock, so a pooler between is refused
    /// instead of leaving the run unprotected.
    #[default]
    Session,
    /// A transaction lock (`pg_try_advisory_xact_lock`), released by
    /// `COMMIT` or `ROLLBACK`: for a connection a transaction-mode pooler
    /// may hand to another client between transactions. Runs that commit
    /// in between (`transactional: false`, a transaction per migration)
    /// are refused in this mode, since the lock would lapse between them.
    Transaction,
}
