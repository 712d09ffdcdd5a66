//! The PostgreSQL backend (DESIGN §11): the [`Backend`](crate::Backend)
//! implementation for `postgres::Client` and for [`Postgres`] (a client
//! with its [`ServerSettings`]), the advisory lock, statement execution,
//! Alembic's PostgreSQL text for offline SQL, and `import` of an export.
//! All PostgreSQL dialect and database access of the crate lives under
//! this module.
//!
//! Every statement goes through the simple query protocol, so no named
//! prepared statement is ever left on a connection that a
//! transaction-mode pooler hands to someone else.

mod backend;
pub(crate) mod data;
pub(crate) mod dump;
mod exec;
pub(crate) mod introspect;
mod libpq_env;
mod link;
mod lock;
#[cfg(any(feature = "sqlx-0_8", feature = "sqlx-0_9"))]
mod sqlx;
pub(crate) mod text;
mod tls;

pub use crate::backend::settings::{LockMode, ServerSettings};
pub use backend::{Postgres, PostgresDialect, PostgresSession};
pub use link::Link;
pub use lock::lock_key;
/// The connection type of the PostgreSQL backend.
pub use postgres::Client;

use crate::backend::location::Location;
use crate::error::{BackendError, RunError};

/// Connects to the server a `postgres://` or `postgresql://` location names
/// (a SQLAlchemy driver suffix such as `+psycopg` is ignored), with TLS as
/// its `sslmode` and `sslrootcert` say; what the URL leaves out, libpq's
/// environment variables (`PGHOST`, `PGPASSWORD`, `PGSSLMODE`, ...) and
/// password file supply.
pub fn connect(location: &Location) -> Result<Client, RunError> {
    let Some(url) = location.postgres_url() else {
        return Err(RunError::Backend(BackendError::UnsupportedLocation {
            location: location.to_string(),
        }));
    };
    let (url, mut tls) = tls::take_parameters(&url);
    libpq_env::fill_tls(&mut tls, &libpq_env::process_env);
    let tls = tls.resolve(location)?;
    let mut config: postgres::Config = url.parse().map_err(|source| {
        RunError::Backend(BackendError::Connect {
            location: location.to_string(),
            source: Box::new(source),
        })
    })?;
    libpq_env::fill_password(&mut config, &libpq_env::process_env);
    config
        .ssl_mode(tls.mode)
        .connect(tls.connector)
        .map_err(|source| {
            RunError::Backend(BackendError::Connect {
                location: location.to_string(),
                source: Box::new(source),
            })
        })
}
