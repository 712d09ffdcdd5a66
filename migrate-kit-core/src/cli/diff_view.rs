//! How a schema difference is shown: its changes and the SQL that goes the
//! way the command needs, as text or JSON.

use super::output::say;
use super::Context;
use crate::tools::schema::Diff;

/// Which way the SQL under a schema difference goes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fix {
    /// The migration to write so that the migrations produce the other schema.
    NewMigration,
    /// Back from the live database to what the migrations produce.
    BackToMigrations,
    /// From the expected schema to the one found (a stairway step).
    Found,
}

/// Prints a schema difference under a title, with the SQL that goes the
/// way `fix` says, each statement indented as a block.
pub(crate) fn show_diff(ctx: &Context<'_>, title: &str, d: &Diff, fix: Fix) {
    say!(ctx, "{title}");
    if let Fix::BackToMigrations = fix {
        say!(
            ctx,
            "  the database, compared with what the migrations produce:"
        );
    }
    for line in &d.summary {
        say!(ctx, "  {line}");
    }
    let (label, statements) = match fix {
        Fix::NewMigration => ("SQL of a migration that would make them agree:", &d.upgrade),
        Fix::BackToMigrations => (
            "SQL that would bring the database back to what the migrations produce:",
            &d.downgrade,
        ),
        Fix::Found => ("SQL from the expected schema to the one found:", &d.upgrade),
    };
    if statements.is_empty() {
        return;
    }
    say!(ctx, "  {label}");
    for statement in statements {
        for line in format!("{statement};").lines() {
            say!(ctx, "    {line}");
        }
    }
}

/// A schema difference as JSON: the changes and the SQL `fix` names.
pub(crate) fn diff_json(d: &Diff, fix: Fix) -> serde_json::Value {
    let sql = match fix {
        Fix::BackToMigrations => &d.downgrade,
        Fix::NewMigration | Fix::Found => &d.upgrade,
    };
    serde_json::json!({ "matches": d.is_empty(), "changes": d.summary, "sql": sql })
}
