//! The integration tests of the `migrate` command line and of a bot that
//! embeds it (`examples/repair_bot.rs` of the library), built as one binary
//! so that SQLite and clap are linked once. Each module is one area.

/// The repository's root, where the shared migration folders are.
macro_rules! workspace_root {
    () => {
        concat!(env!("CARGO_MANIFEST_DIR"), "/..")
    };
}

#[path = "../../../migrate-kit-core/tests/it/support.rs"]
mod support;

#[path = "../../../migrate-kit-core/tests/it/pg.rs"]
mod pg;

#[path = "../../../tests/it/sets.rs"]
mod sets;

mod common;

mod cli;
mod concurrency;
mod convert_alembic;
mod crash;
mod failures;
mod hints;
mod hostile_env;
mod import;
mod json_output;
mod locations;
mod pgbouncer;
mod postgres_cli;
mod real_databases;
mod repair_bot;
mod round_trip;
mod schema_cli;
mod secrets;
