//! `revision --autogenerate`, `check`, `test` and `adopt`: the commands
//! built on the schema model.

use super::args::RevisionArgs;
use super::diff_view::{diff_json, show_diff, Fix};
use super::output::{print_json, say};
use super::{CliError, Context};
use crate::hint::Cmd;
use crate::tools::schema::tools::{self, Match, StairwayOutcome, Workbench};
use crate::tools::schema::{Diff, Renames};
use crate::Migrations;
use std::path::Path;

/// The declared schema file inside a migrations folder.
pub(crate) const SCHEMA_FILE: &str = "schema.sql";

fn parse_renames(args: &RevisionArgs) -> Result<Renames, CliError> {
    let mut renames = Renames::default();
    for spec in &args.rename_table {
        let (old, new) = spec
            .split_once('=')
            .ok_or_else(|| CliError::Usage(format!("--rename-table `{spec}` must be OLD=NEW")))?;
        renames.tables.push((old.to_owned(), new.to_owned()));
    }
    for spec in &args.rename_column {
        let parsed = spec
            .split_once('=')
            .and_then(|(left, new)| left.split_once('.').map(|(t, old)| (t, old, new)));
        let (table, old, new) = parsed.ok_or_else(|| {
            CliError::Usage(format!("--rename-column `{spec}` must be TABLE.OLD=NEW"))
        })?;
        renames
            .columns
            .push((table.to_owned(), old.to_owned(), new.to_owned()));
    }
    Ok(renames)
}

/// The body of `revision --autogenerate`: the SQL from the schema the
/// migrations produce at `parents` (the new revision's parents, which
/// `--head` chooses) to `schema.sql`; `None` when they already agree.
pub(crate) fn autogenerate_body(
    ctx: &Context<'_>,
    dir: &Path,
    args: &RevisionArgs,
    parents: &[String],
) -> Result<Option<String>, CliError> {
    let path = dir.join(SCHEMA_FILE);
    if !path.exists() {
        return Err(CliError::Refused(format!(
            "no {} in {}: write the schema the application needs there, then run autogenerate again",
            SCHEMA_FILE,
            dir.display()
        )));
    }
    let set = Migrations::from_dir(dir).ok();
    let d = autogenerate_diff(ctx, set.as_ref(), parents, &path, &parse_renames(args)?)?;
    if d.is_empty() {
        return Ok(None);
    }
    for line in &d.summary {
        eprintln!("Detected {line}");
    }
    for finding in &d.findings {
        eprintln!("warning: {finding}");
    }
    Ok(Some(d.migration_body()))
}

/// From what the migrations produce at `parents` to the schema `path`
/// declares, each replayed on the configured backend's workbench.
fn autogenerate_diff(
    ctx: &Context<'_>,
    set: Option<&Migrations>,
    parents: &[String],
    path: &Path,
    renames: &Renames,
) -> Result<Diff, CliError> {
    Ok(workbench(ctx).autogenerate(set, parents, path, renames)?)
}

/// Where the schema tools replay migrations for the configured database.
fn workbench(ctx: &Context<'_>) -> Workbench {
    Workbench::for_location(&ctx.config().database, &ctx.config().server)
}

/// How the migrations at `heads` differ from `schema.sql`, replayed on the
/// configured backend; `None` without a `schema.sql`.
fn declared_drift(
    ctx: &Context<'_>,
    set: &Migrations,
    heads: &[String],
) -> Result<Option<Diff>, CliError> {
    let path = ctx.config().dir.join(SCHEMA_FILE);
    if !path.exists() {
        return Ok(None);
    }
    autogenerate_diff(ctx, Some(set), heads, &path, &Renames::default()).map(Some)
}

/// `check`: schema.sql vs the migrations, the live database vs the
/// migrations at its revision, and with `lint`, unacknowledged findings.
pub(crate) fn check(ctx: &Context<'_>, lint: bool) -> Result<(), CliError> {
    let set = ctx.migrations()?;
    let graph = set.graph()?;
    let mut problems = 0;
    let mut result = serde_json::Map::new();
    let all_heads = graph.names(graph.heads());
    if let Some(d) = declared_drift(ctx, set, &all_heads)? {
        result.insert("schema_sql".into(), diff_json(&d, Fix::NewMigration));
        if d.is_empty() {
            say!(ctx, "ok: the migrations produce {SCHEMA_FILE}");
        } else {
            problems += 1;
            show_diff(
                ctx,
                &format!(
                    "{SCHEMA_FILE} and the migrations disagree (a forgotten migration? run {}):",
                    Cmd("revision --autogenerate -m ...")
                ),
                &d,
                Fix::NewMigration,
            );
        }
    }
    if let Some(mut conn) = ctx.open_existing()? {
        let state = conn.ledger()?;
        if state.has_version_table {
            let d = tools::drift(set, &mut conn, &state.heads)?;
            result.insert("database".into(), diff_json(&d, Fix::BackToMigrations));
            if d.is_empty() {
                say!(
                    ctx,
                    "ok: the database matches the migrations at {}",
                    if state.heads.is_empty() {
                        "base".to_owned()
                    } else {
                        state.heads.join(", ")
                    }
                );
            } else {
                problems += 1;
                show_diff(
                    ctx,
                    &format!("schema drift: {} differs from what the migrations produce at its revision (altered by hand?):", ctx.config().database),
                    &d,
                    Fix::BackToMigrations,
                );
            }
        }
    }
    if lint {
        let findings = lint_migrations(ctx, set)?;
        problems += findings.len();
        result.insert("lint".into(), serde_json::json!(findings));
    }
    if ctx.json() {
        result.insert("problems".into(), serde_json::json!(problems));
        print_json(&serde_json::Value::Object(result));
    }
    if problems == 0 {
        Ok(())
    } else {
        Err(CliError::Refused(format!(
            "check found {problems} problem(s), shown above"
        )))
    }
}

/// Lints each migration (on SQLite by the schema change it makes, on
/// PostgreSQL by the hazards of its statements); returns the findings its
/// header does not acknowledge, as printed.
fn lint_migrations(ctx: &Context<'_>, set: &Migrations) -> Result<Vec<String>, CliError> {
    let findings = workbench(ctx).lint(set)?;
    let mut unacknowledged = Vec::new();
    for (i, finding) in findings {
        let line = format!(
            "{}: {finding}; acknowledge it with `-- allow: {}` in the header",
            set.as_slice()[i].path(),
            finding.code
        );
        say!(ctx, "{line}");
        unacknowledged.push(line);
    }
    if unacknowledged.is_empty() {
        say!(
            ctx,
            "ok: no unacknowledged destructive or data-dependent change"
        );
    }
    Ok(unacknowledged)
}

/// `test`: the stairway test on a scratch database (an in-memory SQLite
/// database, or databases created and dropped on the configured server).
pub(crate) fn stairway(ctx: &Context<'_>) -> Result<(), CliError> {
    let set = ctx.migrations()?;
    let mut irreversible = Vec::new();
    let mut steps = Vec::new();
    let outcome = workbench(ctx).stairway(set, &mut |rev, outcome| {
        let result = match outcome {
            StairwayOutcome::UpDownUp => "up, down, up ok",
            StairwayOutcome::Irreversible => {
                irreversible.push(rev.to_owned());
                "up ok; irreversible, down skipped"
            }
            StairwayOutcome::MergePoint => {
                "up ok; merge point, down checked through its parents later"
            }
        };
        say!(ctx, "{rev}: {result}");
        steps.push(serde_json::json!({ "revision": rev, "result": result }));
    })?;
    if let Err(failure) = outcome {
        show_diff(
            ctx,
            &format!(
                "{}: after {} the schema differs from the replayed schema:",
                failure.revision, failure.step
            ),
            &failure.diff,
            Fix::Found,
        );
        return Err(CliError::Refused(format!(
            "stairway test failed at revision {} ({})",
            failure.revision, failure.step
        )));
    }
    if ctx.json() {
        print_json(
            &serde_json::json!({ "ok": true, "revisions": steps, "irreversible": irreversible }),
        );
        return Ok(());
    }
    println!(
        "stairway ok: {} revisions{}",
        set.len(),
        if irreversible.is_empty() {
            String::new()
        } else {
            format!(", irreversible: {}", irreversible.join(", "))
        }
    );
    Ok(())
}

/// `adopt`: find the revision whose schema the live database has.
pub(crate) fn adopt(ctx: &Context<'_>, yes: bool) -> Result<(), CliError> {
    let set = ctx.migrations()?;
    let Some(mut live_conn) = ctx.open_existing()? else {
        return Err(ctx.missing());
    };
    // A database with a ledger is adopted again only when its schema is not
    // what the migrations build at its recorded revision (a wrong stamp,
    // or revisions no file declares): the stamp then replaces the rows.
    let state = live_conn.ledger()?;
    let restamp = !state.heads.is_empty();
    if restamp {
        let graph = set.graph()?;
        let known = state.heads.iter().all(|h| graph.find(h).is_some());
        if known && tools::drift(set, &mut live_conn, &state.heads)?.is_empty() {
            return Err(CliError::Refused(format!(
                "the database is at {}, and its schema is exactly what the migrations build there: there is nothing to adopt",
                state.heads.join(", ")
            )));
        }
    }
    let found = tools::matching_revision_of(set, &mut live_conn)?;
    drop(live_conn);
    match found {
        Match::Revision(i) => {
            let m = &set.as_slice()[i];
            say!(
                ctx,
                "the database matches revision {} ({})",
                m.revision(),
                m.message()
            );
            if !yes && !super::output::confirm(&format!("stamp it as {}?", m.revision())) {
                return Err(CliError::Refused(
                    "not stamped; nothing was changed (pass --yes to confirm)".to_owned(),
                ));
            }
            return super::cmd_run::stamp(ctx, m.revision(), restamp, false);
        }
        Match::Closest { revision, diff } => {
            let rev = set.as_slice()[revision].revision();
            show_diff(
                ctx,
                &format!(
                    "no revision matches the database; the closest is {rev}, which differs by:"
                ),
                &diff,
                Fix::BackToMigrations,
            );
            if ctx.json() {
                print_json(
                    &serde_json::json!({ "matched": null, "closest": rev, "difference": diff_json(&diff, Fix::BackToMigrations) }),
                );
            }
        }
        Match::Nothing => {}
    }
    Err(CliError::Refused(
        format!(
            "no revision matches; {} moves the rows into a database the migrations build (a backup first, the old file kept), or by hand: {}, move the file away, {}, {} the export",
            Cmd("rebuild"),
            Cmd("export"),
            Cmd("upgrade head"),
            Cmd("import")
        ),
    ))
}
