//! `upgrade`, `downgrade` and `stamp`: online runs and offline SQL.

use super::args::{DowngradeArgs, RunFlags, UpgradeArgs};
use super::diff_view::{show_diff, Fix};
use super::output::print_json;
use super::{cmd_data, CliError, Context};
use crate::hint::Cmd;
use crate::{Database, Direction, LockWait, RunOptions, RunReport, StepReport, Target};
use serde_json::json;
use std::io::IsTerminal;

/// `upgrade TARGET`.
pub(crate) fn upgrade(ctx: &Context<'_>, args: &UpgradeArgs) -> Result<(), CliError> {
    if args.sql {
        return offline(ctx, &args.target, Direction::Up);
    }
    migrate(ctx, &args.target, Direction::Up, &args.run)
}

/// `downgrade TARGET`.
pub(crate) fn downgrade(ctx: &Context<'_>, args: &DowngradeArgs) -> Result<(), CliError> {
    if args.sql {
        return offline(ctx, &args.target, Direction::Down);
    }
    if args.target.contains(':') {
        return Err(CliError::Usage(
            "FROM:TO is only for --sql; give a single target".to_owned(),
        ));
    }
    migrate(ctx, &args.target, Direction::Down, &args.run)
}

fn migrate(
    ctx: &Context<'_>,
    target: &str,
    direction: Direction,
    flags: &RunFlags,
) -> Result<(), CliError> {
    let RunFlags {
        backup,
        transaction_per_migration: per_migration,
        verbose,
    } = *flags;
    let target: Target = target.parse()?;
    let set = ctx.migrations()?;
    if verbose {
        eprintln!("{}", ctx.database_line());
    }
    if (backup || ctx.config().backup_before_migrating) && has_work(ctx, set, &target, direction)? {
        cmd_data::backup_file(ctx, None).map_err(|error| {
            if backup {
                error
            } else {
                CliError::Refused(format!(
                    "{error}\nthe backup runs because backup_before_migrating = true in migrate.toml; nothing was migrated. Fix the backup, or set backup_before_migrating = false and back the database up yourself"
                ))
            }
        })?;
    }
    let created = NewFile::about_to_create(ctx);
    let mut conn = ctx.open()?;
    let progress = |step: &StepReport| {
        let verb = if step.direction == Direction::Up {
            "upgrade"
        } else {
            "downgrade"
        };
        let (from, to) = match step.direction {
            Direction::Up => (step.from.join(", "), step.revision.clone()),
            Direction::Down => (step.revision.clone(), step.from.join(", ")),
        };
        eprintln!(
            "Running {verb} {from} -> {to}, {} ({} ms)",
            step.message,
            step.elapsed.as_millis()
        );
    };
    let waiting = |wait: &LockWait| {
        let who = match &wait.holder {
            Some(holder) => format!(
                "the migration lock of {}, held by {holder}",
                ctx.config().database
            ),
            None => format!(
                "another process that is writing to {} (the database does not say which)",
                ctx.config().database
            ),
        };
        eprintln!(
            "waiting for {who}; giving up after {} s",
            wait.limit.as_secs()
        );
    };
    let show_steps = verbose || (std::io::stderr().is_terminal() && !ctx.json());
    let options = RunOptions {
        transaction_per_migration: per_migration,
        busy_timeout: ctx.config().busy_timeout,
        on_step: show_steps.then_some(&progress as &(dyn Fn(&StepReport) + Sync)),
        on_wait: Some(&waiting),
        // An operator's downgrade reverts revisions newer than these files
        // with the SQL stored when they ran.
        roll_back_unknown: direction == Direction::Down,
    };
    let outcome = match direction {
        Direction::Up => set.upgrade_with(&mut conn, &target, &options),
        Direction::Down => set.downgrade_with(&mut conn, &target, &options),
    };
    let outcome = outcome.map_err(|mut error| {
        diagnose(set, &mut conn, &mut error);
        error
    });
    let report = match (outcome, created) {
        (Ok(report), _) => report,
        (Err(error), Some(created)) if !error.committed_anything() => {
            drop(conn);
            created.remove();
            return Err(error.into());
        }
        (Err(error), _) => return Err(error.into()),
    };
    print_run(ctx, &report, direction);
    // An applied file edited afterwards is drift whether or not anything
    // ran: say so here as `verify` does.
    if !ctx.json() {
        for m in set.verify(&mut conn)?.modified {
            eprintln!("warning: {} ({}) was edited after it was applied (recorded {}, file now {}); {} reports it, {} accepts it",
                m.revision, m.path, m.recorded, m.current, Cmd("verify"), Cmd(format!("repair --accept {}", m.revision))
            );
        }
    }
    Ok(())
}

/// When a statement failed on a table or column that is missing or already
/// there, compares the live schema with what the migrations build at the
/// revision the database is at, so the message blames the migration (a
/// typo) or the database (drift), not a guess.
fn diagnose(set: &crate::Migrations, db: &mut Database, error: &mut crate::RunError) {
    let Some(statement) = error.statement_mut() else {
        return;
    };
    if statement.cause() != crate::Cause::Mismatch {
        return;
    }
    let Ok(state) = db.ledger() else {
        return;
    };
    if let Ok(diff) = crate::tools::schema::tools::drift(set, db, &state.heads) {
        statement.schema_matches = Some(diff.is_empty());
    }
}

/// Whether a run to `target` would run anything on the existing database
/// (read without the lock; a run that cannot be planned here, such as one
/// that first rolls back revisions these files lack, counts as work).
fn has_work(
    ctx: &Context<'_>,
    set: &crate::Migrations,
    target: &Target,
    direction: Direction,
) -> Result<bool, CliError> {
    let Some(mut db) = ctx.open_existing()? else {
        return Ok(false);
    };
    Ok(set
        .plan(&mut db, target, direction)
        .map_or(true, |plan| !plan.steps.is_empty()))
}

/// An SQLite file (and the folders above it) that a run is about to
/// create: a first run that fails with nothing committed removes them, so
/// no empty database is left to be mistaken for a migrated one.
struct NewFile {
    path: std::path::PathBuf,
    /// The folders that did not exist, deepest first.
    folders: Vec<std::path::PathBuf>,
}

impl NewFile {
    /// The file the configured location would create, if it is missing.
    fn about_to_create(ctx: &Context<'_>) -> Option<NewFile> {
        let crate::Location::Sqlite {
            path,
            mode: crate::OpenMode::ReadWriteCreate,
        } = &ctx.config().database
        else {
            return None;
        };
        if path.exists() {
            return None;
        }
        let folders = path
            .ancestors()
            .skip(1)
            .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
            .map(std::path::Path::to_owned)
            .collect();
        Some(NewFile {
            path: path.clone(),
            folders,
        })
    }

    /// Removes the file, its journal files and the folders made for it.
    fn remove(self) {
        let name = self.path.as_os_str().to_owned();
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut file = name.clone();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
        for folder in &self.folders {
            let _ = std::fs::remove_dir(folder);
        }
        eprintln!(
            "removed {}, which this run created: nothing was committed to it",
            self.path.display()
        );
    }
}

use crate::graph::heads_text;

/// Says how many foreign key violations the database had before a run.
pub(super) fn warn_preexisting(ctx: &Context<'_>, violations: &[impl std::fmt::Display]) {
    if let Some(first) = violations.first().filter(|_| !ctx.json()) {
        eprintln!("warning: {} already had {} foreign key violation{} before this run (for example: {first}); the run added none. {} lists them",
            ctx.config().database,
            violations.len(),
            if violations.len() == 1 { "" } else { "s" },
            Cmd("verify")
        );
    }
}

fn print_run(ctx: &Context<'_>, report: &RunReport, direction: Direction) {
    warn_preexisting(ctx, &report.preexisting_violations);
    let verb = if direction == Direction::Up {
        "upgrade"
    } else {
        "downgrade"
    };
    if ctx.json() {
        let steps: Vec<_> = report
            .steps
            .iter()
            .map(|s| json!({ "revision": s.revision, "message": s.message, "ms": s.elapsed.as_millis() as u64 }))
            .collect();
        print_json(&json!({
            "operation": verb,
            "heads_before": report.heads_before,
            "heads_after": report.heads_after,
            "steps": steps,
            "already_past": report.already_past,
            "preexisting_foreign_key_violations": report.preexisting_violations.len(),
        }));
    } else if report.steps.is_empty() {
        if !report.already_past.is_empty() {
            eprintln!("note: {} already applied: the database is past {} (at {}), so nothing was done; {} goes back",
                report.already_past.join(", "),
                if report.already_past.len() == 1 { "it" } else { "them" },
                heads_text(&report.heads_after),
                Cmd("downgrade")
            );
        }
        println!(
            "nothing to {verb}: {} is at {}",
            ctx.config().database,
            heads_text(&report.heads_after)
        );
    } else {
        let outside: Vec<&str> = report
            .steps
            .iter()
            .filter(|s| !s.transactional)
            .map(|s| s.revision.as_str())
            .collect();
        let how = if outside.is_empty() {
            "in one transaction".to_owned()
        } else {
            format!(
                "{} outside the transaction, as its header asks",
                outside.join(", ")
            )
        };
        println!(
            "{verb} {}: {} -> {} ({} migration{}, {how})",
            ctx.config().database,
            heads_text(&report.heads_before),
            heads_text(&report.heads_after),
            report.steps.len(),
            if report.steps.len() == 1 { "" } else { "s" }
        );
    }
}

/// `stamp TARGET [--purge]`.
pub(crate) fn stamp(
    ctx: &Context<'_>,
    target: &str,
    purge: bool,
    force: bool,
) -> Result<(), CliError> {
    let set = ctx.migrations()?;
    let target: Target = target.parse()?;
    let mut conn = ctx.open()?;
    if !force {
        // A stamp is a claim about the schema: check it before writing it.
        let rows = set.stamp_rows(&mut conn, &target, purge)?;
        let d = crate::tools::schema::tools::drift(set, &mut conn, &rows)?;
        if !d.is_empty() {
            show_diff(
                ctx,
                &format!(
                    "{} does not have the schema the migrations produce at {}:",
                    ctx.config().database,
                    heads_text(&rows)
                ),
                &d,
                Fix::BackToMigrations,
            );
            // A database whose ledger is true to its schema only needs the
            // migrations run; any other is adopted or rebuilt.
            let state = conn.ledger()?;
            let true_to_ledger = !state.heads.is_empty()
                && crate::tools::schema::tools::drift(set, &mut conn, &state.heads)?.is_empty();
            let fix = if true_to_ledger {
                format!(
                    "it is at {} with exactly that revision's schema: {} runs the migrations up to {target}",
                    heads_text(&state.heads),
                    Cmd(format!("upgrade {target}"))
                )
            } else {
                format!("{} finds the revision it matches and stamps it, {} moves its rows into a database the migrations build", Cmd("adopt"), Cmd("rebuild"))
            };
            return Err(CliError::Refused(format!(
                "not stamped: the database is not at {target}, so later migrations would fail on it; {fix}, and `--force` stamps anyway"
            )));
        }
    }
    let report = set.stamp(&mut conn, &target, purge)?;
    if ctx.json() {
        print_json(
            &json!({ "operation": "stamp", "heads_before": report.heads_before, "heads_after": report.heads_after }),
        );
    } else {
        println!(
            "stamp {}: {} -> {}",
            ctx.config().database,
            heads_text(&report.heads_before),
            heads_text(&report.heads_after)
        );
    }
    Ok(())
}

/// `--sql`: prints the run as SQL, without a database. `FROM:TO` starts
/// from FROM; a bare target starts from base (upgrade only).
fn offline(ctx: &Context<'_>, spec: &str, direction: Direction) -> Result<(), CliError> {
    let set = ctx.migrations()?;
    let graph = set.graph()?;
    let (from, to) = match spec.split_once(':') {
        Some((from, to)) => (Some(from), to),
        None if direction == Direction::Down => {
            // FROM is the revision the database is at; a relative step
            // counts from it (`003:003-1`).
            let from = match graph.heads() {
                [one] => graph.id(*one).to_owned(),
                _ => "REV".to_owned(),
            };
            let to = match spec.parse::<Target>() {
                Ok(Target::Relative {
                    symbol: None,
                    branch: None,
                    steps,
                }) => format!("{from}{steps}"),
                _ => spec.to_owned(),
            };
            return Err(CliError::Usage(format!(
                "downgrade --sql needs FROM:TO, since no database is read: FROM is the revision the database is at (for example {})",
                Cmd(format!("downgrade {from}:{to} --sql"))
            )));
        }
        None => (None, spec),
    };
    // As Alembic's offline mode: FROM names one revision (`get_revision`).
    print!(
        "{}",
        set.offline_script(
            from,
            &to.parse()?,
            direction,
            &*Database::dialect_of(
                &ctx.config().database,
                ctx.config().version_table_schema.as_deref()
            )
        )?
    );
    Ok(())
}
