//! Running Alembic: `capture.py` (embedded) with the user's Python migrates
//! a scratch database revision by revision and reports, as JSON, each
//! revision's graph entry and the SQL it ran.

use crate::cli::CliError;
use crate::hint::Cmd;
use serde::Deserialize;
use std::path::Path;
use std::process::Command;

/// The script Python runs.
const SCRIPT: &str = include_str!("capture.py");

/// What Alembic ran for a project, base first.
#[derive(Debug, Deserialize)]
pub(super) struct Capture {
    /// SQLAlchemy's name of the scratch database's dialect.
    pub dialect: String,
    /// Every revision, parents before children.
    pub revisions: Vec<Revision>,
}

/// One Alembic revision and what it ran.
#[derive(Debug, Deserialize)]
pub(super) struct Revision {
    pub revision: String,
    pub down_revisions: Vec<String>,
    pub branch_labels: Vec<String>,
    pub depends_on: Vec<String>,
    /// The first line of the docstring.
    pub message: String,
    pub create_date: Option<String>,
    /// The revision file, relative to the project (where alembic.ini is).
    pub path: String,
    /// The statements `upgrade()` sent, parameters written in.
    pub upgrade: Vec<String>,
    /// The statements `downgrade()` sent right after.
    pub downgrade: Vec<String>,
    /// What could not be captured as SQL.
    pub problems: Vec<Problem>,
}

/// Why part of a revision could not be captured.
#[derive(Debug, Deserialize)]
pub(super) struct Problem {
    /// `reads` (it calls `op.get_bind()`) or `failed` (it raised).
    pub kind: String,
    /// `upgrade` or `downgrade`.
    pub phase: String,
    /// The line of the revision file.
    pub line: Option<u32>,
    pub message: String,
}

/// `python` running the embedded script on the scratch database `url`
/// (passed in the environment, since it may hold a password); the caller
/// adds the script's arguments.
pub(super) fn script(python: &str, url: &str) -> Command {
    let mut command = Command::new(python);
    command
        .arg("-c")
        .arg(SCRIPT)
        .env("MIGRATE_CAPTURE_URL", url);
    command
}

/// Runs the capture of `location` (an alembic.ini or script folder) with
/// `python` on the empty scratch database `url` (SQLAlchemy form; passed in
/// the environment, since it may hold a password).
pub(super) fn run(python: &str, location: &Path, url: &str) -> Result<Capture, CliError> {
    let output = script(python, url)
        .arg(location)
        .output()
        .map_err(|error| {
            CliError::Refused(format!(
                "cannot run {python} ({error}); name an interpreter that exists, or leave --python out and convert-alembic makes a virtualenv with Alembic: {}",
                Cmd(format!("convert-alembic {}", location.display()))
            ))
        })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("No module named 'alembic'") {
        return Err(CliError::Refused(format!(
            "{python} has no Alembic; install it there (`{python} -m pip install alembic`), or leave --python out and convert-alembic makes a virtualenv with Alembic: {}",
            Cmd(format!("convert-alembic {}", location.display()))
        )));
    }
    if !output.status.success() {
        let failure = super::python::last_line(&stderr);
        let module = failure
            .strip_prefix("ModuleNotFoundError: No module named '")
            .and_then(|rest| rest.split(['\'', '.']).next());
        let hint = match module {
            Some(module) => format!(
                "; {}",
                super::python::missing_module(python, module, location)
            ),
            None => String::new(),
        };
        return Err(CliError::Refused(format!(
            "Alembic could not read the project at {}: {failure}{hint}",
            location.display(),
        )));
    }
    serde_json::from_slice(&output.stdout).map_err(|error| {
        CliError::Refused(format!(
            "the capture of {} printed something other than its report ({error}); a revision module or env.py writing to stdout does this",
            location.display()
        ))
    })
}
