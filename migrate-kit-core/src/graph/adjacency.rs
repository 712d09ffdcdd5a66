//! Edge lists of the graph in compressed form: one array of all targets and
//! one offset per revision, so that 100,000 revisions cost two allocations
//! instead of one per revision.

use std::ops::Index;

/// For each revision, the revisions it points to (in insertion order).
#[derive(Debug, Clone, Default)]
pub(super) struct Adjacency {
    /// `targets[starts[i]..starts[i + 1]]` are the edges of revision `i`.
    starts: Vec<usize>,
    targets: Vec<usize>,
}

impl Adjacency {
    /// The lists of `n` revisions from `(from, to)` edges; each list keeps
    /// the order its edges have in `edges`.
    pub(super) fn from_edges<E>(n: usize, edges: E) -> Adjacency
    where
        E: IntoIterator<Item = (usize, usize)>,
        E::IntoIter: Clone,
    {
        let edges = edges.into_iter();
        let mut starts = vec![0; n + 1];
        for (from, _) in edges.clone() {
            starts[from + 1] += 1;
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut next = starts.clone();
        let mut targets = vec![0; starts[n]];
        for (from, to) in edges {
            targets[next[from]] = to;
            next[from] += 1;
        }
        Adjacency { starts, targets }
    }

    /// The reversed lists: `i` lists `j` when `j` lists `i`, in increasing `j`.
    pub(super) fn transposed(&self) -> Adjacency {
        let n = self.starts.len() - 1;
        Adjacency::from_edges(
            n,
            (0..n).flat_map(|from| self[from].iter().map(move |&to| (to, from))),
        )
    }

    /// The same lists with revision `order[k]` moved to index `k` and every
    /// target renumbered through `new_index`.
    pub(super) fn permuted(&self, order: &[usize], new_index: &[usize]) -> Adjacency {
        let mut starts = Vec::with_capacity(self.starts.len());
        let mut targets = Vec::with_capacity(self.targets.len());
        starts.push(0);
        for &old in order {
            targets.extend(self[old].iter().map(|&t| new_index[t]));
            starts.push(targets.len());
        }
        Adjacency { starts, targets }
    }
}

impl Index<usize> for Adjacency {
    type Output = [usize];

    fn index(&self, i: usize) -> &[usize] {
        &self.targets[self.starts[i]..self.starts[i + 1]]
    }
}

#[cfg(test)]
mod tests {
    use super::Adjacency;

    #[test]
    fn lists_keep_edge_order_and_follow_a_permutation() {
        let lists = Adjacency::from_edges(3, [(2, 0), (0, 1), (2, 1), (0, 2)]);
        assert_eq!(
            (&lists[0], &lists[1], &lists[2]),
            (&[1, 2][..], &[][..], &[0, 1][..])
        );
        // Revision 2 first, then 0, then 1: old index 2 -> 0, 0 -> 1, 1 -> 2.
        let moved = lists.permuted(&[2, 0, 1], &[1, 2, 0]);
        assert_eq!(
            (&moved[0], &moved[1], &moved[2]),
            (&[1, 2][..], &[2, 0][..], &[][..])
        );
    }
}
