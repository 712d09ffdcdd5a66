//! `squash REV -m MSG`: collapse base..REV into one baseline revision.
//!
//! The baseline keeps REV's id, has no parent, creates the schema (and the
//! rows the migrations inserted) as it stood at REV, and lists in its
//! `replaces` header every revision it stands for with the checksum that
//! file had. The files of those revisions are deleted. So:
//! - a new database runs the baseline, then what follows REV;
//! - a database already at REV or later keeps working: its `alembic_version`
//!   names REV or a later revision, which still exist, and drift detection
//!   checks its `migrate_applied` rows of the replaced revisions against the
//!   checksums the baseline records;
//! - a database below REV cannot continue with the squashed folder and is
//!   told to upgrade to REV with a binary from before the squash first.

use super::cmd_files::write_revision;
use super::output::say;
use super::{CliError, Context};
use crate::tools::schema::tools::{Lab, SqliteLab};
use crate::Migrations;

/// `squash REV -m MSG`.
pub(crate) fn squash(ctx: &Context<'_>, rev: &str, message: &str) -> Result<(), CliError> {
    let dir = ctx.source_dir("squash")?;
    let set = Migrations::from_dir(dir)?;
    let graph = set.graph()?;
    let target = graph.resolve_revision(rev)?;
    let squashed = graph.ancestors(&[target]);
    let count = squashed.iter().filter(|&&s| s).count();
    if count < 2 {
        return Err(CliError::Refused(format!(
            "`{}` is a base revision: there is nothing to squash",
            graph.id(target)
        )));
    }
    for i in (0..graph.len()).filter(|&i| !squashed[i]) {
        if let Some(below) = graph.requirements(i).find(|&r| squashed[r] && r != target) {
            return Err(CliError::Refused(format!(
                "revision `{}` builds on `{}`, which is below `{}`; squash at a revision every branch passes through",
                graph.id(i),
                graph.id(below),
                graph.id(target)
            )));
        }
    }
    for i in (0..graph.len()).filter(|&i| squashed[i] && i != target) {
        let m = &set.as_slice()[i];
        if m.branch_labels().len() > 0 || !m.is_transactional() {
            return Err(CliError::Refused(format!(
                "revision `{}` has branch labels or is non-transactional; squash above it",
                m.revision()
            )));
        }
    }
    let (upgrade, downgrade) = SqliteLab
        .replayed(&set, &[graph.id(target).to_owned()])?
        .dump()?;
    let mut replaces = Vec::new();
    let mut originals = Vec::new();
    for (_, m) in set
        .as_slice()
        .iter()
        .enumerate()
        .filter(|(i, _)| squashed[*i])
    {
        replaces.push(format!("{}={}", m.revision(), m.checksum()));
        let path = dir.join(m.path());
        let text = std::fs::read(&path).map_err(CliError::io(&path))?;
        originals.push((path, text));
    }
    let labels: Vec<&str> = set.as_slice()[target].branch_labels().collect();
    let mut header_extra = format!("-- replaces: {}\n", replaces.join(", "));
    if !labels.is_empty() {
        header_extra += &format!("-- branch_labels: {}\n", labels.join(", "));
    }
    let body = format!(
        "{header_extra}\n-- migrate:upgrade\n-- The schema and seed rows at {rev}, replacing {count} revisions.\n{upgrade}\n-- migrate:downgrade\n{downgrade}",
        rev = graph.id(target)
    );
    for (path, _) in &originals {
        std::fs::remove_file(path).map_err(CliError::io(path))?;
    }
    match write_revision(ctx, dir, graph.id(target), &[], message, &body) {
        Ok(path) => {
            say!(ctx,
                "squashed {count} revisions into {}; databases at {} or later keep working, new ones start from the baseline",
                path.display(),
                graph.id(target)
            );
            Ok(())
        }
        Err(error) => {
            for (path, text) in &originals {
                let _ = std::fs::write(path, text);
            }
            Err(error)
        }
    }
}
