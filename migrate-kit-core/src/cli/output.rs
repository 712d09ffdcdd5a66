//! How revisions are shown, in Alembic's words and shapes, and as JSON.

use crate::{Graph, Migration, Migrations};
use serde_json::{json, Value};

/// Which decorations a revision line carries (Alembic's `cmd_format` flags).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Line {
    /// `parents -> rev`.
    pub parents: bool,
    /// `(label)` after the id.
    pub branches: bool,
    /// `, message` at the end.
    pub doc: bool,
    /// `(branchpoint)`, `(mergepoint)`.
    pub tree: bool,
    /// `(current)`.
    pub current: bool,
}

/// `<base>` or the comma-separated parents.
pub(crate) fn parents_text(m: &Migration) -> String {
    if m.is_base() {
        "<base>".to_owned()
    } else {
        m.down_revisions().collect::<Vec<_>>().join(", ")
    }
}

/// One revision as Alembic's `history`, `heads` and `current` print it.
pub(crate) fn revision_line(set: &Migrations, graph: &Graph, i: usize, line: Line) -> String {
    let m = &set.as_slice()[i];
    let mut text = m.revision().to_owned();
    if line.parents {
        let deps: Vec<&str> = m.depends_on().collect();
        text = if deps.is_empty() {
            format!("{} -> {text}", parents_text(m))
        } else {
            format!("{} ({}) -> {text}", parents_text(m), deps.join(", "))
        };
    }
    if line.branches && !graph.labels(i).is_empty() {
        text += &format!(" ({})", graph.labels(i).join(", "));
    }
    if graph.is_real_head(i) {
        text += " (head)";
    } else if graph.is_head(i) {
        // A head that another revision depends on.
        text += " (effective head)";
    }
    if line.current {
        text += " (current)";
    }
    if line.tree {
        if graph.is_branch_point(i) {
            text += " (branchpoint)";
        }
        if graph.is_merge_point(i) {
            text += " (mergepoint)";
        }
    }
    if line.doc {
        text += &format!(", {}", m.message());
    }
    text
}

/// One revision of a listing: Alembic's verbose entry with `verbose`,
/// else its one-line form as `line` says.
pub(crate) fn listing_entry(
    set: &Migrations,
    graph: &Graph,
    i: usize,
    verbose: bool,
    dir: &str,
    line: Line,
) -> String {
    if verbose {
        verbose_entry(set, graph, i, line.current, dir)
    } else {
        revision_line(set, graph, i, line)
    }
}

/// Alembic's verbose entry (`history --verbose`, `show`).
pub(crate) fn verbose_entry(
    set: &Migrations,
    graph: &Graph,
    i: usize,
    current: bool,
    dir: &str,
) -> String {
    let m = &set.as_slice()[i];
    let mut entry = format!("Rev: {}", m.revision());
    for (on, word) in [
        (graph.is_head(i), " (head)"),
        (graph.is_branch_point(i), " (branchpoint)"),
        (graph.is_merge_point(i), " (mergepoint)"),
        (current, " (current)"),
    ] {
        if on {
            entry += word;
        }
    }
    entry += "\n";
    if graph.is_merge_point(i) {
        entry += &format!("Merges: {}\n", parents_text(m));
    } else {
        entry += &format!("Parent: {}\n", parents_text(m));
    }
    if m.depends_on().len() > 0 {
        entry += &format!(
            "Also depends on: {}\n",
            m.depends_on().collect::<Vec<_>>().join(", ")
        );
    }
    if graph.is_branch_point(i) {
        entry += &format!(
            "Branches into: {}\n",
            graph.names(graph.children(i)).join(", ")
        );
    }
    if m.branch_labels().len() > 0 {
        entry += &format!(
            "Branch names: {}\n",
            m.branch_labels().collect::<Vec<_>>().join(", ")
        );
    }
    entry += &format!("Path: {dir}/{}\n\n", m.path());
    entry += &format!(
        "    {}\n\n    Revision ID: {}\n    Revises: {}\n",
        m.message(),
        m.revision(),
        m.down_revisions().collect::<Vec<_>>().join(", ")
    );
    if let Some(date) = m.create_date() {
        entry += &format!("    Create Date: {date}\n");
    }
    entry
}

/// A revision as a JSON object; `is_current` only when a database was read.
pub(crate) fn revision_json(
    set: &Migrations,
    graph: &Graph,
    i: usize,
    current: Option<bool>,
) -> Value {
    let m = &set.as_slice()[i];
    let mut value = json!({
        "revision": m.revision(),
        "down_revisions": m.down_revisions().collect::<Vec<_>>(),
        "message": m.message(),
        "create_date": m.create_date(),
        "branch_labels": graph.labels(i),
        "depends_on": m.depends_on().collect::<Vec<_>>(),
        "is_head": graph.is_real_head(i),
        "is_effective_head": graph.is_head(i) && !graph.is_real_head(i),
        "is_branch_point": graph.is_branch_point(i),
        "is_merge_point": graph.is_merge_point(i),
        "transactional": m.is_transactional(),
        "reversible": m.downgrade().is_some(),
        "path": m.path(),
        "checksum": m.checksum().to_string(),
    });
    if let (Some(current), Some(object)) = (current, value.as_object_mut()) {
        object.insert("is_current".to_owned(), json!(current));
    }
    value
}

/// The version of the JSON output's shape; it changes only when a field
/// changes meaning or goes away.
pub(crate) const JSON_VERSION: u64 = 1;

/// Prints a command's result on stdout as one JSON object, with `version`.
pub(crate) fn print_json(value: &Value) {
    let mut value = value.clone();
    if let Some(object) = value.as_object_mut() {
        object.insert("version".to_owned(), json!(JSON_VERSION));
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    );
}

/// Prints a listing on stdout in one buffered write per few kilobytes (not
/// one per line: a 1,000-revision history is one write, not 1,000). A
/// reader that went away (`migrate history | head`) ends the listing
/// quietly, where `println!` would panic.
pub(crate) fn print_lines(lines: impl IntoIterator<Item = String>) {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
    let _ = out.flush();
}

/// Prints a line of a command's text output: on stdout, or on stderr with
/// `--format json`, where stdout holds the one JSON object.
macro_rules! say {
    ($ctx:expr, $($arg:tt)*) => {{
        let text = format!($($arg)*);
        if $ctx.json() {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    }};
}
pub(crate) use say;

/// Asks a yes/no question on the terminal; no answer is no.
pub(crate) fn confirm(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::Write::flush(&mut std::io::stderr());
    let mut answer = String::new();
    std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut answer).is_ok()
        && matches!(answer.trim(), "y" | "Y" | "yes")
}
