//! Where a database is: a path or a URL, in the forms a Python bot's `.env`
//! (SQLAlchemy), sqlx and this tool's own flags write (DESIGN §9). One parser
//! serves the command line, `migrate.toml` and the embedded API, so the bot
//! and `repair_bot migrate` always open the same file.
//!
//! | written | means |
//! |---|---|
//! | `data/bot.db`, `/srv/bot.db` | that file |
//! | `sqlite:///data/bot.db` | `data/bot.db` (SQLAlchemy: three slashes, relative) |
//! | `sqlite:////srv/bot.db` | `/srv/bot.db` (SQLAlchemy: four slashes, absolute) |
//! | `sqlite+aiosqlite:///data/bot.db`, `sqlite+pysqlite:///...` | the same, the driver is ignored |
//! | `sqlite://data/bot.db`, `sqlite:data/bot.db` | `data/bot.db` (sqlx) |
//! | `...?mode=ro` / `rw` / `rwc` | read-only / must exist / created when missing (the default) |
//! | `sqlite://`, `sqlite:///:memory:`, `:memory:`, `mode=memory` | in memory: nothing persists |
//! | `postgres://...`, `postgresql+asyncpg://...` | PostgreSQL |
//!
//! Any other scheme is refused: it is never taken as a file name.

use std::fmt;
use std::path::PathBuf;

/// How an SQLite file is opened (`mode=` in a URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Read and write, created when missing (`rwc`, the default).
    ReadWriteCreate,
    /// Read and write; the file must exist (`rw`).
    ReadWrite,
    /// Read only (`ro`).
    ReadOnly,
}

/// A parsed database location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file.
    Sqlite {
        /// The file, as written (relative paths stay relative).
        path: PathBuf,
        /// How to open it.
        mode: OpenMode,
    },
    /// An SQLite database in memory: nothing survives the process.
    Memory,
    /// A PostgreSQL server, by URL.
    Postgres {
        /// The URL as given.
        url: String,
    },
}

/// A location that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocationError {
    /// Nothing was given.
    #[error("the database location is empty; give a file path such as data/bot_database.db or a sqlite:/// URL")]
    Empty,
    /// A URL scheme that names no supported database.
    #[error("`{location}`: `{scheme}` is not a database this tool can open; give an SQLite file path, a sqlite:/// URL (sqlite+aiosqlite:/// and sqlite+pysqlite:/// are read the same), or a postgresql:// URL")]
    UnsupportedScheme {
        /// The location, its password hidden.
        location: String,
        /// The scheme.
        scheme: String,
    },
    /// A query parameter this tool does not understand.
    #[error("`{location}`: unknown parameter `{name}`; an SQLite location takes mode=ro, mode=rw, mode=rwc or mode=memory")]
    UnknownParameter {
        /// The location.
        location: String,
        /// The parameter.
        name: String,
    },
    /// `mode=` with a value SQLite does not have.
    #[error("`{location}`: `mode={value}` is not an SQLite mode; use ro, rw, rwc or memory")]
    BadMode {
        /// The location.
        location: String,
        /// The value.
        value: String,
    },
}

impl Location {
    /// Parses a path or URL (see the module documentation for the forms).
    pub fn parse(text: &str) -> Result<Location, LocationError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(LocationError::Empty);
        }
        match scheme_of(text) {
            None => sqlite(text, text),
            Some((scheme, rest)) => {
                let base = scheme
                    .split('+')
                    .next()
                    .unwrap_or(scheme)
                    .to_ascii_lowercase();
                match base.as_str() {
                    "sqlite" | "file" => {
                        // SQLAlchemy: `sqlite:///rel` and `sqlite:////abs`;
                        // sqlx: `sqlite://rel` and `sqlite:rel`.
                        let path = rest
                            .strip_prefix("///")
                            .or_else(|| rest.strip_prefix("//"))
                            .unwrap_or(rest);
                        if path.is_empty() || path.starts_with('?') {
                            return Ok(Location::Memory);
                        }
                        sqlite(text, path)
                    }
                    "postgres" | "postgresql" => Ok(Location::Postgres {
                        url: text.to_owned(),
                    }),
                    _ => Err(LocationError::UnsupportedScheme {
                        location: redact(text),
                        scheme: scheme.to_owned(),
                    }),
                }
            }
        }
    }

    /// The URL a PostgreSQL client reads (`postgresql://...`, without a
    /// SQLAlchemy driver suffix such as `+psycopg`), if this is a server.
    pub fn postgres_url(&self) -> Option<String> {
        let Location::Postgres { url } = self else {
            return None;
        };
        let (_, rest) = url.split_once(':')?;
        Some(format!("postgresql:{rest}"))
    }

    /// The SQLite file, if this is one.
    pub fn sqlite_path(&self) -> Option<&PathBuf> {
        match self {
            Location::Sqlite { path, .. } => Some(path),
            _ => None,
        }
    }
}

impl fmt::Display for Location {
    /// The file path, `:memory:`, or the URL with its password hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite { path, .. } => write!(f, "{}", path.display()),
            Location::Memory => f.write_str(":memory:"),
            Location::Postgres { url } => f.write_str(&redact(url)),
        }
    }
}

/// `scheme:` at the start of `text`, unless it is a Windows drive letter.
fn scheme_of(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once(':')?;
    let valid = scheme.len() > 1
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

/// An SQLite location from its path part, with `?key=value` parameters.
fn sqlite(whole: &str, path_and_query: &str) -> Result<Location, LocationError> {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let mut mode = OpenMode::ReadWriteCreate;
    for pair in query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
    {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "mode" => {
                mode = match value {
                    "ro" => OpenMode::ReadOnly,
                    "rw" => OpenMode::ReadWrite,
                    "rwc" => OpenMode::ReadWriteCreate,
                    "memory" => return Ok(Location::Memory),
                    _ => {
                        return Err(LocationError::BadMode {
                            location: whole.to_owned(),
                            value: value.to_owned(),
                        })
                    }
                }
            }
            // Accepted and without effect here: SQLAlchemy's `uri=true`, the
            // shared cache, and sqlx's connection options.
            "uri" | "cache" | "immutable" | "timeout" | "check_same_thread" => {}
            _ => {
                return Err(LocationError::UnknownParameter {
                    location: whole.to_owned(),
                    name: name.to_owned(),
                })
            }
        }
    }
    if path == ":memory:" {
        return Ok(Location::Memory);
    }
    Ok(Location::Sqlite {
        path: PathBuf::from(path),
        mode,
    })
}

/// `text` with the password of `user:password@` replaced by `***`.
fn redact(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
            None => text.to_owned(),
        },
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> Location {
        Location::Sqlite {
            path: path.into(),
            mode: OpenMode::ReadWriteCreate,
        }
    }

    #[test]
    fn a_python_bots_env_and_sqlx_urls_name_the_same_file() {
        for text in [
            "data/bot.db",
            "sqlite:///data/bot.db",
            "sqlite+aiosqlite:///data/bot.db",
            "sqlite+pysqlite:///data/bot.db",
            "sqlite://data/bot.db",
            "sqlite:data/bot.db",
            "data/bot.db?mode=rwc",
        ] {
            assert_eq!(Location::parse(text), Ok(file("data/bot.db")), "{text}");
        }
        assert_eq!(
            Location::parse("sqlite:////srv/bot.db"),
            Ok(file("/srv/bot.db"))
        );
        assert_eq!(Location::parse("/srv/bot.db"), Ok(file("/srv/bot.db")));
        assert_eq!(
            Location::parse(r"C:\bot\bot.db"),
            Ok(file(r"C:\bot\bot.db"))
        );
    }

    #[test]
    fn modes_and_memory() {
        assert_eq!(
            Location::parse("h.db?mode=ro"),
            Ok(Location::Sqlite {
                path: "h.db".into(),
                mode: OpenMode::ReadOnly
            })
        );
        for text in [
            "sqlite://",
            "sqlite:///:memory:",
            ":memory:",
            "sqlite::memory:",
            "x.db?mode=memory",
        ] {
            assert_eq!(Location::parse(text), Ok(Location::Memory), "{text}");
        }
        assert!(matches!(
            Location::parse("h.db?mode=wat"),
            Err(LocationError::BadMode { .. })
        ));
        assert!(matches!(
            Location::parse("h.db?key=x"),
            Err(LocationError::UnknownParameter { .. })
        ));
    }

    #[test]
    fn other_schemes_are_refused_and_postgres_is_recognised() {
        assert_eq!(
            Location::parse("postgresql://u:secret@host/db")
                .unwrap()
                .to_string(),
            "postgresql://u:***@host/db"
        );
        let server =
            Location::parse("postgresql+asyncpg://bot:pw@h:5433/db?sslmode=require").unwrap();
        assert_eq!(
            server.postgres_url().as_deref(),
            Some("postgresql://bot:pw@h:5433/db?sslmode=require")
        );
        assert_eq!(
            server.to_string(),
            "postgresql+asyncpg://bot:***@h:5433/db?sslmode=require"
        );
        let error = Location::parse("mysql://u:pw@h/db").unwrap_err();
        assert_eq!(
            error.to_string(),
            "`mysql://u:***@h/db`: `mysql` is not a database this tool can open; give an SQLite file path, a sqlite:/// URL (sqlite+aiosqlite:/// and sqlite+pysqlite:/// are read the same), or a postgresql:// URL"
        );
        assert_eq!(Location::parse("  "), Err(LocationError::Empty));
    }
}
