//! `repair`: recording what the ledger lacks, accepting an intentionally
//! edited file, and clearing an interrupted non-transactional migration.
//! Every change is logged in `migrate_log`.

use crate::backend::ledger::{LedgerState, LogEntry, Status};
use crate::backend::{in_ledger_transaction, read_ledger, ready, record_migration, Backend};
use crate::error::{LedgerError, RunError};
use crate::run::runner::known_heads;
use crate::set::Migrations;

/// Runs `body` in a locked write transaction with the ledger as it stands,
/// logs what it returns (`Some(what, revisions)`) as a repair, and commits.
fn repair_transaction<B: Backend + ?Sized, T>(
    db: &mut B,
    body: impl AsyncFnOnce(&mut B, &LedgerState) -> Result<(T, Option<(String, Vec<String>)>), RunError>,
) -> Result<T, RunError> {
    ready(in_ledger_transaction(db, async |tx, state| {
        let (value, logged) = body(tx, &state).await?;
        if let Some((what, revisions)) = logged {
            tx.log(&LogEntry {
                operation: "repair",
                heads_before: &state.heads,
                heads_after: &state.heads,
                revisions: &revisions,
                outcome: "ok",
                error: Some(&what),
            })
            .await?;
        }
        Ok(value)
    }))
}

impl Migrations {
    /// Records checksums for applied revisions that have none (taken over
    /// from Alembic). Returns the revisions it recorded.
    pub(crate) fn record_checksums<B: Backend + ?Sized>(
        &self,
        db: &mut B,
    ) -> Result<Vec<String>, RunError> {
        let graph = self.graph()?;
        repair_transaction(db, async |db, state| {
            let current = known_heads(self, graph, state)?;
            db.ensure_ledger().await?;
            let below = graph.ancestors(&current);
            let mut recorded = Vec::new();
            for (i, m) in self.as_slice().iter().enumerate() {
                let row = state.applied.iter().find(|r| r.revision == m.revision());
                let checksum = m.checksum().to_string();
                match row {
                    Some(row) if row.checksum.is_none() && row.status != Status::Started => {
                        db.set_checksum(m.revision(), &checksum).await?;
                        recorded.push(m.revision().to_owned());
                    }
                    None if below[i] => {
                        record_migration(db, m, Status::Applied, Some(checksum), None).await?;
                        recorded.push(m.revision().to_owned());
                    }
                    _ => {}
                }
            }
            let logged = (!recorded.is_empty()).then(|| {
                (
                    "recorded checksums of revisions applied without them".to_owned(),
                    recorded.clone(),
                )
            });
            Ok((recorded, logged))
        })
    }

    /// The recorded and current checksum of an applied revision.
    pub(crate) fn checksum_change<B: Backend + ?Sized>(
        &self,
        db: &mut B,
        revision: &str,
    ) -> Result<(Option<String>, String), RunError> {
        let m = self
            .get(revision)
            .ok_or_else(|| crate::TargetError::Unknown(revision.to_owned()))?;
        let state = ready(read_ledger(db))?;
        let row = state
            .applied
            .iter()
            .find(|r| r.revision == revision)
            .ok_or_else(|| {
                RunError::Ledger(LedgerError::NotRecorded {
                    revision: revision.to_owned(),
                    action: "accept",
                })
            })?;
        Ok((row.checksum.clone(), m.checksum().to_string()))
    }

    /// Accepts the current file of an applied revision: its checksum
    /// replaces the recorded one.
    pub(crate) fn accept_checksum<B: Backend + ?Sized>(
        &self,
        db: &mut B,
        revision: &str,
    ) -> Result<(), RunError> {
        let (old, new) = self.checksum_change(db, revision)?;
        repair_transaction(db, async |db, _| {
            db.set_checksum(revision, &new).await?;
            let what = format!(
                "accepted edited file: {} -> {new}",
                old.as_deref().unwrap_or("no checksum")
            );
            Ok(((), Some((what, vec![revision.to_owned()]))))
        })
    }

    /// Removes the "started" mark of a non-transactional migration that was
    /// interrupted, once the operator has put the database right by hand;
    /// the next upgrade runs it again.
    pub fn clear_started<B: Backend + ?Sized>(
        &self,
        db: &mut B,
        revision: &str,
    ) -> Result<(), RunError> {
        repair_transaction(db, async |db, state| {
            let started = state
                .applied
                .iter()
                .any(|r| r.revision == revision && r.status == Status::Started);
            if !started {
                return Err(RunError::Ledger(LedgerError::NotStarted {
                    revision: revision.to_owned(),
                }));
            }
            db.forget(revision).await?;
            let what = "cleared the started mark of an interrupted migration".to_owned();
            Ok(((), Some((what, vec![revision.to_owned()]))))
        })
    }
}
