//! Failures of the tools around runs: import, backup and restore (and the
//! PostgreSQL client programs they use), and reading a schema.

use crate::model::data::ImportError;

/// Why a tool (import, backup, restore, the schema tools) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// An import was refused.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// A PostgreSQL client tool this needs is not installed.
    #[error("`{tool}` is not installed, and backups of a PostgreSQL database are made with it; install PostgreSQL's client tools (Debian and Ubuntu: `apt install postgresql-client`, macOS: `brew install libpq`) in a version at least the server's")]
    ToolMissing {
        /// The tool (`pg_dump`, `pg_restore`).
        tool: &'static str,
    },
    /// A PostgreSQL client tool failed.
    #[error("{tool} failed on {file}: {message}")]
    ToolFailed {
        /// The tool and its mode.
        tool: &'static str,
        /// The dump file.
        file: String,
        /// What it printed, passwords hidden.
        message: String,
    },
    /// A restore into a server database that holds tables.
    #[error("{location} holds tables ({tables}); a backup is restored only into an empty database, so that it never mixes with live data. Create an empty one (`createdb NAME`, or `CREATE DATABASE`), point DATABASE_URL at it and run the restore again; nothing was changed")]
    RestoreIntoData {
        /// The database, its password hidden.
        location: String,
        /// Its tables.
        tables: String,
    },
    /// A table's definition could not be read into the schema model.
    #[error("cannot read the definition of table `{table}`: {reason}")]
    TableDefinition {
        /// The table.
        table: String,
        /// Why.
        reason: String,
    },
    /// A declared schema file does not run on an empty database.
    #[error("{path} does not run on an empty database: {message}; fix the file so that `sqlite3 new.db < {path}` succeeds")]
    DeclaredSchema {
        /// The file.
        path: String,
        /// The database's message.
        message: String,
    },
    /// A database or backup file failed its integrity check.
    #[error("{path} failed its integrity check: {result}; nothing was changed")]
    Integrity {
        /// The file.
        path: String,
        /// What the check said.
        result: String,
    },
}
