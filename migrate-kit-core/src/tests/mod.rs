//! Tests of the crate's internals across layers: property tests of the
//! parser, the graph and the statement splitter, and the SQLite schema
//! model's diff against what SQLite itself reports, and PostgreSQL's schema
//! model on a real server.

#[cfg(feature = "postgres")]
#[path = "../../tests/it/pg.rs"]
mod pg;
#[cfg(feature = "postgres")]
mod pg_schema;
mod props;
mod schema_diff;
mod schema_tools;
