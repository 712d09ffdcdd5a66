//! Errors of runs, ledger reads and the tools that work on a database,
//! whatever the backend.

use crate::graph::plan::RowOp;
use crate::graph::target::TargetError;
use crate::load::LoadError;
use std::fmt;

/// Why a run (upgrade, downgrade, stamp) or a ledger read failed.
/// Nothing was changed unless the variant says otherwise.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The migration set itself is invalid.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The target cannot be resolved.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// An import was refused.
    #[error(transparent)]
    Import(#[from] crate::data::ImportError),
    /// The database failed outside a migration's own SQL.
    #[error("database error while {doing}: {source}{}{}", source_detail(&**.source), .hint.map(|h| format!(" ({h})")).unwrap_or_default())]
    Database {
        /// What was being done.
        doing: &'static str,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
        /// What to do about it, when the backend knows.
        hint: Option<&'static str>,
    },
    /// A statement of a migration failed; the run was rolled back (unless
    /// [`RunError::PartlyCommitted`] wraps it).
    #[error("{0}\nthe run was rolled back: the database is as it was")]
    Statement(Box<StatementError>),
    /// The database names revisions this set does not contain.
    #[error("Can't locate revision identified by '{}': the database is at a revision these migration files do not contain (the database is ahead of this binary, or files are missing). {}", .revisions.join("', '"), rollback_text(.rollback, .known_heads))]
    UnknownRevisions {
        /// The unknown revisions.
        revisions: Vec<String>,
        /// Those whose downgrade SQL is stored in `migrate_applied`.
        rollback: Vec<String>,
        /// Where the database is once they are rolled back: the newest
        /// revisions of these files it has applied.
        known_heads: Vec<String>,
    },
    /// The database is at a revision a squashed baseline replaced.
    #[error("the database is at `{revision}`, which the squashed baseline `{baseline}` replaced; upgrade it to `{baseline}` or later with a binary from before the squash, then use this one")]
    Squashed {
        /// The database's revision.
        revision: String,
        /// The baseline that replaced it.
        baseline: String,
    },
    /// Tables but no ledger: a database created by hand.
    #[error("the database has tables ({}) but no migration ledger: it was created by hand, not through migrations; `migrate adopt` finds the revision its schema matches and stamps it; when none matches, `migrate rebuild` moves its data into a database built by the migrations", .tables.join(", "))]
    CreatedByHand {
        /// The user tables found.
        tables: Vec<String>,
    },
    /// A downgrade through a migration with no downgrade section.
    #[error("revision `{revision}` ({path}) is irreversible: it has no `-- migrate:downgrade` section; nothing was changed")]
    Irreversible {
        /// The revision.
        revision: String,
        /// Its file.
        path: String,
    },
    /// The run added foreign key violations; the run was rolled back.
    #[error("the run would add foreign key violations that the database did not have before, so it was rolled back: {}", .violations.join("; "))]
    ForeignKeys {
        /// One line per violation.
        violations: Vec<String>,
    },
    /// A `transactional: false` migration started but never finished.
    #[error("revision `{revision}` is marked as started but not finished (a non-transactional migration was interrupted); check the database by hand, then run `migrate repair --clear-dirty {revision}` to clear the mark")]
    Dirty {
        /// The revision.
        revision: String,
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
    /// A run failed after part of it was committed (`transaction_per_migration`,
    /// or a `transactional: false` migration): what was committed stays.
    #[error("{}\n{}", cause_text(.cause), partial_text(.committed, .started.as_deref(), .heads_now.as_deref()))]
    PartlyCommitted {
        /// Why the run stopped.
        cause: Box<RunError>,
        /// Migrations committed and recorded before the failure, in order.
        committed: Vec<String>,
        /// A non-transactional migration whose changes may be partly applied
        /// (its "started" mark is in the ledger).
        started: Option<String>,
        /// The `alembic_version` rows now.
        /// The `alembic_version` rows now; `None` when they could not be
        /// read (the connection was lost).
        heads_now: Option<Vec<String>>,
    },
    /// A change to `alembic_version` did not touch exactly one row: the
    /// table was edited while the run held the lock, or by hand before it.
    #[error("expected to {} on exactly one row of alembic_version, but {changed} rows changed; the run was rolled back. `migrate verify` shows what the ledger holds", row_op_text(.operation))]
    VersionRows {
        /// The change.
        operation: RowOp,
        /// How many rows it changed.
        changed: usize,
    },
    /// Another process held the database for the whole wait.
    #[error("another process held the database for the whole busy timeout while {doing}; retry when it is done, or raise busy_timeout_ms")]
    Busy {
        /// What was being done.
        doing: &'static str,
    },
    /// A database or backup file failed its integrity check.
    #[error("{path} failed its integrity check: {result}; nothing was changed")]
    Integrity {
        /// The file.
        path: String,
        /// What the check said.
        result: String,
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
    /// A repair named a revision that has no `migrate_applied` row.
    #[error("revision `{revision}` is not recorded as applied, so there is nothing to {action}; `migrate current` shows what is applied")]
    NotRecorded {
        /// The revision.
        revision: String,
        /// What was asked (`accept`, `clear`).
        action: &'static str,
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
    #[error("the migration lock was no longer held when the run ended (the connection was reset, or someone released it by hand); the run itself completed, but check that no other migrator ran at the same time (`migrate verify`)")]
    LockLost,
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
    /// A transactional migration ended the run's transaction (a `COMMIT`,
    /// `END` or `ROLLBACK` the folder check could not see, such as one a
    /// function ran). The run stopped right after that migration.
    #[error("revision `{revision}` ({path}) ended the run's transaction: a COMMIT, END or ROLLBACK ran inside it, so the run stopped after it. What the run did before that statement was committed or rolled back by the migration itself, and what the migration ran after it is committed; the ledger does not record {} as applied, and alembic_version now holds {}. Compare the schema with the migrations (`migrate check`), put the database back from a backup if you took one, and remove the transaction control from the migration", .unrecorded.join(", "), heads_text(.heads_now.as_deref()))]
    TransactionEnded {
        /// The migration.
        revision: String,
        /// Its file.
        path: String,
        /// This run's migrations since its last commit, this one last: their
        /// changes may be in the database without ledger rows.
        unrecorded: Vec<String>,
        /// The `alembic_version` rows now, when they could be read.
        heads_now: Option<Vec<String>>,
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
    /// `repair --clear-dirty` named a revision that has no started mark.
    #[error(
        "revision `{revision}` has no started mark to clear; `migrate verify` lists the dirty ones"
    )]
    NotStarted {
        /// The revision.
        revision: String,
    },
}

impl RunError {
    /// The failed statement behind this error, also when part of the run
    /// was committed before it.
    pub fn statement_mut(&mut self) -> Option<&mut StatementError> {
        match self {
            RunError::Statement(statement) => Some(statement),
            RunError::PartlyCommitted { cause, .. } => cause.statement_mut(),
            _ => None,
        }
    }

    /// Whether the database keeps anything of the failed operation: part of
    /// a run was committed, or a migration ended the run's transaction.
    pub fn committed_anything(&self) -> bool {
        matches!(
            self,
            RunError::PartlyCommitted { .. } | RunError::TransactionEnded { .. }
        )
    }
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

fn row_op_text(op: &RowOp) -> String {
    match op {
        RowOp::Insert(rev) => format!("insert `{rev}`"),
        RowOp::Delete(rev) => format!("delete `{rev}`"),
        RowOp::Update { from, to } => format!("move `{from}` to `{to}`"),
    }
}

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
    /// there (see [`StatementError::named_object`]); `None` until a face
    /// made that comparison.
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
    pub fn cause(&self) -> Cause {
        let message = self.message.as_str();
        let code = self.code.as_deref().unwrap_or("");
        let says = |words: &[&str]| words.iter().any(|w| message.contains(w));
        if message.contains(crate::template::PLACEHOLDER_MARK) {
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
    pub fn named_object(&self) -> Option<&str> {
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
                    Some(false) => format!("the database does not have the schema its recorded revision implies (a wrong `stamp`, or a hand edit?), which is why `{object}` is not as this migration expects; `migrate check` shows the difference"),
                    None => format!("either this migration names `{object}` wrongly, or the database does not have the schema its recorded revision implies; `migrate check` compares the live schema with the migrations"),
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

/// The cause of a partly committed run, without a claim that all of it rolled back.
fn cause_text(cause: &RunError) -> String {
    match cause {
        RunError::Statement(failure) => failure.to_string(),
        other => other.to_string(),
    }
}

fn partial_text(
    committed: &[String],
    started: Option<&str>,
    heads_now: Option<&[String]>,
) -> String {
    let mut text = if committed.is_empty() {
        "nothing of this run was committed before the failure".to_owned()
    } else {
        format!(
            "not all of the run was rolled back: {} {} committed before the failure and stay{} applied",
            committed.join(", "),
            if committed.len() == 1 { "was" } else { "were" },
            if committed.len() == 1 { "s" } else { "" }
        )
    };
    text += &match heads_now {
        Some(heads) => format!(
            "; the rest was rolled back. The database is now at {}.",
            crate::ledger::heads_text(heads)
        ),
        None => format!(
            "; the rest was rolled back. Where the database stands could not be read back (the connection is gone): it should be at {}; once the server answers, `migrate current` shows it.",
            committed.last().map_or("base", String::as_str)
        ),
    };
    if let Some(started) = started {
        text += &format!(" {started} is non-transactional and did not finish: its statements before the failure are applied, and it is marked as started; check the database by hand, then run `migrate repair --clear-dirty {started}`.");
    }
    text
}

fn heads_text(heads: Option<&[String]>) -> String {
    match heads {
        None => "rows that could not be read".to_owned(),
        Some([]) => "no row (base)".to_owned(),
        Some(heads) => crate::ledger::heads_text(heads),
    }
}

fn rollback_text(rollback: &[String], known_heads: &[String]) -> String {
    if rollback.is_empty() {
        "No downgrade SQL is stored for them (ids from before this tool, or files applied by Alembic): deploy the migration files that contain them; if they are gone for good, `migrate adopt` finds the revision the schema matches and stamps it in their place.".to_owned()
    } else {
        let target = match known_heads {
            [] => "base".to_owned(),
            [one] => one.clone(),
            _ => "heads".to_owned(),
        };
        format!(
            "Stored downgrade SQL can roll back {}: a downgrade to a revision these files hold reverts them first, in the same run (`migrate downgrade {target}`; embedded: `RunOptions::roll_back_unknown`).",
            rollback.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ImportError;

    /// One value of every variant. The match below has no wildcard, so a
    /// new variant does not compile until it is added here, and its
    /// message shows in the snapshot for review.
    fn every_variant() -> Vec<RunError> {
        let statement = || {
            RunError::Statement(Box::new(StatementError {
                direction: "upgrade",
                revision: "002".into(),
                path: "versions/002_add_phone.sql".into(),
                line: 7,
                column: None,
                statement: "ALTER TABLE users ADD COLUMN phone TEXT".into(),
                message: "duplicate column name: phone".into(),
                code: None,
                schema_matches: None,
            }))
        };
        let on_postgres = RunError::Statement(Box::new(StatementError {
            direction: "upgrade",
            revision: "003".into(),
            path: "versions/003_settings.sql".into(),
            line: 12,
            column: Some(8),
            statement: "ALTER TABLE user_settings ADD COLUMN lang text".into(),
            message: "relation \"user_settings\" does not exist".into(),
            code: Some("42P01".into()),
            schema_matches: None,
        }));
        let all = vec![
            RunError::Load(crate::LoadError::from(vec![
                crate::LoadProblem::NotSql {
                    path: "versions/notes.txt".into(),
                },
                crate::LoadProblem::OutsideLink {
                    path: "versions/004_shared.sql".into(),
                },
            ])),
            RunError::Target(TargetError::Unknown("zzz".into())),
            RunError::Import(ImportError::Orphans {
                orphans: vec!["`repair_requests` row id=7: user_id = 42 names no `users` row".into()],
            }),
            RunError::Import(ImportError::HoldsRows {
                tables: vec!["`users` (3 rows)".into()],
            }),
            RunError::Import(ImportError::AmbiguousDate {
                table: "repair_requests".into(),
                row: 4,
                column: "created_at".into(),
                value: "02.12.2026 10:00".into(),
            }),
            RunError::Database {
                doing: "taking the write lock",
                source: "database is locked".into(),
                hint: Some("another process held the database longer than the busy timeout; retry when it is done"),
            },
            statement(),
            on_postgres,
            RunError::UnknownRevisions {
                revisions: vec!["004".into()],
                rollback: vec!["004".into()],
                known_heads: vec!["003".into()],
            },
            RunError::UnknownRevisions {
                revisions: vec!["004".into()],
                rollback: Vec::new(),
                known_heads: vec!["003".into()],
            },
            RunError::Squashed {
                revision: "001".into(),
                baseline: "003".into(),
            },
            RunError::CreatedByHand {
                tables: vec!["users".into(), "repair_requests".into()],
            },
            RunError::Irreversible {
                revision: "002".into(),
                path: "versions/002_add_phone.sql".into(),
            },
            RunError::ForeignKeys {
                violations: vec!["repair_requests row 3 references a missing row of users".into()],
            },
            RunError::Dirty {
                revision: "004".into(),
            },
            RunError::ReadOnly {
                path: "data/bot.db".into(),
            },
            RunError::UnsupportedLocation {
                location: "postgres://bot:***@db/bot".into(),
            },
            RunError::MissingDatabase {
                path: "data/bot.db".into(),
            },
            RunError::Io {
                path: "backups/bot.db".into(),
                source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            },
            RunError::PartlyCommitted {
                cause: Box::new(statement()),
                committed: vec!["001".into()],
                started: Some("002".into()),
                heads_now: Some(vec!["001".into()]),
            },
            RunError::PartlyCommitted {
                cause: Box::new(RunError::Database {
                    doing: "running a migration",
                    source: "connection closed".into(),
                    hint: Some("the connection to the server was lost; check the server and retry"),
                }),
                committed: vec!["001".into()],
                started: Some("002".into()),
                heads_now: None,
            },
            RunError::VersionRows {
                operation: RowOp::Update {
                    from: "001".into(),
                    to: "002".into(),
                },
                changed: 0,
            },
            RunError::Busy {
                doing: "copying pages",
            },
            RunError::Integrity {
                path: "backups/bot.db".into(),
                result: "*** in database main ***\nPage 3 is never used".into(),
            },
            RunError::TableDefinition {
                table: "users".into(),
                reason: "unbalanced parentheses".into(),
            },
            RunError::DeclaredSchema {
                path: "migrations/schema.sql".into(),
                message: "near \"TABL\": syntax error".into(),
            },
            RunError::NotRecorded {
                revision: "003".into(),
                action: "accept",
            },
            RunError::NotStarted {
                revision: "003".into(),
            },
            RunError::LockTimeout {
                waited: std::time::Duration::from_secs(60),
                holder: Some("pid 4242 (repair_bot, from 10.0.0.7, active since 2026-11-25 21:03:11 UTC)".into()),
            },
            RunError::LockLost,
            RunError::NoSchema,
            RunError::NoServerLocation,
            RunError::Tls {
                location: "postgresql://bot:***@db.example/shop?sslmode=verify-full".into(),
                problem: "sslmode=verify-full checks the server's certificate against /home/bot/.postgresql/root.crt, which does not exist; give the server's root certificate there or as sslrootcert=/path/to/root.crt, use sslrootcert=system for the machine's trusted roots, or lower sslmode to require to encrypt without checking".into(),
            },
            RunError::Connect {
                location: "postgresql://bot:***@db.example/shop".into(),
                source: "error connecting to server".into(),
            },
            RunError::Connect {
                location: "postgresql://bot:***@10.0.0.5/shop?sslmode=verify-full".into(),
                source: "error performing TLS handshake: invalid peer certificate: certificate not valid for name \"10.0.0.5\"; certificate is only valid for DnsName(\"db.example\")".into(),
            },
            RunError::Unsupported {
                operation: "backup",
                backend: "PostgreSQL",
                instead: "run `pg_dump --format=custom --file=backup.dump` against the same URL (and `pg_restore` to restore)",
            },
            RunError::NeedsSessionLock {
                revision: "004".into(),
                reason: "is `transactional: false`",
            },
            RunError::TransactionPooler {
                first_pid: "4242".into(),
                then_pid: "4377".into(),
            },
            RunError::ToolMissing { tool: "pg_dump" },
            RunError::ToolFailed {
                tool: "pg_dump",
                file: "backups/shop-20261202T101500Z-003.dump".into(),
                message: "pg_dump: error: server version: 16.4; pg_dump version: 15.19\npg_dump: error: aborting because of server version mismatch".into(),
            },
            RunError::RestoreIntoData {
                location: "postgresql://bot:***@db/shop".into(),
                tables: "public.alembic_version, public.users".into(),
            },
            RunError::LockOnAnotherConnection {
                lock_pid: "4242".into(),
                transaction_pid: "4377".into(),
            },
            RunError::TransactionEnded {
                revision: "002".into(),
                path: "versions/002_add_phone.sql".into(),
                unrecorded: vec!["001".into(), "002".into()],
                heads_now: Some(Vec::new()),
            },
        ];
        for error in &all {
            match error {
                RunError::Load(_)
                | RunError::Target(_)
                | RunError::Import(_)
                | RunError::Database { .. }
                | RunError::Statement(_)
                | RunError::UnknownRevisions { .. }
                | RunError::Squashed { .. }
                | RunError::CreatedByHand { .. }
                | RunError::Irreversible { .. }
                | RunError::ForeignKeys { .. }
                | RunError::Dirty { .. }
                | RunError::ReadOnly { .. }
                | RunError::UnsupportedLocation { .. }
                | RunError::MissingDatabase { .. }
                | RunError::Io { .. }
                | RunError::PartlyCommitted { .. }
                | RunError::VersionRows { .. }
                | RunError::Busy { .. }
                | RunError::Integrity { .. }
                | RunError::TableDefinition { .. }
                | RunError::DeclaredSchema { .. }
                | RunError::NotRecorded { .. }
                | RunError::LockTimeout { .. }
                | RunError::LockLost
                | RunError::NoSchema
                | RunError::Unsupported { .. }
                | RunError::NoServerLocation
                | RunError::Tls { .. }
                | RunError::Connect { .. }
                | RunError::NeedsSessionLock { .. }
                | RunError::TransactionEnded { .. }
                | RunError::LockOnAnotherConnection { .. }
                | RunError::TransactionPooler { .. }
                | RunError::ToolMissing { .. }
                | RunError::ToolFailed { .. }
                | RunError::RestoreIntoData { .. }
                | RunError::NotStarted { .. } => {}
            }
        }
        all
    }

    #[test]
    fn every_message_as_an_operator_reads_it() {
        let rendered: Vec<String> = every_variant()
            .iter()
            .map(|error| format!("{error:?}\n=> {error}"))
            .collect();
        insta::assert_snapshot!(rendered.join("\n\n"));
    }

    #[test]
    fn a_bot_names_its_own_commands_in_every_hint() {
        let bot = crate::Commands::new("repair_bot migrate");
        for error in every_variant() {
            let text = error.to_string();
            let named = bot.name_in(&text);
            assert!(!named.contains("`migrate "), "{named}");
        }
    }
}
