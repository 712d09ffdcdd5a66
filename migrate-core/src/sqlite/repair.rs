//! `repair`: recording what the ledger lacks, accepting an intentionally
//! edited file, and clearing an interrupted non-transactional migration.
//! Every change is logged in `migrate_log`.

use super::error::{Doing, RunError};
use super::ledger::{self, LogEntry, Status};
use super::runner::known_heads;
use crate::set::Migrations;
use rusqlite::Connection;

fn in_transaction<T>(
    conn: &Connection,
    body: impl FnOnce() -> Result<T, RunError>,
) -> Result<T, RunError> {
    super::lock::begin_immediate(conn).doing("taking the write lock")?;
    let result = body();
    match &result {
        Ok(_) => conn.execute_batch("COMMIT").doing("committing")?,
        Err(_) => {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
    result
}

fn log_repair(
    conn: &Connection,
    heads: &[String],
    revisions: &[String],
    what: &str,
) -> Result<(), RunError> {
    ledger::log(
        conn,
        &LogEntry {
            operation: "repair",
            heads_before: heads,
            heads_after: heads,
            revisions,
            outcome: "ok",
            error: Some(what),
        },
    )
}

impl Migrations {
    /// Records checksums for applied revisions that have none (taken over
    /// from Alembic). Returns the revisions it recorded.
    pub fn record_checksums(&self, conn: &Connection) -> Result<Vec<String>, RunError> {
        let graph = self.graph()?;
        in_transaction(conn, || {
            let state = ledger::read(conn)?;
            let current = known_heads(self, graph, &state)?;
            ledger::ensure_tables(conn)?;
            let below = graph.ancestors(&current);
            let mut recorded = Vec::new();
            for (i, m) in self.as_slice().iter().enumerate() {
                let row = state.applied.iter().find(|r| r.revision == m.revision());
                match row {
                    Some(row) if row.checksum.is_none() && row.status != Status::Started => {
                        ledger::set_checksum(conn, m.revision(), &m.checksum().to_string())?;
                        recorded.push(m.revision().to_owned());
                    }
                    None if below[i] => {
                        ledger::record_applied(conn, m, Status::Applied, None)?;
                        recorded.push(m.revision().to_owned());
                    }
                    _ => {}
                }
            }
            if !recorded.is_empty() {
                log_repair(
                    conn,
                    &state.heads,
                    &recorded,
                    "recorded checksums of revisions applied without them",
                )?;
            }
            Ok(recorded)
        })
    }

    /// The recorded and current checksum of an applied revision.
    pub fn checksum_change(
        &self,
        conn: &Connection,
        revision: &str,
    ) -> Result<(Option<String>, String), RunError> {
        let m = self
            .get(revision)
            .ok_or_else(|| crate::TargetError::Unknown(revision.to_owned()))?;
        let state = ledger::read(conn)?;
        let row = state.applied.iter().find(|r| r.revision == revision).ok_or_else(|| {
            RunError::Ledger(format!("revision `{revision}` is not recorded as applied, so there is nothing to accept"))
        })?;
        Ok((row.checksum.clone(), m.checksum().to_string()))
    }

    /// Accepts the current file of an applied revision: its checksum
    /// replaces the recorded one.
    pub fn accept_checksum(&self, conn: &Connection, revision: &str) -> Result<(), RunError> {
        let (old, new) = self.checksum_change(conn, revision)?;
        in_transaction(conn, || {
            let heads = ledger::read(conn)?.heads;
            ledger::set_checksum(conn, revision, &new)?;
            let what = format!(
                "accepted edited file: {} -> {new}",
                old.as_deref().unwrap_or("no checksum")
            );
            log_repair(conn, &heads, &[revision.to_owned()], &what)
        })
    }

    /// Removes the "started" mark of a non-transactional migration that was
    /// interrupted, once the operator has put the database right by hand;
    /// the next upgrade runs it again.
    pub fn clear_started(&self, conn: &Connection, revision: &str) -> Result<(), RunError> {
        in_transaction(conn, || {
            let state = ledger::read(conn)?;
            let started = state
                .applied
                .iter()
                .any(|r| r.revision == revision && r.status == Status::Started);
            if !started {
                return Err(RunError::Ledger(format!(
                    "revision `{revision}` has no started mark to clear"
                )));
            }
            ledger::forget(conn, revision)?;
            log_repair(
                conn,
                &state.heads,
                &[revision.to_owned()],
                "cleared the started mark of an interrupted migration",
            )
        })
    }
}
