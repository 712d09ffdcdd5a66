//! Which Python runs Alembic: the interpreter `--python` names; else
//! `python3` when it has Alembic (an activated virtualenv, say); else a
//! virtualenv that `convert-alembic` makes once in the user's cache folder,
//! with Alembic (and psycopg, for PostgreSQL) from PyPI.

use super::super::args::Dialect;
use super::super::output::say;
use super::super::{CliError, Context};
use crate::hint::Cmd;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The interpreter a virtualenv is made with, and tried first.
const SYSTEM_PYTHON: &str = if cfg!(windows) { "python" } else { "python3" };

/// The Python to run Alembic with, making the virtualenv when needed.
pub(super) fn choose(
    ctx: &Context<'_>,
    named: Option<&str>,
    dialect: Dialect,
    project: &Path,
) -> Result<String, CliError> {
    if let Some(named) = named {
        return Ok(named.to_owned());
    }
    if has_alembic(SYSTEM_PYTHON, dialect) {
        return Ok(SYSTEM_PYTHON.to_owned());
    }
    let venv = venv_folder().ok_or_else(|| {
        CliError::Refused(format!(
            "{SYSTEM_PYTHON} has no Alembic, and there is no cache folder (HOME or XDG_CACHE_HOME) to make a virtualenv in; name the project's interpreter, for example {}",
            Cmd(format!("convert-alembic {} --python .venv/bin/python", project.display()))
        ))
    })?;
    let python = venv_python(&venv);
    let python = python.to_string_lossy().into_owned();
    if has_alembic(&python, dialect) {
        return Ok(python);
    }
    say!(
        ctx,
        "{SYSTEM_PYTHON} has no Alembic: installing it from PyPI into the virtualenv {} (once; --python names another interpreter)",
        venv.display()
    );
    if !Path::new(&python).exists() {
        let venv_arg = venv.as_os_str();
        installer(
            Command::new(SYSTEM_PYTHON)
                .args(["-m", "venv"])
                .arg(venv_arg),
        )?;
    }
    let mut packages = vec!["alembic"];
    if dialect == Dialect::Postgresql {
        packages.push("psycopg[binary]");
    }
    installer(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(&packages),
    )?;
    Ok(python)
}

/// The hint for a module the revisions import that `python` lacks.
pub(super) fn missing_module(python: &str, module: &str, project: &Path) -> String {
    format!(
        "install the package that provides it into that Python (`{python} -m pip install {module}`), or name the project's own interpreter, for example {}",
        Cmd(format!("convert-alembic {} --python .venv/bin/python", project.display()))
    )
}

/// Whether `python` imports Alembic (and, for PostgreSQL, a driver).
fn has_alembic(python: &str, dialect: Dialect) -> bool {
    let check = match dialect {
        Dialect::Sqlite => "import alembic",
        Dialect::Postgresql => {
            "import alembic, importlib.util as u, sys; sys.exit(not (u.find_spec('psycopg') or u.find_spec('psycopg2')))"
        }
    };
    Command::new(python)
        .args(["-c", check])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Where the virtualenv lives: the user's cache folder.
fn venv_folder() -> Option<PathBuf> {
    let nonempty = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    let cache = nonempty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| nonempty("LOCALAPPDATA").map(PathBuf::from))
        .or_else(|| nonempty("HOME").map(|home| Path::new(&home).join(".cache")))?;
    Some(cache.join("migrate-kit").join("alembic-venv"))
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// Runs one step of making the virtualenv; a failure names the step.
fn installer(command: &mut Command) -> Result<(), CliError> {
    let shown = format!(
        "{} {}",
        command.get_program().to_string_lossy(),
        command
            .get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let output = command.output().map_err(|error| {
        CliError::Refused(format!(
            "cannot run `{shown}` ({error}); install Python 3, or name an interpreter that has Alembic with --python"
        ))
    })?;
    if output.status.success() {
        return Ok(());
    }
    Err(CliError::Refused(format!(
        "making the virtualenv for Alembic failed at `{shown}`: {}; fix that (PyPI must be reachable), or name an interpreter that has Alembic with --python",
        last_line(&String::from_utf8_lossy(&output.stderr))
    )))
}

/// The last line of a Python failure: the exception.
pub(super) fn last_line(stderr: &str) -> &str {
    stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
}
