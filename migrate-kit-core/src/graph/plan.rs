//! Planning a run: which revisions to apply or revert, in which order, and
//! how the `alembic_version` rows change at each step, as Alembic does.

use super::lineage::Edges;
use super::target::{Target, TargetError};
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
    /// Targets of an upgrade that are applied already but are not version
    /// rows: the database is past them, so nothing is done for them.
    pub already_past: Vec<String>,
}

/// A [`RowOp`] on revision indices, as the planner computes it.
#[derive(Debug, Clone, Copy)]
pub(super) enum IndexOp {
    Insert(usize),
    Delete(usize),
    Update { from: usize, to: usize },
}

impl IndexOp {
    pub(super) fn named(self, graph: &Graph) -> RowOp {
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

/// The `alembic_version` rows as a run moves them, step by step, following
/// Alembic's `HeadMaintainer` and `RevisionStep`: a row is inserted for a
/// revision none of whose requirements is a row, merged, unmerged, deleted
/// at a base, or else moved along one edge.
pub(super) struct Heads<'g> {
    graph: &'g Graph,
    rows: Vec<usize>,
    /// The last "other rows" and what they stand on: a long line moves one
    /// row while the others stay, so the set is computed once, not per step.
    others_cache: Option<(Vec<usize>, Vec<bool>)>,
}

impl<'g> Heads<'g> {
    /// The rows `rows` of `graph`'s `alembic_version`.
    pub(super) fn new(graph: &'g Graph, rows: &[usize]) -> Heads<'g> {
        Heads {
            graph,
            rows: rows.to_vec(),
            others_cache: None,
        }
    }

    /// The rows now.
    pub(super) fn rows(&self) -> &[usize] {
        &self.rows
    }

    pub(super) fn contains(&self, i: usize) -> bool {
        self.rows.contains(&i)
    }

    /// What every row except `except` stands on (inclusive); `None` when no
    /// other row exists.
    fn others_ancestors(&mut self, except: &[usize]) -> Option<&[bool]> {
        let mut others: Vec<usize> = self
            .rows
            .iter()
            .copied()
            .filter(|h| !except.contains(h))
            .collect();
        if others.is_empty() {
            return None;
        }
        others.sort_unstable();
        if self
            .others_cache
            .as_ref()
            .is_none_or(|(cached, _)| *cached != others)
        {
            let covered = self.graph.ancestors(&others);
            self.others_cache = Some((others, covered));
        }
        self.others_cache
            .as_ref()
            .map(|(_, covered)| covered.as_slice())
    }

    fn fail(&self, r: usize, direction: Direction, reason: String) -> TargetError {
        let g = self.graph;
        let parents = g.names(&g.requirements(r).collect::<Vec<_>>()).join(", ");
        let step = match direction {
            Direction::Up => format!("upgrade {parents} -> {}", g.id(r)),
            Direction::Down => format!("downgrade {} -> {parents}", g.id(r)),
        };
        TargetError::VersionRows {
            step,
            current: g.names(&self.rows),
            reason,
        }
    }

    /// Applies `op`, refusing what Alembic's row bookkeeping refuses (an
    /// insert of a present row, a delete or update of an absent one).
    pub(super) fn apply(
        &mut self,
        r: usize,
        direction: Direction,
        op: IndexOp,
    ) -> Result<(), TargetError> {
        let name = |i: usize| self.graph.id(i).to_owned();
        match op {
            IndexOp::Insert(i) if self.contains(i) => {
                Err(self.fail(r, direction, format!("{} is a row already", name(i))))
            }
            IndexOp::Insert(i) => {
                self.rows.push(i);
                Ok(())
            }
            IndexOp::Delete(i) | IndexOp::Update { from: i, .. } if !self.contains(i) => {
                Err(self.fail(r, direction, format!("{} is not a row", name(i))))
            }
            IndexOp::Update { to, .. } if self.contains(to) => {
                Err(self.fail(r, direction, format!("{} is a row already", name(to))))
            }
            IndexOp::Delete(i) => {
                self.rows.retain(|&x| x != i);
                Ok(())
            }
            IndexOp::Update { from, to } => {
                for x in &mut self.rows {
                    if *x == from {
                        *x = to;
                    }
                }
                Ok(())
            }
        }
    }

    /// The row changes that record one step (`update_to_step`).
    fn step_ops(&mut self, r: usize, direction: Direction) -> Result<Vec<IndexOp>, TargetError> {
        let g = self.graph;
        let downs: Vec<usize> = g.requirements(r).collect();
        let present: Vec<usize> = downs
            .iter()
            .copied()
            .filter(|&d| self.contains(d))
            .collect();
        match direction {
            Direction::Down
                if self.contains(r) && (downs.is_empty() || self.unmerge_to(r).is_empty()) =>
            {
                Ok(vec![IndexOp::Delete(r)])
            }
            Direction::Up if present.is_empty() => Ok(vec![IndexOp::Insert(r)]),
            Direction::Up if downs.len() > 1 && present.len() > 1 => {
                // A merge: the requirements no other row stands on collapse
                // into one row.
                let from: Vec<usize> = match self.others_ancestors(&downs) {
                    Some(kept) => downs.iter().copied().filter(|&d| !kept[d]).collect(),
                    None => downs.clone(),
                };
                let Some((&last, deleted)) = from.split_last() else {
                    return Err(self.fail(
                        r,
                        direction,
                        "every requirement is needed by another row".to_owned(),
                    ));
                };
                let mut ops: Vec<IndexOp> = deleted.iter().map(|&d| IndexOp::Delete(d)).collect();
                ops.push(IndexOp::Update { from: last, to: r });
                Ok(ops)
            }
            Direction::Down if self.contains(r) && downs.len() > 1 => {
                let to = self.unmerge_to(r);
                let (&last, inserted) = to.split_last().unwrap_or((&r, &[]));
                let mut ops: Vec<IndexOp> = inserted.iter().map(|&d| IndexOp::Insert(d)).collect();
                ops.push(IndexOp::Update { from: r, to: last });
                Ok(ops)
            }
            _ => {
                let down = match downs[..] {
                    [one] => one,
                    _ => match present[..] {
                        [one] => one,
                        _ => {
                            return Err(self.fail(
                                r,
                                direction,
                                "the row to move is ambiguous".to_owned(),
                            ))
                        }
                    },
                };
                Ok(vec![match direction {
                    Direction::Up => IndexOp::Update { from: down, to: r },
                    Direction::Down => IndexOp::Update { from: r, to: down },
                }])
            }
        }
    }

    /// The requirements of `r` that get rows when `r` is reverted: those no
    /// other row stands on (`_unmerge_to_revisions`).
    fn unmerge_to(&mut self, r: usize) -> Vec<usize> {
        let g = self.graph;
        let downs: Vec<usize> = g.requirements(r).collect();
        let covered = match self.others_ancestors(&[r]) {
            Some(kept) => return downs.into_iter().filter(|&d| !kept[d]).collect(),
            // One requirement alone is never below itself.
            None if downs.len() == 1 => return downs,
            None => {
                let mut below = vec![false; g.len()];
                for &d in &downs {
                    let under: Vec<usize> = g.requirements(d).collect();
                    for (i, u) in g.ancestors(&under).into_iter().enumerate() {
                        below[i] |= u;
                    }
                }
                below
            }
        };
        downs.into_iter().filter(|&d| !covered[d]).collect()
    }
}

/// Errors when one of `revisions` builds on another (Alembic's overlap check).
fn check_overlap(graph: &Graph, revisions: &[usize]) -> Result<(), TargetError> {
    for &r in revisions {
        let below = graph.ancestors(&graph.requirements(r).collect::<Vec<_>>());
        let others: Vec<usize> = revisions
            .iter()
            .copied()
            .filter(|&o| o != r && below[o])
            .collect();
        if !others.is_empty() {
            return Err(TargetError::Overlap {
                revision: graph.id(r).to_owned(),
                others: graph.names(&others).join(", "),
            });
        }
    }
    Ok(())
}

impl Graph {
    /// Plans an upgrade from `current` heads to `target`
    /// (`_collect_upgrade_revisions` with an implicit base).
    pub fn plan_upgrade(&self, current: &[usize], target: &Target) -> Result<Plan, TargetError> {
        let targets = self.upgrade_targets(current, &target.to_string())?;
        check_overlap(self, &targets)?;
        check_overlap(self, current)?;
        let required = self.ancestors(&targets);
        let applied = self.ancestors(current);
        let todo: Vec<bool> = (0..self.len())
            .map(|i| required[i] && !applied[i])
            .collect();
        let mut starts = targets.clone();
        starts.sort_unstable_by(|&a, &b| self.id(a).cmp(self.id(b)));
        let mut order = self.walk(&todo, &starts);
        order.reverse();
        let mut plan = self.record(current, order, Direction::Up)?;
        if plan.steps.is_empty() {
            plan.already_past = targets
                .iter()
                .filter(|t| !current.contains(t))
                .map(|&t| self.id(t).to_owned())
                .collect();
        }
        Ok(plan)
    }

    /// Plans a downgrade from `current` heads to `target`
    /// (`_collect_downgrade_revisions`).
    pub(crate) fn plan_downgrade(
        &self,
        current: &[usize],
        target: &Target,
    ) -> Result<Plan, TargetError> {
        let text = target.to_string();
        let (branch, destination) = self.downgrade_target(current, &text)?;
        let mut roots: Vec<usize> = match destination {
            None => self.bases.clone(),
            Some(t) => self.children[t].to_vec(),
        };
        if let (Some(branch), true) = (&branch, roots.len() > 1) {
            let lineage = self.ancestors_by(&[self.branch(branch)?], Edges::Versioned);
            roots.retain(|&r| lineage[r]);
            if roots.is_empty() {
                return Err(self.wrong_way(
                    target,
                    "downgrade",
                    current,
                    "it is not on the branch of the current heads",
                ));
            }
        }
        let above = self.descendants(&roots);
        let active = self.ancestors(current);
        let drop: Vec<bool> = (0..self.len()).map(|i| above[i] && active[i]).collect();
        if let Some(t) = destination {
            if !drop.contains(&true) && !current.contains(&t) {
                return Err(TargetError::NothingToDrop {
                    target: text,
                    current: self.names(current),
                });
            }
        }
        let mut starts = current.to_vec();
        starts.sort_unstable_by(|&a, &b| self.id(a).cmp(self.id(b)));
        let order = self.walk(&drop, &starts);
        self.record(current, order, Direction::Down)
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
    fn record(
        &self,
        current: &[usize],
        order: Vec<usize>,
        direction: Direction,
    ) -> Result<Plan, TargetError> {
        let mut heads = Heads::new(self, current);
        let heads_before = self.names(current);
        let mut steps = Vec::with_capacity(order.len());
        for revision in order {
            let row_ops = heads.step_ops(revision, direction)?;
            for &op in &row_ops {
                heads.apply(revision, direction, op)?;
            }
            steps.push(Step {
                revision,
                direction,
                row_ops: row_ops.into_iter().map(|op| op.named(self)).collect(),
            });
        }
        Ok(Plan {
            steps,
            heads_before,
            heads_after: self.names(&heads.rows),
            already_past: Vec::new(),
        })
    }
}
