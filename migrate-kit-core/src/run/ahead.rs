//! A database ahead of the binary: it records revisions this migration set
//! does not contain (a newer deploy was rolled back to an older binary).
//! `migrate_applied` kept each revision's downgrade SQL when it ran, so a
//! downgrade can revert them, newest first, in the same atomic run.

use crate::backend::ledger::LedgerState;
use crate::backend::{apply_row_op_checked, Ops, Origin, Transaction};
use crate::error::{BackendError, LedgerError, RunError};
use crate::files::pieces::Pieces;
use crate::files::statements::{self, Unfit};
use crate::graph::plan::{Direction, RowOp};
use crate::graph::target::{Target, TargetError};
use crate::graph::Graph;
use crate::run::options::{RunOptions, StepReport};
use crate::set::Migrations;
use std::time::Instant;

/// Where stored downgrade SQL is named in errors.
const STORED: &str = "migrate_applied (stored downgrade SQL)";

/// The applied revisions `graph` does not contain, newest first.
pub(crate) fn unknown_revisions(graph: &Graph, state: &LedgerState) -> Vec<String> {
    let mut unknown: Vec<String> = Vec::new();
    for revision in state
        .applied
        .iter()
        .rev()
        .map(|r| &r.revision)
        .chain(&state.heads)
    {
        if graph.find(revision).is_none() && !unknown.contains(revision) {
            unknown.push(revision.clone());
        }
    }
    unknown
}

/// The version rows once the unknown revisions are reverted: the heads of
/// the applied revisions this set contains.
pub(crate) fn heads_after_unknown(graph: &Graph, state: &LedgerState) -> Vec<usize> {
    let mut applied = vec![false; graph.len()];
    for row in &state.applied {
        if let Some(i) = graph.find(&row.revision) {
            applied[i] = true;
        }
    }
    graph.heads_of(&applied)
}

/// What a downgrade still has to do after reverting `unknown`: a bare `-N`
/// counts them first (`None`: nothing more); other targets are unchanged.
pub(crate) fn remaining_target(
    target: &Target,
    unknown: &[String],
) -> Result<Option<Target>, RunError> {
    let Target::Relative {
        branch: None,
        symbol: None,
        steps,
    } = target
    else {
        return Ok(Some(target.clone()));
    };
    let count = i64::try_from(unknown.len()).unwrap_or(i64::MAX);
    match steps + count {
        0 => Ok(None),
        rest if rest < 0 => Ok(Some(Target::Relative {
            branch: None,
            symbol: None,
            steps: rest,
        })),
        _ => Err(RunError::Target(TargetError::Relative {
            target: target.to_string(),
            reason: format!(
                "the database has {count} revisions this binary does not contain ({}), and they are reverted together; `downgrade -{count}` or a revision these files hold reverts them all",
                unknown.join(", ")
            ),
        })),
    }
}

impl Migrations {
    /// Reverts every applied revision this set does not contain, newest
    /// first, with its stored downgrade SQL, and moves the version rows to
    /// `heads`, the heads of what remains ([`heads_after_unknown`]). Inside
    /// the caller's transaction; returns the steps.
    pub(crate) async fn roll_back_unknown<B: Ops + ?Sized>(
        &self,
        tx: &mut Transaction<'_, B>,
        options: &RunOptions<'_>,
        committed: &mut bool,
        state: &LedgerState,
        unknown: &[String],
        heads: &[usize],
    ) -> Result<Vec<StepReport>, RunError> {
        let graph = self.graph()?;
        let stored: Vec<_> = tx
            .stored_downgrades()
            .await?
            .into_iter()
            .filter(|s| unknown.contains(&s.revision))
            .collect();
        let missing: Vec<String> = unknown
            .iter()
            .filter(|u| !stored.iter().any(|s| &s.revision == *u && s.sql.is_some()))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let rollback = stored
                .iter()
                .filter(|s| s.sql.is_some())
                .map(|s| s.revision.clone())
                .collect();
            return Err(RunError::Ledger(LedgerError::UnknownRevisions {
                revisions: missing,
                rollback,
                known_heads: graph.names(&heads_after_unknown(graph, state)),
            }));
        }
        let mut steps = Vec::with_capacity(stored.len());
        for revision in &stored {
            let started = Instant::now();
            let sql = revision.sql.as_deref().unwrap_or_default();
            let origin = Origin {
                revision: &revision.revision,
                path: STORED,
                direction: "downgrade",
            };
            let transactional = !needs_autocommit(sql);
            if !transactional {
                if !tx.allows_commits_within_a_run() {
                    return Err(RunError::Backend(BackendError::NeedsSessionLock {
                        revision: revision.revision.clone(),
                        reason: "has stored downgrade SQL that runs outside a transaction",
                    }));
                }
                // Its file was `transactional: false`: what came before is
                // committed, and it runs outside the run's transaction.
                tx.suspend().await?;
                *committed = true;
                tx.run_script(&mut Pieces::held(sql, 1), &origin).await?;
                tx.resume(&options.wait_policy()).await?;
            } else {
                tx.run_script(&mut Pieces::held(sql, 1), &origin).await?;
            }
            tx.forget(&revision.revision).await?;
            steps.push(StepReport {
                revision: revision.revision.clone(),
                message: revision.message.clone(),
                direction: Direction::Down,
                from: revision.down_revisions.clone(),
                transactional,
                elapsed: started.elapsed(),
            });
        }
        for row in &state.heads {
            if graph.find(row).is_none_or(|i| !heads.contains(&i)) {
                apply_row_op_checked(&mut **tx, &RowOp::Delete(row.clone())).await?;
            }
        }
        for &h in heads {
            if !state.heads.iter().any(|r| r == graph.id(h)) {
                apply_row_op_checked(&mut **tx, &RowOp::Insert(graph.id(h).to_owned())).await?;
            }
        }
        Ok(steps)
    }
}

/// Whether stored downgrade SQL cannot run inside a transaction (its
/// migration was `transactional: false`, which the ledger does not record).
fn needs_autocommit(sql: &str) -> bool {
    statements::split(sql).any(|s| s.problem(true) == Some(Unfit::Concurrently))
}
