//! The integration tests of the `migrate` crate, built as one binary so
//! that SQLite, clap and the command line are linked once. Each module is
//! one area; the ones that drive the command line or the bot need the
//! `cli` feature.

#[path = "../../migrate-core/tests/it/support.rs"]
mod support;

#[cfg(feature = "postgres")]
#[path = "../../migrate-core/tests/it/pg.rs"]
mod pg;

#[cfg(feature = "cli")]
mod common;
mod sets;

#[cfg(feature = "postgres")]
mod async_postgres;
#[cfg(feature = "cli")]
mod cli;
mod compiletest;
#[cfg(feature = "cli")]
mod concurrency;
#[cfg(feature = "cli")]
mod crash;
mod embed;
#[cfg(feature = "cli")]
mod failures;
#[cfg(feature = "cli")]
mod hints;
#[cfg(feature = "cli")]
mod hostile_env;
mod hostile_files;
#[cfg(feature = "cli")]
mod import;
#[cfg(feature = "cli")]
mod json_output;
#[cfg(feature = "cli")]
mod locations;
mod main_errors;
#[cfg(all(feature = "cli", feature = "postgres"))]
mod pgbouncer;
#[cfg(all(feature = "cli", feature = "postgres"))]
mod postgres_cli;
#[cfg(feature = "cli")]
mod real_databases;
#[cfg(feature = "cli")]
mod repair_bot;
#[cfg(feature = "cli")]
mod round_trip;
#[cfg(feature = "cli")]
mod schema_cli;
#[cfg(all(feature = "cli", feature = "postgres"))]
mod secrets;
mod test_attribute;
mod tokio_start;
#[cfg(feature = "tracing")]
mod tracing_events;
