//! Failures of the connection under a run, whatever the backend: the
//! driver's error with its code, opening and connecting, TLS, the
//! migration lock, and a pooler in between.

use crate::hint::Cmd;

/// The code a driver gives a failure: what a program matches on, where
/// the message is for people.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DriverCode {
    /// SQLite's extended result code (`SQLITE_BUSY` is 5,
    /// `SQLITE_CONSTRAINT_FOREIGNKEY` 787).
    Sqlite(i32),
    /// PostgreSQL's SQLSTATE (`55P03`: lock not available).
    SqlState(String),
}

/// Why the database or the connection to it failed. Nothing was changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The database failed outside a migration's own SQL.
    #[error("database error while {doing}: {source}{}{}", source_detail(&**.source), .hint.map(|h| format!(" ({h})")).unwrap_or_default())]
    Database {
        /// What was being done.
        doing: &'static str,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
        /// The driver's code for the failure, when it gives one.
        code: Option<DriverCode>,
        /// What to do about it, when the backend knows.
        hint: Option<&'static str>,
    },
    /// The connection or file is read-only.
    #[error("the database {path} is read-only; check its file permissions (nothing was changed)")]
    ReadOnly {
        /// The database file.
        path: String,
    },
    /// A location this build cannot open (PostgreSQL before its backend).
    #[error("{location} is a PostgreSQL database, and this build has no PostgreSQL backend yet; give an SQLite file")]
    UnsupportedLocation {
        /// The location, its password hidden.
        location: String,
    },
    /// `DATABASE_URL` is set for the tests' scratch databases but does not
    /// name a database.
    #[error("DATABASE_URL names the server the tests' scratch databases go to, and it is unusable: {problem}; fix it, or unset it to test on SQLite files")]
    TestServer {
        /// Why it does not parse.
        problem: String,
    },
    /// The server could not be reached or refused the connection.
    #[error("cannot connect to {location}: {source}{}; {}", source_detail(&**.source), connect_hint(&**.source))]
    Connect {
        /// The location, its password hidden.
        location: String,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A schema tool needs the server's location to create scratch
    /// databases, and the connection was made without one.
    #[error("the schema tools create scratch databases on the server, so they need its URL: open the database with `Postgres::connect` or through `--database`/`DATABASE_URL`")]
    NoServerLocation,
    /// The TLS the location asks for cannot be set up.
    #[error("{location}: {problem}")]
    Tls {
        /// The location, its password hidden.
        location: String,
        /// What is wrong, and what to do.
        problem: String,
    },
    /// An operation this backend does not do.
    #[error("{operation} works on SQLite files only, and this database is {backend}: {instead}")]
    Unsupported {
        /// What was asked.
        operation: &'static str,
        /// The backend.
        backend: &'static str,
        /// What to do instead.
        instead: &'static str,
    },
    /// `mode=ro` or `mode=rw` names a file that does not exist.
    #[error("there is no database at {path} (the location says mode=ro or mode=rw, so it is not created)")]
    MissingDatabase {
        /// The file.
        path: String,
    },
    /// A file or folder could not be created.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Another process held the database for the whole wait.
    #[error("another process held the database for the whole busy timeout while {doing}; retry when it is done, or raise busy_timeout_ms")]
    Busy {
        /// What was being done.
        doing: &'static str,
    },
    /// Another migrator held the lock for the whole wait.
    #[error("another migration run held the migration lock for {} s{}; nothing was changed. Retry when it is done, or raise the wait (busy_timeout_ms)", .waited.as_secs(), .holder.as_deref().map(|h| format!(" (held by {h})")).unwrap_or_default())]
    LockTimeout {
        /// How long this run waited.
        waited: std::time::Duration,
        /// Who holds it, when the server says.
        holder: Option<String>,
    },
    /// The migration lock was gone when the run released it.
    #[error("the migration lock was no longer held when the run ended (the connection was reset, or someone released it by hand); the run itself completed, but check that no other migrator ran at the same time ({})", Cmd("verify"))]
    LockLost,
    /// The connection given to a run is inside a transaction of its own.
    #[error("the connection is inside a transaction that is not committed, and a run works in transactions of its own; nothing was changed. Commit or roll back that transaction first, or run the migrations on a connection outside any transaction")]
    InTransaction,
    /// The connection has no schema to keep the ledger in.
    #[error("the connection's search_path names no schema that exists; set version_table_schema, or fix search_path")]
    NoSchema,
    /// A run that commits partway needs a lock that outlives transactions.
    #[error("revision `{revision}` {reason}, which needs the migration lock to outlive a transaction; the `transaction` lock mode (for transaction-mode poolers) cannot give that: run it through a direct connection in `session` lock mode")]
    NeedsSessionLock {
        /// The revision.
        revision: String,
        /// Why the run commits partway.
        reason: &'static str,
    },
    /// A transaction of a run that holds a session lock ran on another
    /// server connection than the one holding the lock: a transaction-mode
    /// pooler is in between. The transaction was rolled back.
    #[error("the run's transaction reached another server connection (pid {transaction_pid}) than the one holding its migration lock (pid {lock_pid}): a transaction-mode pooler (such as PgBouncer with pool_mode = transaction) sits between, and a lock held outside a transaction cannot protect a run through it, so the transaction was rolled back. This run commits partway (a `transactional: false` migration, or a transaction per migration), which needs a direct connection to the server: run it with a DATABASE_URL that bypasses the pooler. Runs that stay in one transaction work through the pooler in either lock_mode (`lock_mode = \"transaction\"` makes that explicit)")]
    LockOnAnotherConnection {
        /// The server process holding the session lock.
        lock_pid: String,
        /// The server process the transaction ran on.
        transaction_pid: String,
    },
    /// A run that commits partway was about to start through a
    /// transaction-mode pooler; nothing was changed.
    #[error("this connection goes through a transaction-mode pooler (such as PgBouncer with pool_mode = transaction): a setting made in this session was gone by its next statement (server connection pid {first_pid}, then pid {then_pid}). This run commits partway (a `transactional: false` migration, or a transaction per migration), and no lock can protect that through such a pooler; nothing was changed. Run it with a DATABASE_URL that reaches the server directly. Runs that stay in one transaction work through the pooler")]
    TransactionPooler {
        /// The server process of the first statement.
        first_pid: String,
        /// The server process of the next one.
        then_pid: String,
    },
}

/// The cause under a driver's error, which says what went wrong on the way
/// (`error connecting to server: connection refused`).
fn source_detail(error: &(dyn std::error::Error + Send + Sync)) -> String {
    error
        .source()
        .map(|cause| format!(": {cause}"))
        .unwrap_or_default()
}

/// What to check when a connection fails: the certificate when TLS
/// refused it, else the server, the user and the database.
fn connect_hint(error: &(dyn std::error::Error + Send + Sync)) -> &'static str {
    let text = format!("{error}{}", source_detail(error));
    if text.contains("TLS") || text.contains("certificate") {
        "check sslmode and sslrootcert: verify-full needs the host name the server's certificate names, verify-ca only a root certificate that signed it, require encrypts without checking"
    } else {
        "check that the server runs and accepts this user, and that the database exists"
    }
}
