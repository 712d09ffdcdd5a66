//! Lineage: which revisions lie on the same line of descent, with or without
//! `depends_on` edges, as Alembic's `_shares_lineage` and
//! `filter_for_lineage` decide it.

use super::Graph;

/// Whether a walk follows `depends_on` edges or `down_revision` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Edges {
    /// `down_revision` and `depends_on`.
    All,
    /// `down_revision` only.
    Versioned,
}

impl Graph {
    /// `starts` and everything below them (inclusive).
    pub(super) fn ancestors_by(&self, starts: &[usize], edges: Edges) -> Vec<bool> {
        match edges {
            Edges::All => self.ancestors(starts),
            Edges::Versioned => self.closure(starts, |g, i, out| out.extend(g.parents(i))),
        }
    }

    /// `starts` and everything above them (inclusive).
    pub(super) fn descendants_by(&self, starts: &[usize], edges: Edges) -> Vec<bool> {
        match edges {
            Edges::All => self.descendants(starts),
            Edges::Versioned => self.closure(starts, |g, i, out| out.extend(g.children(i))),
        }
    }

    /// Whether `target` is one of `against`, below one or above one.
    /// An empty `against` shares every lineage.
    pub(super) fn shares_lineage(&self, target: usize, against: &[usize], edges: Edges) -> bool {
        if against.is_empty() {
            return true;
        }
        let above = self.descendants_by(&[target], edges);
        let below = self.ancestors_by(&[target], edges);
        against.iter().any(|&a| above[a] || below[a])
    }

    /// The members of `targets` that share the lineage of `against`.
    pub(super) fn in_lineage(
        &self,
        targets: &[usize],
        against: &[usize],
        edges: Edges,
    ) -> Vec<usize> {
        targets
            .iter()
            .copied()
            .filter(|&t| self.shares_lineage(t, against, edges))
            .collect()
    }
}
