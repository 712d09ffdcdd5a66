//! Schema intelligence: a typed model of a SQLite schema, the difference
//! between two schemas as upgrade and downgrade SQL (with table rebuilds
//! where `ALTER TABLE` cannot express a change), and lint findings.
//! Pure code; reading a live database is in `sqlite::introspect`, and
//! [`tools`] runs the schema commands on scratch databases.

pub mod diff;
pub mod lexer;
pub mod lint;
pub mod model;
pub mod pg_lint;
#[cfg(feature = "sqlite")]
pub mod tools;

pub use diff::{diff, Diff, Renames};
pub use lint::Finding;
pub use model::{Column, Object, Schema, Table};
