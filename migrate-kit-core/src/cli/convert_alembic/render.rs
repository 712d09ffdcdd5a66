//! A captured Alembic revision as a migration file: the same id, parents,
//! labels, dependencies, message and date in the header, and the SQL
//! Alembic ran in the sections. What could not be captured is named in a
//! comment with its file and line, and the upgrade ends with the failing
//! placeholder `migrate revision` writes, so it cannot be applied as is.

use super::capture::{Problem, Revision};
use crate::files::statements::{self, Unfit};
use crate::files::template::PLACEHOLDER_MARK;

/// The file of `revision`.
pub(super) fn file(revision: &Revision) -> String {
    let mut text = header(revision);
    text += "\n-- migrate:upgrade\n";
    text += &format!(
        "-- Converted from {} by migrate convert-alembic.\n",
        revision.path
    );
    text += &section(revision, "upgrade", &revision.upgrade);
    text += "-- migrate:downgrade\n";
    if irreversible(revision) {
        text += "-- Alembic's downgrade() raised (above): the revision is irreversible here too.\n";
        for problem in revision.problems.iter().filter(|p| p.phase == "downgrade") {
            text += &format!("-- {}\n", one_line(&problem.message));
        }
    } else {
        text += &section(revision, "downgrade", &revision.downgrade);
    }
    text
}

/// Whether Alembic's `downgrade()` raised: the file gets no downgrade SQL.
pub(super) fn irreversible(revision: &Revision) -> bool {
    revision
        .problems
        .iter()
        .any(|p| p.phase == "downgrade" && p.kind == "failed")
}

/// Whether a problem leaves a section that needs a hand (a downgrade that
/// raised is an irreversible revision instead).
pub(super) fn needs_a_hand(problem: &Problem) -> bool {
    !(problem.phase == "downgrade" && problem.kind == "failed")
}

fn header(revision: &Revision) -> String {
    let down = if revision.down_revisions.is_empty() {
        "none".to_owned()
    } else {
        revision.down_revisions.join(", ")
    };
    let message = revision.message.lines().next().unwrap_or_default().trim();
    let mut text = format!(
        "-- revision: {}\n-- down_revision: {down}\n-- message: {}\n",
        revision.revision,
        if message.is_empty() {
            &revision.revision
        } else {
            message
        }
    );
    if let Some(date) = &revision.create_date {
        text += &format!("-- create_date: {date}\n");
    }
    if !revision.branch_labels.is_empty() {
        text += &format!("-- branch_labels: {}\n", revision.branch_labels.join(", "));
    }
    if !revision.depends_on.is_empty() {
        text += &format!("-- depends_on: {}\n", revision.depends_on.join(", "));
    }
    if needs_autocommit(revision) {
        text += "-- transactional: false\n";
    }
    text
}

/// Whether Alembic ran a statement that cannot run inside a transaction
/// (an `autocommit_block` around `CREATE INDEX CONCURRENTLY`).
fn needs_autocommit(revision: &Revision) -> bool {
    revision
        .upgrade
        .iter()
        .chain(&revision.downgrade)
        .flat_map(|sql| statements::split(sql))
        .any(|statement| statement.problem(true) == Some(Unfit::Concurrently))
}

/// The statements of one section, each ending in `;`, after a comment for
/// each problem of that phase, and then the failing placeholder when there
/// is one. In a phase that reads the database, the reads it made are left
/// as comments: they returned nothing on the empty scratch database, and
/// what followed them depends on the rows. A phase that ran no statement
/// (a merge, a `pass`) is `SELECT 1;`, since an empty upgrade is refused
/// and an empty downgrade means irreversible.
fn section(revision: &Revision, phase: &str, sql: &[String]) -> String {
    let problems: Vec<&Problem> = revision
        .problems
        .iter()
        .filter(|p| p.phase == phase)
        .collect();
    let mut text = String::new();
    for problem in &problems {
        text += &problem_comment(revision, problem);
    }
    let reads = problems.iter().any(|p| p.kind == "reads");
    for statement in sql {
        let statement = statement.trim().trim_end_matches(';');
        if reads && is_read(statement) {
            text += &format!("-- read by the revision: {}\n", one_line(statement));
        } else {
            text += &format!("{statement};\n\n");
        }
    }
    if !problems.is_empty() {
        text += &format!(
            "SELECT * FROM \"revision {} {PLACEHOLDER_MARK}\";\n\n",
            revision.revision
        );
    } else if sql.is_empty() {
        text += "-- Alembic ran no statement here.\nSELECT 1;\n\n";
    }
    text
}

fn problem_comment(revision: &Revision, problem: &Problem) -> String {
    let place = match problem.line {
        Some(line) => format!("{}:{line}", revision.path),
        None => revision.path.clone(),
    };
    let what = match problem.kind.as_str() {
        "reads" => "write the data change as SQL that does not depend on reading rows first (an UPDATE ... FROM, a CASE), then delete the placeholder statement",
        _ => "fix the revision or write its SQL here, then delete the placeholder statement",
    };
    format!(
        "-- NEEDS A HAND: {place}: {}.\n-- What to do: {what}.\n",
        one_line(&problem.message)
    )
}

fn is_read(statement: &str) -> bool {
    let first = statement.split_whitespace().next().unwrap_or_default();
    first.eq_ignore_ascii_case("SELECT") || first.eq_ignore_ascii_case("WITH")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
