//! The integration tests of `migrate-core`, built as one binary: the
//! runner and drift detection on real SQLite files, the property tests of
//! the parser and graph, the schema model, and the PostgreSQL backend on a
//! real server (with the `postgres` feature).

#[cfg(feature = "postgres")]
mod pg;
mod support;

mod drift;
mod layers;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
mod postgres_tls;
mod props;
mod runner;
mod schema_diff;
mod schema_tools;
