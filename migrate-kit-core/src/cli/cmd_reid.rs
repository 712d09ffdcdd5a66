//! `reid FILE`: gives the revision in FILE a new id, rewriting its header,
//! its file name and the headers that name it. Two people who each added a
//! revision on their own branch with the same id get, after the merge, two
//! heads that `merge heads` joins, without editing files by hand.

use super::args::ReidArgs;
use super::cmd_files::next_id;
use super::output::{print_json, say};
use super::{CliError, Context};
use crate::load::{self, SourceFile};
use crate::parse::check_id;
use crate::Migration;
use std::path::Path;

/// The header keys whose values name revisions.
const REFERENCES: [&str; 2] = ["down_revision", "depends_on"];

/// `text` with the header's `revision` line (when `rename` is set) and
/// every `old` in its `down_revision` and `depends_on` lines replaced by
/// `new`; the body and the line endings stay as they are.
fn rewrite_header(text: &str, old: &str, new: &str, rename: bool) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_header = true;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let ending = &line[content.len()..];
        if content.trim_start().starts_with("-- migrate:") {
            in_header = false;
        }
        let parsed = content
            .strip_prefix("--")
            .and_then(|rest| rest.split_once(':'))
            .map(|(key, value)| (key.trim(), value.trim()));
        match parsed {
            Some(("revision", value)) if in_header && rename && value == old => {
                out += &format!("-- revision: {new}{ending}");
            }
            Some((key, value)) if in_header && REFERENCES.contains(&key) => {
                let ids: Vec<&str> = value
                    .split(',')
                    .map(|id| match id.trim() {
                        id if id == old => new,
                        id => id,
                    })
                    .collect();
                out += &format!("-- {key}: {}{ending}", ids.join(", "));
            }
            _ => out += line,
        }
    }
    out
}

fn names(m: &Migration, id: &str) -> bool {
    m.down_revisions().any(|d| d == id) || m.depends_on().any(|d| d == id)
}

/// Refuses when the configured database recorded this very file as applied.
fn ensure_unapplied(ctx: &Context<'_>, m: &Migration, duplicated: bool) -> Result<(), CliError> {
    let Some(mut conn) = ctx.open_existing()? else {
        return Ok(());
    };
    let state = conn.ledger()?;
    let recorded = state.applied.iter().find(|r| r.revision == m.revision());
    let applied_here = match recorded {
        // Two files share the id: the checksum says which one ran.
        Some(row) if duplicated => row
            .checksum
            .as_deref()
            .is_none_or(|c| c == m.checksum().to_string()),
        Some(_) => true,
        None => state.heads.iter().any(|h| h == m.revision()),
    };
    if applied_here {
        return Err(CliError::Refused(format!(
            "revision `{}` ({}) is applied in {}; a new id would make the database name a revision no file declares. Give the new id to the other file, or downgrade first",
            m.revision(),
            m.path(),
            ctx.config().database
        )));
    }
    Ok(())
}

/// `reid FILE [--rev-id NEW] [--with FILE]...`.
pub(crate) fn reid(ctx: &Context<'_>, args: &ReidArgs) -> Result<(), CliError> {
    let dir = ctx.source_dir("reid")?;
    let name = Path::new(&args.file)
        .file_name()
        .ok_or_else(|| CliError::Usage(format!("`{}` is not a file name", args.file)))?;
    let files: Vec<SourceFile> = load::read_folder(dir)?;
    let parse = |f: &SourceFile| f.parse().ok();
    let target = files
        .iter()
        .find(|f| f.path.file_name() == Some(name))
        .ok_or_else(|| {
            CliError::Refused(format!(
                "there is no {} in {}",
                name.to_string_lossy(),
                dir.join("versions").display()
            ))
        })?;
    let m = parse(target).ok_or_else(|| {
        CliError::Refused(format!(
            "{} does not parse; fix its header first",
            target.relative
        ))
    })?;
    let old = m.revision().to_owned();
    let others: Vec<(&SourceFile, Migration)> = files
        .iter()
        .filter(|f| f.relative != target.relative)
        .filter_map(|f| parse(f).map(|m| (f, m)))
        .collect();
    let duplicated = others.iter().any(|(_, o)| o.revision() == old);
    ensure_unapplied(ctx, &m, duplicated)?;
    let existing: Vec<Migration> = others.iter().map(|(_, o)| o.clone()).collect();
    let new = match &args.rev_id {
        Some(id) => id.clone(),
        None => next_id(&existing),
    };
    check_id(&new)
        .map_err(|reason| CliError::Usage(format!("invalid revision id `{new}`: {reason}")))?;
    if existing.iter().any(|o| o.revision() == new) {
        return Err(CliError::Refused(format!(
            "revision `{new}` already exists; choose another --rev-id"
        )));
    }
    // Which files follow: all that name it, unless two files share the id;
    // then only those named with --with (the others name the other file).
    let mut followers = Vec::new();
    for (file, other) in &others {
        let chosen = args
            .with
            .iter()
            .any(|w| Path::new(w).file_name() == file.path.file_name());
        if names(other, &old) && (!duplicated || chosen) {
            followers.push(*file);
        } else if chosen {
            return Err(CliError::Refused(format!(
                "{} does not name `{old}`",
                file.relative
            )));
        }
    }
    let left: Vec<&str> = others
        .iter()
        .filter(|(f, o)| names(o, &old) && !followers.iter().any(|x| x.relative == f.relative))
        .map(|(f, _)| f.relative.as_str())
        .collect();
    let text = String::from_utf8_lossy(target.bytes());
    let renamed_file = match name.to_string_lossy().strip_prefix(&old) {
        Some(rest) if rest.starts_with(['_', '.']) => format!("{new}{rest}"),
        _ => name.to_string_lossy().into_owned(),
    };
    let new_path = target.path.with_file_name(&renamed_file);
    std::fs::write(&new_path, rewrite_header(&text, &old, &new, true))
        .map_err(CliError::io(&new_path))?;
    if new_path != target.path {
        std::fs::remove_file(&target.path).map_err(CliError::io(&target.path))?;
    }
    say!(
        ctx,
        "{}: revision `{old}` is now `{new}` (versions/{renamed_file})",
        target.relative
    );
    for file in &followers {
        let text = String::from_utf8_lossy(file.bytes());
        std::fs::write(&file.path, rewrite_header(&text, &old, &new, false))
            .map_err(CliError::io(&file.path))?;
        say!(ctx, "{}: now names `{new}`", file.relative);
    }
    if !left.is_empty() {
        say!(
            ctx,
            "still naming `{old}` (the other file): {}",
            left.join(", ")
        );
    }
    if ctx.json() {
        let followed: Vec<&str> = followers.iter().map(|f| f.relative.as_str()).collect();
        print_json(&serde_json::json!({
            "file": format!("versions/{renamed_file}"),
            "old": old,
            "new": new,
            "rewritten": followed,
            "still_naming_old": left,
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_header_ids_change_and_line_endings_stay() {
        let text = "-- revision: 008\r\n-- down_revision: 007, 008x\r\n-- depends_on: 008\r\n-- message: 008 things\r\n\r\n-- migrate:upgrade\r\n-- down_revision: 008\r\nSELECT '008';\r\n";
        assert_eq!(
            rewrite_header(text, "008", "008_ab12cd34", true),
            "-- revision: 008_ab12cd34\r\n-- down_revision: 007, 008x\r\n-- depends_on: 008_ab12cd34\r\n-- message: 008 things\r\n\r\n-- migrate:upgrade\r\n-- down_revision: 008\r\nSELECT '008';\r\n"
        );
    }
}
