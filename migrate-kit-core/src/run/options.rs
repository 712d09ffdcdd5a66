//! What a run is told (its options, with the callbacks a face gives) and
//! what it reports back: the types the runner and its helpers share.

use crate::backend::foreign_keys::Violation;
use crate::backend::{LockWait, WaitPolicy};
use crate::graph::plan::{Direction, Plan};
use std::time::Duration;

/// How a run behaves.
pub struct RunOptions<'a> {
    /// Commit after each migration instead of once for the whole run.
    pub transaction_per_migration: bool,
    /// How long to wait for another process's lock before giving up (the
    /// SQLite write lock, or the PostgreSQL migration lock).
    pub busy_timeout: Duration,
    /// Called after each migration completes.
    pub on_step: Option<&'a (dyn Fn(&StepReport) + Sync)>,
    /// Called once when another connection has held the lock for a
    /// second, with how long the run will wait in all and who holds it.
    pub on_wait: Option<&'a (dyn Fn(&LockWait) + Sync)>,
    /// Let a downgrade first revert applied revisions this set does not
    /// contain (the database is ahead of the binary), newest first, with
    /// the downgrade SQL stored when they were applied.
    pub roll_back_unknown: bool,
}

impl RunOptions<'_> {
    /// Tells the bot's logs and [`RunOptions::on_step`] that a migration ran.
    pub(crate) fn tell_step(&self, report: &StepReport) {
        let direction = match report.direction {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        };
        crate::events::step(
            &report.revision,
            &report.message,
            direction,
            report.elapsed,
            report.transactional,
        );
        if let Some(on_step) = self.on_step {
            on_step(report);
        }
    }

    /// The backend's part of these options: how it waits for a lock.
    pub(crate) fn wait_policy(&self) -> WaitPolicy<'_> {
        WaitPolicy {
            limit: self.busy_timeout,
            on_wait: self.on_wait,
        }
    }
}

impl Default for RunOptions<'_> {
    fn default() -> Self {
        RunOptions {
            transaction_per_migration: false,
            busy_timeout: WaitPolicy::default().limit,
            on_step: None,
            on_wait: None,
            roll_back_unknown: false,
        }
    }
}

/// One migration that ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    /// The revision.
    pub revision: String,
    /// Its message.
    pub message: String,
    /// Upgrade or downgrade.
    pub direction: Direction,
    /// The revision's parents, for `a -> b` lines.
    pub from: Vec<String>,
    /// Whether it ran inside the run's transaction (`false`: a
    /// `transactional: false` migration, committed on its own).
    pub transactional: bool,
    /// How long it took.
    pub elapsed: Duration,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// `alembic_version` before.
    pub heads_before: Vec<String>,
    /// `alembic_version` after.
    pub heads_after: Vec<String>,
    /// The migrations that ran, in order.
    pub steps: Vec<StepReport>,
    /// Targets of an upgrade that were applied already, below the version
    /// rows: as Alembic does, the run changed nothing for them.
    pub already_past: Vec<String>,
    /// Foreign key violations the database had before the run (foreign
    /// keys left off by another program); the run added none.
    pub preexisting_violations: Vec<Violation>,
}

impl RunReport {
    /// The report of a run whose plan has no steps: the database stays as
    /// it is.
    pub(crate) fn nothing_to_run(plan: Plan) -> RunReport {
        RunReport {
            heads_before: plan.heads_before,
            heads_after: plan.heads_after,
            steps: Vec::new(),
            already_past: plan.already_past,
            preexisting_violations: Vec::new(),
        }
    }
}
