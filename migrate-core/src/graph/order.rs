//! Alembic's walk order over a set of revisions.
//!
//! Alembic emits revisions from the heads downwards, following one branch
//! for as long as nothing else still needs the next revision, then moving to
//! another head. Upgrades run the reverse of that order, downgrades run it as
//! is. Alembic decides "nothing else needs it" by recomputing ancestor sets;
//! here a count of not-yet-emitted requirers does the same in linear time.

use super::Graph;

impl Graph {
    /// The revisions in `todo`, head-first: every revision comes before the
    /// revisions it requires. `heads` are the walk's starting points.
    pub fn walk(&self, todo: &[bool], heads: &[usize]) -> Vec<usize> {
        let n = self.len();
        let mut waiting: Vec<usize> = vec![0; n];
        for i in (0..n).filter(|&i| todo[i]) {
            for r in self.requirements(i).filter(|&r| todo[r]) {
                waiting[r] += 1;
            }
        }
        let mut is_current = vec![false; n];
        let mut current: Vec<usize> = Vec::new();
        for &h in heads {
            if todo[h] && !is_current[h] {
                is_current[h] = true;
                current.push(h);
            }
        }
        let mut emitted = vec![false; n];
        let total = todo.iter().filter(|&&t| t).count();
        let mut output = Vec::with_capacity(total);
        let mut at = 0;
        while !current.is_empty() {
            if waiting[current[at]] > 0 {
                // Another branch still needs this revision: walk that one first.
                match current.iter().position(|&c| waiting[c] == 0) {
                    Some(ready) => {
                        at = ready;
                        continue;
                    }
                    None => break, // unreachable for a validated (acyclic) graph
                }
            }
            let candidate = current[at];
            emitted[candidate] = true;
            output.push(candidate);
            is_current[candidate] = false;
            let mut next = Vec::new();
            for r in self.requirements(candidate).filter(|&r| todo[r]) {
                waiting[r] -= 1;
                if !emitted[r] && !is_current[r] {
                    is_current[r] = true;
                    next.push(r);
                }
            }
            match next.split_first() {
                None => {
                    current.remove(at);
                    at = at.saturating_sub(1);
                }
                Some((&first, rest)) => {
                    current[at] = first;
                    current.extend_from_slice(rest);
                }
            }
        }
        // Revisions no head reached (possible only when `heads` misses some
        // top of `todo`) are appended in a safe order rather than dropped.
        if output.len() < total {
            let rest: Vec<bool> = (0..n).map(|i| todo[i] && !emitted[i]).collect();
            let tops = self.heads_of(&rest);
            if !tops.is_empty() {
                output.extend(self.walk(&rest, &tops));
            }
        }
        output
    }
}
