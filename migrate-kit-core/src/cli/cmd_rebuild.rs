//! `rebuild`: moves a hand-made database's rows into one the migrations
//! build ([`crate::sqlite::rebuild`]), after a backup, keeping the
//! old file.

use super::args::RebuildArgs;
use super::output::{print_json, say};
use super::{clock, cmd_data, CliError, Context};
use crate::tools::rebuild::RebuildOptions;
use serde_json::json;

/// `rebuild [--dry-run] [--drop-column TABLE.COLUMN] [--drop-table TABLE]`.
pub(crate) fn rebuild(ctx: &Context<'_>, args: &RebuildArgs) -> Result<(), CliError> {
    let set = ctx.migrations()?;
    let database = ctx.database_file()?.to_owned();
    let Some(mut old) = ctx.open_existing()? else {
        return Err(ctx.missing());
    };
    let options = RebuildOptions {
        drop_tables: args.drop_table.clone(),
        drop_columns: args.drop_column.clone(),
    };
    let loaded = old.rebuild(set, &options)?;
    drop(old);
    for line in &loaded.summary {
        say!(ctx, "{line}");
    }
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    if ctx.json() && (args.dry_run || !loaded.problems.is_empty()) {
        print_json(
            &json!({ "dry_run": args.dry_run, "tables": loaded.summary, "warnings": loaded.warnings, "problems": loaded.problems }),
        );
    }
    if !loaded.problems.is_empty() {
        return Err(CliError::Refused(format!(
            "{} problem{} stop{} the rebuild; nothing was changed and no backup was taken:\n  {}",
            loaded.problems.len(),
            if loaded.problems.len() == 1 { "" } else { "s" },
            if loaded.problems.len() == 1 { "s" } else { "" },
            loaded.problems.join("\n  ")
        )));
    }
    if args.dry_run {
        say!(
            ctx,
            "dry run: the rebuild would succeed; nothing was changed"
        );
        return Ok(());
    }
    let (backup, _) = cmd_data::backup_file(ctx, None)?;
    let kept_path = loaded.replace(&database, &clock::compact(), ctx.config().busy_timeout)?;
    if ctx.json() {
        print_json(
            &json!({ "rebuilt": database, "kept": kept_path, "backup": backup, "tables": loaded.summary, "warnings": loaded.warnings }),
        );
        return Ok(());
    }
    say!(
        ctx,
        "rebuilt {} through the migrations; the old database is kept as {} (and backed up as {})",
        database.display(),
        kept_path.display(),
        backup.display()
    );
    Ok(())
}
