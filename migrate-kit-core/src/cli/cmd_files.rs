//! `init`, `revision` and `merge`: the commands that write files.

use super::args::{MergeArgs, RevisionArgs};
use super::config::{DEFAULT_CONFIG, TEMPLATE};
use super::output::{print_json, say};
use super::{clock, CliError, Context};
use crate::graph::target::Destination;
use crate::hint::Cmd;
use crate::load::{self, LoadError, LoadProblem, VERSIONS_DIR};
use crate::parse::check_id;
use crate::{Graph, GraphError, Migration, Target};
use serde_json::json;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};

/// `init`: `migrate.toml` and an empty `versions/` folder.
pub(crate) fn init(ctx: &Context<'_>) -> Result<(), CliError> {
    let dir = ctx.source_dir("init")?;
    let versions = dir.join(VERSIONS_DIR);
    if Path::new(DEFAULT_CONFIG).exists() {
        return Err(CliError::Refused(format!(
            "{DEFAULT_CONFIG} already exists; init does not overwrite it"
        )));
    }
    if std::fs::read_dir(&versions).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(CliError::Refused(format!(
            "{} already holds files; init does not overwrite them",
            versions.display()
        )));
    }
    std::fs::create_dir_all(&versions).map_err(CliError::io(&versions))?;
    std::fs::write(versions.join(".gitkeep"), "").map_err(CliError::io(&versions))?;
    std::fs::write(DEFAULT_CONFIG, TEMPLATE).map_err(CliError::io(DEFAULT_CONFIG))?;
    say!(ctx, "Creating directory {} ... done", versions.display());
    say!(ctx, "Generating {DEFAULT_CONFIG} ... done");
    say!(
        ctx,
        "Next: {}, write its SQL, then {}",
        Cmd("revision -m \"initial schema\""),
        Cmd("upgrade head")
    );
    if ctx.json() {
        print_json(&json!({ "created": [versions, PathBuf::from(DEFAULT_CONFIG)] }));
    }
    Ok(())
}

/// The folder's migrations and graph; an empty folder is allowed here.
fn existing(dir: &Path) -> Result<Option<(Vec<Migration>, Graph)>, CliError> {
    match load::load_folder(dir) {
        Ok(loaded) => Ok(Some((loaded.migrations, loaded.graph))),
        Err(LoadError { problems })
            if matches!(problems[..], [LoadProblem::Graph(GraphError::Empty)]) =>
        {
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}

/// The next id. A numbered folder (ids such as `007` or `007_3f9a1c2e`)
/// continues its numbers, followed by 8 random hex digits, so that two
/// people who each add a revision on their own branch never pick the same
/// id and the files still sort in order; any other folder gets 12 random
/// hex digits, as Alembic's ids.
pub(super) fn next_id(existing: &[Migration]) -> String {
    let numbered: Option<Vec<(usize, u64)>> =
        existing.iter().map(|m| numbered_id(m.revision())).collect();
    match numbered {
        Some(numbers) if !numbers.is_empty() => {
            let width = numbers.iter().map(|&(w, _)| w).max().unwrap_or(3);
            let next = numbers.iter().map(|&(_, n)| n).max().unwrap_or(0) + 1;
            format!("{next:0width$}_{}", random_hex(8))
        }
        _ => random_hex(12),
    }
}

/// The width and value of an id's leading number, when the id is a number
/// alone or a number, `_` and hex digits.
fn numbered_id(id: &str) -> Option<(usize, u64)> {
    let (digits, suffix) = id.split_once('_').unwrap_or((id, ""));
    let hex = suffix.bytes().all(|b| b.is_ascii_hexdigit());
    let number = digits
        .parse()
        .ok()
        .filter(|_| digits.bytes().all(|b| b.is_ascii_digit()))?;
    hex.then_some((digits.len(), number))
}

/// `n` random hex digits (at most 16), from the process's randomly keyed
/// hasher over the time and the process id.
fn random_hex(n: usize) -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.write_u32(std::process::id());
    let digits = format!("{:016x}", hasher.finish());
    digits[..n.min(16)].to_owned()
}

/// The longest slug, in characters (Alembic's `truncate_slug_length`).
const SLUG_LENGTH: usize = 40;

/// The file-name part of a message, as Alembic makes it: the words
/// (Unicode letters, digits and `_`, as Python's `\w`), lowercased, joined
/// by `_`; everything else only separates words. A slug longer than 40
/// characters is cut back to its last whole word.
fn slug(message: &str) -> String {
    let words: Vec<String> = message
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let slug = words.join("_");
    if slug.chars().count() <= SLUG_LENGTH {
        return slug;
    }
    let cut: String = slug.chars().take(SLUG_LENGTH).collect();
    match cut.rsplit_once('_') {
        Some((whole_words, _)) if !whole_words.is_empty() => whole_words.to_owned(),
        _ => cut,
    }
}

fn choose_id(requested: Option<&str>, migrations: &[Migration]) -> Result<String, CliError> {
    let id = requested.map_or_else(|| next_id(migrations), str::to_owned);
    check_id(&id)
        .map_err(|reason| CliError::Usage(format!("invalid revision id `{id}`: {reason}")))?;
    if migrations.iter().any(|m| m.revision() == id) {
        return Err(CliError::Refused(format!(
            "revision `{id}` already exists; choose another --rev-id"
        )));
    }
    Ok(id)
}

/// Writes a new revision file and checks that the folder still loads.
pub(super) fn write_revision(
    ctx: &Context<'_>,
    dir: &Path,
    id: &str,
    parents: &[String],
    message: &str,
    body: &str,
) -> Result<PathBuf, CliError> {
    if message.contains(['\n', '\r']) || message.trim().is_empty() {
        return Err(CliError::Usage(
            "the message must be one non-empty line".to_owned(),
        ));
    }
    let down = if parents.is_empty() {
        "none".to_owned()
    } else {
        parents.join(", ")
    };
    let text = format!(
        "-- revision: {id}\n-- down_revision: {down}\n-- message: {}\n-- create_date: {}\n\n{body}",
        message.trim(),
        clock::readable()
    );
    let name = match slug(message).as_str() {
        "" => format!("{id}.sql"),
        slug => format!("{id}_{slug}.sql"),
    };
    let path = dir.join(VERSIONS_DIR).join(name);
    if path.exists() {
        return Err(CliError::Refused(format!(
            "{} already exists",
            path.display()
        )));
    }
    std::fs::write(&path, text).map_err(CliError::io(&path))?;
    if let Err(error) = load::load_folder(dir) {
        let _ = std::fs::remove_file(&path);
        return Err(CliError::Refused(format!(
            "the new revision would break the folder, so it was not written: {error}"
        )));
    }
    if ctx.json() {
        print_json(&json!({ "revision": id, "down_revisions": parents, "path": path }));
    } else {
        say!(ctx, "Generating {} ... done", path.display());
    }
    Ok(path)
}

/// `revision -m MSG`.
pub(crate) fn revision(ctx: &Context<'_>, args: &RevisionArgs) -> Result<(), CliError> {
    let dir = ctx.source_dir("revision")?;
    let (migrations, graph) = match existing(dir)? {
        Some((m, g)) => (m, Some(g)),
        None => (Vec::new(), None),
    };
    let parents: Vec<String> = match (&graph, &args.head) {
        (None, None) => Vec::new(),
        (None, Some(head)) if head == "base" => Vec::new(),
        (None, Some(head)) => return Err(crate::TargetError::Unknown(head.clone()).into()),
        (Some(_), Some(head)) if head == "base" => Vec::new(),
        (Some(graph), Some(head)) => {
            let parent = match graph.resolve(&head.parse::<Target>()?, &[])? {
                Destination::Revisions(revs) => revs,
                _ => Vec::new(),
            };
            for &p in &parent {
                if !graph.is_head(p) && !args.splice {
                    return Err(CliError::Refused(format!(
                        "Revision {} is not a head revision; please specify --splice to create a new branch from this revision",
                        graph.id(p)
                    )));
                }
            }
            graph.names(&parent)
        }
        (Some(graph), None) => match graph.heads() {
            [one] => vec![graph.id(*one).to_owned()],
            heads => {
                return Err(CliError::Refused(format!(
                    "Multiple heads are present; please specify the head revision on which the new revision should be based, or perform a merge (heads: {}); run {} or pass --head",
                    graph.names(heads).join(", "),
                    Cmd("merge heads -m \"merge\"")
                )))
            }
        },
    };
    let id = choose_id(args.rev_id.as_deref(), &migrations)?;
    if args.autogenerate {
        let Some(body) = super::cmd_schema::autogenerate_body(ctx, dir, args, &parents)? else {
            say!(ctx, "No changes detected: the migrations already produce schema.sql; nothing was written");
            if ctx.json() {
                print_json(&json!({ "revision": null, "changes": false }));
            }
            return Ok(());
        };
        write_revision(ctx, dir, &id, &parents, &args.message, &body)?;
        return Ok(());
    }
    let body = crate::files::template::placeholder_body(&id);
    write_revision(ctx, dir, &id, &parents, &args.message, &body)?;
    Ok(())
}

/// `merge heads|REV... -m MSG`.
pub(crate) fn merge(ctx: &Context<'_>, args: &MergeArgs) -> Result<(), CliError> {
    let dir = ctx.source_dir("merge")?;
    let Some((migrations, graph)) = existing(dir)? else {
        return Err(CliError::Refused(
            "there are no revisions to merge".to_owned(),
        ));
    };
    let mut parents: Vec<usize> = Vec::new();
    for word in &args.revisions {
        let found = match word.as_str() {
            "heads" => graph.heads().to_vec(),
            _ => match graph.resolve(&word.parse::<Target>()?, &[])? {
                Destination::Revisions(revs) => revs,
                _ => Vec::new(),
            },
        };
        for r in found {
            if !parents.contains(&r) {
                parents.push(r);
            }
        }
    }
    if parents.len() < 2 {
        return Err(CliError::Refused(format!(
            "a merge needs at least two revisions; found {}",
            if parents.is_empty() {
                "none".to_owned()
            } else {
                graph.names(&parents).join(", ")
            }
        )));
    }
    let id = choose_id(args.rev_id.as_deref(), &migrations)?;
    let body = crate::files::template::MERGE_BODY;
    write_revision(ctx, dir, &id, &graph.names(&parents), &args.message, body)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_name_safe() {
        assert_eq!(
            slug("add phone_number to users"),
            "add_phone_number_to_users"
        );
        assert_eq!(slug("  Merge: billing + CRM!! "), "merge_billing_crm");
        // Unicode words stay, as in Alembic's slugs.
        assert_eq!(slug("добавить таблицу отзывов"), "добавить_таблицу_отзывов");
        assert_eq!(slug("Straße café №5"), "straße_café_5");
        assert_eq!(slug("\u{1F600} / -- ;"), "");
        // Over 40 characters: back to the last whole word.
        assert_eq!(
            slug("add the repair requests archive table with an index on status"),
            "add_the_repair_requests_archive_table"
        );
        assert_eq!(slug(&"x".repeat(50)), "x".repeat(40));
    }
}
