//! Online backups and restores with SQLite's backup API.

use super::error::Doing;
use crate::error::{BackendError, RunError, ToolError};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

/// Copies every page of `from` into `to` in one step, retrying while
/// another connection holds a lock (up to `patience`).
fn copy(from: &Connection, to: &mut Connection, patience: Duration) -> Result<(), RunError> {
    let backup = Backup::new(from, to).doing("starting the backup")?;
    let started = std::time::Instant::now();
    loop {
        match backup.step(-1).doing("copying pages")? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            StepResult::Busy | StepResult::Locked => {
                if started.elapsed() > patience {
                    return Err(RunError::Backend(BackendError::Busy {
                        doing: "copying pages",
                    }));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Runs `PRAGMA integrity_check` and fails unless it says `ok`.
pub(crate) fn integrity_check(conn: &Connection) -> Result<(), RunError> {
    let path = conn
        .path()
        .filter(|p| !p.is_empty())
        .unwrap_or("the database");
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .doing("checking integrity")?;
    if result == "ok" {
        Ok(())
    } else {
        Err(RunError::Tool(ToolError::Integrity {
            path: path.to_owned(),
            result,
        }))
    }
}

/// Writes a consistent copy of `source` to `target` while other processes
/// may keep writing, checks it, and only then gives it its final name.
pub(crate) fn backup_to(
    source: &Connection,
    target: &Path,
    patience: Duration,
) -> Result<(), RunError> {
    let partial = target.with_extension("db.partial");
    let result = (|| {
        let mut copy_conn = Connection::open(&partial).doing("creating the backup file")?;
        copy(source, &mut copy_conn, patience)?;
        integrity_check(&copy_conn)?;
        copy_conn
            .close()
            .map_err(|(_, e)| e)
            .doing("closing the backup file")?;
        std::fs::rename(&partial, target).map_err(|source| {
            RunError::Backend(BackendError::Io {
                path: target.display().to_string(),
                source,
            })
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Replaces the contents of `live` with the backup at `source`, atomically,
/// after checking the backup's integrity.
pub(crate) fn restore_from(
    live: &mut Connection,
    source: &Path,
    patience: Duration,
) -> Result<(), RunError> {
    let backup = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .doing("opening the backup")?;
    integrity_check(&backup)?;
    copy(&backup, live, patience)
}
