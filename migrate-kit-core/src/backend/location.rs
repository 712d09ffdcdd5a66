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
//! | `host=db user=bot password=... dbname=shop` | PostgreSQL (libpq's key/value form, as psql takes it) |
//! | `"sqlite:///data/bot.db"`, `'...'` | one pair of matching quotes is removed, as dotenv does |
//!
//! Any other scheme is refused, and so is text that looks like a URL
//! without being one (`sqlite+aiosqlite//data/bot.db`): neither is ever
//! taken as a file name. Printed, a location hides its password wherever
//! it is written: in the user part, as a `password=` parameter, or in a
//! key/value string (the password is replaced by `***`).

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
    /// Text that looks like a URL but is not one, or a quote left open.
    #[error("`{location}` {problem}; give an SQLite file path such as data/bot_database.db, a sqlite:///data/bot_database.db URL (sqlite+aiosqlite:/// is read the same), a postgresql://user@host/dbname URL, or libpq's `host=... dbname=...` form")]
    Malformed {
        /// The location, its password hidden.
        location: String,
        /// What is wrong with it.
        problem: &'static str,
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
        let text = unquote(text.trim())?.trim();
        if text.is_empty() {
            return Err(LocationError::Empty);
        }
        if let Some(url) = conninfo::to_url(text) {
            return Ok(Location::Postgres { url });
        }
        match scheme_of(text) {
            None => {
                if let Some(problem) = url_lookalike(text) {
                    return Err(LocationError::Malformed {
                        location: redact(text),
                        problem,
                    });
                }
                sqlite(text, text)
            }
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
    #[cfg(any(feature = "postgres", test))]
    pub(crate) fn postgres_url(&self) -> Option<String> {
        let Location::Postgres { url } = self else {
            return None;
        };
        let (_, rest) = url.split_once(':')?;
        Some(format!("postgresql:{rest}"))
    }

    /// The SQLite file, if this is one.
    pub(crate) fn sqlite_path(&self) -> Option<&PathBuf> {
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

/// `text` without one pair of matching quotes around it (a `.env` value
/// that kept them); a quote on one side only is refused.
fn unquote(text: &str) -> Result<&str, LocationError> {
    let quote = |c: Option<char>| matches!(c, Some('"' | '\''));
    let (first, last) = (text.chars().next(), text.chars().last());
    if text.len() >= 2 && quote(first) && first == last {
        return Ok(&text[1..text.len() - 1]);
    }
    if quote(first) || quote(last) {
        return Err(LocationError::Malformed {
            location: redact(text),
            problem: "has a quote on one side only",
        });
    }
    Ok(text)
}

/// Why `text`, which has no `scheme:`, still reads as a URL rather than a
/// file path: `scheme//...` (the colon left out), or a first folder named
/// like a database URL scheme with a driver (`sqlite+aiosqlite/...`).
fn url_lookalike(text: &str) -> Option<&'static str> {
    let first = text.split('/').next().unwrap_or_default();
    let scheme_like = !first.is_empty()
        && first.starts_with(|c: char| c.is_ascii_alphabetic())
        && first
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let base = first
        .split('+')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let known = matches!(base.as_str(), "sqlite" | "postgres" | "postgresql" | "file");
    if scheme_like && text[first.len()..].starts_with("//") {
        Some("looks like a URL whose scheme lost its `:` (write `sqlite:///` or `postgresql://`)")
    } else if scheme_like && known && first.contains('+') {
        Some("starts like a database URL but has no `:` after the scheme")
    } else {
        None
    }
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

/// `text` with every password it holds replaced by `***`: the password
/// of a URL's `user:password@` (even with an unencoded `/` in it), the
/// value of a `password=` or `sslpassword=` query parameter, and the same
/// keys in libpq's key/value form. Every printed location goes through it.
pub(crate) fn redact(text: &str) -> String {
    let Some(url) = UrlParts::of(text) else {
        return redact_parameters(text, ' ');
    };
    let mut out = format!("{}://{}", url.scheme, url.user);
    if url.password.is_some() {
        out += ":***";
    }
    out += url.host;
    if let Some(query) = url.query {
        out += "?";
        out += &redact_parameters(query, '&');
    }
    out
}

/// A URL cut where its secrets sit: `scheme://user:password@host...?query`.
/// The password is the text between the user's `:` and the last `@` before
/// the query, so an unencoded `/` or `@` in it stays in the password.
pub(crate) struct UrlParts<'a> {
    /// `postgresql`.
    pub(crate) scheme: &'a str,
    /// The user, when a password follows it; otherwise the whole part
    /// before `host` (a user without a password, or nothing).
    pub(crate) user: &'a str,
    /// The password as written (percent-encoded).
    pub(crate) password: Option<&'a str>,
    /// From the `@` (when there is one) up to the query.
    pub(crate) host: &'a str,
    /// What follows `?`.
    pub(crate) query: Option<&'a str>,
}

impl<'a> UrlParts<'a> {
    /// `text` cut into parts, if it is a URL (`scheme://...`).
    pub(crate) fn of(text: &'a str) -> Option<UrlParts<'a>> {
        let (scheme, rest) = text.split_once("://")?;
        let (before_query, query) = match rest.split_once('?') {
            Some((head, query)) => (head, Some(query)),
            None => (rest, None),
        };
        let (user, password, host) = match before_query.rfind('@') {
            Some(at) => match before_query[..at].split_once(':') {
                Some((user, password)) => (user, Some(password), &before_query[at..]),
                None => (&before_query[..at], None, &before_query[at..]),
            },
            None => ("", None, before_query),
        };
        Some(UrlParts {
            scheme,
            user,
            password,
            host,
            query,
        })
    }
}

/// `key=value` pairs separated by `separator` with the value of each
/// password key hidden; a value in quotes (libpq's `password='a b'`) is
/// hidden whole.
fn redact_parameters(text: &str, separator: char) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else {
            out += rest;
            break;
        };
        let key = rest[..eq]
            .rsplit(|c: char| c == separator || c.is_whitespace())
            .next()
            .unwrap_or_default();
        out += &rest[..=eq];
        rest = &rest[eq + 1..];
        let value_end = value_end(rest, separator);
        if conninfo::is_password_key(key) {
            out += "***";
        } else {
            out += &rest[..value_end];
        }
        rest = &rest[value_end..];
    }
    out
}

/// Where the value at the start of `text` ends: after its closing quote
/// when quoted (libpq's `'...'` with `\'` escapes), else at `separator`.
fn value_end(text: &str, separator: char) -> usize {
    let trimmed = text.trim_start();
    let lead = text.len() - trimmed.len();
    if separator == ' ' && trimmed.starts_with('\'') {
        let mut escaped = false;
        for (i, c) in trimmed.char_indices().skip(1) {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '\'' => return lead + i + 1,
                _ => {}
            }
        }
        return text.len();
    }
    text.find(|c: char| c == separator || (separator == ' ' && c.is_whitespace()))
        .unwrap_or(text.len())
}

mod conninfo {
    //! libpq's key/value connection strings (`host=db port=5432 user=bot
    //! password='a b' dbname=shop sslmode=require`), turned into the URL
    //! the rest of the tool reads.

    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

    /// What a URL component keeps unencoded.
    const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');

    /// The keys libpq knows (PostgreSQL 15), so that only a real
    /// connection string, never a file name with `=` in it, reads as one.
    const KEYS: &[&str] = &[
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "password",
        "passfile",
        "channel_binding",
        "connect_timeout",
        "client_encoding",
        "options",
        "application_name",
        "fallback_application_name",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "replication",
        "gssencmode",
        "sslmode",
        "requiressl",
        "sslcompression",
        "sslcert",
        "sslkey",
        "sslpassword",
        "sslrootcert",
        "sslcrl",
        "sslcrldir",
        "sslsni",
        "requirepeer",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "krbsrvname",
        "gsslib",
        "service",
        "target_session_attrs",
    ];

    /// Whether `key` holds a secret.
    pub(super) fn is_password_key(key: &str) -> bool {
        matches!(key, "password" | "sslpassword")
    }

    /// The pairs of a key/value string, or `None` when `text` is not one
    /// (a key libpq does not know, or a word without `=`).
    fn pairs(text: &str) -> Option<Vec<(String, String)>> {
        let mut pairs = Vec::new();
        let mut rest = text.trim_start();
        while !rest.is_empty() {
            let eq = rest.find('=')?;
            let key = rest[..eq].trim();
            if !KEYS.contains(&key) {
                return None;
            }
            rest = rest[eq + 1..].trim_start();
            let mut value = String::new();
            if let Some(quoted) = rest.strip_prefix('\'') {
                let mut chars = quoted.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next().map(|(_, c)| c)),
                        '\'' => {
                            end = Some(i + 1);
                            break;
                        }
                        c => value.push(c),
                    }
                }
                rest = &quoted[end?..];
            } else {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                value = rest[..end].to_owned();
                rest = &rest[end..];
            }
            pairs.push((key.to_owned(), value));
            rest = rest.trim_start();
        }
        (!pairs.is_empty()).then_some(pairs)
    }

    /// The `postgresql://` URL a key/value string stands for.
    pub(super) fn to_url(text: &str) -> Option<String> {
        let pairs = pairs(text)?;
        let get = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let enc = |v: &str| utf8_percent_encode(v, COMPONENT).to_string();
        let mut url = "postgresql://".to_owned();
        if let Some(user) = get("user") {
            url += &enc(user);
            if let Some(password) = get("password") {
                url += &format!(":{}", enc(password));
            }
            url += "@";
        }
        let host = get("host").or_else(|| get("hostaddr"));
        // A socket folder or an IPv6 address is no URL host: it goes in the
        // query, which the client library reads the same.
        let host_in_query = host.filter(|h| h.starts_with('/') || h.contains(':'));
        if let Some(host) = host.filter(|_| host_in_query.is_none()) {
            url += &enc(host);
        }
        if let Some(port) = get("port") {
            url += &format!(":{}", enc(port));
        }
        url += "/";
        if let Some(dbname) = get("dbname") {
            url += &enc(dbname);
        }
        let query: Vec<String> = host_in_query
            .map(|h| format!("host={}", enc(h)))
            .into_iter()
            .chain(
                pairs
                    .iter()
                    .filter(|(k, _)| {
                        !matches!(k.as_str(), "user" | "host" | "hostaddr" | "port" | "dbname")
                            && (k != "password" || get("user").is_none())
                    })
                    .map(|(k, v)| format!("{k}={}", enc(v))),
            )
            .collect();
        if !query.is_empty() {
            url += "?";
            url += &query.join("&");
        }
        Some(url)
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

    #[test]
    fn quotes_from_a_dotenv_file_are_removed_once() {
        assert_eq!(
            Location::parse("'sqlite:///data/y.db'"),
            Ok(file("data/y.db"))
        );
        assert_eq!(Location::parse("\"data/y.db\""), Ok(file("data/y.db")));
        let server = Location::parse("\"postgresql+asyncpg://bot:pw@h/db\"").unwrap();
        assert_eq!(
            server.postgres_url().as_deref(),
            Some("postgresql://bot:pw@h/db")
        );
        assert!(matches!(
            Location::parse("\"data/y.db"),
            Err(LocationError::Malformed { .. })
        ));
    }

    #[test]
    fn what_looks_like_a_url_is_never_a_file_name() {
        for text in [
            "sqlite+aiosqlite//data/x.db",
            "sqlite//data/x.db",
            "postgresql//bot@db/shop",
            "sqlite+aiosqlite/data/x.db",
        ] {
            assert!(
                matches!(Location::parse(text), Err(LocationError::Malformed { .. })),
                "{text}"
            );
        }
        assert_eq!(Location::parse("sqlite/x.db"), Ok(file("sqlite/x.db")));
        assert_eq!(Location::parse("./a=b.db"), Ok(file("./a=b.db")));
    }

    #[test]
    fn libpq_key_value_strings_are_postgresql() {
        let server = Location::parse(
            "host=db.example port=5433 user=bot password='s3cr/t p@ss' dbname=shop sslmode=require",
        )
        .unwrap();
        assert_eq!(
            server.postgres_url().as_deref(),
            Some("postgresql://bot:s3cr%2Ft%20p%40ss@db.example:5433/shop?sslmode=require")
        );
        assert_eq!(
            server.to_string(),
            "postgresql://bot:***@db.example:5433/shop?sslmode=require"
        );
        let socket = Location::parse("host=/var/run/postgresql dbname=shop").unwrap();
        assert_eq!(
            socket.postgres_url().as_deref(),
            Some("postgresql:///shop?host=%2Fvar%2Frun%2Fpostgresql")
        );
        assert!(socket
            .postgres_url()
            .unwrap()
            .parse::<postgres::Config>()
            .is_ok());
        // Without a user the password travels as a parameter.
        let no_user = Location::parse("host=h password=pw dbname=d").unwrap();
        assert_eq!(
            no_user.postgres_url().as_deref(),
            Some("postgresql://h/d?password=pw")
        );
        assert_eq!(no_user.to_string(), "postgresql://h/d?password=***");
        // A file name with `=` in it is no connection string.
        assert_eq!(Location::parse("backup=1.db"), Ok(file("backup=1.db")));
    }

    #[test]
    fn every_form_of_password_is_hidden() {
        for (text, shown) in [
            ("postgresql://u:secret@h/db", "postgresql://u:***@h/db"),
            ("postgresql://u:se/cr/et@h/db", "postgresql://u:***@h/db"),
            (
                "postgresql://u@h/db?password=secret&sslmode=require",
                "postgresql://u@h/db?password=***&sslmode=require",
            ),
            (
                "postgresql://u@h/db?sslpassword=secret",
                "postgresql://u@h/db?sslpassword=***",
            ),
            (
                "host=h password=secret dbname=db",
                "host=h password=*** dbname=db",
            ),
            (
                "host=h password='sec ret\\' x' dbname=db",
                "host=h password=*** dbname=db",
            ),
        ] {
            assert_eq!(redact(text), shown, "{text}");
        }
        let with_query = Location::parse("postgresql://u@h/db?password=secret").unwrap();
        assert!(!with_query.to_string().contains("secret"));
    }
}
