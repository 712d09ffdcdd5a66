//! Taking SQLite's write lock without being starved by a busy writer.
//!
//! SQLite's own busy handler sleeps up to 100 ms between attempts. A bot
//! that writes in a tight loop in rollback-journal mode holds the lock at
//! almost every one of those wake-ups, and a migration waiting behind it
//! can starve for the whole busy timeout although the lock is free between
//! the bot's transactions. Polling a few thousand times a second finds
//! those gaps; the deadline is still the connection's busy timeout.

use crate::backend::{LockWait, WaitPolicy, QUIET_WAIT};
use rusqlite::{Connection, ErrorCode};
use std::time::{Duration, Instant};

/// Time between two attempts to take the lock.
const POLL_INTERVAL: Duration = Duration::from_micros(250);

/// `BEGIN IMMEDIATE`, retried until the connection's busy timeout
/// (`PRAGMA busy_timeout`) has passed, telling `wait` once with the busy
/// timeout when the lock has been held by another connection for
/// [`QUIET_WAIT`]. The busy timeout is restored afterwards, so statements
/// inside the transaction wait as configured.
pub(crate) fn begin_immediate_waiting(
    conn: &Connection,
    wait: &WaitPolicy<'_>,
) -> rusqlite::Result<()> {
    let timeout_ms: u32 = conn.query_row("PRAGMA busy_timeout", [], |row| row.get(0))?;
    let timeout = Duration::from_millis(u64::from(timeout_ms));
    let started = Instant::now();
    let deadline = started + timeout;
    let mut told = false;
    conn.busy_timeout(Duration::ZERO)?;
    let taken = loop {
        match conn.execute_batch("BEGIN IMMEDIATE") {
            Err(error) if is_busy(&error) && Instant::now() < deadline => {
                if !conn.is_autocommit() {
                    conn.execute_batch("ROLLBACK")?;
                }
                if !told && started.elapsed() >= QUIET_WAIT {
                    told = true;
                    wait.tell(&LockWait {
                        limit: timeout,
                        holder: None,
                    });
                }
                std::thread::sleep(POLL_INTERVAL);
            }
            other => break other,
        }
    };
    let restored = conn.busy_timeout(timeout);
    if taken.is_ok() && restored.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    taken.and(restored)
}

fn is_busy(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_up_after_the_busy_timeout_and_restores_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locked.db");
        let holder = Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        let waiter = Connection::open(&path).unwrap();
        waiter.busy_timeout(Duration::from_millis(50)).unwrap();
        let started = Instant::now();
        let error = begin_immediate_waiting(&waiter, &WaitPolicy::default()).unwrap_err();
        assert!(is_busy(&error), "{error}");
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert!(waiter.is_autocommit());
        let restored: u32 = waiter
            .query_row("PRAGMA busy_timeout", [], |row| row.get(0))
            .unwrap();
        assert_eq!(restored, 50);
        holder.execute_batch("COMMIT").unwrap();
        begin_immediate_waiting(&waiter, &WaitPolicy::default()).unwrap();
        assert!(!waiter.is_autocommit());
    }
}
