//! Tests of the crate's internals across layers: property tests of the
//! parser, the graph and the statement splitter, and the SQLite schema
//! model's diff against what SQLite itself reports.

mod props;
mod schema_diff;
mod schema_tools;
