//! The schema commands on PostgreSQL: migrations are replayed into scratch
//! databases the tool creates on the same server and drops afterwards,
//! never into the live one, and schemas compare object by object as the
//! server renders them.

use crate::backend::location::Location;
use crate::backend::postgres::introspect::{read_schema, PgSchema};
use crate::backend::postgres::text::{identifier, run};
use crate::backend::postgres::{Postgres, ServerSettings};
use crate::backend::ready;
use crate::error::{BackendError, RunError, ToolError};
use crate::set::Migrations;
use crate::tools::schema::lab::Lab;
use crate::tools::schema::Diff;
use std::sync::atomic::{AtomicU32, Ordering};

/// A database created on the server for one replay, dropped (with its
/// connections) when this value is dropped.
pub(crate) struct Scratch {
    /// The connection to it.
    pub postgres: Postgres,
    name: String,
    server: Location,
}

static SCRATCH: AtomicU32 = AtomicU32::new(0);

impl Scratch {
    /// Creates an empty database beside the one `server` names.
    pub(crate) fn create(
        server: &Location,
        settings: &ServerSettings,
    ) -> Result<Scratch, RunError> {
        let name = format!(
            "migrate_scratch_{}_{}",
            std::process::id(),
            SCRATCH.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = crate::backend::postgres::connect(server)?;
        ready(run(
            &mut admin,
            &format!("CREATE DATABASE {}", identifier(&name)),
            "creating a scratch database (the user needs CREATEDB, or name another server with --dev-url)",
        ))?;
        let location = with_database(server, &name);
        let postgres = Postgres::connect(&location, settings.clone())?;
        Ok(Scratch {
            postgres,
            name,
            server: server.clone(),
        })
    }

    /// Where the scratch database is.
    pub(crate) fn location(&self) -> Location {
        with_database(&self.server, &self.name)
    }

    /// The schema the managed schema of the scratch database holds.
    pub(crate) fn schema(&mut self) -> Result<PgSchema, RunError> {
        schema_of(&mut self.postgres)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // The scratch connection is closed by FORCE; a failure leaves a
        // database named migrate_scratch_* for the operator to drop.
        if let Ok(mut admin) = crate::backend::postgres::connect(&self.server) {
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
pub(crate) fn schema_of(postgres: &mut Postgres) -> Result<PgSchema, RunError> {
    let schema = match &postgres.settings.managed_schema {
        Some(schema) => crate::files::sql_text::string_literal(schema),
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
        .ok_or(RunError::Backend(BackendError::NoServerLocation))
}

/// The schema `declared` (a `schema.sql`) creates in a scratch database.
fn declared_schema(lab: &ServerLab, declared: &str) -> Result<PgSchema, RunError> {
    let mut scratch = lab.scratch()?;
    scratch
        .postgres
        .client
        .batch_execute(declared)
        .map_err(|e| {
            RunError::Tool(ToolError::DeclaredSchema {
                path: "schema.sql".to_owned(),
                message: e
                    .as_db_error()
                    .map_or_else(|| e.to_string(), |db| db.message().to_owned()),
            })
        })?;
    scratch.schema()
}

/// The difference from what the migrations produce at `parents` to the
/// schema `declared` (a `schema.sql`) creates, each in a scratch database:
/// what `revision --autogenerate` writes. `set` is `None` when the folder
/// has no valid migrations yet.
pub(crate) fn autogenerate(
    lab: &ServerLab,
    set: Option<&Migrations>,
    parents: &[String],
    declared: &str,
    renames: &crate::tools::schema::Renames,
) -> Result<Diff, RunError> {
    let current = match set {
        Some(set) => lab.snapshot(&mut lab.replayed(set, parents)?)?,
        None => lab.snapshot(&mut lab.scratch()?)?,
    };
    let mut d = super::pg_diff::diff(&current, &declared_schema(lab, declared)?, renames);
    // What the safe patterns cannot avoid (SET NOT NULL, a type change)
    // is reported as the lint would report it in the written file.
    let sql = d.upgrade.join(";\n");
    for finding in crate::tools::schema::pg_lint::sql_findings(&sql, !d.concurrent) {
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

/// The lab of a server: scratch databases created on it and dropped
/// afterwards, compared object by object as the server renders them.
#[derive(Debug, Clone)]
pub(crate) struct ServerLab {
    /// The server (any database on it) that scratch databases go beside.
    pub server: Location,
    /// The settings they run with (and the schema they read).
    pub settings: ServerSettings,
}

impl ServerLab {
    /// The lab for a live connection: its `--dev-url`, or its own server.
    pub(crate) fn for_live(live: &Postgres) -> Result<ServerLab, RunError> {
        Ok(ServerLab {
            server: scratch_server(live)?,
            settings: live.settings.clone(),
        })
    }
}

impl Lab for ServerLab {
    type Scratch = Scratch;
    type Db = Postgres;
    type Snapshot = PgSchema;

    fn scratch(&self) -> Result<Scratch, RunError> {
        Scratch::create(&self.server, &self.settings)
    }

    fn db<'s>(&self, scratch: &'s mut Scratch) -> &'s mut Postgres {
        &mut scratch.postgres
    }

    fn snapshot(&self, scratch: &mut Scratch) -> Result<PgSchema, RunError> {
        scratch.schema()
    }

    fn compare(&self, expected: &PgSchema, found: &PgSchema) -> Diff {
        Diff::described(
            expected
                .changes_to(found)
                .iter()
                .map(ToString::to_string)
                .collect(),
        )
    }
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
