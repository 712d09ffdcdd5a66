//! Schema intelligence: the difference between two schemas as upgrade and
//! downgrade SQL (with SQLite table rebuilds where `ALTER TABLE` cannot
//! express a change; PostgreSQL's in [`pg_diff`]), lint findings, and
//! [`tools`], which runs the schema commands on scratch databases of either
//! backend (PostgreSQL's in [`server_lab`]). The schema model itself is in
//! `model::schema`; reading a live database is each backend's `introspect`.

pub(crate) mod diff;
#[cfg(feature = "sqlite")]
pub(crate) mod lab;
pub(crate) mod lint;
#[cfg(feature = "postgres")]
pub(crate) mod pg_diff;
#[cfg(feature = "postgres")]
pub(crate) mod pg_lint;
#[cfg(feature = "postgres")]
pub(crate) mod server_lab;
#[cfg(feature = "sqlite")]
pub(crate) mod tools;

pub(crate) use diff::{Diff, Renames};
