//! Running upgrades, downgrades and stamps with the transaction rules of
//! DESIGN §6, against any [`Backend`].

use crate::backend::foreign_keys::{self, Violation};
use crate::backend::ledger::{LedgerState, LogEntry, Status};
use crate::backend::sealed::StepRecord;
use crate::backend::{
    apply_row_op_checked, current_heads, downgrade_sql, in_ledger_transaction, new_row,
    read_ledger, ready, record_migration, released, AsyncBackend, Backend, Ops, Origin, RunScope,
    Transaction,
};
use crate::error::{BackendError, LedgerError, RunError};
use crate::graph::plan::{Direction, Plan, RowOp, Step};
use crate::graph::target::Target;
use crate::graph::Graph;
use crate::run::ahead;
use crate::run::options::{RunOptions, RunReport, StepReport};
use crate::set::Migrations;
use std::time::Instant;

/// A step that ran, its ledger writes not sent yet.
struct Ran<'p> {
    step: &'p Step,
    execution_ms: i64,
    checksum: String,
    down_revisions: String,
}

/// Maps ledger heads to graph indices, refusing revisions the set lacks.
pub(crate) fn known_heads(
    set: &Migrations,
    graph: &Graph,
    state: &LedgerState,
) -> Result<Vec<usize>, RunError> {
    let unknown: Vec<String> = state
        .heads
        .iter()
        .filter(|h| graph.find(h).is_none())
        .cloned()
        .collect();
    if let Some((revision, baseline)) = unknown
        .iter()
        .find_map(|h| set.replaced_by(h).map(|m| (h, m)))
    {
        return Err(RunError::Ledger(LedgerError::Squashed {
            revision: revision.clone(),
            baseline: baseline.revision().to_owned(),
        }));
    }
    if !unknown.is_empty() {
        // Newest first, the order a rollback reverts them in.
        let rollback = state
            .applied
            .iter()
            .rev()
            .filter(|row| graph.find(&row.revision).is_none() && row.has_downgrade_sql)
            .map(|row| row.revision.clone())
            .collect();
        return Err(RunError::Ledger(LedgerError::UnknownRevisions {
            revisions: unknown,
            rollback,
            known_heads: graph.names(&crate::run::ahead::heads_after_unknown(graph, state)),
        }));
    }
    Ok(state.heads.iter().filter_map(|h| graph.find(h)).collect())
}

/// Refuses the commit when the run left foreign key violations that were
/// not in the database before it (`baseline`), then commits.
async fn commit<B: Ops + ?Sized>(
    tx: Transaction<'_, B>,
    baseline: &[Violation],
) -> Result<(), RunError> {
    let mut tx = tx;
    ensure_no_new_violations(&mut *tx, baseline).await?;
    tx.commit().await
}

async fn ensure_no_new_violations<B: Ops + ?Sized>(
    db: &mut B,
    baseline: &[Violation],
) -> Result<(), RunError> {
    let after = db.foreign_key_violations().await?;
    let new = foreign_keys::introduced(baseline, &after);
    if new.is_empty() {
        Ok(())
    } else {
        Err(RunError::ForeignKeys {
            violations: new.iter().take(20).map(|v| v.to_string()).collect(),
        })
    }
}

/// What of a run is committed so far (a run commits before the end only
/// with `transaction_per_migration` or a `transactional: false` migration).
#[derive(Debug, Default)]
struct Committed {
    /// Whether anything was committed (a started mark counts).
    any: bool,
    /// The migrations whose changes are committed, in order.
    revisions: Vec<String>,
    /// The `transactional: false` migration running outside a transaction
    /// after its started mark was committed, while it runs.
    in_flight: Option<String>,
}

impl Committed {
    /// Everything in `steps` is committed.
    fn through(&mut self, steps: &[StepReport]) {
        self.any = true;
        self.revisions = steps.iter().map(|s| s.revision.clone()).collect();
    }
}

/// Which way a run goes, and to where.
#[derive(Debug, Clone, Copy)]
enum Operation<'t> {
    Upgrade(&'t Target),
    Downgrade(&'t Target),
}

impl Migrations {
    /// Applies pending migrations up to `target` (`"head"`, `"heads"`, a
    /// revision, `"+1"`, ...) in one transaction. `db` is a
    /// [`sqlite::Connection`](crate::backend::sqlite::Connection) or any other [`Backend`].
    pub fn upgrade<B: Backend + ?Sized>(
        &self,
        db: &mut B,
        target: &str,
    ) -> Result<RunReport, RunError> {
        self.upgrade_with(db, &target.parse()?, &RunOptions::default())
    }

    /// Reverts migrations down to `target` (`"-1"`, `"base"`, a revision, ...) in one transaction.
    pub fn downgrade<B: Backend + ?Sized>(
        &self,
        db: &mut B,
        target: &str,
    ) -> Result<RunReport, RunError> {
        self.downgrade_with(db, &target.parse()?, &RunOptions::default())
    }

    /// [`Migrations::upgrade`] with options.
    pub fn upgrade_with<B: Backend + ?Sized>(
        &self,
        db: &mut B,
        target: &Target,
        options: &RunOptions<'_>,
    ) -> Result<RunReport, RunError> {
        ready(self.upgrade_run(db, target, options))
    }

    /// [`Migrations::downgrade`] with options.
    pub fn downgrade_with<B: Backend + ?Sized>(
        &self,
        db: &mut B,
        target: &Target,
        options: &RunOptions<'_>,
    ) -> Result<RunReport, RunError> {
        ready(self.run(db, Operation::Downgrade(target), options))
    }

    /// [`Migrations::upgrade`] from async code, on an [`AsyncBackend`]
    /// (a `tokio_postgres::Client`, a pooled one, or
    /// [`Postgres`](crate::postgres::Postgres) over one).
    pub async fn upgrade_async<B: AsyncBackend + ?Sized>(
        &self,
        db: &mut B,
        target: &str,
    ) -> Result<RunReport, RunError> {
        self.upgrade_with_async(db, &target.parse()?, &RunOptions::default())
            .await
    }

    /// [`Migrations::downgrade`] from async code.
    pub async fn downgrade_async<B: AsyncBackend + ?Sized>(
        &self,
        db: &mut B,
        target: &str,
    ) -> Result<RunReport, RunError> {
        self.downgrade_with_async(db, &target.parse()?, &RunOptions::default())
            .await
    }

    /// [`Migrations::upgrade_with`] from async code.
    pub async fn upgrade_with_async<B: AsyncBackend + ?Sized>(
        &self,
        db: &mut B,
        target: &Target,
        options: &RunOptions<'_>,
    ) -> Result<RunReport, RunError> {
        self.upgrade_run(db, target, options).await
    }

    /// [`Migrations::downgrade_with`] from async code.
    pub async fn downgrade_with_async<B: AsyncBackend + ?Sized>(
        &self,
        db: &mut B,
        target: &Target,
        options: &RunOptions<'_>,
    ) -> Result<RunReport, RunError> {
        self.run(db, Operation::Downgrade(target), options).await
    }

    /// An upgrade: nothing, read without the lock, when the database is
    /// already at `target`; else the locked run.
    async fn upgrade_run<B: Ops + ?Sized>(
        &self,
        db: &mut B,
        target: &Target,
        options: &RunOptions<'_>,
    ) -> Result<RunReport, RunError> {
        if let Some(report) = self.already_there(db, self.graph()?, target).await {
            return Ok(report);
        }
        self.upgrade_locked(db, target, options).await
    }

    /// The upgrade under the migration lock, without first looking whether
    /// there is anything to run (for a caller that just read the ledger).
    pub(crate) async fn upgrade_locked<B: Ops + ?Sized>(
        &self,
        db: &mut B,
        target: &Target,
        options: &RunOptions<'_>,
    ) -> Result<RunReport, RunError> {
        self.run(db, Operation::Upgrade(target), options).await
    }

    /// The database's version rows as revisions of this set; an error names
    /// rows this set does not contain (and what can roll them back).
    pub(crate) async fn database_heads<B: Ops + ?Sized>(
        &self,
        db: &mut B,
    ) -> Result<Vec<usize>, RunError> {
        known_heads(self, self.graph()?, &read_ledger(db).await?)
    }

    /// The plan a run would follow from the database's current heads, without running it.
    pub(crate) fn plan<B: Backend + ?Sized>(
        &self,
        db: &mut B,
        target: &Target,
        direction: Direction,
    ) -> Result<Plan, RunError> {
        let current = ready(self.database_heads(db))?;
        self.plan_from(&current, target, direction)
    }

    /// The plan from the given heads (revision indices).
    pub(crate) fn plan_from(
        &self,
        current: &[usize],
        target: &Target,
        direction: Direction,
    ) -> Result<Plan, RunError> {
        let graph = self.graph()?;
        let plan = match direction {
            Direction::Up => graph.plan_upgrade(current, target)?,
            Direction::Down => graph.plan_downgrade(current, target)?,
        };
        if direction == Direction::Down {
            if let Some(step) = plan
                .steps
                .iter()
                .find(|s| self.as_slice()[s.revision].downgrade().is_none())
            {
                let m = &self.as_slice()[step.revision];
                return Err(RunError::Ledger(LedgerError::Irreversible {
                    revision: m.revision().to_owned(),
                    path: m.path().to_owned(),
                }));
            }
        }
        Ok(plan)
    }

    async fn run<B: Ops + ?Sized>(
        &self,
        db: &mut B,
        operation: Operation<'_>,
        options: &RunOptions<'_>,
    ) -> Result<RunReport, RunError> {
        let graph = self.graph()?;
        let run = async {
            let scope = self.scope(db, graph, operation, options).await;
            let session = db.acquire(&options.wait_policy(), scope).await?;
            let outcome = self
                .run_in_session(db, &session, graph, operation, options)
                .await;
            let release = db.release(session).await;
            released(outcome, release)
        };
        crate::events::in_run_span(operation.name(), operation.target(), run).await
    }

    /// A run inside its session: on failure after part of it was committed,
    /// the error and `migrate_log` say what is committed.
    async fn run_in_session<B: Ops + ?Sized>(
        &self,
        db: &mut B,
        session: &B::Session,
        graph: &Graph,
        operation: Operation<'_>,
        options: &RunOptions<'_>,
    ) -> Result<RunReport, RunError> {
        let mut committed = Committed::default();
        let mut planned = None;
        let outcome = self
            .run_locked(
                db,
                session,
                graph,
                operation,
                options,
                &mut committed,
                &mut planned,
            )
            .await;
        let error = match outcome {
            Ok(report) => {
                crate::events::run_finished(
                    &report.heads_before,
                    &report.heads_after,
                    report.steps.len(),
                );
                return Ok(report);
            }
            Err(error) => error,
        };
        let Some(plan) = planned.filter(|_| committed.any) else {
            return Err(error);
        };
        // Part of the run is committed: the error and the log must say so.
        // What failed is rolled back before the ledger is read.
        let state = match db.settle(session).await {
            Ok(()) => read_ledger(db).await.ok(),
            Err(_) => None,
        };
        let heads_after = state.as_ref().map(|s| s.heads.clone());
        // The ledger says which migration is marked started; when it
        // cannot be read, the run knows which one it left in flight.
        let started = match &state {
            Some(state) => state
                .applied
                .iter()
                .find(|r| r.status == Status::Started)
                .map(|r| r.revision.clone()),
            None => committed.in_flight.clone(),
        };
        let revisions: Vec<String> = plan
            .steps
            .iter()
            .map(|s| graph.id(s.revision).to_owned())
            .collect();
        let text = error.to_string();
        let entry = LogEntry {
            operation: operation.name(),
            heads_before: &plan.heads_before,
            heads_after: heads_after.as_deref().unwrap_or_default(),
            revisions: &revisions,
            outcome: "failed",
            error: Some(&text),
        };
        // The failure is logged when the database lets it be; the error
        // that stopped the run is what the caller must see.
        if let Ok(mut tx) = Transaction::begin(db, session, &options.wait_policy()).await {
            if tx.log(&entry).await.is_ok() {
                let _ = tx.commit().await;
            }
        }
        Err(RunError::PartlyCommitted {
            cause: Box::new(error),
            committed: committed.revisions,
            started,
            heads_now: heads_after,
        })
    }

    /// The report of an upgrade with nothing to run, read without the
    /// migration lock: what the ledger holds is committed, so when it is
    /// already at `target` no run can change that, and a bot's start need
    /// not wait behind another writer (or be refused on a read-only
    /// database) only to do nothing. `None` when there is anything to run
    /// or anything unusual to report (no ledger, a dirty mark, rows this
    /// set lacks, a read that failed): the locked run decides and says.
    async fn already_there<B: Ops + ?Sized>(
        &self,
        db: &mut B,
        graph: &Graph,
        target: &Target,
    ) -> Option<RunReport> {
        let state = read_ledger(db).await.ok()?;
        if !state.has_version_table || state.applied.iter().any(|r| r.status == Status::Started) {
            return None;
        }
        let current = known_heads(self, graph, &state).ok()?;
        let plan = self.plan_from(&current, target, Direction::Up).ok()?;
        plan.steps
            .is_empty()
            .then(|| RunReport::nothing_to_run(plan))
    }

    /// The body of a run, inside the session. `planned` receives the plan
    /// so that a partly committed run can be logged.
    #[allow(clippy::too_many_arguments)]
    async fn run_locked<B: Ops + ?Sized>(
        &self,
        db: &mut B,
        session: &B::Session,
        graph: &Graph,
        operation: Operation<'_>,
        options: &RunOptions<'_>,
        committed: &mut Committed,
        planned: &mut Option<Plan>,
    ) -> Result<RunReport, RunError> {
        let mut tx = Transaction::begin(db, session, &options.wait_policy()).await?;
        let state = read_ledger(&mut *tx).await?;
        if !state.has_version_table && !state.user_tables.is_empty() {
            return Err(RunError::Ledger(LedgerError::CreatedByHand {
                tables: state.user_tables,
            }));
        }
        if let Some(row) = state.applied.iter().find(|r| r.status == Status::Started) {
            return Err(RunError::Ledger(LedgerError::Dirty {
                revision: row.revision.clone(),
            }));
        }
        // A downgrade may first revert revisions this set does not contain.
        let ahead = match operation {
            Operation::Downgrade(_) if options.roll_back_unknown => {
                let unknown = ahead::unknown_revisions(graph, &state);
                let squashed = unknown.iter().any(|u| self.replaced_by(u).is_some());
                (!unknown.is_empty() && !squashed).then_some(unknown)
            }
            _ => None,
        };
        let current = match &ahead {
            Some(_) => ahead::heads_after_unknown(graph, &state),
            None => known_heads(self, graph, &state)?,
        };
        let plan = match operation {
            Operation::Upgrade(t) => self.plan_from(&current, t, Direction::Up)?,
            Operation::Downgrade(t) => match &ahead {
                Some(unknown) => {
                    let mut plan = match ahead::remaining_target(t, unknown)? {
                        Some(rest) => self.plan_from(&current, &rest, Direction::Down)?,
                        None => Plan {
                            steps: Vec::new(),
                            heads_before: Vec::new(),
                            heads_after: graph.names(&current),
                            already_past: Vec::new(),
                        },
                    };
                    plan.heads_before = state.heads.clone();
                    plan
                }
                None => self.plan_from(&current, t, Direction::Down)?,
            },
        };
        if plan.steps.is_empty() && ahead.is_none() {
            // Nothing to do: leave the database untouched, ledger included.
            return Ok(RunReport::nothing_to_run(plan));
        }
        *planned = Some(plan.clone());
        // Violations already there are not this run's doing.
        let baseline = tx.foreign_key_violations().await?;
        self.prepare_ledger(&mut *tx, graph, &state, &current)
            .await?;
        let mut steps = Vec::with_capacity(plan.steps.len());
        if let Some(unknown) = &ahead {
            let mut partly = false;
            let rolled_back = self
                .roll_back_unknown(&mut tx, options, &mut partly, &state, unknown, &current)
                .await;
            if partly {
                committed.any = true;
            }
            steps = rolled_back?;
        }
        if let Some(problem) = self.commits_within(&plan, options) {
            if !tx.allows_commits_within_a_run() {
                return Err(problem);
            }
        }
        // The ledger writes of the steps run since the last commit, sent
        // together before anything commits (one round trip on a server).
        let mut unrecorded = Vec::new();
        for step in &plan.steps {
            let transactional = self.as_slice()[step.revision].is_transactional();
            if !transactional {
                // It commits what came before it.
                self.record(&mut tx, &mut unrecorded).await?;
            }
            let (report, ran) = self
                .run_step(&mut tx, step, options, &baseline, &steps, committed)
                .await?;
            unrecorded.push(ran);
            options.tell_step(&report);
            steps.push(report);
            // A migration that ran outside a transaction is recorded as
            // applied at once: a later failure must not leave it marked as
            // started, as if it had been interrupted.
            let commit_now = options.transaction_per_migration || !transactional;
            if commit_now && step != plan.steps.last().unwrap_or(step) {
                self.record(&mut tx, &mut unrecorded).await?;
                ensure_no_new_violations(&mut *tx, &baseline).await?;
                tx.checkpoint(&options.wait_policy()).await?;
                committed.through(&steps);
            }
        }
        self.record(&mut tx, &mut unrecorded).await?;
        let revisions: Vec<String> = steps.iter().map(|s| s.revision.clone()).collect();
        tx.log(&LogEntry {
            operation: operation.name(),
            heads_before: &plan.heads_before,
            heads_after: &plan.heads_after,
            revisions: &revisions,
            outcome: "ok",
            error: None,
        })
        .await?;
        commit(tx, &baseline).await?;
        Ok(RunReport {
            heads_before: plan.heads_before.clone(),
            heads_after: plan.heads_after.clone(),
            steps,
            already_past: Vec::new(),
            preexisting_violations: baseline,
        })
    }

    /// Whether a run of `operation` may commit before its end, judged before
    /// the lock from the files, the options and (for a downgrade that may
    /// roll back revisions these files lack) the committed ledger: the lock
    /// it takes must then outlive a transaction. Should the ledger change
    /// before the lock, a stored downgrade that needs its own commits is
    /// refused rather than run unprotected (see `roll_back_unknown`).
    async fn scope<B: Ops + ?Sized>(
        &self,
        db: &mut B,
        graph: &Graph,
        operation: Operation<'_>,
        options: &RunOptions<'_>,
    ) -> RunScope {
        let partway = options.transaction_per_migration
            || self.as_slice().iter().any(|m| !m.is_transactional())
            || (matches!(operation, Operation::Downgrade(_))
                && options.roll_back_unknown
                && read_ledger(db).await.map_or(true, |state| {
                    !ahead::unknown_revisions(graph, &state).is_empty()
                }));
        if partway {
            RunScope::CommitsPartway
        } else {
            RunScope::OneTransaction
        }
    }

    /// Why `plan` would commit before its end, if it would.
    fn commits_within(&self, plan: &Plan, options: &RunOptions<'_>) -> Option<RunError> {
        let first = plan.steps.first()?;
        let reason = |step: &Step, reason| {
            RunError::Backend(BackendError::NeedsSessionLock {
                revision: self.as_slice()[step.revision].revision().to_owned(),
                reason,
            })
        };
        if let Some(step) = plan
            .steps
            .iter()
            .find(|s| !self.as_slice()[s.revision].is_transactional())
        {
            return Some(reason(step, "is `transactional: false`"));
        }
        (options.transaction_per_migration && plan.steps.len() > 1)
            .then(|| reason(first, "starts a run with a transaction per migration"))
    }

    /// Creates missing ledger tables. A database that Alembic migrated gets
    /// `migrate_applied` rows for what it already has, without checksums.
    async fn prepare_ledger<B: Ops + ?Sized>(
        &self,
        db: &mut B,
        graph: &Graph,
        state: &LedgerState,
        current: &[usize],
    ) -> Result<(), RunError> {
        db.ensure_ledger().await?;
        if state.has_version_table && !state.has_applied_table {
            let taken_over = graph.ancestors(current);
            for (i, m) in self.as_slice().iter().enumerate() {
                if taken_over[i] {
                    record_migration(db, m, Status::Applied, None, None).await?;
                }
            }
        }
        Ok(())
    }

    /// Runs one migration; its ledger writes are returned, for
    /// [`Migrations::record`] to send with those of the steps around it. A
    /// non-transactional migration (the steps before it recorded) commits,
    /// marks itself as started, runs outside any transaction, then reopens
    /// the run's transaction.
    async fn run_step<'p, B: Ops + ?Sized>(
        &self,
        tx: &mut Transaction<'_, B>,
        step: &'p Step,
        options: &RunOptions<'_>,
        baseline: &[Violation],
        done: &[StepReport],
        committed: &mut Committed,
    ) -> Result<(StepReport, Ran<'p>), RunError> {
        let m = &self.as_slice()[step.revision];
        let started = Instant::now();
        let (section, direction) = match step.direction {
            Direction::Up => (m.upgrade(), "upgrade"),
            Direction::Down => match m.downgrade() {
                Some(section) => (section, "downgrade"),
                None => {
                    return Err(RunError::Ledger(LedgerError::Irreversible {
                        revision: m.revision().to_owned(),
                        path: m.path().to_owned(),
                    }))
                }
            },
        };
        let origin = Origin {
            revision: m.revision(),
            path: m.path(),
            direction,
        };
        if m.is_transactional() {
            if !tx
                .run_script_in_transaction(&mut section.pieces(), &origin)
                .await?
            {
                let unrecorded = done[committed.revisions.len()..]
                    .iter()
                    .map(|s| s.revision.clone())
                    .chain(std::iter::once(m.revision().to_owned()))
                    .collect();
                return Err(RunError::TransactionEnded {
                    revision: m.revision().to_owned(),
                    path: m.path().to_owned(),
                    unrecorded,
                    heads_now: current_heads(&mut **tx).await.ok(),
                });
            }
        } else {
            if step.direction == Direction::Up {
                let checksum = Some(m.checksum().to_string());
                record_migration(&mut **tx, m, Status::Started, checksum, None).await?;
            }
            ensure_no_new_violations(&mut **tx, baseline).await?;
            // It commits what came before it (its started mark included),
            // runs outside any transaction, then the run goes on in a new one.
            tx.suspend().await?;
            committed.through(done);
            if step.direction == Direction::Up {
                committed.in_flight = Some(m.revision().to_owned());
            }
            tx.run_script(&mut section.pieces(), &origin).await?;
            tx.resume(&options.wait_policy()).await?;
            committed.in_flight = None;
        }
        let elapsed = started.elapsed();
        let report = StepReport {
            revision: m.revision().to_owned(),
            message: m.message().to_owned(),
            direction: step.direction,
            from: m.down_revisions().map(str::to_owned).collect(),
            transactional: m.is_transactional(),
            elapsed,
        };
        let ran = Ran {
            step,
            execution_ms: i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX),
            checksum: m.checksum().to_string(),
            down_revisions: m.down_revisions().collect::<Vec<_>>().join(","),
        };
        Ok((report, ran))
    }

    /// Writes the ledger rows of the steps in `unrecorded`, in order, and
    /// empties it.
    async fn record<B: Ops + ?Sized>(
        &self,
        tx: &mut Transaction<'_, B>,
        unrecorded: &mut Vec<Ran<'_>>,
    ) -> Result<(), RunError> {
        let downgrades = unrecorded
            .iter()
            .map(|ran| match ran.step.direction {
                Direction::Up => downgrade_sql(&self.as_slice()[ran.step.revision]),
                Direction::Down => Ok(None),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let records: Vec<StepRecord<'_>> = unrecorded
            .iter()
            .zip(&downgrades)
            .map(|(ran, downgrade)| {
                let m = &self.as_slice()[ran.step.revision];
                match ran.step.direction {
                    Direction::Up => StepRecord {
                        row_ops: &ran.step.row_ops,
                        applied: Some(new_row(
                            m,
                            Status::Applied,
                            Some(&ran.checksum),
                            (&ran.down_revisions, downgrade.as_deref()),
                            Some(ran.execution_ms),
                        )),
                        forget: Vec::new(),
                    },
                    Direction::Down => StepRecord {
                        row_ops: &ran.step.row_ops,
                        applied: None,
                        forget: std::iter::once(m.revision())
                            .chain(m.replaces().map(|(replaced, _)| replaced))
                            .collect(),
                    },
                }
            })
            .collect();
        tx.record_steps(&records).await?;
        unrecorded.clear();
        Ok(())
    }

    /// The version rows [`Migrations::stamp`] would leave, without changing
    /// anything.
    pub(crate) fn stamp_rows<B: Backend + ?Sized>(
        &self,
        db: &mut B,
        target: &Target,
        purge: bool,
    ) -> Result<Vec<String>, RunError> {
        let graph = self.graph()?;
        let current = if purge {
            Vec::new()
        } else {
            ready(self.database_heads(db))?
        };
        let (_, rows) = graph.plan_stamp(&current, target, purge)?;
        Ok(graph.names(&rows))
    }

    /// Marks the database as being at `target` without running migrations
    /// (Alembic's `stamp`). With `purge`, existing version rows are dropped
    /// first, which also works when they name unknown revisions.
    pub fn stamp<B: Backend + ?Sized>(
        &self,
        db: &mut B,
        target: &Target,
        purge: bool,
    ) -> Result<RunReport, RunError> {
        let graph = self.graph()?;
        ready(in_ledger_transaction(db, async |tx, state| {
            let current = if purge {
                Vec::new()
            } else {
                known_heads(self, graph, &state)?
            };
            let (mut ops, rows) = graph.plan_stamp(&current, target, purge)?;
            if purge {
                ops = state
                    .heads
                    .iter()
                    .map(|h| RowOp::Delete(h.clone()))
                    .chain(ops)
                    .collect();
            }
            self.prepare_ledger(&mut **tx, graph, &state, &current)
                .await?;
            for op in &ops {
                apply_row_op_checked(&mut **tx, op).await?;
            }
            // migrate_applied follows: exactly the revisions below the new heads.
            let applied = graph.ancestors(&rows);
            let recorded: Vec<&str> = state.applied.iter().map(|r| r.revision.as_str()).collect();
            let mut touched = Vec::new();
            for row in &state.applied {
                if graph.find(&row.revision).is_none_or(|i| !applied[i]) {
                    tx.forget(&row.revision).await?;
                    touched.push(row.revision.clone());
                }
            }
            for (i, m) in self.as_slice().iter().enumerate() {
                if applied[i] && !recorded.contains(&m.revision()) {
                    let checksum = Some(m.checksum().to_string());
                    record_migration(&mut **tx, m, Status::Stamped, checksum, None).await?;
                    touched.push(m.revision().to_owned());
                }
            }
            let heads_after = graph.names(&rows);
            tx.log(&LogEntry {
                operation: "stamp",
                heads_before: &state.heads,
                heads_after: &heads_after,
                revisions: &touched,
                outcome: "ok",
                error: None,
            })
            .await?;
            Ok(RunReport {
                heads_before: state.heads,
                heads_after,
                steps: Vec::new(),
                already_past: Vec::new(),
                preexisting_violations: Vec::new(),
            })
        }))
    }
}

impl Operation<'_> {
    fn name(&self) -> &'static str {
        match self {
            Operation::Upgrade(_) => "upgrade",
            Operation::Downgrade(_) => "downgrade",
        }
    }

    fn target(&self) -> &Target {
        match self {
            Operation::Upgrade(target) | Operation::Downgrade(target) => target,
        }
    }
}
