//! Building the graph from parsed migrations and checking DESIGN §3's graph rules.

use super::adjacency::Adjacency;
use super::{Graph, IdMap};
use crate::files::migration::Migration;
use crate::hint::Cmd;

/// A rule of the revision graph that a migration set breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// The folder holds no migration.
    #[error(
        "no migrations found; create one with {}",
        Cmd("revision -m \"initial schema\"")
    )]
    Empty,
    /// Two files declare the same revision.
    #[error(
        "{second}:{line}: revision `{revision}` is also declared by {first}; give one of them a new id"
    )]
    DuplicateRevision {
        /// The id.
        revision: String,
        /// The first file.
        first: String,
        /// The second file.
        second: String,
        /// The `revision` line in the second file.
        line: u32,
    },
    /// A `down_revision` names no revision.
    #[error("{path}:{line}: down_revision `{parent}` of revision `{revision}` does not exist; check the id or restore the missing file")]
    UnknownParent {
        /// The file.
        path: String,
        /// The `down_revision` line.
        line: u32,
        /// Its revision.
        revision: String,
        /// The missing parent.
        parent: String,
    },
    /// A `depends_on` names no revision.
    #[error("{path}:{line}: depends_on `{dependency}` of revision `{revision}` does not exist; check the id or restore the missing file")]
    UnknownDependency {
        /// The file.
        path: String,
        /// The `depends_on` line.
        line: u32,
        /// Its revision.
        revision: String,
        /// The missing dependency.
        dependency: String,
    },
    /// Revisions that require each other in a loop.
    #[error("{}: revisions form a cycle: {}; one of them must name an older parent", .revisions.first().map_or("", |(_, p)| p.as_str()), cycle_text(.revisions))]
    Cycle {
        /// The revisions in the cycle with their files, in order.
        revisions: Vec<(String, String)>,
    },
    /// A branch label declared twice, or equal to a revision id.
    #[error("{path}:{line}: branch label `{label}` of revision `{revision}` {clash}")]
    LabelClash {
        /// The file.
        path: String,
        /// The `branch_labels` line.
        line: u32,
        /// The revision declaring it.
        revision: String,
        /// The label.
        label: String,
        /// What it collides with.
        clash: String,
    },
    /// A squashed baseline replaces a revision whose file is still present.
    #[error("{path}: squashed revision `{revision}` replaces `{replaced}`, but {other} still declares it; delete the replaced file")]
    ReplacedStillPresent {
        /// The baseline's file.
        path: String,
        /// The baseline.
        revision: String,
        /// The replaced revision.
        replaced: String,
        /// The file that still declares it.
        other: String,
    },
    /// Several unlabelled heads where one is required (the macro's rule).
    #[error("multiple heads are present: {}; run {} to join them, or give each branch a branch_labels entry", heads_text(.heads), Cmd("merge heads -m \"merge\""))]
    MultipleHeads {
        /// Each head with its file.
        heads: Vec<(String, String)>,
    },
}

fn cycle_text(revisions: &[(String, String)]) -> String {
    let mut parts: Vec<String> = revisions
        .iter()
        .map(|(r, p)| format!("`{r}` ({p})"))
        .collect();
    if let Some((first, _)) = revisions.first() {
        parts.push(format!("`{first}`"));
    }
    parts.join(" -> ")
}

fn heads_text(heads: &[(String, String)]) -> String {
    heads
        .iter()
        .map(|(r, p)| format!("`{r}` ({p})"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn build(migrations: &[Migration]) -> Result<Graph, Vec<GraphError>> {
    if migrations.is_empty() {
        return Err(vec![GraphError::Empty]);
    }
    let mut errors = Vec::new();
    let mut index = IdMap::with_capacity_and_hasher(migrations.len(), Default::default());
    for (i, m) in migrations.iter().enumerate() {
        if let Some(&first) = index.get(m.revision()) {
            errors.push(GraphError::DuplicateRevision {
                revision: m.revision().to_owned(),
                first: migrations[first].path().to_owned(),
                second: m.path().to_owned(),
                line: m.header().lines.revision,
            });
        } else {
            index.insert(m.header().revision.clone(), i);
        }
    }
    let n = migrations.len();
    let mut parent_edges = Vec::with_capacity(n);
    let mut dependency_edges = Vec::new();
    for (i, m) in migrations.iter().enumerate() {
        for parent in m.down_revisions() {
            match index.get(parent) {
                Some(&p) => parent_edges.push((i, p)),
                None => errors.push(GraphError::UnknownParent {
                    path: m.path().to_owned(),
                    line: m.header().lines.down_revision,
                    revision: m.revision().to_owned(),
                    parent: parent.to_owned(),
                }),
            }
        }
        for dependency in m.depends_on() {
            match index.get(dependency) {
                Some(&d) => dependency_edges.push((i, d)),
                None => errors.push(GraphError::UnknownDependency {
                    path: m.path().to_owned(),
                    line: m.header().lines.depends_on,
                    revision: m.revision().to_owned(),
                    dependency: dependency.to_owned(),
                }),
            }
        }
    }
    let parents = Adjacency::from_edges(n, parent_edges);
    let dependencies = Adjacency::from_edges(n, dependency_edges);
    let mut graph = Graph {
        ids: migrations
            .iter()
            .map(|m| m.header().revision.clone())
            .collect(),
        index,
        children: parents.transposed(),
        dependents: dependencies.transposed(),
        normalized_dependencies: Adjacency::default(),
        parents,
        dependencies,
        heads: Vec::new(),
        bases: Vec::new(),
        labels: vec![Vec::new(); n],
        label_owner: IdMap::default(),
    };
    for m in migrations {
        for (replaced, _) in m.replaces() {
            if let Some(&other) = graph
                .index
                .get(replaced)
                .filter(|_| replaced != m.revision())
            {
                errors.push(GraphError::ReplacedStillPresent {
                    path: m.path().to_owned(),
                    revision: m.revision().to_owned(),
                    replaced: replaced.to_owned(),
                    other: migrations[other].path().to_owned(),
                });
            }
        }
    }
    errors.extend(find_cycles(&graph, migrations));
    check_labels(&mut graph, migrations, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    graph.heads = (0..n).filter(|&i| graph.children[i].is_empty()).collect();
    graph.bases = (0..n).filter(|&i| graph.parents[i].is_empty()).collect();
    graph.normalized_dependencies = normalize_dependencies(&graph);
    propagate_labels(&mut graph);
    Ok(graph)
}

/// Parents and every declared dependency (before normalization), each once.
fn declared_requirements(graph: &Graph, i: usize) -> impl Iterator<Item = usize> + '_ {
    let parents = graph.parents(i);
    parents.iter().copied().chain(
        graph
            .dependencies(i)
            .iter()
            .copied()
            .filter(move |d| !parents.contains(d)),
    )
}

/// Kahn's algorithm over parents and dependencies; what it cannot order
/// lies on or behind a cycle, and each cycle is then traced and named.
fn find_cycles(graph: &Graph, migrations: &[Migration]) -> Vec<GraphError> {
    let n = graph.len();
    let mut pending: Vec<usize> = (0..n)
        .map(|i| declared_requirements(graph, i).count())
        .collect();
    let mut ready: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut ordered = vec![false; n];
    while let Some(i) = ready.pop() {
        ordered[i] = true;
        for j in graph.requirers(i) {
            pending[j] -= 1;
            if pending[j] == 0 {
                ready.push(j);
            }
        }
    }
    // Walk requirements from each unordered revision; a revisit of the
    // current path closes a cycle.
    let mut state = vec![0u8; n]; // 0 unvisited, 1 on path, 2 done
    let mut errors = Vec::new();
    for start in (0..n).filter(|&i| !ordered[i]) {
        if state[start] != 0 {
            continue;
        }
        let mut path = vec![start];
        state[start] = 1;
        while let Some(&top) = path.last() {
            let next = declared_requirements(graph, top).find(|&r| !ordered[r] && state[r] != 2);
            match next {
                Some(r) if state[r] == 1 => {
                    let from = path.iter().position(|&p| p == r).unwrap_or(0);
                    let mut revisions: Vec<(String, String)> = path[from..]
                        .iter()
                        .map(|&i| (graph.ids[i].to_string(), migrations[i].path().to_owned()))
                        .collect();
                    revisions.reverse();
                    errors.push(GraphError::Cycle { revisions });
                    for &p in &path {
                        state[p] = 2;
                    }
                    path.clear();
                }
                Some(r) => {
                    state[r] = 1;
                    path.push(r);
                }
                None => {
                    state[top] = 2;
                    path.pop();
                }
            }
        }
    }
    errors
}

fn check_labels(graph: &mut Graph, migrations: &[Migration], errors: &mut Vec<GraphError>) {
    for (i, m) in migrations.iter().enumerate() {
        for label in m.header().branch_labels.iter() {
            let clash = if graph.index.contains_key(label) {
                Some("is also a revision id; rename the label".to_owned())
            } else {
                graph.label_owner.get(label).map(|&other| {
                    format!(
                        "is already declared by revision `{}` ({}); labels must be unique",
                        graph.ids[other],
                        migrations[other].path()
                    )
                })
            };
            match clash {
                Some(clash) => errors.push(GraphError::LabelClash {
                    path: m.path().to_owned(),
                    line: m.header().lines.branch_labels,
                    revision: m.revision().to_owned(),
                    label: label.to_string(),
                    clash,
                }),
                None => {
                    graph.label_owner.insert(label.clone(), i);
                    graph.labels[i].push(label.to_string());
                }
            }
        }
    }
}

/// Each revision's `depends_on` less the dependencies of its `down_revision`
/// ancestors, which are applied before it anyway (Alembic's
/// `_normalize_depends_on`).
fn normalize_dependencies(graph: &Graph) -> Adjacency {
    let n = graph.len();
    let mut edges = Vec::new();
    for i in (0..n).filter(|&i| !graph.dependencies[i].is_empty()) {
        let below = graph.closure(&[i], |g, r, out| out.extend(g.parents(r)));
        for &d in &graph.dependencies[i] {
            let inherited = (0..n)
                .filter(|&a| a != i && below[a])
                .any(|a| graph.dependencies[a].contains(&d));
            if !inherited {
                edges.push((i, d));
            }
        }
    }
    Adjacency::from_edges(n, edges)
}

/// A label covers its branch, as Alembic's `_add_branches` spreads it: the
/// declaring revision and everything above it through `down_revision`; and
/// when that part is a single line, the walk down from its top goes on below
/// the declaring revision until a branch point (counting `depends_on`) or a
/// merge point.
fn propagate_labels(graph: &mut Graph) {
    let owners: Vec<(String, usize)> = graph
        .label_owner
        .iter()
        .map(|(l, &i)| (l.to_string(), i))
        .collect();
    for (label, owner) in owners {
        let above = graph.closure(&[owner], |g, i, out| out.extend(g.children(i)));
        let single_line = (0..graph.len())
            .filter(|&i| above[i])
            .all(|i| graph.children[i].len() <= 1);
        for (i, covered) in above.into_iter().enumerate() {
            if covered && !graph.labels[i].contains(&label) {
                graph.labels[i].push(label.clone());
            }
        }
        if !single_line {
            continue;
        }
        let mut top = owner;
        while let [child] = graph.children[top][..] {
            top = child;
        }
        let mut at = top;
        loop {
            if graph.is_real_branch_point(at) || graph.is_merge_point(at) {
                break;
            }
            if !graph.labels[at].contains(&label) {
                graph.labels[at].push(label.clone());
            }
            match graph.parents[at][..] {
                [parent] => at = parent,
                _ => break,
            }
        }
    }
    for labels in &mut graph.labels {
        labels.sort();
    }
}
