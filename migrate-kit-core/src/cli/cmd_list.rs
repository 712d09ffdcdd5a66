//! `current`, `history`, `heads`, `branches` and `show`: listings in
//! Alembic's shapes, or JSON.

use super::args::HistoryArgs;
use super::output::{
    listing_entry, print_json, print_lines, revision_json, revision_line, verbose_entry, Line,
};
use super::{CliError, Context};
use crate::graph::target::Destination;
use crate::hint::Cmd;
use crate::{Graph, Target};
use serde_json::json;

/// The database's heads as indices; a missing database is at base.
fn database_heads(ctx: &Context<'_>) -> Result<Vec<usize>, CliError> {
    let Some(mut conn) = ctx.open_existing()? else {
        ctx.note_missing();
        return Ok(Vec::new());
    };
    let state = conn.ledger()?;
    if !state.has_version_table && !state.user_tables.is_empty() && !ctx.json() {
        eprintln!("note: the database has tables ({}) but no migration ledger: it was created by hand, not through migrations; {} finds and stamps the revision it matches",
            state.user_tables.join(", "),
            Cmd("adopt")
        );
    }
    Ok(crate::backend::ready(
        ctx.migrations_for_listing()?.database_heads(&mut conn),
    )?)
}

/// `current`: the database's revision(s).
pub(crate) fn current(ctx: &Context<'_>, verbose: bool) -> Result<(), CliError> {
    let set = ctx.migrations_for_listing()?;
    let graph = set.graph()?;
    let heads = graph.all_current(&database_heads(ctx)?);
    if ctx.json() {
        let list: Vec<_> = heads
            .iter()
            .map(|&i| revision_json(set, graph, i, Some(true)))
            .collect();
        print_json(&json!({
            "database": ctx.config().database.to_string(),
            "database_source": ctx.config().database_source,
            "heads": list
        }));
        return Ok(());
    }
    // As Alembic's context line: on stderr, so the revision stays alone on stdout.
    eprintln!("{}", ctx.database_line());
    let dir = ctx.config().dir.to_string_lossy().into_owned();
    let line = Line {
        tree: true,
        ..Line::default()
    };
    for &i in &heads {
        println!("{}", listing_entry(set, graph, i, verbose, &dir, line));
    }
    Ok(())
}

/// Resolves one end of a `history -r` range.
fn range_end(graph: &Graph, text: &str, db: &[usize]) -> Result<Option<Vec<usize>>, CliError> {
    match text {
        "" => Ok(None),
        "current" => Ok(Some(db.to_vec())),
        _ => match graph.resolve(&text.parse::<Target>()?, db)? {
            Destination::Revisions(revs) => Ok(Some(revs)),
            Destination::Base => Ok(None),
        },
    }
}

/// `history`: every revision, newest first.
pub(crate) fn history(ctx: &Context<'_>, args: &HistoryArgs) -> Result<(), CliError> {
    let set = ctx.migrations_for_listing()?;
    let graph = set.graph()?;
    let needs_db = args.indicate_current
        || args
            .rev_range
            .as_deref()
            .is_some_and(|r| r.contains("current") || r.starts_with(['-', '+']));
    // JSON says which revisions are current whenever a database is there.
    let db_read = needs_db || (ctx.json() && ctx.database_exists().unwrap_or(false));
    let db = if db_read {
        database_heads(ctx)?
    } else {
        Vec::new()
    };
    let n = graph.len();
    let mut shown = vec![true; n];
    if let Some(range) = &args.rev_range {
        let (lower, upper) = range.split_once(':').ok_or_else(|| {
            CliError::Usage(format!(
                "history range `{range}` must be START:END, such as 001:head or :current"
            ))
        })?;
        if let Some(upper) = range_end(graph, upper, &db)? {
            shown = graph.ancestors(&upper);
        }
        if let Some(lower) = range_end(graph, lower, &db)? {
            let above = graph.descendants(&lower);
            for (i, s) in shown.iter_mut().enumerate() {
                *s &= above[i];
            }
        }
    }
    let order: Vec<usize> = (0..n).rev().filter(|&i| shown[i]).collect();
    if ctx.json() {
        let list: Vec<_> = order
            .iter()
            .map(|&i| revision_json(set, graph, i, db_read.then(|| db.contains(&i))))
            .collect();
        print_json(&json!({ "revisions": list }));
        return Ok(());
    }
    let dir = ctx.config().dir.to_string_lossy().into_owned();
    print_lines(order.into_iter().map(|i| {
        let line = Line {
            parents: true,
            branches: true,
            doc: true,
            tree: true,
            current: args.indicate_current && db.contains(&i),
        };
        listing_entry(set, graph, i, args.verbose, &dir, line)
    }));
    Ok(())
}

/// `heads`: the heads of the migrations (not of the database).
pub(crate) fn heads(ctx: &Context<'_>, verbose: bool) -> Result<(), CliError> {
    let set = ctx.migrations_for_listing()?;
    let graph = set.graph()?;
    if ctx.json() {
        let list: Vec<_> = graph
            .heads()
            .iter()
            .map(|&i| revision_json(set, graph, i, None))
            .collect();
        print_json(&json!({ "heads": list }));
        return Ok(());
    }
    let dir = ctx.config().dir.to_string_lossy().into_owned();
    let line = Line {
        branches: true,
        ..Line::default()
    };
    print_lines(
        graph
            .heads()
            .iter()
            .map(|&i| listing_entry(set, graph, i, verbose, &dir, line)),
    );
    if graph.heads().len() > 1 && !ctx.json() {
        eprintln!(
            "note: {} heads; join them with {}",
            graph.heads().len(),
            Cmd("merge heads -m \"merge\"")
        );
    }
    Ok(())
}

/// `branches`: each branch point and where it leads.
pub(crate) fn branches(ctx: &Context<'_>, verbose: bool) -> Result<(), CliError> {
    let set = ctx.migrations_for_listing()?;
    let graph = set.graph()?;
    let points: Vec<usize> = (0..graph.len())
        .rev()
        .filter(|&i| graph.is_branch_point(i))
        .collect();
    if ctx.json() {
        let list: Vec<_> = points
            .iter()
            .map(|&i| json!({ "revision": graph.id(i), "branches_into": graph.names(graph.children(i)) }))
            .collect();
        print_json(&json!({ "branch_points": list }));
        return Ok(());
    }
    for i in points {
        println!(
            "{}",
            revision_line(
                set,
                graph,
                i,
                Line {
                    branches: true,
                    tree: true,
                    ..Line::default()
                }
            )
        );
        let indent = " ".repeat(graph.id(i).len());
        for &child in graph.children(i) {
            let line = Line {
                branches: true,
                tree: true,
                doc: verbose,
                ..Line::default()
            };
            println!("{indent} -> {}", revision_line(set, graph, child, line));
        }
        println!();
    }
    Ok(())
}

/// `show REV`: one revision in full.
pub(crate) fn show(ctx: &Context<'_>, rev: &str) -> Result<(), CliError> {
    let set = ctx.migrations_for_listing()?;
    let graph = set.graph()?;
    let db_read = rev == "current";
    let db = if db_read {
        database_heads(ctx)?
    } else {
        Vec::new()
    };
    let revisions = match rev {
        "current" => db.clone(),
        _ => match graph.resolve(&rev.parse::<Target>()?, &db)? {
            Destination::Revisions(revs) => revs,
            Destination::Base => Vec::new(),
        },
    };
    let dir = ctx.config().dir.to_string_lossy().into_owned();
    if ctx.json() {
        let list: Vec<_> = revisions
            .iter()
            .map(|&i| revision_json(set, graph, i, db_read.then(|| db.contains(&i))))
            .collect();
        print_json(&json!({ "revisions": list }));
        return Ok(());
    }
    for i in revisions {
        print!("{}", verbose_entry(set, graph, i, db.contains(&i), &dir));
    }
    Ok(())
}
