//! Where the migrations and the database are: flags, then the environment
//! (`DATABASE_URL`, `MIGRATE_DIR`, read by clap with the flags), then
//! `migrate.toml`, then defaults.

use super::dotenv::DotEnv;
use super::error::CliError;
use crate::{Location, LockMode, ServerSettings};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The configuration file read when `--config` is not given.
pub(crate) const DEFAULT_CONFIG: &str = "migrate.toml";
/// The default migrations folder.
pub(crate) const DEFAULT_DIR: &str = "migrations";
/// The default database.
pub(crate) const DEFAULT_DATABASE: &str = "data/bot_database.db";
/// The default folder for backups.
pub(crate) const DEFAULT_BACKUP_DIR: &str = "backups";

/// The resolved configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Config {
    /// The migrations folder.
    pub dir: PathBuf,
    /// The database.
    pub database: Location,
    /// Where the database's location came from (`--database`,
    /// `DATABASE_URL`, `DATABASE_URL in .env`, `migrate.toml`, `the default`).
    pub database_source: &'static str,
    /// Where backups go: `backup_dir`, or `backups/` beside the database.
    pub backup_dir: PathBuf,
    /// Whether `upgrade` and `downgrade` back up first without `--backup`.
    pub backup_before_migrating: bool,
    /// How many backups of one database `backup` keeps (`backup_keep`);
    /// `None`: all.
    pub backup_keep: Option<usize>,
    /// How long to wait for another process's lock.
    pub busy_timeout: Duration,
    /// The schema of the version table on a server (`version_table_schema`),
    /// which offline SQL names without connecting.
    pub version_table_schema: Option<String>,
    /// How runs behave on a server (SQLite ignores it).
    pub server: ServerSettings,
}

/// What `migrate.toml` may say, in its `[migrate]` table or at the top.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    dir: Option<PathBuf>,
    #[serde(default, deserialize_with = "location")]
    database: Option<Location>,
    backup_dir: Option<PathBuf>,
    backup_before_migrating: Option<bool>,
    backup_keep: Option<usize>,
    busy_timeout_ms: Option<u64>,
    version_table_schema: Option<String>,
    lock_mode: Option<LockModeName>,
    lock_timeout_ms: Option<u64>,
    statement_timeout_ms: Option<u64>,
    schema: Option<String>,
    #[serde(default, deserialize_with = "location")]
    dev_url: Option<Location>,
}

/// `lock_mode` in `migrate.toml` (read, and ignored, without PostgreSQL).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum LockModeName {
    Session,
    Transaction,
}

/// A database location, parsed as the flag and `DATABASE_URL` are.
fn location<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Location>, D::Error> {
    let text = String::deserialize(d)?;
    Location::parse(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

impl Config {
    /// Resolves the configuration from flags (with their environment
    /// variables) and the file. Paths in the file are relative to the
    /// file's own folder.
    pub(crate) fn resolve(
        config_file: Option<&Path>,
        dir_flag: Option<&Path>,
        database_flag: Option<&str>,
        dev_url_flag: Option<&str>,
        dotenv: &DotEnv,
    ) -> Result<Config, CliError> {
        let file = match config_file {
            Some(path) => read_file(path)?,
            None if Path::new(DEFAULT_CONFIG).exists() => read_file(Path::new(DEFAULT_CONFIG))?,
            None => FileConfig::default(),
        };
        // An empty variable (`DATABASE_URL=` in a .env file) counts as unset;
        // `.env` fills what the flags and the environment leave unset.
        let dev_url_flag = dev_url_flag
            .filter(|u| !u.is_empty())
            .or_else(|| dotenv.get("MIGRATE_DEV_URL"));
        let mut server = server_settings(&file);
        if let Some(url) = dev_url_flag {
            server.scratch_server =
                Some(Location::parse(url).map_err(|e| CliError::Refused(e.to_string()))?);
        }
        let dir_flag = dir_flag
            .filter(|d| !d.as_os_str().is_empty())
            .or_else(|| dotenv.get("MIGRATE_DIR").map(Path::new));
        let database_flag = database_flag.filter(|d| !d.is_empty());
        let (database_text, database_source) = match database_flag {
            Some(text) if std::env::var("DATABASE_URL").is_ok_and(|v| v == text) => {
                (Some(text), "DATABASE_URL")
            }
            Some(text) => (Some(text), "--database"),
            None => match dotenv.get("DATABASE_URL") {
                Some(text) => (Some(text), "DATABASE_URL in .env"),
                None if file.database.is_some() => (None, "migrate.toml"),
                None => (None, "the default"),
            },
        };
        let database = match database_text {
            Some(text) => Location::parse(text).map_err(|e| CliError::Refused(e.to_string()))?,
            None => file.database.unwrap_or_else(|| Location::Sqlite {
                path: DEFAULT_DATABASE.into(),
                mode: crate::OpenMode::ReadWriteCreate,
            }),
        };
        let backup_dir = file.backup_dir.unwrap_or_else(|| {
            let beside = database
                .sqlite_path()
                .and_then(|p| p.parent())
                .map(Path::to_owned)
                .unwrap_or_default();
            beside.join(DEFAULT_BACKUP_DIR)
        });
        Ok(Config {
            dir: dir_flag
                .map(Path::to_owned)
                .or(file.dir)
                .unwrap_or_else(|| DEFAULT_DIR.into()),
            database,
            database_source,
            backup_dir,
            backup_before_migrating: file.backup_before_migrating.unwrap_or(false),
            backup_keep: file.backup_keep,
            busy_timeout: Duration::from_millis(file.busy_timeout_ms.unwrap_or(30_000)),
            version_table_schema: file.version_table_schema.clone(),
            server,
        })
    }
}

/// The server settings the file gives, defaults for the rest.
fn server_settings(file: &FileConfig) -> ServerSettings {
    let defaults = ServerSettings::default();
    ServerSettings {
        schema: file.version_table_schema.clone(),
        lock_mode: match file.lock_mode {
            Some(LockModeName::Transaction) => LockMode::Transaction,
            Some(LockModeName::Session) | None => LockMode::Session,
        },
        lock_timeout: file
            .lock_timeout_ms
            .map_or(defaults.lock_timeout, Duration::from_millis),
        statement_timeout: file.statement_timeout_ms.map(Duration::from_millis),
        managed_schema: file.schema.clone(),
        scratch_server: file.dev_url.clone(),
    }
}

fn read_file(path: &Path) -> Result<FileConfig, CliError> {
    let bad = |reason: String| CliError::Config {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    // toml's own rendering quotes the line, which may hold a password: say
    // where and what, not the text.
    let unreadable = |e: toml::de::Error| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        bad(match line {
            Some(line) => format!("line {line}: {}", e.message().trim_end()),
            None => e.message().trim_end().to_owned(),
        })
    };
    let mut table: toml::Table = text.parse().map_err(unreadable)?;
    let section = match table.remove("migrate") {
        Some(toml::Value::Table(section)) => section,
        Some(_) => return Err(bad("`migrate` must be a table: write `[migrate]`".into())),
        None => table,
    };
    let mut config = FileConfig::deserialize(section).map_err(unreadable)?;
    // Relative paths in the file mean relative to the file, wherever the
    // command runs from.
    let folder = path.parent().map(Path::to_owned).unwrap_or_default();
    config.dir = config.dir.map(|dir| folder.join(dir));
    config.backup_dir = config.backup_dir.map(|dir| folder.join(dir));
    if let Some(Location::Sqlite { path, .. }) = &mut config.database {
        *path = folder.join(&*path);
    }
    Ok(config)
}

/// The `migrate.toml` that `init` writes.
pub(crate) const TEMPLATE: &str = r#"# migrate configuration. Flags and the environment (DATABASE_URL,
# MIGRATE_DIR) override what is written here.
[migrate]
# The folder holding versions/ (and schema.sql).
dir = "migrations"
# The SQLite database file.
database = "data/bot_database.db"
# Where `migrate backup` and `upgrade --backup` write copies.
backup_dir = "backups"
# Set to true on production servers: every upgrade and downgrade that has
# something to run backs up first (on PostgreSQL with pg_dump --format=custom).
backup_before_migrating = false
# How many backups of one database to keep (the oldest go); default: all.
# backup_keep = 10
# How long to wait for another process holding the database (on
# PostgreSQL: another migrator holding the migration lock).
busy_timeout_ms = 30000
# PostgreSQL only. The schema of alembic_version and the ledger (Alembic's
# version_table_schema); default: the first schema of search_path.
# version_table_schema = "public"
# "session" (default), or "transaction" behind a transaction-mode pooler.
# lock_mode = "session"
# How long a migration may wait for a table lock the live bot holds
# before the run fails and rolls back.
# lock_timeout_ms = 5000
# statement_timeout_ms = 600000
# The schema `check`, autogenerate, `test` and `adopt` manage (default: the
# first schema of search_path).
# schema = "public"
# Where they create scratch databases, when this server's user may not
# (`--dev-url`, MIGRATE_DEV_URL).
# dev_url = "postgresql://postgres@localhost/postgres"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_parses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("migrate.toml");
        std::fs::write(&path, TEMPLATE).unwrap();
        let config = read_file(&path).unwrap();
        assert_eq!(
            config.database.as_ref().and_then(Location::sqlite_path),
            Some(&dir.path().join("data/bot_database.db"))
        );
        assert_eq!(config.backup_before_migrating, Some(false));
        std::fs::write(&path, "[migrate]\ndatabse = \"x\"\n").unwrap();
        assert!(read_file(&path)
            .unwrap_err()
            .to_string()
            .contains("unknown field `databse`"));
    }
}
