//! `verify` and `repair`.

use super::args::RepairArgs;
use super::output::{print_json, say};
use super::{CliError, Context};
use crate::hint::Cmd;
use serde_json::json;

/// `verify`: the drift report; exit 1 unless clean.
pub(crate) fn verify(ctx: &Context<'_>) -> Result<(), CliError> {
    let set = ctx.migrations()?;
    let mut conn = ctx.open_existing()?.ok_or_else(|| ctx.missing())?;
    let report = set.verify(&mut conn)?;
    let violations = conn.foreign_key_violations()?;
    // The schema too, not only the checksums: a stamp or a hand edit can
    // leave a database whose tables are not what its revision says.
    let schema_drift = if report.unknown.is_empty() && report.untracked_tables.is_empty() {
        crate::tools::schema::tools::drift(set, &mut conn, &report.heads)?
    } else {
        Default::default()
    };
    if ctx.json() {
        print_json(&json!({
            "clean": report.is_clean(),
            "heads": report.heads,
            "pending": report.pending,
            "modified": report.modified.iter().map(|m| json!({"revision": m.revision, "path": m.path, "recorded": m.recorded, "current": m.current})).collect::<Vec<_>>(),
            "unknown": report.unknown.iter().map(|u| json!({"revision": u.revision, "has_downgrade_sql": u.has_downgrade_sql})).collect::<Vec<_>>(),
            "inconsistent": report.inconsistent,
            "unverified": report.unverified,
            "dirty": report.dirty,
            "untracked_tables": report.untracked_tables,
            "foreign_key_violations": violations.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "schema_drift": schema_drift.summary,
        }));
    } else {
        if schema_drift.is_empty() {
            print!("{report}");
        } else {
            // The report would end in "ok: no drift"; the schema says otherwise.
            print!("{}", report.to_string().replace("ok: no drift\n", ""));
            super::diff_view::show_diff(
                ctx,
                &format!(
                    "schema drift: {} is not what the migrations produce at its revision (a wrong stamp, or a hand edit); {} or {} can repair it:",
                    ctx.config().database,
                    Cmd("adopt"),
                    Cmd("rebuild")
                ),
                &schema_drift,
                super::diff_view::Fix::BackToMigrations,
            );
        }
        if !violations.is_empty() {
            say!(ctx,
                "warning: {} foreign key violation{} (rows whose parent row is missing; foreign keys were off when they were written):",
                violations.len(),
                if violations.len() == 1 { "" } else { "s" }
            );
            for v in violations.iter().take(20) {
                say!(ctx, "  {v}");
            }
            if violations.len() > 20 {
                say!(ctx, "  ... and {} more", violations.len() - 20);
            }
        }
    }
    if report.is_clean() && schema_drift.is_empty() {
        Ok(())
    } else {
        Err(CliError::Refused(
            "the database does not match the migrations (see above)".to_owned(),
        ))
    }
}

/// `repair`.
pub(crate) fn repair(ctx: &Context<'_>, args: &RepairArgs) -> Result<(), CliError> {
    let set = ctx.migrations()?;
    let mut conn = ctx.open()?;
    if let Some(revision) = &args.accept {
        let (old, new) = set.checksum_change(&mut conn, revision)?;
        say!(
            ctx,
            "revision {revision}: recorded {}, file now {new}",
            old.as_deref().unwrap_or("(none)")
        );
        if !args.yes && !super::output::confirm("accept the edited file as applied?") {
            return Err(CliError::Refused(
                "not accepted; nothing was changed (pass --yes to confirm)".to_owned(),
            ));
        }
        set.accept_checksum(&mut conn, revision)?;
        say!(ctx, "accepted {revision} in {}", ctx.config().database);
        if ctx.json() {
            print_json(&json!({ "accepted": revision, "checksum": new }));
        }
        return Ok(());
    }
    if let Some(revision) = &args.clear_dirty {
        say!(
            ctx,
            "revision {revision} started and did not finish; its changes may be partly applied"
        );
        if !args.yes && !super::output::confirm("have you checked and fixed the database by hand?")
        {
            return Err(CliError::Refused(
                "not cleared; nothing was changed (pass --yes to confirm)".to_owned(),
            ));
        }
        set.clear_started(&mut conn, revision)?;
        say!(
            ctx,
            "cleared the started mark of {revision} in {}; {} will run it again",
            ctx.config().database,
            Cmd("upgrade")
        );
        if ctx.json() {
            print_json(&json!({ "cleared": revision }));
        }
        return Ok(());
    }
    let recorded = set.record_checksums(&mut conn)?;
    if ctx.json() {
        print_json(&json!({ "recorded": recorded }));
        return Ok(());
    }
    if recorded.is_empty() {
        say!(
            ctx,
            "nothing to repair: every applied revision has a checksum"
        );
    } else {
        say!(
            ctx,
            "recorded checksums of {} in {}",
            recorded.join(", "),
            ctx.config().database
        );
    }
    Ok(())
}
