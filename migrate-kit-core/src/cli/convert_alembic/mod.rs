//! `convert-alembic`: an Alembic project's revisions become migration files
//! with the same ids, graph, messages and dates, and the SQL Alembic itself
//! runs for each revision on the chosen dialect, captured online on a
//! scratch database ([`capture`]), since offline mode cannot render
//! `batch_alter_table` on SQLite. What cannot be captured as SQL is
//! reported with its file and line, never guessed ([`render`]).

mod capture;
mod compare;
mod python;
mod render;

use super::args::{ConvertArgs, Dialect};
use super::output::{print_json, say};
use super::{CliError, Context};
use crate::hint::Cmd;
use crate::load::VERSIONS_DIR;
#[cfg(feature = "postgres")]
use crate::tools::schema::server_lab::Scratch;
use crate::{Location, Migrations};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Converts the project at `args.path` into the configured migrations folder.
pub(crate) fn convert(ctx: &Context<'_>, args: &ConvertArgs) -> Result<(), CliError> {
    let dir = ctx.source_dir("convert-alembic")?.to_owned();
    if !args.path.exists() {
        return Err(CliError::Refused(format!(
            "there is no Alembic project at {}; give its alembic.ini or its script folder (the one holding env.py and versions/)",
            args.path.display()
        )));
    }
    let dialect = args.dialect.unwrap_or(match ctx.config().database {
        Location::Postgres { .. } => Dialect::Postgresql,
        _ => Dialect::Sqlite,
    });
    let python = python::choose(ctx, args.python.as_deref(), dialect, &args.path)?;
    let folder = ScratchFolder::new()?;
    let capture = match dialect {
        Dialect::Sqlite => {
            let url = format!("sqlite:///{}", folder.0.join("capture.db").display());
            capture::run(&python, &args.path, &url)?
        }
        #[cfg(feature = "postgres")]
        Dialect::Postgresql => {
            let scratch = Scratch::create(server(ctx)?, &ctx.config().server)?;
            let url = scratch.location().postgres_url().unwrap_or_default();
            capture::run(&python, &args.path, &url)?
        }
        #[cfg(not(feature = "postgres"))]
        Dialect::Postgresql => {
            return Err(CliError::Refused(
                "this build has no PostgreSQL backend (the `postgres` feature), so it cannot capture PostgreSQL's SQL; use --dialect sqlite".to_owned(),
            ))
        }
    };
    if capture.revisions.is_empty() {
        return Err(CliError::Refused(format!(
            "Alembic found no revisions in {}; give the project's alembic.ini or the script folder whose versions/ holds them",
            args.path.display()
        )));
    }
    let versions = dir.join(VERSIONS_DIR);
    let targets = targets(&versions, &capture.revisions);
    if !args.force {
        refuse_overwrites(&dir, &targets, args)?;
    }
    std::fs::create_dir_all(&versions).map_err(CliError::io(&versions))?;
    for (revision, path) in capture.revisions.iter().zip(&targets) {
        std::fs::write(path, render::file(revision)).map_err(CliError::io(path))?;
    }
    // The folder must load as any other: the graph, the headers, the SQL.
    let set = Migrations::from_dir(&dir)?;
    report(ctx, &capture, &targets, &dir);
    let alembic = compare::Alembic {
        python: &python,
        project: &args.path,
        url_variable: &args.url_variable,
    };
    let outcome = match dialect {
        Dialect::Sqlite => compare::on_sqlite(alembic, &set, &capture.revisions, &folder.0)?,
        #[cfg(feature = "postgres")]
        Dialect::Postgresql => compare::on_postgres(
            alembic,
            &set,
            &capture.revisions,
            server(ctx)?,
            &ctx.config().server,
        )?,
        #[cfg(not(feature = "postgres"))]
        Dialect::Postgresql => unreachable!("refused before the capture"),
    };
    report_comparison(ctx, &outcome);
    if let Some((step, _)) = outcome.different.first() {
        return Err(CliError::Refused(format!(
            "the converted folder and Alembic disagree after `{step}` (above); the files are written, but do not deploy them until the difference is understood"
        )));
    }
    let needing = capture
        .revisions
        .iter()
        .filter(|r| r.problems.iter().any(render::needs_a_hand))
        .count();
    if needing > 0 {
        return Err(CliError::Refused(format!(
            "{needing} of {} revisions need a hand (NEEDS A HAND above, and in their files); until their SQL is written their upgrade fails on a placeholder; then {} upgrades, downgrades and upgrades each revision on a scratch database",
            set.len(),
            Cmd("test")
        )));
    }
    Ok(())
}

/// The PostgreSQL server the scratch databases are created on.
#[cfg(feature = "postgres")]
fn server<'c>(ctx: &'c Context<'_>) -> Result<&'c Location, CliError> {
    match &ctx.config().database {
        server @ Location::Postgres { .. } => Ok(server),
        other => Err(CliError::Refused(format!(
            "--dialect postgresql captures what Alembic runs on scratch databases of a PostgreSQL server, and the configured database {other} is not one; name a server with --database or DATABASE_URL (a postgresql:// URL)"
        ))),
    }
}

fn report_comparison(ctx: &Context<'_>, outcome: &compare::Outcome) {
    say!(
        ctx,
        "compared with Alembic's own upgrade and downgrade, revision by revision from base: {} steps the same, {} different",
        outcome.same,
        outcome.different.len()
    );
    for (step, lines) in &outcome.different {
        eprintln!("after `{step}`, Alembic's database (-) and the converted folder's (+) differ:");
        for line in lines {
            eprintln!("  {line}");
        }
    }
    for (step, why) in &outcome.alembic_failed {
        say!(
            ctx,
            "not compared: `{step}`, which Alembic itself could not run ({why})"
        );
    }
    for (revision, why) in &outcome.downgrades_skipped {
        say!(ctx, "downgrade of {revision} not compared: {why}");
    }
    if let Some((revision, why)) = &outcome.stopped {
        say!(
            ctx,
            "the comparison stopped at {revision}: {}",
            why.lines().next().unwrap_or_default()
        );
    }
}

/// The file each revision becomes: its Alembic file's name, `.sql`.
fn targets(versions: &Path, revisions: &[capture::Revision]) -> Vec<PathBuf> {
    revisions
        .iter()
        .map(|r| {
            let stem = Path::new(&r.path)
                .file_stem()
                .map_or_else(|| r.revision.clone(), |s| s.to_string_lossy().into_owned());
            versions.join(format!("{stem}.sql"))
        })
        .collect()
}

/// Refuses to overwrite a file, or to add a revision the folder already
/// holds under another name.
fn refuse_overwrites(dir: &Path, targets: &[PathBuf], args: &ConvertArgs) -> Result<(), CliError> {
    let existing: Vec<&PathBuf> = targets.iter().filter(|t| t.exists()).collect();
    let again = format!("convert-alembic {} --force", args.path.display());
    if let Some(first) = existing.first() {
        return Err(CliError::Refused(format!(
            "{} migration files exist already ({} first); nothing was written. {} overwrites them",
            existing.len(),
            first.display(),
            Cmd(again)
        )));
    }
    if dir.join(VERSIONS_DIR).exists() {
        if let Ok(set) = Migrations::from_dir(dir) {
            if !set.is_empty() {
                return Err(CliError::Refused(format!(
                    "{} already holds {} migrations; convert into an empty folder (--dir), or add {} to convert beside them",
                    dir.display(),
                    set.len(),
                    Cmd(again)
                )));
            }
        }
    }
    Ok(())
}

fn report(ctx: &Context<'_>, capture: &capture::Capture, targets: &[PathBuf], dir: &Path) {
    for (revision, path) in capture.revisions.iter().zip(targets) {
        let shown = path.strip_prefix(dir).unwrap_or(path).display();
        say!(
            ctx,
            "{} {}: {} upgrade and {} downgrade statements -> {shown}",
            revision.revision,
            revision.message.lines().next().unwrap_or_default(),
            revision.upgrade.len(),
            revision.downgrade.len()
        );
        for problem in &revision.problems {
            eprintln!(
                "NEEDS A HAND: {}:{} ({}): {}",
                revision.path,
                problem.line.map_or("?".to_owned(), |l| l.to_string()),
                problem.phase,
                problem.message
            );
        }
    }
    if ctx.json() {
        print_json(&json!({
            "dialect": capture.dialect,
            "revisions": capture.revisions.iter().zip(targets).map(|(r, path)| json!({
                "revision": r.revision,
                "file": path.strip_prefix(dir).unwrap_or(path),
                "alembic_file": r.path,
                "upgrade_statements": r.upgrade.len(),
                "downgrade_statements": r.downgrade.len(),
                "problems": r.problems.iter().map(|p| json!({
                    "kind": p.kind,
                    "phase": p.phase,
                    "line": p.line,
                    "message": p.message,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }));
    }
}

/// A folder for scratch SQLite files, removed on drop.
struct ScratchFolder(PathBuf);

impl ScratchFolder {
    fn new() -> Result<ScratchFolder, CliError> {
        let folder = std::env::temp_dir().join(format!(
            "migrate-convert-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&folder).map_err(CliError::io(&folder))?;
        Ok(ScratchFolder(folder))
    }
}

impl Drop for ScratchFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
