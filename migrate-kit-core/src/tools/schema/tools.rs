//! The schema commands as core operations, each on scratch databases the
//! migrations are replayed into (never the live one): the stairway test,
//! finding the revision a hand-made database matches, lint of every
//! migration, the live schema against its revision, and autogenerate.

use super::diff::{diff, Diff, Renames};
use super::lint::Finding;
use crate::backend::database::Database;
use crate::backend::location::Location;
use crate::backend::settings::ServerSettings;
use crate::error::RunError;
use crate::graph::target::Target;
use crate::model::schema::Schema;
use crate::run::options::RunOptions;
use crate::set::Migrations;
use std::path::Path;

/// What the stairway test did with one revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StairwayOutcome {
    /// Upgraded, downgraded and upgraded again, the schema as replayed each time.
    UpDownUp,
    /// Upgraded; it has no downgrade.
    Irreversible,
    /// Upgraded; a merge point, whose downgrade is checked through its parents.
    MergePoint,
}

/// Where the stairway test found a schema other than the replayed one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StairwayFailure {
    /// The revision.
    pub revision: String,
    /// `upgrade`, `downgrade` or `upgrade again`.
    pub step: &'static str,
    /// From the expected schema to the one found.
    pub diff: Diff,
}

pub(crate) use super::lab::{Lab, SqliteLab};

/// Runs the stairway test on a scratch database of `lab`: each revision in
/// order is upgraded to, downgraded from and upgraded to again, and after
/// each step the schema must equal a fresh replay of the same heads.
/// `on_step` hears of each revision as it passes. Stops at the first
/// difference.
pub(crate) fn stairway<L: Lab>(
    lab: &L,
    set: &Migrations,
    on_step: &mut dyn FnMut(&str, StairwayOutcome),
) -> Result<Result<(), StairwayFailure>, RunError> {
    let mut scratch = lab.scratch()?;
    let options = RunOptions::default();
    let differs = |revision: &str, step, expected: &L::Snapshot, found: &L::Snapshot| {
        let diff = lab.compare(expected, found);
        (!diff.is_empty()).then(|| StairwayFailure {
            revision: revision.to_owned(),
            step,
            diff,
        })
    };
    for m in set.as_slice() {
        let rev = m.revision().to_owned();
        set.upgrade_with(
            lab.db(&mut scratch),
            &Target::Revision(rev.clone()),
            &options,
        )?;
        let heads = crate::backend::current(lab.db(&mut scratch))?;
        let up = lab.snapshot(&mut scratch)?;
        let fresh = lab.snapshot(&mut lab.replayed(set, &heads)?)?;
        if let Some(failure) = differs(&rev, "upgrade", &fresh, &up) {
            return Ok(Err(failure));
        }
        if m.downgrade().is_none() {
            on_step(&rev, StairwayOutcome::Irreversible);
            continue;
        }
        let parents: Vec<&str> = m.down_revisions().collect();
        let target = match parents[..] {
            [] => Target::Base,
            [one] => Target::Revision(one.to_owned()),
            _ => {
                on_step(&rev, StairwayOutcome::MergePoint);
                continue;
            }
        };
        let report = set.downgrade_with(lab.db(&mut scratch), &target, &options)?;
        let expected = lab.snapshot(&mut lab.replayed(set, &report.heads_after)?)?;
        if let Some(failure) = differs(&rev, "downgrade", &expected, &lab.snapshot(&mut scratch)?) {
            return Ok(Err(failure));
        }
        set.upgrade_with(
            lab.db(&mut scratch),
            &Target::Revision(rev.clone()),
            &options,
        )?;
        for head in &heads {
            set.upgrade_with(
                lab.db(&mut scratch),
                &Target::Revision(head.clone()),
                &options,
            )?;
        }
        if let Some(failure) = differs(&rev, "upgrade again", &up, &lab.snapshot(&mut scratch)?) {
            return Ok(Err(failure));
        }
        on_step(&rev, StairwayOutcome::UpDownUp);
    }
    Ok(Ok(()))
}

/// Which revision a schema matches.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Match {
    /// The schema the migrations produce at this revision (an index of the set).
    Revision(usize),
    /// None matches; this revision comes closest, differing by `diff`
    /// (from the revision's schema to the one given).
    Closest {
        /// The revision (an index of the set).
        revision: usize,
        /// The difference.
        diff: Diff,
    },
    /// The set is empty.
    Nothing,
}

/// Finds the revision whose replayed schema equals `live` (a hand-made
/// database's), replaying the set in order on one scratch database of `lab`.
pub(crate) fn matching_revision<L: Lab>(
    lab: &L,
    set: &Migrations,
    live: &L::Snapshot,
) -> Result<Match, RunError> {
    let mut scratch = lab.scratch()?;
    let mut closest: Option<(usize, Diff)> = None;
    for (i, m) in set.as_slice().iter().enumerate() {
        set.upgrade_with(
            lab.db(&mut scratch),
            &Target::Revision(m.revision().to_owned()),
            &RunOptions::default(),
        )?;
        let d = lab.compare(&lab.snapshot(&mut scratch)?, live);
        if d.is_empty() {
            return Ok(Match::Revision(i));
        }
        if closest
            .as_ref()
            .is_none_or(|(_, c)| d.summary.len() < c.summary.len())
        {
            closest = Some((i, d));
        }
    }
    Ok(match closest {
        Some((revision, diff)) => Match::Closest { revision, diff },
        None => Match::Nothing,
    })
}

/// Each migration's lint findings that its header does not acknowledge,
/// with the migration's index: the schema change it makes, replayed.
pub(crate) fn lint(set: &Migrations) -> Result<Vec<(usize, Finding)>, RunError> {
    let mut db = Database::scratch()?;
    let mut before = Schema::default();
    let mut unacknowledged = Vec::new();
    for (i, m) in set.as_slice().iter().enumerate() {
        set.upgrade_with(
            &mut db,
            &Target::Revision(m.revision().to_owned()),
            &RunOptions::default(),
        )?;
        let after = db.schema()?;
        for finding in diff(&before, &after, &Renames::default()).findings {
            if !m.acknowledges(finding.code) {
                unacknowledged.push((i, finding));
            }
        }
        before = after;
    }
    Ok(unacknowledged)
}

/// How `db` differs from what the migrations produce at `heads` (empty:
/// it matches), replayed in the lab of its backend.
pub(crate) fn drift(
    set: &Migrations,
    db: &mut Database,
    heads: &[String],
) -> Result<Diff, RunError> {
    #[cfg(feature = "postgres")]
    if let Some(live) = db.as_postgres() {
        let lab = crate::tools::schema::server_lab::ServerLab::for_live(live)?;
        let expected = lab.snapshot(&mut lab.replayed(set, heads)?)?;
        return Ok(lab.compare(
            &expected,
            &crate::tools::schema::server_lab::schema_of(live)?,
        ));
    }
    let expected = SqliteLab.replayed(set, heads)?.schema()?;
    Ok(SqliteLab.compare(&expected, &db.schema()?))
}

/// The revision whose schema `db` has, or the closest one, found by
/// replaying the migrations in the lab of its backend (what `adopt` stamps).
pub(crate) fn matching_revision_of(set: &Migrations, db: &mut Database) -> Result<Match, RunError> {
    #[cfg(feature = "postgres")]
    if let Some(live) = db.as_postgres() {
        let lab = crate::tools::schema::server_lab::ServerLab::for_live(live)?;
        let schema = crate::tools::schema::server_lab::schema_of(live)?;
        return matching_revision(&lab, set, &schema);
    }
    matching_revision(&SqliteLab, set, &db.schema()?)
}

/// The difference from what the migrations produce at `parents` to the
/// schema declared in `declared` (a `schema.sql`): what `revision
/// --autogenerate` writes. `set` is `None` when the folder has no valid
/// migrations yet (the diff then starts from an empty schema).
pub(crate) fn autogenerate(
    set: Option<&Migrations>,
    parents: &[String],
    declared: &Schema,
    renames: &Renames,
) -> Result<Diff, RunError> {
    let current = match set {
        Some(set) => SqliteLab.replayed(set, parents)?.schema()?,
        None => Schema::default(),
    };
    Ok(diff(&current, declared, renames))
}

/// Where the schema commands replay migrations for the configured
/// database: in-memory SQLite databases, or databases created and dropped
/// on a PostgreSQL server. Chosen from the location, so that no face
/// branches on the backend.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub(crate) enum Workbench {
    /// SQLite's in-memory scratch databases.
    Sqlite,
    /// Scratch databases on a server.
    #[cfg(feature = "postgres")]
    Server(crate::tools::schema::server_lab::ServerLab),
}

impl Workbench {
    /// The workbench for a database at `location`: on a server, scratch
    /// databases go to `settings.scratch_server` (`--dev-url`) or beside
    /// the database, and run with `settings`.
    pub(crate) fn for_location(location: &Location, settings: &ServerSettings) -> Workbench {
        match location {
            #[cfg(feature = "postgres")]
            Location::Postgres { .. } => {
                Workbench::Server(crate::tools::schema::server_lab::ServerLab {
                    server: settings
                        .scratch_server
                        .clone()
                        .unwrap_or_else(|| location.clone()),
                    settings: settings.clone(),
                })
            }
            _ => {
                let _ = settings;
                Workbench::Sqlite
            }
        }
    }

    /// From what the migrations produce at `parents` to the schema the file
    /// `declared` (a `schema.sql`) creates: what `revision --autogenerate`
    /// writes. `set` is `None` when the folder has no valid migrations yet.
    pub(crate) fn autogenerate(
        &self,
        set: Option<&Migrations>,
        parents: &[String],
        declared: &Path,
        renames: &Renames,
    ) -> Result<Diff, RunError> {
        match self {
            #[cfg(feature = "postgres")]
            Workbench::Server(lab) => {
                let sql = std::fs::read_to_string(declared).map_err(|source| {
                    RunError::Backend(crate::error::BackendError::Io {
                        path: declared.display().to_string(),
                        source,
                    })
                })?;
                crate::tools::schema::server_lab::autogenerate(lab, set, parents, &sql, renames)
            }
            Workbench::Sqlite => {
                let target = Database::declared(declared)?.schema()?;
                autogenerate(set, parents, &target, renames)
            }
        }
    }

    /// The stairway test (see [`stairway`]) on this workbench's scratch
    /// databases.
    pub(crate) fn stairway(
        &self,
        set: &Migrations,
        on_step: &mut dyn FnMut(&str, StairwayOutcome),
    ) -> Result<Result<(), StairwayFailure>, RunError> {
        match self {
            #[cfg(feature = "postgres")]
            Workbench::Server(lab) => stairway(lab, set, on_step),
            Workbench::Sqlite => stairway(&SqliteLab, set, on_step),
        }
    }

    /// Each migration's lint findings its header does not acknowledge, with
    /// the migration's index: on SQLite the schema change it makes,
    /// replayed; on a server the hazards of its statements.
    pub(crate) fn lint(&self, set: &Migrations) -> Result<Vec<(usize, Finding)>, RunError> {
        match self {
            #[cfg(feature = "postgres")]
            Workbench::Server(_) => {
                let mut found = Vec::new();
                for (i, m) in set.as_slice().iter().enumerate() {
                    let findings = crate::tools::schema::pg_lint::findings(m)?;
                    found.extend(findings.into_iter().map(|f| (i, f)));
                }
                Ok(found)
            }
            Workbench::Sqlite => lint(set),
        }
    }
}

impl Diff {
    /// The rest of a migration file after its header that makes this
    /// change: `-- transactional: false` when an index is built
    /// concurrently, each lint finding as a comment (with the `allow` that
    /// acknowledges it), the upgrade, and the downgrade.
    pub(crate) fn migration_body(&self) -> String {
        let statements = |list: &[String]| {
            list.iter()
                .map(|s| format!("{s};\n"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut body = String::new();
        if self.concurrent {
            body += "-- transactional: false\n";
        }
        body += "-- migrate:upgrade\n";
        if self.concurrent {
            body += "-- An index on an existing table is built CONCURRENTLY, which cannot run in a\n-- transaction: this revision runs one statement at a time (`transactional: false`).\n";
        }
        for finding in &self.findings {
            body += &format!(
                "-- lint {finding}; acknowledge with `-- allow: {}` in the header\n",
                finding.code
            );
        }
        body += &statements(&self.upgrade);
        body += "\n-- migrate:downgrade\n";
        body += &statements(&self.downgrade);
        body
    }
}
