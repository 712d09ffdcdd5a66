//! Alembic's walk order over a set of revisions (`_topological_sort`).
//!
//! Alembic emits revisions from the heads downwards, following one branch
//! for as long as no other branch still needs the next revision, then
//! moving to the branch that does. Upgrades run the reverse of that order,
//! downgrades run it as is, and `history` prints it. The walk here is
//! Alembic's, step for step, including which ancestor sets it refreshes and
//! which it leaves as they were, because that decides the order people see
//! in `history` and the order migrations run in.

use super::Graph;

impl Graph {
    /// The revisions in `todo`, head-first: every revision comes before the
    /// revisions it requires. `heads` are the walk's starting points; they
    /// are taken in id order, as Alembic takes them in file order.
    pub(crate) fn walk(&self, todo: &[bool], heads: &[usize]) -> Vec<usize> {
        let mut todo = todo.to_vec();
        let total = todo.iter().filter(|&&t| t).count();
        let mut current: Vec<usize> = Vec::new();
        for &h in heads {
            if todo[h] && !current.contains(&h) {
                current.push(h);
            }
        }
        current.sort_unstable_by(|&a, &b| self.id(a).cmp(self.id(b)));
        let mut ancestors: Vec<Vec<bool>> = current.iter().map(|&h| self.ancestors(&[h])).collect();
        let mut output = Vec::with_capacity(total);
        let mut at = 0;
        let mut jumps = 0;
        while !current.is_empty() {
            let candidate = current[at];
            if let Some(other) = (0..current.len()).find(|&k| k != at && ancestors[k][candidate]) {
                // Another branch still needs this revision: walk that one first.
                at = other;
                jumps += 1;
                if jumps > current.len() {
                    break; // unreachable for an acyclic graph
                }
                continue;
            }
            jumps = 0;
            if std::mem::replace(&mut todo[candidate], false) {
                output.push(candidate);
            }
            let next: Vec<usize> = self
                .requirements(candidate)
                .filter(|&r| todo[r] && !current.contains(&r))
                .collect();
            match next.split_first() {
                None => {
                    current.remove(at);
                    ancestors.remove(at);
                    at = at.saturating_sub(1);
                }
                Some((&first, rest)) => {
                    current[at] = first;
                    if self.normalized_dependencies[candidate].is_empty()
                        && self.parents[candidate].len() == 1
                    {
                        // Plain movement down a line: the set only loses the candidate.
                        ancestors[at][candidate] = false;
                    } else {
                        ancestors[at] = self.ancestors(&[first]);
                        for &r in rest {
                            current.push(r);
                            ancestors.push(self.ancestors(&[r]));
                        }
                    }
                }
            }
        }
        // Revisions no head reached (possible only when `heads` misses some
        // top of `todo`) are appended in a safe order rather than dropped.
        if output.len() < total {
            let tops = self.heads_of(&todo);
            if !tops.is_empty() {
                output.extend(self.walk(&todo, &tops));
            }
        }
        output
    }
}
