//! `stamp`: the version rows Alembic's `_stamp_revs` and `StampStep` write
//! when the database is marked as being at a target without running anything.

use super::lineage::Edges;
use super::plan::{Direction, Heads, IndexOp, RowOp};
use super::target::{Target, TargetError};
use super::Graph;

impl Graph {
    /// The row changes of `stamp` (Alembic's `_stamp_revs` and `StampStep`):
    /// the database is marked as being at `target` without running anything.
    /// With `purge`, every row goes first. Returns the changes and the rows after.
    pub(crate) fn plan_stamp(
        &self,
        current: &[usize],
        target: &Target,
        purge: bool,
    ) -> Result<(Vec<RowOp>, Vec<usize>), TargetError> {
        let current: &[usize] = if purge { &[] } else { current };
        let text = target.to_string();
        let destinations = self.stamp_destinations(&text)?;
        // The rows the stamp is about: those on the target's lineage,
        // dependencies included (resolved only when there are rows, as
        // Alembic resolves it lazily).
        let mut related: Vec<usize> = Vec::new();
        if !current.is_empty() {
            let against = self.lineage_of(&text)?;
            for r in self.in_lineage(current, &against, Edges::All) {
                if !related.contains(&r) {
                    related.push(r);
                }
            }
        }
        let mut moves: Vec<StampMove> = Vec::new();
        if destinations.iter().all(Option::is_none) {
            moves.extend(related.iter().map(|&h| StampMove {
                from: vec![h],
                to: None,
                upward: false,
                new_branch: true,
            }));
        }
        for &dest in destinations.iter().flatten() {
            if related.contains(&dest) {
                continue;
            }
            // Rows above the destination move down to it, rows below move
            // up to it; with neither, it starts a branch of its own.
            let above = self.descendants(&[dest]);
            let below = self.ancestors(&[dest]);
            let rows_above = related.iter().any(|&h| above[h]);
            let rows_below = related.iter().any(|&h| below[h]);
            let (from, upward, new_branch) = if rows_above || rows_below {
                (related.clone(), !rows_above, false)
            } else {
                (Vec::new(), true, true)
            };
            moves.push(StampMove {
                from,
                to: Some(dest),
                upward,
                new_branch,
            });
        }
        let mut rows = Heads::new(self, current);
        let mut named = Vec::new();
        for m in moves {
            let refuse = |rows: &Heads<'_>, reason: &str| TargetError::VersionRows {
                step: format!("stamp {text}"),
                current: self.names(rows.rows()),
                reason: reason.to_owned(),
            };
            let ops: Vec<IndexOp> = match (m.to, &m.from[..]) {
                (None, [h]) => vec![IndexOp::Delete(*h)],
                (None, _) => return Err(refuse(&rows, "nothing to delete")),
                (Some(to), from)
                    if m.upward
                        && (m.new_branch || from.iter().any(|&f| !rows.contains(f)))
                        && !rows.contains(to) =>
                {
                    vec![IndexOp::Insert(to)]
                }
                (Some(to), [.., last]) if m.from.len() > 1 => {
                    let mut ops: Vec<IndexOp> = m.from[..m.from.len() - 1]
                        .iter()
                        .map(|&d| IndexOp::Delete(d))
                        .collect();
                    ops.push(IndexOp::Update { from: *last, to });
                    ops
                }
                (Some(to), [one]) => vec![IndexOp::Update { from: *one, to }],
                (Some(_), _) => return Err(refuse(&rows, "the row to move is ambiguous")),
            };
            for op in ops {
                let at = match op {
                    IndexOp::Insert(i) | IndexOp::Delete(i) => i,
                    IndexOp::Update { to, .. } => to,
                };
                rows.apply(at, Direction::Up, op).map_err(|e| match e {
                    TargetError::VersionRows {
                        current, reason, ..
                    } => TargetError::VersionRows {
                        step: format!("stamp {text}"),
                        current,
                        reason,
                    },
                    e => e,
                })?;
                named.push(op.named(self));
            }
        }
        Ok((named, rows.rows().to_vec()))
    }
}

/// One `StampStep`: rows `from` become `to` (`None`: deleted).
struct StampMove {
    from: Vec<usize>,
    to: Option<usize>,
    upward: bool,
    new_branch: bool,
}
