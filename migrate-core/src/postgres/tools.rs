//! The schema commands on PostgreSQL: migrations are replayed into scratch
//! databases the tool creates on the same server and drops afterwards,
//! never into the live one, and schemas compare object by object as the
//! server renders them.

use super::backend::{Postgres, Settings};
use super::introspect::{read_schema, Change, PgSchema};
use super::text::{identifier, run};
use crate::error::RunError;
use crate::graph::target::Target;
use crate::location::Location;
use crate::runner::RunOptions;
use crate::set::Migrations;
use std::sync::atomic::{AtomicU32, Ordering};

/// A database created on the server for one replay, dropped (with its
/// connections) when this value is dropped.
pub struct Scratch {
    /// The connection to it.
    pub postgres: Postgres,
    name: String,
    server: Location,
}

static SCRATCH: AtomicU32 = AtomicU32::new(0);

impl Scratch {
    /// Creates an empty database beside the one `server` names.
    pub fn create(server: &Location, settings: &Settings) -> Result<Scratch, RunError> {
        let name = format!(
            "migrate_scratch_{}_{}",
            std::process::id(),
            SCRATCH.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = super::connect(server)?;
        run(
            &mut admin,
            &format!("CREATE DATABASE {}", identifier(&name)),
            "creating a scratch database (the user needs CREATEDB, or name another server with --dev-url)",
        )?;
        let location = with_database(server, &name);
        let postgres = Postgres::connect(&location, settings.clone())?;
        Ok(Scratch {
            postgres,
            name,
            server: server.clone(),
        })
    }

    /// The schema the managed schema of the scratch database holds.
    pub fn schema(&mut self) -> Result<PgSchema, RunError> {
        schema_of(&mut self.postgres)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // The scratch connection is closed by FORCE; a failure leaves a
        // database named migrate_scratch_* for the operator to drop.
        if let Ok(mut admin) = super::connect(&self.server) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                identifier(&self.name)
            ));
        }
    }
}

/// `location` with its database replaced by `name`.
fn with_database(location: &Location, name: &str) -> Location {
    let url = location.postgres_url().unwrap_or_default();
    let (before_query, query) = match url.split_once('?') {
        Some((head, query)) => (head.to_owned(), format!("?{query}")),
        None => (url.clone(), String::new()),
    };
    let base = match before_query.rsplit_once('/') {
        Some((base, _)) if base.contains("//") => base.to_owned(),
        _ => before_query,
    };
    Location::Postgres {
        url: format!("{base}/{name}{query}"),
    }
}

/// The managed schema of a connection (its settings' `managed_schema`, or
/// the first of `search_path`).
pub fn schema_of(postgres: &mut Postgres) -> Result<PgSchema, RunError> {
    let schema = match &postgres.settings.managed_schema {
        Some(schema) => crate::backend::string_literal(schema),
        None => "current_schema()".to_owned(),
    };
    read_schema(&mut postgres.client, &schema)
}

/// Where scratch databases go for a live connection: `--dev-url`, or its
/// own server.
fn scratch_server(live: &Postgres) -> Result<Location, RunError> {
    live.settings
        .scratch_server
        .clone()
        .or_else(|| live.location().cloned())
        .ok_or(RunError::NoServerLocation)
}

/// A scratch database with exactly `heads` (and what they need) applied.
pub fn replayed(
    server: &Location,
    settings: &Settings,
    set: &Migrations,
    heads: &[String],
) -> Result<Scratch, RunError> {
    let mut scratch = Scratch::create(server, settings)?;
    for head in heads {
        set.upgrade_with(
            &mut scratch.postgres,
            &Target::Revision(head.clone()),
            &RunOptions::default(),
        )?;
    }
    Ok(scratch)
}

/// How the live schema differs from what the migrations produce at
/// `heads` (empty: it matches), each change from the replay to the live.
pub fn drift(
    live: &mut Postgres,
    set: &Migrations,
    heads: &[String],
) -> Result<Vec<Change>, RunError> {
    let server = scratch_server(live)?;
    let expected = replayed(&server, &live.settings, set, heads)?.schema()?;
    Ok(expected.changes_to(&schema_of(live)?))
}

/// How the schema the migrations produce at `heads` differs from the one
/// `declared` (a `schema.sql`) creates, each run in a scratch database:
/// what a forgotten migration leaves.
pub fn declared_changes(
    server: &Location,
    settings: &Settings,
    set: &Migrations,
    heads: &[String],
    declared: &str,
) -> Result<Vec<Change>, RunError> {
    let replay = replayed(server, settings, set, heads)?.schema()?;
    let mut scratch = Scratch::create(server, settings)?;
    scratch
        .postgres
        .client
        .batch_execute(declared)
        .map_err(|e| RunError::DeclaredSchema {
            path: "schema.sql".to_owned(),
            message: e
                .as_db_error()
                .map_or_else(|| e.to_string(), |db| db.message().to_owned()),
        })?;
    Ok(replay.changes_to(&scratch.schema()?))
}

/// The difference from what the migrations produce at `parents` to the
/// schema `declared` (a `schema.sql`) creates, each in a scratch database:
/// what `revision --autogenerate` writes. `set` is `None` when the folder
/// has no valid migrations yet.
pub fn autogenerate(
    server: &Location,
    settings: &Settings,
    set: Option<&Migrations>,
    parents: &[String],
    declared: &str,
    renames: &crate::schema::Renames,
) -> Result<super::diff::PgDiff, RunError> {
    let current = match set {
        Some(set) => replayed(server, settings, set, parents)?.schema()?,
        None => Scratch::create(server, settings)?.schema()?,
    };
    let mut target = Scratch::create(server, settings)?;
    target
        .postgres
        .client
        .batch_execute(declared)
        .map_err(|e| RunError::DeclaredSchema {
            path: "schema.sql".to_owned(),
            message: e
                .as_db_error()
                .map_or_else(|| e.to_string(), |db| db.message().to_owned()),
        })?;
    let mut d = super::diff::diff(&current, &target.schema()?, renames);
    // What the safe patterns cannot avoid (SET NOT NULL, a type change)
    // is reported as the lint would report it in the written file.
    let sql = d.upgrade.join(";\n");
    for finding in crate::schema::pg_lint::sql_findings(&sql, !d.concurrent) {
        if !d
            .findings
            .iter()
            .any(|f| f.code == finding.code && f.object == finding.object)
        {
            d.findings.push(finding);
        }
    }
    Ok(d)
}

/// What the stairway test on a server found wrong, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StairwayFailure {
    /// The revision.
    pub revision: String,
    /// `upgrade`, `downgrade` or `upgrade again`.
    pub step: &'static str,
    /// From the replayed schema to the one found.
    pub changes: Vec<Change>,
}

/// The stairway test on a scratch database of the server `server`: each
/// revision upgraded to, downgraded from and upgraded to again, the schema
/// compared with a fresh replay after each step. `on_step` hears of each
/// revision that passed, with whether its downgrade was checked.
pub fn stairway(
    server: &Location,
    settings: &Settings,
    set: &Migrations,
    on_step: &mut dyn FnMut(&str, bool),
) -> Result<Result<(), StairwayFailure>, RunError> {
    let mut scratch = Scratch::create(server, settings)?;
    let options = RunOptions::default();
    for m in set.as_slice() {
        let rev = m.revision().to_owned();
        set.upgrade_with(
            &mut scratch.postgres,
            &Target::Revision(rev.clone()),
            &options,
        )?;
        let heads = crate::runner::current(&mut scratch.postgres)?;
        let up = scratch.schema()?;
        let fresh = replayed(server, settings, set, &heads)?.schema()?;
        if let Some(failure) = differs(&rev, "upgrade", &fresh, &up) {
            return Ok(Err(failure));
        }
        let parents: Vec<&str> = m.down_revisions().collect();
        let target = match (m.downgrade(), &parents[..]) {
            (Some(_), []) => Target::Base,
            (Some(_), [one]) => Target::Revision((*one).to_owned()),
            _ => {
                on_step(&rev, false);
                continue;
            }
        };
        let report = set.downgrade_with(&mut scratch.postgres, &target, &options)?;
        let expected = replayed(server, settings, set, &report.heads_after)?.schema()?;
        if let Some(failure) = differs(&rev, "downgrade", &expected, &scratch.schema()?) {
            return Ok(Err(failure));
        }
        set.upgrade_with(
            &mut scratch.postgres,
            &Target::Revision(rev.clone()),
            &options,
        )?;
        for head in &heads {
            set.upgrade_with(
                &mut scratch.postgres,
                &Target::Revision(head.clone()),
                &options,
            )?;
        }
        if let Some(failure) = differs(&rev, "upgrade again", &up, &scratch.schema()?) {
            return Ok(Err(failure));
        }
        on_step(&rev, true);
    }
    Ok(Ok(()))
}

fn differs(
    revision: &str,
    step: &'static str,
    expected: &PgSchema,
    found: &PgSchema,
) -> Option<StairwayFailure> {
    let changes = expected.changes_to(found);
    (!changes.is_empty()).then(|| StairwayFailure {
        revision: revision.to_owned(),
        step,
        changes,
    })
}

/// The revision (an index of the set) whose replayed schema the live
/// database has, or the closest with its changes; `None` for an empty set.
pub fn matching_revision(
    live: &mut Postgres,
    set: &Migrations,
) -> Result<Option<(usize, Vec<Change>)>, RunError> {
    let server = scratch_server(live)?;
    let target = schema_of(live)?;
    let mut scratch = Scratch::create(&server, &live.settings)?;
    let mut closest: Option<(usize, Vec<Change>)> = None;
    for (i, m) in set.as_slice().iter().enumerate() {
        set.upgrade_with(
            &mut scratch.postgres,
            &Target::Revision(m.revision().to_owned()),
            &RunOptions::default(),
        )?;
        let changes = scratch.schema()?.changes_to(&target);
        if closest
            .as_ref()
            .is_none_or(|(_, c)| changes.len() < c.len())
        {
            let exact = changes.is_empty();
            closest = Some((i, changes));
            if exact {
                break;
            }
        }
    }
    Ok(closest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_database_sits_beside_the_live_one() {
        let live =
            Location::parse("postgresql+psycopg://bot:pw@db:5433/shop?sslmode=disable").unwrap();
        assert_eq!(
            with_database(&live, "migrate_scratch_1_0")
                .postgres_url()
                .as_deref(),
            Some("postgresql://bot:pw@db:5433/migrate_scratch_1_0?sslmode=disable")
        );
        let bare = Location::parse("postgresql://db").unwrap();
        assert_eq!(
            with_database(&bare, "s").postgres_url().as_deref(),
            Some("postgresql://db/s")
        );
    }
}
