//! The migration lock on PostgreSQL: an advisory lock, polled with
//! `pg_try_advisory_lock` and never waited on inside the server. A blocking
//! waiter (`pg_advisory_lock`) holds a virtual transaction id, and
//! `CREATE INDEX CONCURRENTLY` in the holder's run waits for every such
//! transaction to end: the two would wait for each other forever.

use super::link::Link;
use super::text::{run, simple_row, simple_rows, simple_value, TextRow};
use crate::backend::{LockWait, WaitPolicy, QUIET_WAIT};
use crate::error::{BackendError, RunError};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// The advisory lock key of the version table `qualified` (`schema.table`):
/// the first eight bytes of SHA-256 of `migrate:` and the name, as a
/// big-endian `bigint`. The same in every release, so two versions of the
/// tool exclude each other.
pub fn lock_key(qualified: &str) -> i64 {
    let digest = Sha256::digest(format!("migrate:{qualified}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// The first wait between two attempts; it doubles up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(5);
const MAX_POLL: Duration = Duration::from_millis(200);

/// One try at a lock: `sql` returns a row that `taken` judges; after a
/// miss, `after_miss` (when not empty) runs before the pause.
pub(crate) struct Attempt<'a> {
    /// The statements of one try.
    pub sql: &'a str,
    /// What the try is, for an error.
    pub doing: &'static str,
    /// Whether the row says the lock was taken.
    pub taken: &'a (dyn Fn(&TextRow) -> bool + Sync),
    /// Run after a miss (ending the try's transaction).
    pub after_miss: &'a str,
}

/// Takes the lock `key`: makes `attempt` until it succeeds or `wait.limit`
/// has passed, pausing with backoff, and returns the row of the try that
/// took it. On timeout the error names the holder.
pub(crate) async fn take<C: Link + ?Sized>(
    client: &mut C,
    key: i64,
    wait: &WaitPolicy<'_>,
    attempt: &Attempt<'_>,
) -> Result<TextRow, RunError> {
    let started = Instant::now();
    let mut pause = FIRST_POLL;
    let mut told = false;
    loop {
        let row = simple_row(client, attempt.sql, attempt.doing).await?;
        if (attempt.taken)(&row) {
            return Ok(row);
        }
        if !attempt.after_miss.is_empty() {
            run(client, attempt.after_miss, "waiting for the migration lock").await?;
        }
        let waited = started.elapsed();
        if waited >= wait.limit {
            return Err(RunError::Backend(BackendError::LockTimeout {
                waited,
                holder: holder(client, key).await,
            }));
        }
        if !told && waited >= QUIET_WAIT {
            told = true;
            if wait.is_heard() {
                let holder = holder(client, key).await;
                wait.tell(&LockWait {
                    limit: wait.limit,
                    holder,
                });
            }
        }
        client
            .pause(pause.min(wait.limit.saturating_sub(waited)))
            .await;
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// Releases the session lock `key` after running `before` (which restores
/// session settings) in the same round trip; an error when the lock was not
/// held (the connection was reset under the run, or someone unlocked it).
pub(crate) async fn release<C: Link + ?Sized>(
    client: &mut C,
    before: &str,
    key: i64,
) -> Result<(), RunError> {
    let released = simple_value(
        client,
        &format!("{before}SELECT pg_advisory_unlock({key})"),
        "releasing the migration lock",
    )
    .await?;
    if released.as_deref() == Some("t") {
        Ok(())
    } else {
        Err(RunError::Backend(BackendError::LockLost))
    }
}

/// Who holds the lock `key`: pid, application, client, and since when.
async fn holder<C: Link + ?Sized>(client: &mut C, key: i64) -> Option<String> {
    // An advisory lock on a bigint key shows its high half as classid and
    // its low half as objid.
    let (high, low) = ((key >> 32) as u32, key as u32);
    let sql = format!(
        "SELECT a.pid, coalesce(nullif(a.application_name, ''), '(no application_name)'), coalesce(host(a.client_addr), 'local'), \
         to_char(coalesce(a.xact_start, a.backend_start), 'YYYY-MM-DD HH24:MI:SS TZ'), a.state \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {high} AND l.objid = {low} AND l.objsubid = 1 \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    );
    let rows = simple_rows(client, &sql, "finding the lock holder")
        .await
        .ok()?;
    let row = rows.first()?;
    let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    Some(format!(
        "pid {} ({}, from {}, {} since {})",
        field(0),
        field(1),
        field(2),
        field(4),
        field(3)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_a_stable_function_of_the_table_name() {
        assert_eq!(
            lock_key("public.alembic_version"),
            lock_key("public.alembic_version")
        );
        assert_ne!(
            lock_key("public.alembic_version"),
            lock_key("bot.alembic_version")
        );
        // Pinned (as PostgreSQL computes it: `('x' || substr(encode(
        // sha256('migrate:public.alembic_version'), 'hex'), 1, 16))::bit(64)::bigint`):
        // a change would let two releases migrate at once.
        assert_eq!(lock_key("public.alembic_version"), -217_043_766_104_697_569);
    }
}
