//! Planning a run: which revisions to apply or revert, in which order, and
//! how the `alembic_version` rows change at each step, as Alembic does.

use super::target::{Destination, Target, TargetError};
use super::Graph;

/// Whether a run applies or reverts revisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Apply upgrade sections.
    Up,
    /// Apply downgrade sections.
    Down,
}

/// One change to the `alembic_version` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOp {
    /// `INSERT INTO alembic_version (version_num) VALUES (...)`.
    Insert(String),
    /// `DELETE FROM alembic_version WHERE version_num = ...`.
    Delete(String),
    /// `UPDATE alembic_version SET version_num = to WHERE version_num = from`.
    Update {
        /// The row's current value.
        from: String,
        /// Its new value.
        to: String,
    },
}

/// One migration to run and the version-row changes that record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Index of the revision in the set.
    pub revision: usize,
    /// Upgrade or downgrade.
    pub direction: Direction,
    /// How `alembic_version` changes after this step.
    pub row_ops: Vec<RowOp>,
}

/// An ordered list of steps from one set of heads to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The steps, in execution order.
    pub steps: Vec<Step>,
    /// `alembic_version` before the run.
    pub heads_before: Vec<String>,
    /// `alembic_version` after the run.
    pub heads_after: Vec<String>,
}

/// A [`RowOp`] on revision indices, as the planner computes it.
#[derive(Debug, Clone, Copy)]
enum IndexOp {
    Insert(usize),
    Delete(usize),
    Update { from: usize, to: usize },
}

impl IndexOp {
    fn named(self, graph: &Graph) -> RowOp {
        let id = |i: usize| graph.id(i).to_owned();
        match self {
            IndexOp::Insert(i) => RowOp::Insert(id(i)),
            IndexOp::Delete(i) => RowOp::Delete(id(i)),
            IndexOp::Update { from, to } => RowOp::Update {
                from: id(from),
                to: id(to),
            },
        }
    }
}

/// The `alembic_version` rows, kept in the order they were written.
struct Heads<'g> {
    graph: &'g Graph,
    rows: Vec<usize>,
}

impl Heads<'_> {
    fn contains(&self, i: usize) -> bool {
        self.rows.contains(&i)
    }

    fn others_ancestors(&self, except: &[usize]) -> Option<Vec<bool>> {
        let others: Vec<usize> = self
            .rows
            .iter()
            .copied()
            .filter(|h| !except.contains(h))
            .collect();
        (!others.is_empty()).then(|| self.graph.ancestors(&others))
    }

    fn apply(&mut self, op: IndexOp) {
        match op {
            IndexOp::Insert(i) => self.rows.push(i),
            IndexOp::Delete(i) => self.rows.retain(|&r| r != i),
            IndexOp::Update { from, to } => {
                for r in &mut self.rows {
                    if *r == from {
                        *r = to;
                    }
                }
            }
        }
    }

    fn upgrade_ops(&self, r: usize) -> Vec<IndexOp> {
        let g = self.graph;
        let downs: Vec<usize> = g.requirements(r).collect();
        let present: Vec<usize> = downs
            .iter()
            .copied()
            .filter(|&d| self.contains(d))
            .collect();
        match present[..] {
            [] => vec![IndexOp::Insert(r)],
            [one] => vec![IndexOp::Update { from: one, to: r }],
            _ => {
                // A merge: the parents that are heads collapse into one row,
                // keeping those another head still stands on.
                let kept = self.others_ancestors(&downs);
                let merging: Vec<usize> = present
                    .iter()
                    .copied()
                    .filter(|&d| kept.as_ref().is_none_or(|k| !k[d]))
                    .collect();
                let merging = if merging.is_empty() { present } else { merging };
                let (last, deleted) = merging.split_last().unwrap_or((&r, &[]));
                let mut ops: Vec<IndexOp> = deleted.iter().map(|&d| IndexOp::Delete(d)).collect();
                ops.push(IndexOp::Update { from: *last, to: r });
                ops
            }
        }
    }

    fn downgrade_ops(&self, r: usize) -> Vec<IndexOp> {
        let g = self.graph;
        let downs: Vec<usize> = g.requirements(r).collect();
        // Parents that no other head already stands on get rows again; a
        // parent that another parent builds on needs none.
        let kept = self.others_ancestors(&[r]);
        let redundant = (downs.len() > 1).then(|| {
            let mut below = vec![false; g.len()];
            for &d in &downs {
                let under = g.ancestors(g.requirements(d).collect::<Vec<_>>().as_slice());
                for (i, u) in under.into_iter().enumerate() {
                    below[i] |= u;
                }
            }
            below
        });
        let to: Vec<usize> = downs
            .iter()
            .copied()
            .filter(|&d| kept.as_ref().is_none_or(|k| !k[d]))
            .filter(|&d| redundant.as_ref().is_none_or(|b| !b[d]))
            .collect();
        match to.split_last() {
            None => vec![IndexOp::Delete(r)],
            Some((last, inserted)) => {
                let mut ops = vec![IndexOp::Update { from: r, to: *last }];
                ops.extend(inserted.iter().map(|&d| IndexOp::Insert(d)));
                ops
            }
        }
    }
}

impl Graph {
    /// Plans an upgrade from `current` heads to `target`.
    pub fn plan_upgrade(&self, current: &[usize], target: &Target) -> Result<Plan, TargetError> {
        let targets = match self.resolve(target, current)? {
            Destination::Revisions(revs) => revs,
            Destination::Base => Vec::new(),
            Destination::BranchBase(_) => {
                return Err(self.wrong_way(
                    target,
                    "upgrade",
                    current,
                    "LABEL@base only makes sense for a downgrade",
                ))
            }
        };
        let required = self.ancestors(&targets);
        let applied = self.ancestors(current);
        let todo: Vec<bool> = (0..self.len())
            .map(|i| required[i] && !applied[i])
            .collect();
        if targets.iter().all(|&t| applied[t]) && targets.iter().any(|t| !current.contains(t)) {
            return Err(self.wrong_way(
                target,
                "upgrade",
                current,
                "it is older than the current heads; use `migrate downgrade`",
            ));
        }
        let mut order = self.walk(&todo, &targets);
        order.reverse();
        Ok(self.record(current, order, Direction::Up))
    }

    /// Plans a downgrade from `current` heads to `target`.
    pub fn plan_downgrade(&self, current: &[usize], target: &Target) -> Result<Plan, TargetError> {
        let active = self.ancestors(current);
        let drop: Vec<bool> = match self.resolve(target, current)? {
            Destination::Base => active.clone(),
            Destination::BranchBase(label) => {
                let on_branch: Vec<usize> = (0..self.len())
                    .filter(|&i| self.labels[i].contains(&label))
                    .collect();
                let above = self.descendants(&on_branch);
                (0..self.len()).map(|i| above[i] && active[i]).collect()
            }
            Destination::Revisions(revs) => {
                for &r in &revs {
                    if !active[r] {
                        let reason =
                            "that revision is not applied; `migrate current` shows what is";
                        return Err(self.wrong_way(target, "downgrade", current, reason));
                    }
                }
                let roots: Vec<usize> = revs
                    .iter()
                    .flat_map(|&r| self.children[r].iter().copied())
                    .collect();
                let above = self.descendants(&roots);
                let keep = self.ancestors(&revs);
                (0..self.len())
                    .map(|i| above[i] && active[i] && !keep[i])
                    .collect()
            }
        };
        let order = self.walk(&drop, current);
        Ok(self.record(current, order, Direction::Down))
    }

    fn wrong_way(
        &self,
        target: &Target,
        direction: &'static str,
        current: &[usize],
        reason: &str,
    ) -> TargetError {
        TargetError::WrongDirection {
            target: target.to_string(),
            direction,
            current: self.names(current),
            reason: reason.to_owned(),
        }
    }

    /// Attaches the version-row changes to each revision of `order`.
    fn record(&self, current: &[usize], order: Vec<usize>, direction: Direction) -> Plan {
        let mut heads = Heads {
            graph: self,
            rows: current.to_vec(),
        };
        let heads_before = self.names(current);
        let steps = order
            .into_iter()
            .map(|revision| {
                let row_ops = match direction {
                    Direction::Up => heads.upgrade_ops(revision),
                    Direction::Down => heads.downgrade_ops(revision),
                };
                for &op in &row_ops {
                    heads.apply(op);
                }
                Step {
                    revision,
                    direction,
                    row_ops: row_ops.into_iter().map(|op| op.named(self)).collect(),
                }
            })
            .collect();
        Plan {
            steps,
            heads_before,
            heads_after: self.names(&heads.rows),
        }
    }

    /// The row changes of `stamp`: the database is marked as being at
    /// `target` without running anything. With `purge`, every row goes first.
    pub fn plan_stamp(
        &self,
        current: &[usize],
        target: &Target,
        purge: bool,
    ) -> Result<(Vec<RowOp>, Vec<usize>), TargetError> {
        let destinations = match self.resolve(target, current)? {
            Destination::Revisions(revs) => revs,
            Destination::Base => Vec::new(),
            Destination::BranchBase(label) => {
                let keep: Vec<usize> = current
                    .iter()
                    .copied()
                    .filter(|&h| !self.labels[h].contains(&label))
                    .collect();
                return Ok(self.stamp_rows(current, &keep, true));
            }
        };
        if purge || destinations.is_empty() {
            return Ok(self.stamp_rows(current, &destinations, true));
        }
        Ok(self.stamp_rows(current, &destinations, false))
    }

    fn stamp_rows(
        &self,
        current: &[usize],
        destinations: &[usize],
        replace_all: bool,
    ) -> (Vec<RowOp>, Vec<usize>) {
        let id = |i: usize| self.id(i).to_owned();
        let mut ops = Vec::new();
        let mut rows: Vec<usize> = current.to_vec();
        if replace_all {
            ops.extend(rows.drain(..).map(|r| RowOp::Delete(id(r))));
            ops.extend(destinations.iter().map(|&d| RowOp::Insert(id(d))));
            return (ops, destinations.to_vec());
        }
        for &dest in destinations {
            let below = self.ancestors(&[dest]);
            let above = self.descendants(&[dest]);
            let related: Vec<usize> = rows
                .iter()
                .copied()
                .filter(|&h| below[h] || above[h])
                .collect();
            match related.split_last() {
                None => {
                    ops.push(RowOp::Insert(id(dest)));
                    rows.push(dest);
                }
                Some((&last, deleted)) => {
                    for &d in deleted {
                        ops.push(RowOp::Delete(id(d)));
                        rows.retain(|&r| r != d);
                    }
                    if last != dest {
                        ops.push(RowOp::Update {
                            from: id(last),
                            to: id(dest),
                        });
                        for r in &mut rows {
                            if *r == last {
                                *r = dest;
                            }
                        }
                    }
                }
            }
        }
        (ops, rows)
    }
}
