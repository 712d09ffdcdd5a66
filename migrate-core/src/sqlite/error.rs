//! Errors of runs against a SQLite database.

use crate::graph::target::TargetError;
use crate::load::LoadError;

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
    /// SQLite failed outside a migration's own SQL.
    #[error("database error while {doing}: {source}{}", hint(source))]
    Sqlite {
        /// What the runner was doing.
        doing: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A statement of a migration failed; the run was rolled back (unless
    /// [`RunError::PartlyCommitted`] wraps it).
    #[error("{}\nthe run was rolled back: the database is as it was", statement_text(.direction, .revision, .path, *.line, .statement, .message))]
    Statement {
        /// `upgrade` or `downgrade`.
        direction: &'static str,
        /// The revision.
        revision: String,
        /// Its file.
        path: String,
        /// The line of the failing statement.
        line: u32,
        /// The statement (abridged when long).
        statement: String,
        /// SQLite's message.
        message: String,
    },
    /// The database names revisions this set does not contain.
    #[error("Can't locate revision identified by '{}': the database is at a revision these migration files do not contain (the database is ahead of this binary, or files are missing). {}", .revisions.join("', '"), rollback_text(.rollback))]
    UnknownRevisions {
        /// The unknown revisions.
        revisions: Vec<String>,
        /// Those whose downgrade SQL is stored in `migrate_applied`.
        rollback: Vec<String>,
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
    #[error("the database has tables ({}) but no migration ledger: it was created by hand, not through migrations; `migrate adopt` finds the revision its schema matches and stamps it (or mark it yourself with `migrate stamp <revision>`); when none matches, `migrate rebuild` moves its data into a database built by the migrations", .tables.join(", "))]
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
    #[error("revision `{revision}` is marked as started but not finished (a non-transactional migration was interrupted); check the database by hand, then run `migrate repair` to clear the mark")]
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
    #[error("{}\n{}", cause_text(.cause), partial_text(.committed, .started.as_deref(), .heads_now))]
    PartlyCommitted {
        /// Why the run stopped.
        cause: Box<RunError>,
        /// Migrations committed and recorded before the failure, in order.
        committed: Vec<String>,
        /// A non-transactional migration whose changes may be partly applied
        /// (its "started" mark is in the ledger).
        started: Option<String>,
        /// The `alembic_version` rows now.
        heads_now: Vec<String>,
    },
    /// The ledger disagrees with itself in a way the runner will not guess about.
    #[error("the migration ledger is inconsistent: {0}; run `migrate verify` for details")]
    Ledger(String),
}

fn hint(error: &rusqlite::Error) -> &'static str {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => " (the file is not a SQLite database; check the --database path)",
        Some(rusqlite::ErrorCode::ReadOnly) => " (the database or its folder is read-only; check file permissions)",
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            " (another process held the database longer than the busy timeout; retry when it is done)"
        }
        Some(rusqlite::ErrorCode::CannotOpen) => " (the file or its folder cannot be opened; check the path and permissions)",
        Some(rusqlite::ErrorCode::DiskFull) => " (the disk is full; free space and retry, nothing was changed)",
        _ => "",
    }
}

fn statement_text(
    direction: &str,
    revision: &str,
    path: &str,
    line: u32,
    statement: &str,
    message: &str,
) -> String {
    // These say the tables are not what the revision expects: the database
    // is not where its ledger claims, not a broken migration.
    let mismatch = [
        "already exists",
        "duplicate column name",
        "no such table",
        "no such column",
        "has no column named",
    ]
    .iter()
    .any(|m| message.contains(m));
    // `migrate revision` writes a placeholder that fails with this text.
    let advice = if message.contains("has no upgrade SQL yet") {
        "write the upgrade SQL in the file, in place of the placeholder statement"
    } else if mismatch {
        "the database does not have the schema its recorded revision implies (a wrong `stamp`, or a hand edit?); `migrate verify` shows the difference"
    } else {
        "fix the migration and run it again"
    };
    format!("{direction} of revision `{revision}` failed at {path}:{line}: {message}\n  statement: {statement}\n{advice}")
}

/// The cause of a partly committed run, without a claim that all of it rolled back.
fn cause_text(cause: &RunError) -> String {
    match cause {
        RunError::Statement {
            direction,
            revision,
            path,
            line,
            statement,
            message,
        } => statement_text(direction, revision, path, *line, statement, message),
        other => other.to_string(),
    }
}

fn partial_text(committed: &[String], started: Option<&str>, heads_now: &[String]) -> String {
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
    text += &format!(
        "; the rest was rolled back. The database is now at {}.",
        if heads_now.is_empty() {
            "base".to_owned()
        } else {
            heads_now.join(", ")
        }
    );
    if let Some(started) = started {
        text += &format!(" {started} is non-transactional and did not finish: its statements before the failure are applied, and it is marked as started; check the database by hand, then run `migrate repair --clear-dirty {started}`.");
    }
    text
}

fn rollback_text(rollback: &[String]) -> String {
    if rollback.is_empty() {
        "No downgrade SQL is stored for them (ids from before this tool, or files applied by Alembic): deploy the migration files that contain them; if they are gone for good, check the schema (`migrate adopt` finds the revision it matches) and mark the database with `migrate stamp <revision> --purge`.".to_owned()
    } else {
        format!(
            "Stored downgrade SQL can roll back {}: a downgrade to a revision these files hold reverts them first, in the same run (`migrate downgrade <revision>`; embedded: `RunOptions::roll_back_unknown`).",
            rollback.join(", ")
        )
    }
}

/// Adds "while doing X" to a rusqlite error.
pub(crate) trait Doing<T> {
    fn doing(self, doing: &'static str) -> Result<T, RunError>;
}

impl<T> Doing<T> for Result<T, rusqlite::Error> {
    fn doing(self, doing: &'static str) -> Result<T, RunError> {
        self.map_err(|source| RunError::Sqlite { doing, source })
    }
}
