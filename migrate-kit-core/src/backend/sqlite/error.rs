//! Turning rusqlite's errors into [`RunError`]s that say what was being
//! done and, for the errors an operator can fix, how.

use crate::error::{BackendError, DriverCode, RunError};

/// What to do about an SQLite error, when the error code says.
fn hint(error: &rusqlite::Error) -> Option<&'static str> {
    match error.sqlite_error_code()? {
        rusqlite::ErrorCode::NotADatabase => {
            Some("the file is not a SQLite database; check the --database path")
        }
        rusqlite::ErrorCode::ReadOnly => {
            Some("the database or its folder is read-only; check file permissions")
        }
        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => Some(
            "another process held the database longer than the busy timeout; retry when it is done",
        ),
        rusqlite::ErrorCode::CannotOpen => {
            Some("the file or its folder cannot be opened; check the path and permissions")
        }
        rusqlite::ErrorCode::DiskFull => {
            Some("the disk is full; free space and retry, nothing was changed")
        }
        _ => None,
    }
}

/// The [`RunError`] of an SQLite failure while doing `doing`.
pub(crate) fn database_error(doing: &'static str, source: rusqlite::Error) -> RunError {
    let code = match &source {
        rusqlite::Error::SqliteFailure(failure, _) => {
            Some(DriverCode::Sqlite(failure.extended_code))
        }
        _ => None,
    };
    RunError::Backend(BackendError::Database {
        doing,
        code,
        hint: hint(&source),
        source: Box::new(source),
    })
}

/// Adds "while doing X" to a rusqlite error.
pub(crate) trait Doing<T> {
    fn doing(self, doing: &'static str) -> Result<T, RunError>;
}

impl<T> Doing<T> for Result<T, rusqlite::Error> {
    fn doing(self, doing: &'static str) -> Result<T, RunError> {
        self.map_err(|source| database_error(doing, source))
    }
}
