//! The SQLite backend: the [`Backend`](crate::backend::Backend)
//! implementation for `rusqlite::Connection`, and the SQLite side of every
//! tool (backups, data export and import, schema reading, squashing). All
//! SQLite dialect and database access of the crate lives under this module.

mod backend;
pub(crate) mod backup;
pub(crate) mod data;
mod error;
pub(crate) use error::Doing;
mod exec;
pub(crate) mod introspect;
mod lock;
mod open;
#[cfg(feature = "sqlx-0_9-sqlite")]
mod sqlx;

pub use backend::{current, SqliteDialect, SqliteSession, ALEMBIC_VERSION_DDL};
pub use open::{open, scratch, set_busy_timeout};
/// The connection type of the SQLite backend.
pub use rusqlite::Connection;
#[cfg(feature = "sqlx-0_9-sqlite")]
pub use sqlx::SqlxSqlite;
