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
use migrate_core::sqlite::data::{self, quote};
use migrate_core::sqlite::introspect::replay;
use migrate_core::sqlite::ledger::LEDGER_TABLES;
use migrate_core::{Migrations, Target};
use rusqlite::types::Value;
use rusqlite::Connection;

fn literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) if r.is_infinite() => if *r > 0.0 { "9e999" } else { "-9e999" }.to_owned(),
        Value::Real(r) => format!("{r:?}"),
        Value::Text(t) => format!("'{}'", t.replace('\'', "''")),
        Value::Blob(b) => format!("X'{}'", hex::encode(b)),
    }
}

/// The schema and rows of a database as SQL: what the baseline runs.
fn dump(conn: &Connection) -> Result<(String, String), CliError> {
    let mut stmt = conn.prepare(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema
         WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
    )?;
    let objects: Vec<(String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let objects: Vec<_> = objects
        .into_iter()
        .filter(|(_, _, table, _)| !LEDGER_TABLES.contains(&table.as_str()))
        .collect();
    let mut upgrade = String::new();
    for (_, _, _, sql) in &objects {
        upgrade += &format!("{sql};\n\n");
    }
    for table in data::read_all(conn)? {
        let columns = table
            .columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ");
        for row in &table.rows {
            let values = row.iter().map(literal).collect::<Vec<_>>().join(", ");
            upgrade += &format!(
                "INSERT INTO {} ({columns}) VALUES ({values});\n",
                quote(&table.name)
            );
        }
    }
    let mut downgrade = String::new();
    for kind in ["trigger", "view", "table"] {
        for (k, name, _, _) in objects.iter().rev().filter(|(k, ..)| k == kind) {
            downgrade += &format!("DROP {} {};\n", k.to_uppercase(), quote(name));
        }
    }
    Ok((upgrade, downgrade))
}

/// `squash REV -m MSG`.
pub fn squash(ctx: &Context<'_>, rev: &str, message: &str) -> Result<(), CliError> {
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
    let conn = replay(&set, &Target::Revision(graph.id(target).to_owned()))?;
    let (upgrade, downgrade) = dump(&conn)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_round_trip_through_sqlite() {
        let conn = Connection::open_in_memory().unwrap();
        for value in [
            Value::Null,
            Value::Integer(i64::MIN),
            Value::Real(-0.5),
            Value::Real(f64::INFINITY),
            Value::Text("it's".into()),
            Value::Blob(vec![0, 255]),
        ] {
            let back: Value = conn
                .query_row(&format!("SELECT {}", literal(&value)), [], |r| r.get(0))
                .unwrap();
            assert_eq!(back, value);
        }
    }
}
