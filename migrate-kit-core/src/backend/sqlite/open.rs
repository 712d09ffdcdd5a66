//! Opening the SQLite database a [`Location`] names: the one place that
//! turns a parsed path or URL into a connection, for the command line and
//! for an application that embeds its migrations.

use super::error::Doing;
use crate::backend::location::{Location, OpenMode};
use crate::error::{BackendError, RunError};
use rusqlite::{Connection, OpenFlags};

/// Opens the database at `location`. A missing file is created, with its
/// folder, unless the location says `mode=ro` or `mode=rw`; `:memory:`
/// opens a database that vanishes with the connection.
pub fn open(location: &Location) -> Result<Connection, RunError> {
    match location {
        Location::Memory => Connection::open_in_memory().doing("opening an in-memory database"),
        Location::Postgres { .. } => Err(RunError::Backend(BackendError::UnsupportedLocation {
            location: location.to_string(),
        })),
        Location::Sqlite { path, mode } => {
            if !path.exists() {
                if *mode != OpenMode::ReadWriteCreate {
                    return Err(RunError::Backend(BackendError::MissingDatabase {
                        path: path.display().to_string(),
                    }));
                }
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|source| {
                        RunError::Backend(BackendError::Io {
                            path: parent.display().to_string(),
                            source,
                        })
                    })?;
                }
            }
            let flags = match mode {
                OpenMode::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
                OpenMode::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE,
                OpenMode::ReadWriteCreate => {
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
                }
            } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            Connection::open_with_flags(path, flags).doing("opening the database")
        }
    }
}

/// An empty database in memory, for replaying migrations.
pub fn scratch() -> Result<Connection, RunError> {
    Connection::open_in_memory().doing("opening a scratch database")
}

/// How long statements wait for another process's lock.
pub fn set_busy_timeout(conn: &Connection, timeout: std::time::Duration) -> Result<(), RunError> {
    conn.busy_timeout(timeout).doing("setting the busy timeout")
}
