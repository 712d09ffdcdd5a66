//! Backups of a server database with PostgreSQL's own tools: `pg_dump
//! --format=custom` writes one, `pg_restore --list` checks it (as SQLite's
//! integrity check does a copied file), and `pg_restore` loads one into an
//! empty database in one transaction. The password never appears on a
//! command line (other users can read those): it travels in `PGPASSWORD`.

use super::text::simple_value;
use crate::backend::location::{Location, UrlParts};
use crate::backend::ready;
use crate::error::{BackendError, RunError, ToolError};
use postgres::Client;
use std::path::Path;
use std::process::Command;

/// Writes a custom-format dump of the database at `location` to `target`
/// and checks that `pg_restore` can read it back.
pub(crate) fn dump(location: &Location, target: &Path) -> Result<(), RunError> {
    let mut pg_dump = tool("pg_dump", location);
    pg_dump
        .args(["--format=custom", "--no-password", "--file"])
        .arg(target);
    run(pg_dump, "pg_dump", target).inspect_err(|_| {
        let _ = std::fs::remove_file(target);
    })?;
    let mut list = tool("pg_restore", location);
    list.env_remove("PGDATABASE").arg("--list").arg(target);
    run(list, "pg_restore --list", target)
}

/// Loads the dump `source` into the database at `location`, which must
/// hold no tables: a restore never mixes a backup into live data.
pub(crate) fn restore(
    client: &mut Client,
    location: &Location,
    source: &Path,
) -> Result<(), RunError> {
    let tables = ready(simple_value(
        client,
        "SELECT string_agg(format('%I.%I', schemaname, tablename), ', ' ORDER BY schemaname, tablename) \
         FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
        "listing the database's tables",
    ))?;
    if let Some(tables) = tables.filter(|t| !t.is_empty()) {
        return Err(RunError::Tool(ToolError::RestoreIntoData {
            location: location.to_string(),
            tables,
        }));
    }
    let mut pg_restore = tool("pg_restore", location);
    pg_restore
        .args([
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-password",
        ])
        .arg(source);
    run(pg_restore, "pg_restore", source)
}

/// `name` set up to reach `location`: the URL without its password in
/// `--dbname`, the password in `PGPASSWORD`.
fn tool(name: &'static str, location: &Location) -> Command {
    let url = location.postgres_url().unwrap_or_default();
    let (url, password) = split_password(&url);
    let mut command = Command::new(name);
    command.arg(format!("--dbname={url}"));
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    command
}

/// Runs a tool to its end; its failure names the tool, the file and what
/// it printed (which never holds the password: it is not in the URL).
fn run(mut command: Command, tool: &'static str, file: &Path) -> Result<(), RunError> {
    let output = command.output().map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            RunError::Tool(ToolError::ToolMissing {
                tool: tool.split(' ').next().unwrap_or(tool),
            })
        } else {
            RunError::Backend(BackendError::Io {
                path: tool.to_owned(),
                source: error,
            })
        }
    })?;
    if output.status.success() {
        return Ok(());
    }
    Err(RunError::Tool(ToolError::ToolFailed {
        tool,
        file: file.display().to_string(),
        message: crate::backend::location::redact(String::from_utf8_lossy(&output.stderr).trim()),
    }))
}

/// The URL without a password, and the password (percent-decoded), taken
/// from the user part or a `password=` parameter.
fn split_password(url: &str) -> (String, Option<String>) {
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let Some(parts) = UrlParts::of(url) else {
        return (url.to_owned(), None);
    };
    let mut password = parts.password.map(decode);
    let mut kept = Vec::new();
    for pair in parts.query.into_iter().flat_map(|q| q.split('&')) {
        match pair.split_once('=') {
            Some(("password", value)) => password = Some(decode(value)),
            _ => kept.push(pair),
        }
    }
    let mut out = format!("{}://{}{}", parts.scheme, parts.user, parts.host);
    if !kept.is_empty() {
        out += "?";
        out += &kept.join("&");
    }
    (out, password)
}

/// The name of the connection's database, which its dumps are filed under.
pub(crate) fn database_name(client: &mut Client) -> Result<String, RunError> {
    Ok(ready(simple_value(
        client,
        "SELECT current_database()",
        "reading the database's name",
    ))?
    .unwrap_or_else(|| "database".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        assert_eq!(
            split_password("postgresql://bot:p%40ss/x@db:5433/shop?sslmode=require"),
            (
                "postgresql://bot@db:5433/shop?sslmode=require".to_owned(),
                Some("p@ss/x".to_owned())
            )
        );
        assert_eq!(
            split_password("postgresql://bot@db/shop?password=s3cret&application_name=bot"),
            (
                "postgresql://bot@db/shop?application_name=bot".to_owned(),
                Some("s3cret".to_owned())
            )
        );
        assert_eq!(
            split_password("postgresql://db/shop"),
            ("postgresql://db/shop".to_owned(), None)
        );
    }
}
