//! The converted folder checked against Alembic, not trusted: for each
//! revision, base first, Alembic's own online `upgrade <rev>` (through the
//! project's env.py) runs on a fresh scratch database and the converted
//! set's upgrade on another, and their schemas and rows must be the same;
//! then both downgrade the revision again (to its first parent, or base)
//! and must again be the same.
//! Each revision starts from base: Alembic fails on some multi-head states
//! a step-by-step walk passes through (a merge that `depends_on` an
//! ancestor of its parents raises `KeyError` there), and a state reached
//! from base is what both tools mean by "upgraded to this revision".

use super::capture::Revision;
use crate::backend::ledger::LEDGER_TABLES;
use crate::cli::CliError;
use crate::graph::target::Target;
use crate::run::options::RunOptions;
use crate::{Database, Location, Migrations, OpenMode, OpenOptions};
use std::fmt;
use std::path::{Path, PathBuf};

/// What the comparison found.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// Steps after which both databases were the same.
    pub same: usize,
    /// Steps after which they were not, with what differs.
    pub different: Vec<(Step, Vec<String>)>,
    /// Where the walk stopped, and why (a revision that needs a hand).
    pub stopped: Option<(String, String)>,
    /// Steps Alembic itself could not run, with its error: not compared.
    pub alembic_failed: Vec<(Step, String)>,
    /// Downgrades not compared, with why (irreversible, or their SQL needs
    /// a hand).
    pub downgrades_skipped: Vec<(String, &'static str)>,
}

/// One compared step: a revision's upgrade from base, or its downgrade
/// right after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// `upgrade <revision>` from base.
    Upgrade(String),
    /// `downgrade <to>` from the revision.
    Downgrade {
        /// The revision undone.
        revision: String,
        /// Its first parent, or `base`.
        to: String,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Upgrade(revision) => write!(f, "upgrade {revision}"),
            Step::Downgrade { revision, to } => write!(f, "downgrade {to} (from {revision})"),
        }
    }
}

/// The Alembic project and the Python that runs it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Alembic<'a> {
    pub python: &'a str,
    pub project: &'a Path,
    /// The variable env.py reads the database URL from.
    pub url_variable: &'a str,
}

/// A scratch database of the comparison.
trait Side {
    /// Runs the converted set's upgrade (or downgrade) to `target` here.
    fn run(&mut self, set: &Migrations, direction: Direction, target: &str)
        -> Result<(), CliError>;

    /// Schema and rows, as lines to compare.
    fn snapshot(&mut self) -> Result<Vec<String>, CliError>;
}

/// Which way a step runs.
#[derive(Debug, Clone, Copy)]
enum Direction {
    Upgrade,
    Downgrade,
}

impl Direction {
    /// The Alembic command (and `capture.py` option) of this direction.
    fn command(self) -> &'static str {
        match self {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
        }
    }
}

/// Two fresh scratch databases, ours and Alembic's, and the URL Alembic
/// reaches its own through.
type Pair<S> = (S, S, String);

/// Compares each of `revisions` (base first) on a fresh pair of scratch
/// databases from `pair`: Alembic upgrades its own from base, the converted
/// set ours; then both downgrade that revision.
fn walk<S: Side>(
    alembic: Alembic<'_>,
    set: &Migrations,
    revisions: &[Revision],
    pair: &mut dyn FnMut() -> Result<Pair<S>, CliError>,
) -> Result<Outcome, CliError> {
    let mut outcome = Outcome::default();
    for revision in revisions {
        let id = &revision.revision;
        let (mut ours, mut theirs, theirs_url) = pair()?;
        let up = Step::Upgrade(id.clone());
        if let Err(error) = alembic_run(alembic, &theirs_url, Direction::Upgrade, id) {
            outcome.alembic_failed.push((up, error.to_string()));
            continue;
        }
        if let Err(error) = ours.run(set, Direction::Upgrade, id) {
            outcome.stopped = Some((id.clone(), error.to_string()));
            break;
        }
        outcome.compare(up, &mut ours, &mut theirs)?;
        if let Some(why) = downgrade_skipped(revision) {
            outcome.downgrades_skipped.push((id.clone(), why));
            continue;
        }
        let to = revision
            .down_revisions
            .first()
            .map_or("base", String::as_str);
        let down = Step::Downgrade {
            revision: id.clone(),
            to: to.to_owned(),
        };
        if let Err(error) = alembic_run(alembic, &theirs_url, Direction::Downgrade, to) {
            outcome.alembic_failed.push((down, error.to_string()));
            continue;
        }
        if let Err(error) = ours.run(set, Direction::Downgrade, to) {
            let line = format!("+ the converted folder's downgrade failed: {error}");
            outcome.different.push((down, vec![line]));
            continue;
        }
        outcome.compare(down, &mut ours, &mut theirs)?;
    }
    Ok(outcome)
}

impl Outcome {
    /// Counts `step` the same, or records what differs after it.
    fn compare<S: Side>(
        &mut self,
        step: Step,
        ours: &mut S,
        theirs: &mut S,
    ) -> Result<(), CliError> {
        let (a, b) = (ours.snapshot()?, theirs.snapshot()?);
        if a == b {
            self.same += 1;
        } else {
            self.different.push((step, differences(&b, &a)));
        }
        Ok(())
    }
}

/// Why a revision's downgrade is not compared, if it is not: it raised
/// (the file is irreversible), or its SQL needs a hand.
fn downgrade_skipped(revision: &Revision) -> Option<&'static str> {
    let problem = revision.problems.iter().find(|p| p.phase == "downgrade")?;
    Some(if problem.kind == "failed" {
        "irreversible"
    } else {
        "its downgrade needs a hand"
    })
}

/// Lines only Alembic's database has (`-`) and only ours has (`+`).
fn differences(theirs: &[String], ours: &[String]) -> Vec<String> {
    let mut lines: Vec<String> = theirs
        .iter()
        .filter(|l| !ours.contains(l))
        .map(|l| format!("- {l}"))
        .collect();
    lines.extend(
        ours.iter()
            .filter(|l| !theirs.contains(l))
            .map(|l| format!("+ {l}")),
    );
    lines
}

fn alembic_run(
    alembic: Alembic<'_>,
    url: &str,
    direction: Direction,
    revision: &str,
) -> Result<(), CliError> {
    let python = alembic.python;
    let command = direction.command();
    let output = super::capture::script(python, url)
        .arg(format!("--{command}"))
        .arg(revision)
        .arg(alembic.project)
        .env("MIGRATE_CAPTURE_URL_VARIABLE", alembic.url_variable)
        .output()
        .map_err(|error| CliError::Refused(format!("cannot run {python}: {error}")))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(CliError::Refused(format!(
        "Alembic's own `{command} {revision}` failed on the comparison's scratch database: {}",
        super::python::last_line(&stderr)
    )))
}

/// Runs the converted set on `db` to `target` (a revision, or `base`).
fn run_to<B: crate::Backend + ?Sized>(
    db: &mut B,
    set: &Migrations,
    direction: Direction,
    target: &str,
) -> Result<(), CliError> {
    let target = match target {
        "base" => Target::Base,
        revision => Target::Revision(revision.to_owned()),
    };
    let options = RunOptions::default();
    match direction {
        Direction::Upgrade => set.upgrade_with(db, &target, &options)?,
        Direction::Downgrade => set.downgrade_with(db, &target, &options)?,
    };
    Ok(())
}

/// A SQLite scratch file.
struct SqliteSide(PathBuf);

impl SqliteSide {
    fn open(&self) -> Result<Database, CliError> {
        let location = Location::Sqlite {
            path: self.0.clone(),
            mode: OpenMode::ReadWriteCreate,
        };
        Ok(Database::open(&location, &OpenOptions::default())?)
    }
}

impl Side for SqliteSide {
    fn run(
        &mut self,
        set: &Migrations,
        direction: Direction,
        target: &str,
    ) -> Result<(), CliError> {
        run_to(&mut self.open()?, set, direction, target)
    }

    fn snapshot(&mut self) -> Result<Vec<String>, CliError> {
        let db = self.open()?;
        let mut lines: Vec<String> = db
            .schema_objects()?
            .into_iter()
            .filter(|object| !LEDGER_TABLES.contains(&object.table.as_str()))
            .map(|object| format!("{object:?}"))
            .collect();
        for table in db.export()?.tables {
            lines.extend(
                table
                    .rows
                    .iter()
                    .map(|row| format!("{} {row:?}", table.name)),
            );
        }
        Ok(lines)
    }
}

/// Compares on pairs of SQLite files in `folder`.
pub(super) fn on_sqlite(
    alembic: Alembic<'_>,
    set: &Migrations,
    revisions: &[Revision],
    folder: &Path,
) -> Result<Outcome, CliError> {
    let mut n = 0;
    walk(alembic, set, revisions, &mut || {
        n += 1;
        let b = folder.join(format!("alembic-{n}.db"));
        let url = format!("sqlite:///{}", b.display());
        Ok((
            SqliteSide(folder.join(format!("ours-{n}.db"))),
            SqliteSide(b),
            url,
        ))
    })
}

#[cfg(feature = "postgres")]
pub(super) use server::on_postgres;

#[cfg(feature = "postgres")]
mod server {
    use super::*;
    use crate::backend::postgres::ServerSettings;
    use crate::tools::schema::server_lab::Scratch;

    /// A scratch database on the server.
    pub(super) struct ServerSide(pub Scratch);

    impl Side for ServerSide {
        fn run(
            &mut self,
            set: &Migrations,
            direction: Direction,
            target: &str,
        ) -> Result<(), CliError> {
            run_to(&mut self.0.postgres, set, direction, target)
        }

        fn snapshot(&mut self) -> Result<Vec<String>, CliError> {
            let schema = self.0.schema()?;
            // Each object as the change that would create it.
            let mut lines: Vec<String> = crate::backend::postgres::introspect::PgSchema::default()
                .changes_to(&schema)
                .iter()
                .map(ToString::to_string)
                .collect();
            let client = &mut self.0.postgres.client;
            let tables = client
                .simple_query(
                    "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema() \
                     AND tablename NOT IN ('alembic_version', 'migrate_applied', 'migrate_log') ORDER BY 1",
                )
                .map_err(|e| CliError::Refused(format!("reading the comparison's tables: {e}")))?;
            for message in tables {
                if let postgres::SimpleQueryMessage::Row(row) = message {
                    let table = row.get(0).unwrap_or_default().to_owned();
                    let rows = client
                        .simple_query(&format!(
                            "SELECT coalesce(json_agg(t ORDER BY t::text), '[]')::text FROM {table} t"
                        ))
                        .map_err(|e| CliError::Refused(format!("reading {table}: {e}")))?;
                    for message in rows {
                        if let postgres::SimpleQueryMessage::Row(row) = message {
                            lines.push(format!("{table} {}", row.get(0).unwrap_or_default()));
                        }
                    }
                }
            }
            Ok(lines)
        }
    }

    /// Compares on two scratch databases of `server`.
    pub(crate) fn on_postgres(
        alembic: Alembic<'_>,
        set: &Migrations,
        revisions: &[Revision],
        server: &Location,
        settings: &ServerSettings,
    ) -> Result<Outcome, CliError> {
        walk(alembic, set, revisions, &mut || {
            let ours = ServerSide(Scratch::create(server, settings)?);
            let theirs = ServerSide(Scratch::create(server, settings)?);
            let url = theirs.0.location().postgres_url().unwrap_or_default();
            Ok((ours, theirs, url))
        })
    }
}
