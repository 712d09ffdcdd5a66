//! Which Python runs Alembic: the interpreter `--python` names; else the
//! project's own virtualenv (`.venv` or `venv` beside its `alembic.ini`)
//! when it has Alembic; else `python3` when it has Alembic (an activated
//! virtualenv, say); else a virtualenv that `convert-alembic` makes once in
//! the user's cache folder, with Alembic (and psycopg, for PostgreSQL) from
//! PyPI.

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
    if let Some(own) = project_python(project).filter(|own| has_alembic(own, dialect)) {
        say!(ctx, "running Alembic with the project's virtualenv: {own}");
        return Ok(own);
    }
    if has_alembic(SYSTEM_PYTHON, dialect) {
        return Ok(SYSTEM_PYTHON.to_owned());
    }
    let venv = venv_folder().ok_or_else(|| {
        let beside = project_root(project).join(".venv");
        CliError::Refused(format!(
            "{SYSTEM_PYTHON} has no Alembic, and there is no cache folder (HOME or XDG_CACHE_HOME) to make a virtualenv in; make one beside the project (`{SYSTEM_PYTHON} -m venv {} && {} -m pip install {}`), which {} then uses, or name an interpreter that has Alembic with --python",
            beside.display(),
            venv_python(&beside).display(),
            packages(dialect)
                .iter()
                // Quoted for the shell: `[binary]` is a glob to zsh.
                .map(|package| if package.contains('[') {
                    format!("'{package}'")
                } else {
                    (*package).to_owned()
                })
                .collect::<Vec<_>>()
                .join(" "),
            Cmd(format!("convert-alembic {}", project.display()))
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
    installer(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(packages(dialect)),
    )?;
    Ok(python)
}

/// What the virtualenv needs for `dialect`: Alembic, and psycopg for
/// PostgreSQL.
fn packages(dialect: Dialect) -> Vec<&'static str> {
    match dialect {
        Dialect::Sqlite => vec!["alembic"],
        Dialect::Postgresql => vec!["alembic", "psycopg[binary]"],
    }
}

/// The folder of the project: `project` itself, or the folder of the
/// `alembic.ini` it names.
fn project_root(project: &Path) -> &Path {
    match project.parent() {
        Some(parent) if project.is_file() => parent,
        _ => project,
    }
}

/// The interpreter of the project's own virtualenv (`.venv` or `venv`
/// beside its `alembic.ini`, as `python -m venv`, uv and poetry make them).
fn project_python(project: &Path) -> Option<String> {
    let root = project_root(project);
    [".venv", "venv"]
        .iter()
        .map(|folder| venv_python(&root.join(folder)))
        .find(|python| python.exists())
        .map(|python| python.to_string_lossy().into_owned())
}

/// The hint for a module the revisions import that `python` lacks; it
/// names the project's own virtualenv as well, when there is one and
/// `python` is another.
pub(super) fn missing_module(python: &str, module: &str, project: &Path) -> String {
    let install = format!("install the package that provides it into that Python (`{python} -m pip install {module}`)");
    match project_python(project).filter(|own| own != python) {
        Some(own) => format!(
            "{install}, or run Alembic with the project's own virtualenv: {}",
            Cmd(format!(
                "convert-alembic {} --python {own}",
                project.display()
            ))
        ),
        None => install,
    }
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
