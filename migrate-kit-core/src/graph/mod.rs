//! The revision graph: parents, children, dependencies, heads, bases,
//! branch labels, validation, and Alembic's walk order.
//!
//! Revisions are addressed by their index in the migration slice the graph
//! was built from. Every algorithm here is iterative and linear in the size
//! of the graph, so a 100,000-long chain needs no deep recursion.

mod adjacency;
mod build;
mod lineage;
mod order;
pub(crate) mod plan;
mod resolve;
mod stamp;
pub(crate) mod target;

pub use build::GraphError;

use crate::files::migration::{Migration, Text};
use adjacency::Adjacency;
/// Revision ids and labels are short and trusted (they come from the
/// project's own files), so a fast non-cryptographic hash serves. Keys are
/// [`Text`]: an embedded set's ids are borrowed from the binary, so building
/// its graph at start-up copies no string.
type IdMap = foldhash::HashMap<Text, usize>;

/// The validated revision graph of a migration set.
#[derive(Debug, Clone)]
pub struct Graph {
    ids: Vec<Text>,
    index: IdMap,
    /// `down_revision` of each revision.
    parents: Adjacency,
    /// `depends_on` of each revision.
    dependencies: Adjacency,
    /// `depends_on` of each revision less what its `down_revision`
    /// ancestors already depend on (Alembic's normalized dependencies).
    normalized_dependencies: Adjacency,
    /// Revisions whose `down_revision` names this one.
    children: Adjacency,
    /// Revisions whose `depends_on` names this one.
    dependents: Adjacency,
    heads: Vec<usize>,
    bases: Vec<usize>,
    /// Effective branch labels: declared ones and those inherited along the branch.
    labels: Vec<Vec<String>>,
    /// Label → the revision that declares it.
    label_owner: IdMap,
}

impl Graph {
    /// Builds and validates the graph of `migrations` (see [`GraphError`]).
    pub(crate) fn build(migrations: &[Migration]) -> Result<Graph, Vec<GraphError>> {
        build::build(migrations)
    }

    /// Number of revisions.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the graph has no revision (never true for a validated graph).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The id of revision `i`.
    pub(crate) fn id(&self, i: usize) -> &str {
        &self.ids[i]
    }

    /// The index of a revision id.
    pub(crate) fn find(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// All revision ids, in graph order.
    pub(crate) fn ids(&self) -> impl ExactSizeIterator<Item = &str> {
        self.ids.iter().map(|id| id.as_ref())
    }

    /// Revisions nothing builds on (no child through `down_revision`).
    pub fn heads(&self) -> &[usize] {
        &self.heads
    }

    /// The `down_revision` parents of `i`.
    pub(crate) fn parents(&self, i: usize) -> &[usize] {
        &self.parents[i]
    }

    /// The `depends_on` dependencies of `i`.
    pub(crate) fn dependencies(&self, i: usize) -> &[usize] {
        &self.dependencies[i]
    }

    /// Revisions whose `down_revision` names `i`.
    pub(crate) fn children(&self, i: usize) -> &[usize] {
        &self.children[i]
    }

    /// Effective branch labels of `i`.
    pub(crate) fn labels(&self, i: usize) -> &[String] {
        &self.labels[i]
    }

    /// The revision that declares `label`.
    pub(crate) fn label_owner(&self, label: &str) -> Option<usize> {
        self.label_owner.get(label).copied()
    }

    /// Whether several revisions build on `i`.
    pub(crate) fn is_branch_point(&self, i: usize) -> bool {
        self.children[i].len() > 1
    }

    /// Whether `i` has several parents.
    pub(crate) fn is_merge_point(&self, i: usize) -> bool {
        self.parents[i].len() > 1
    }

    /// Whether `i` is a head.
    pub(crate) fn is_head(&self, i: usize) -> bool {
        self.children[i].is_empty()
    }

    /// Parents followed by the normalized dependencies that are not also
    /// parents: what must be applied right before `i` (Alembic's
    /// `_normalized_down_revisions`).
    pub(crate) fn requirements(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let parents = &self.parents[i];
        parents.iter().copied().chain(
            self.normalized_dependencies[i]
                .iter()
                .copied()
                .filter(move |d| !parents.contains(d)),
        )
    }

    /// Revisions that require `i` (children and dependents).
    fn requirers(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.children[i].iter().chain(&self.dependents[i]).copied()
    }

    /// Whether nothing builds on `i`, neither as a parent nor through
    /// `depends_on` (Alembic's "real" head). A head that another revision
    /// depends on is an "effective head".
    pub(crate) fn is_real_head(&self, i: usize) -> bool {
        self.children[i].is_empty() && self.dependents[i].is_empty()
    }

    /// Heads that nothing depends on, in id order (what `heads` resolves to).
    pub(crate) fn real_heads(&self) -> Vec<usize> {
        self.heads
            .iter()
            .copied()
            .filter(|&h| self.is_real_head(h))
            .collect()
    }

    /// Whether several revisions build on `i`, counting `depends_on`.
    fn is_real_branch_point(&self, i: usize) -> bool {
        let children = &self.children[i];
        let mut count = children.len();
        for d in &self.dependents[i] {
            if !children.contains(d) {
                count += 1;
            }
        }
        count > 1
    }

    /// `starts` and everything they require, transitively (inclusive).
    pub(crate) fn ancestors(&self, starts: &[usize]) -> Vec<bool> {
        self.closure(starts, |g, i, out| out.extend(g.requirements(i)))
    }

    /// `starts` and everything that requires them, transitively (inclusive).
    pub(crate) fn descendants(&self, starts: &[usize]) -> Vec<bool> {
        self.closure(starts, |g, i, out| out.extend(g.requirers(i)))
    }

    fn closure(
        &self,
        starts: &[usize],
        next: impl Fn(&Graph, usize, &mut Vec<usize>),
    ) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut stack: Vec<usize> = starts.to_vec();
        let mut buffer = Vec::new();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            buffer.clear();
            next(self, i, &mut buffer);
            stack.extend(buffer.iter().copied().filter(|&j| !seen[j]));
        }
        seen
    }

    /// The heads of a set of applied revisions: members that no other member requires.
    pub(crate) fn heads_of(&self, members: &[bool]) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| members[i] && !self.requirers(i).any(|j| members[j]))
            .collect()
    }

    /// The same graph with revision `order[k]` moved to index `k`.
    /// `order` must be a permutation of `0..len()`.
    pub(crate) fn permuted(mut self, order: &[usize]) -> Graph {
        let mut new_index = vec![0; order.len()];
        for (k, &old) in order.iter().enumerate() {
            new_index[old] = k;
        }
        fn reorder<T: Default>(items: &mut [T], order: &[usize]) -> Vec<T> {
            order
                .iter()
                .map(|&old| std::mem::take(&mut items[old]))
                .collect()
        }
        self.parents = self.parents.permuted(order, &new_index);
        self.dependencies = self.dependencies.permuted(order, &new_index);
        self.normalized_dependencies = self.normalized_dependencies.permuted(order, &new_index);
        self.children = self.children.permuted(order, &new_index);
        self.dependents = self.dependents.permuted(order, &new_index);
        for i in self.heads.iter_mut().chain(&mut self.bases) {
            *i = new_index[*i];
        }
        for i in self.index.values_mut().chain(self.label_owner.values_mut()) {
            *i = new_index[*i];
        }
        self.ids = reorder(&mut self.ids, order);
        self.labels = reorder(&mut self.labels, order);
        self.heads
            .sort_unstable_by(|&a, &b| self.ids[a].cmp(&self.ids[b]));
        self.bases.sort_unstable();
        self
    }

    /// All revisions in topological order (every revision after what it
    /// requires), following Alembic's walk from the heads that nothing
    /// depends on (the order `history` prints, reversed).
    pub(crate) fn upgrade_order(&self) -> Vec<usize> {
        let mut order = self.walk(&vec![true; self.len()], &self.real_heads());
        order.reverse();
        order
    }
}

/// Heads as messages print them: `base` for none, else comma-separated.
pub(crate) fn heads_text(heads: &[String]) -> String {
    if heads.is_empty() {
        "base".to_owned()
    } else {
        heads.join(", ")
    }
}

#[cfg(test)]
mod tests;
