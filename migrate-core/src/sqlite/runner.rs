//! Running upgrades, downgrades and stamps against SQLite with the
//! transaction rules of DESIGN §6.

use super::ahead;
use super::error::{Doing, RunError};
use super::exec::run_section;
use super::foreign_keys::{self, Violation};
use super::ledger::{self, LedgerState, LogEntry, Status};
use crate::graph::plan::{Direction, Plan, Step};
use crate::graph::target::Target;
use crate::graph::Graph;
use crate::set::Migrations;
use rusqlite::Connection;
use std::time::{Duration, Instant};

/// How a run behaves.
pub struct RunOptions<'a> {
    /// Commit after each migration instead of once for the whole run.
    pub transaction_per_migration: bool,
    /// How long to wait for another process's lock before giving up.
    pub busy_timeout: Duration,
    /// Called after each migration completes.
    pub on_step: Option<&'a dyn Fn(&StepReport)>,
    /// Called once when another connection has held the write lock for a
    /// second, with how long the run will wait in all.
    pub on_wait: Option<&'a dyn Fn(Duration)>,
    /// Let a downgrade first revert applied revisions this set does not
    /// contain (the database is ahead of the binary), newest first, with
    /// the downgrade SQL stored when they were applied.
    pub roll_back_unknown: bool,
}

impl Default for RunOptions<'_> {
    fn default() -> Self {
        RunOptions {
            transaction_per_migration: false,
            busy_timeout: Duration::from_secs(30),
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

/// Reads the current heads (`alembic_version` rows), without taking a lock.
pub fn current(conn: &Connection) -> Result<Vec<String>, RunError> {
    Ok(ledger::read(conn)?.heads)
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
        return Err(RunError::Squashed {
            revision: revision.clone(),
            baseline: baseline.revision().to_owned(),
        });
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
        return Err(RunError::UnknownRevisions {
            revisions: unknown,
            rollback,
        });
    }
    Ok(state.heads.iter().filter_map(|h| graph.find(h)).collect())
}

/// Foreign keys are switched off for the run (the pragma is a no-op inside a
/// transaction) and restored afterwards, whatever the outcome.
fn with_foreign_keys_off<T>(
    conn: &Connection,
    run: impl FnOnce() -> Result<T, RunError>,
) -> Result<T, RunError> {
    let enabled: bool = conn
        .query_row("PRAGMA foreign_keys", [], |row| row.get(0))
        .doing("reading PRAGMA foreign_keys")?;
    if enabled {
        conn.execute_batch("PRAGMA foreign_keys = OFF")
            .doing("switching foreign keys off")?;
    }
    let result = run();
    if enabled {
        let restored = conn
            .execute_batch("PRAGMA foreign_keys = ON")
            .doing("switching foreign keys back on");
        if result.is_ok() {
            restored?;
        }
    }
    result
}

/// Refuses the commit when the run left foreign key violations that were
/// not in the database before it (`baseline`).
fn check_foreign_keys(conn: &Connection, baseline: &[Violation]) -> Result<(), RunError> {
    let after = foreign_keys::violations(conn)?;
    let new = foreign_keys::introduced(baseline, &after);
    if new.is_empty() {
        Ok(())
    } else {
        Err(RunError::ForeignKeys {
            violations: new.iter().take(20).map(|v| v.to_string()).collect(),
        })
    }
}

/// Refuses a read-only connection before anything is attempted.
fn ensure_writable(conn: &Connection) -> Result<(), RunError> {
    if conn
        .is_readonly(rusqlite::MAIN_DB)
        .doing("opening the database")?
    {
        return Err(RunError::ReadOnly {
            path: conn.path().unwrap_or("(in memory)").to_owned(),
        });
    }
    Ok(())
}

fn begin(conn: &Connection) -> Result<(), RunError> {
    super::lock::begin_immediate(conn).doing("taking the write lock")
}

fn commit(conn: &Connection, baseline: &[Violation]) -> Result<(), RunError> {
    check_foreign_keys(conn, baseline)?;
    conn.execute_batch("COMMIT").doing("committing")
}

fn rollback(conn: &Connection) {
    if !conn.is_autocommit() {
        // A failed rollback leaves SQLite to roll back on close; the original error matters more.
        let _ = conn.execute_batch("ROLLBACK");
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
    /// revision, `"+1"`, ...) in one transaction.
    pub fn upgrade(&self, conn: &mut Connection, target: &str) -> Result<RunReport, RunError> {
        self.upgrade_with(conn, &target.parse()?, &RunOptions::default())
    }

    /// Reverts migrations down to `target` (`"-1"`, `"base"`, a revision, ...) in one transaction.
    pub fn downgrade(&self, conn: &mut Connection, target: &str) -> Result<RunReport, RunError> {
        self.downgrade_with(conn, &target.parse()?, &RunOptions::default())
    }

    /// [`Migrations::upgrade`] with options.
    pub fn upgrade_with(
        &self,
        conn: &mut Connection,
        target: &Target,
        options: &RunOptions<'_>,
    ) -> Result<RunReport, RunError> {
        self.run(conn, Operation::Upgrade(target), options)
    }

    /// [`Migrations::downgrade`] with options.
    pub fn downgrade_with(
        &self,
        conn: &mut Connection,
        target: &Target,
        options: &RunOptions<'_>,
    ) -> Result<RunReport, RunError> {
        self.run(conn, Operation::Downgrade(target), options)
    }

    /// The database's version rows as revisions of this set; an error names
    /// rows this set does not contain (and what can roll them back).
    pub fn database_heads(&self, conn: &Connection) -> Result<Vec<usize>, RunError> {
        known_heads(self, self.graph()?, &ledger::read(conn)?)
    }

    /// The plan a run would follow from the database's current heads, without running it.
    pub fn plan(
        &self,
        conn: &Connection,
        target: &Target,
        direction: Direction,
    ) -> Result<Plan, RunError> {
        let graph = self.graph()?;
        let state = ledger::read(conn)?;
        let current = known_heads(self, graph, &state)?;
        self.plan_from(&current, target, direction)
    }

    /// The plan from the given heads (revision indices).
    pub fn plan_from(
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
                return Err(RunError::Irreversible {
                    revision: m.revision().to_owned(),
                    path: m.path().to_owned(),
                });
            }
        }
        Ok(plan)
    }

    fn run(
        &self,
        conn: &mut Connection,
        operation: Operation<'_>,
        options: &RunOptions<'_>,
    ) -> Result<RunReport, RunError> {
        let graph = self.graph()?;
        conn.busy_timeout(options.busy_timeout)
            .doing("setting the busy timeout")?;
        let conn = &*conn;
        ensure_writable(conn)?;
        with_foreign_keys_off(conn, || {
            super::lock::begin_immediate_waiting(conn, options.on_wait)
                .doing("taking the write lock")?;
            let mut committed = Committed::default();
            let mut planned = None;
            let outcome = self.run_locked(
                conn,
                graph,
                operation,
                options,
                &mut committed,
                &mut planned,
            );
            match outcome {
                Ok(report) => Ok(report),
                Err(error) => {
                    rollback(conn);
                    let Some(plan) = planned.filter(|_| committed.any) else {
                        return Err(error);
                    };
                    // Part of the run is committed: the error and the log must say so.
                    let state = ledger::read(conn).ok();
                    let heads_after = state.as_ref().map(|s| s.heads.clone()).unwrap_or_default();
                    let started = state.as_ref().and_then(|s| {
                        s.applied
                            .iter()
                            .find(|r| r.status == Status::Started)
                            .map(|r| r.revision.clone())
                    });
                    {
                        let revisions: Vec<String> = plan
                            .steps
                            .iter()
                            .map(|s| graph.id(s.revision).to_owned())
                            .collect();
                        let text = error.to_string();
                        let entry = LogEntry {
                            operation: operation.name(),
                            heads_before: &plan.heads_before,
                            heads_after: &heads_after,
                            revisions: &revisions,
                            outcome: "failed",
                            error: Some(&text),
                        };
                        if begin(conn).is_ok() && ledger::log(conn, &entry).is_ok() {
                            let _ = conn.execute_batch("COMMIT");
                        }
                        rollback(conn);
                    }
                    Err(RunError::PartlyCommitted {
                        cause: Box::new(error),
                        committed: committed.revisions,
                        started,
                        heads_now: heads_after,
                    })
                }
            }
        })
    }

    /// The body of a run, inside the write lock. `planned` receives the
    /// plan so that a partly committed run can be logged.
    fn run_locked(
        &self,
        conn: &Connection,
        graph: &Graph,
        operation: Operation<'_>,
        options: &RunOptions<'_>,
        committed: &mut Committed,
        planned: &mut Option<Plan>,
    ) -> Result<RunReport, RunError> {
        let state = ledger::read(conn)?;
        if !state.has_version_table && !state.user_tables.is_empty() {
            return Err(RunError::CreatedByHand {
                tables: state.user_tables,
            });
        }
        if let Some(row) = state.applied.iter().find(|r| r.status == Status::Started) {
            return Err(RunError::Dirty {
                revision: row.revision.clone(),
            });
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
            let _ = conn.execute_batch("COMMIT");
            return Ok(RunReport {
                heads_before: plan.heads_before.clone(),
                heads_after: plan.heads_after,
                steps: Vec::new(),
                already_past: plan.already_past,
                preexisting_violations: Vec::new(),
            });
        }
        *planned = Some(plan.clone());
        // Violations already there are not this run's doing.
        let baseline = foreign_keys::violations(conn)?;
        self.prepare_ledger(conn, graph, &state, &current)?;
        let mut steps = Vec::with_capacity(plan.steps.len());
        if let Some(unknown) = &ahead {
            steps = self.roll_back_unknown(conn, graph, &state, unknown, &current)?;
        }
        for step in &plan.steps {
            let report = self.run_step(conn, step, &baseline, &steps, committed)?;
            if let Some(on_step) = options.on_step {
                on_step(&report);
            }
            steps.push(report);
            if options.transaction_per_migration && step != plan.steps.last().unwrap_or(step) {
                commit(conn, &baseline)?;
                committed.through(&steps);
                begin(conn)?;
            }
        }
        let revisions: Vec<String> = steps.iter().map(|s| s.revision.clone()).collect();
        ledger::log(
            conn,
            &LogEntry {
                operation: operation.name(),
                heads_before: &plan.heads_before,
                heads_after: &plan.heads_after,
                revisions: &revisions,
                outcome: "ok",
                error: None,
            },
        )?;
        commit(conn, &baseline)?;
        Ok(RunReport {
            heads_before: plan.heads_before.clone(),
            heads_after: plan.heads_after.clone(),
            steps,
            already_past: Vec::new(),
            preexisting_violations: baseline,
        })
    }

    /// Creates missing ledger tables. A database that Alembic migrated gets
    /// `migrate_applied` rows for what it already has, without checksums.
    fn prepare_ledger(
        &self,
        conn: &Connection,
        graph: &Graph,
        state: &LedgerState,
        current: &[usize],
    ) -> Result<(), RunError> {
        ledger::ensure_tables(conn)?;
        if state.has_version_table && !state.has_applied_table {
            let taken_over = graph.ancestors(current);
            for (i, m) in self.as_slice().iter().enumerate() {
                if taken_over[i] {
                    ledger::record_taken_over(conn, m)?;
                }
            }
        }
        Ok(())
    }

    /// Runs one migration and records it. A non-transactional migration
    /// commits what came before, marks itself as started, runs in autocommit
    /// mode, then reopens the run's transaction to record its completion.
    fn run_step(
        &self,
        conn: &Connection,
        step: &Step,
        baseline: &[Violation],
        done: &[StepReport],
        committed: &mut Committed,
    ) -> Result<StepReport, RunError> {
        let m = &self.as_slice()[step.revision];
        let started = Instant::now();
        let (section, direction) = match step.direction {
            Direction::Up => (m.upgrade(), "upgrade"),
            Direction::Down => match m.downgrade() {
                Some(section) => (section, "downgrade"),
                None => {
                    return Err(RunError::Irreversible {
                        revision: m.revision().to_owned(),
                        path: m.path().to_owned(),
                    })
                }
            },
        };
        if m.is_transactional() {
            run_section(conn, m, section, direction)?;
        } else {
            if step.direction == Direction::Up {
                ledger::record_applied(conn, m, Status::Started, None)?;
            }
            commit(conn, baseline)?;
            committed.through(done);
            run_section(conn, m, section, direction)?;
            begin(conn)?;
        }
        let elapsed = started.elapsed();
        for op in &step.row_ops {
            ledger::apply_row_op(conn, op)?;
        }
        match step.direction {
            Direction::Up => {
                let ms = i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
                ledger::record_applied(conn, m, Status::Applied, Some(ms))?;
            }
            Direction::Down => {
                ledger::forget(conn, m.revision())?;
                for (replaced, _) in m.replaces() {
                    ledger::forget(conn, replaced)?;
                }
            }
        }
        Ok(StepReport {
            revision: m.revision().to_owned(),
            message: m.message().to_owned(),
            direction: step.direction,
            from: m.down_revisions().map(str::to_owned).collect(),
            elapsed,
        })
    }

    /// The version rows [`Migrations::stamp`] would leave, without changing
    /// anything.
    pub fn stamp_rows(
        &self,
        conn: &Connection,
        target: &Target,
        purge: bool,
    ) -> Result<Vec<String>, RunError> {
        let graph = self.graph()?;
        let current = if purge {
            Vec::new()
        } else {
            known_heads(self, graph, &ledger::read(conn)?)?
        };
        let (_, rows) = graph.plan_stamp(&current, target, purge)?;
        Ok(graph.names(&rows))
    }

    /// Marks the database as being at `target` without running migrations
    /// (Alembic's `stamp`). With `purge`, existing version rows are dropped
    /// first, which also works when they name unknown revisions.
    pub fn stamp(
        &self,
        conn: &mut Connection,
        target: &Target,
        purge: bool,
    ) -> Result<RunReport, RunError> {
        let graph = self.graph()?;
        conn.busy_timeout(RunOptions::default().busy_timeout)
            .doing("setting the busy timeout")?;
        let conn = &*conn;
        ensure_writable(conn)?;
        begin(conn)?;
        let result = (|| {
            let state = ledger::read(conn)?;
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
                    .map(|h| crate::graph::plan::RowOp::Delete(h.clone()))
                    .chain(ops)
                    .collect();
            }
            self.prepare_ledger(conn, graph, &state, &current)?;
            for op in &ops {
                ledger::apply_row_op(conn, op)?;
            }
            // migrate_applied follows: exactly the revisions below the new heads.
            let applied = graph.ancestors(&rows);
            let recorded: Vec<&str> = state.applied.iter().map(|r| r.revision.as_str()).collect();
            let mut touched = Vec::new();
            for row in &state.applied {
                if graph.find(&row.revision).is_none_or(|i| !applied[i]) {
                    ledger::forget(conn, &row.revision)?;
                    touched.push(row.revision.clone());
                }
            }
            for (i, m) in self.as_slice().iter().enumerate() {
                if applied[i] && !recorded.contains(&m.revision()) {
                    ledger::record_applied(conn, m, Status::Stamped, None)?;
                    touched.push(m.revision().to_owned());
                }
            }
            let heads_after = graph.names(&rows);
            ledger::log(
                conn,
                &LogEntry {
                    operation: "stamp",
                    heads_before: &state.heads,
                    heads_after: &heads_after,
                    revisions: &touched,
                    outcome: "ok",
                    error: None,
                },
            )?;
            conn.execute_batch("COMMIT").doing("committing")?;
            Ok(RunReport {
                heads_before: state.heads,
                heads_after,
                steps: Vec::new(),
                already_past: Vec::new(),
                preexisting_violations: Vec::new(),
            })
        })();
        if result.is_err() {
            rollback(conn);
        }
        result
    }
}

impl Operation<'_> {
    fn name(&self) -> &'static str {
        match self {
            Operation::Upgrade(_) => "upgrade",
            Operation::Downgrade(_) => "downgrade",
        }
    }
}
