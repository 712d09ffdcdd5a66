//! The PostgreSQL backend (DESIGN §11): the [`Backend`](crate::Backend)
//! implementation for `postgres::Client` and for [`Postgres`] (a client
//! with its [`Settings`]), the advisory lock, statement execution,
//! Alembic's PostgreSQL text for offline SQL, and `import` of an export. All PostgreSQL dialect and
//! database access of the crate lives under this module.
//!
//! Every statement goes through the simple query protocol, so no named
//! prepared statement is ever left on a connection that a
//! transaction-mode pooler hands to someone else.

mod backend;
pub(crate) mod data;
pub mod diff;
mod exec;
pub mod introspect;
mod lock;
mod text;
pub mod tools;

pub use backend::{Postgres, PostgresDialect, PostgresSession, Settings};
pub use lock::{lock_key, LockMode};
/// The connection type of the PostgreSQL backend.
pub use postgres::Client;

use crate::error::RunError;
use crate::location::Location;

/// Connects to the server a `postgres://` or `postgresql://` location names
/// (a SQLAlchemy driver suffix such as `+psycopg` is ignored).
pub fn connect(location: &Location) -> Result<Client, RunError> {
    let Some(url) = location.postgres_url() else {
        return Err(RunError::UnsupportedLocation {
            location: location.to_string(),
        });
    };
    let url = without_tls(location, &url)?;
    let config: postgres::Config = url.parse().map_err(|source| RunError::Connect {
        location: location.to_string(),
        source: Box::new(source),
    })?;
    // No TLS implementation is linked: a mode that needs TLS was refused
    // above rather than downgraded.
    let tls = postgres::NoTls;
    config.connect(tls).map_err(|source| RunError::Connect {
        location: location.to_string(),
        source: Box::new(source),
    })
}

/// `url` for a client without TLS: libpq's `sslmode=allow` (plain text
/// first) is read as `prefer`, which falls back to plain text the same way;
/// `require`, `verify-ca` and `verify-full` are refused, never downgraded.
fn without_tls(location: &Location, url: &str) -> Result<String, RunError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok(url.to_owned());
    };
    let mut parameters = Vec::new();
    for parameter in query.split('&') {
        match parameter.split_once('=') {
            Some(("sslmode", mode @ ("require" | "verify-ca" | "verify-full"))) => {
                return Err(RunError::TlsRequired {
                    location: location.to_string(),
                    mode: mode.to_owned(),
                })
            }
            Some(("sslmode", "allow")) => parameters.push("sslmode=prefer".to_owned()),
            _ => parameters.push(parameter.to_owned()),
        }
    }
    Ok(format!("{base}?{}", parameters.join("&")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mode_that_needs_tls_is_refused_never_downgraded() {
        for mode in ["require", "verify-ca", "verify-full"] {
            let location =
                Location::parse(&format!("postgresql://bot:pw@db/shop?sslmode={mode}")).unwrap();
            let error = connect(&location).err().unwrap();
            assert!(matches!(error, RunError::TlsRequired { .. }), "{error}");
            assert!(!error.to_string().contains("pw@"), "{error}");
        }
        let allow =
            Location::parse("postgresql://db/shop?application_name=bot&sslmode=allow").unwrap();
        assert_eq!(
            without_tls(&allow, &allow.postgres_url().unwrap()).unwrap(),
            "postgresql://db/shop?application_name=bot&sslmode=prefer"
        );
    }
}
