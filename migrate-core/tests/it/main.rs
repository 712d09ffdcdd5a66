//! The integration tests of `migrate-core`, built as one binary: the
//! runner and drift detection on real SQLite files, the property tests of
//! the parser and graph, and the schema model.

mod support;

mod drift;
mod props;
mod runner;
mod schema_diff;
mod schema_tools;
