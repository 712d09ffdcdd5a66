//! A failed statement of a migration: where it failed, the database's
//! message and code, and why as far as they say.

use crate::hint::Cmd;
use std::fmt;

/// Where and how a statement of a migration failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementError {
    /// `upgrade` or `downgrade`.
    pub direction: &'static str,
    /// The revision.
    pub revision: String,
    /// Its file.
    pub path: String,
    /// The line of the failure: where the database says, else the
    /// statement's first line.
    pub line: u32,
    /// The column on that line, in characters, when the database says.
    pub column: Option<u32>,
    /// The statement (abridged when long).
    pub statement: String,
    /// The database's message.
    pub message: String,
    /// The SQLSTATE, when the database gives one.
    pub code: Option<String>,
    /// What a comparison of the live schema with the migrations found, when
    /// the message names a table or column that is missing or already
    /// there; `None` until a face made that comparison.
    pub schema_matches: Option<bool>,
}

/// Why a statement failed, as far as its message and code say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The placeholder `migrate revision` writes.
    Placeholder,
    /// A table or column is missing or already there.
    Mismatch,
    /// A lock held elsewhere outlasted `lock_timeout` (55P03).
    LockTimeout,
    /// The statement outlasted `statement_timeout` (57014).
    StatementTimeout,
    /// The server ended the connection (57P01 and kin, 08xxx).
    ConnectionLost,
    /// Another process held an SQLite database past the busy timeout.
    Busy,
    /// No room left on the disk (SQLite's `SQLITE_FULL`, 53100).
    DiskFull,
    /// The database or its folder cannot be written (25006 on a server).
    ReadOnly,
    /// Anything else: the migration itself.
    Migration,
}

impl StatementError {
    /// Why the statement failed, from the database's message and SQLSTATE.
    pub(crate) fn cause(&self) -> Cause {
        let message = self.message.as_str();
        let code = self.code.as_deref().unwrap_or("");
        let says = |words: &[&str]| words.iter().any(|w| message.contains(w));
        if message.contains(crate::files::template::PLACEHOLDER_MARK) {
            Cause::Placeholder
        } else if code == "55P03" || says(&["lock timeout"]) {
            Cause::LockTimeout
        } else if code == "57014" {
            Cause::StatementTimeout
        } else if code.starts_with("08") || code.starts_with("57P") {
            Cause::ConnectionLost
        } else if code == "53100" || says(&["database or disk is full", "disk I/O error"]) {
            Cause::DiskFull
        } else if code == "25006"
            || says(&[
                "readonly database",
                "read-only",
                "unable to open database file",
            ])
        {
            Cause::ReadOnly
        } else if says(&["database is locked"]) {
            Cause::Busy
        } else if self.named_object().is_some() {
            Cause::Mismatch
        } else {
            Cause::Migration
        }
    }

    /// The table or column a "missing" or "already there" message names:
    /// SQLite's `no such table: x`, `table x already exists`, `duplicate
    /// column name: x`, `has no column named x`; PostgreSQL's quoted name
    /// with SQLSTATE 42P01, 42703, 42P07 or 42701.
    pub(crate) fn named_object(&self) -> Option<&str> {
        let message = self.message.as_str();
        for prefix in [
            "no such table: ",
            "no such column: ",
            "duplicate column name: ",
            "has no column named ",
        ] {
            if let Some(at) = message.find(prefix) {
                let rest = &message[at + prefix.len()..];
                return rest.split_whitespace().next();
            }
        }
        if let Some(rest) = message
            .strip_prefix("table ")
            .or_else(|| message.strip_prefix("index "))
        {
            if let Some(name) = rest.strip_suffix(" already exists") {
                return Some(name.trim_matches(['"', '`']));
            }
        }
        let server_mismatch = self
            .code
            .as_deref()
            .is_some_and(|c| ["42P01", "42703", "42P07", "42701"].contains(&c));
        if server_mismatch {
            return message.split('"').nth(1);
        }
        None
    }

    /// What to do, by cause.
    fn advice(&self) -> String {
        let StatementError { path, line, .. } = self;
        match self.cause() {
            Cause::Placeholder => "write the upgrade SQL in the file, in place of the placeholder statement".to_owned(),
            Cause::LockTimeout => "another session held a lock on a table this statement needs for longer than lock_timeout_ms allows (a long transaction of the running bot?); retry when it is done, or raise lock_timeout_ms in migrate.toml".to_owned(),
            Cause::StatementTimeout => "the statement ran longer than statement_timeout_ms allows; raise statement_timeout_ms in migrate.toml, or make the migration do less per statement (batches)".to_owned(),
            Cause::ConnectionLost => "the server ended the connection (a restart, or pg_terminate_backend); check the server, then run the same command again".to_owned(),
            Cause::Busy => "another process held the database for the whole busy timeout; retry when it is done, or raise busy_timeout_ms in migrate.toml".to_owned(),
            Cause::DiskFull => "the disk is full; free space (a run also needs room for its journal), then run the same command again".to_owned(),
            Cause::ReadOnly => "the database or its folder cannot be written by this user (SQLite also writes a journal file beside the database); fix the permissions, then run the same command again".to_owned(),
            Cause::Migration => "fix the migration and run it again".to_owned(),
            Cause::Mismatch => {
                let object = self.named_object().unwrap_or("it");
                match self.schema_matches {
                    Some(true) => format!("the database has exactly the schema its recorded revision implies, so the mistake is in this migration: it names `{object}` as no earlier migration leaves it (a typo?); fix {path}:{line} and run it again"),
                    Some(false) => format!("the database does not have the schema its recorded revision implies (a wrong `stamp`, or a hand edit?), which is why `{object}` is not as this migration expects; {} shows the difference", Cmd("check")),
                    None => format!("either this migration names `{object}` wrongly, or the database does not have the schema its recorded revision implies; {} compares the live schema with the migrations", Cmd("check")),
                }
            }
        }
    }
}

impl fmt::Display for StatementError {
    /// The failure and what to do, without a claim about the rollback.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let StatementError {
            direction,
            revision,
            path,
            line,
            column,
            statement,
            message,
            code,
            schema_matches: _,
        } = self;
        write!(
            f,
            "{direction} of revision `{revision}` failed at {path}:{line}"
        )?;
        if let Some(column) = column {
            write!(f, ":{column}")?;
        }
        write!(f, ": {message}")?;
        if let Some(code) = code {
            write!(f, " (SQLSTATE {code})")?;
        }
        write!(f, "\n  statement: {statement}\n{}", self.advice())
    }
}
