//! The integration tests of the `migrate-kit` library, built as one binary
//! so that SQLite is linked once: embedding, the async API, the test
//! attribute and errors (events are `tests/tracing_events.rs`, a binary of
//! their own). The command line's tests are the
//! `migrate-kit-cli` crate's.

/// The repository's root, where the shared migration folders are.
macro_rules! workspace_root {
    () => {
        env!("CARGO_MANIFEST_DIR")
    };
}

#[path = "../../migrate-kit-core/tests/it/support.rs"]
mod support;

#[cfg(feature = "postgres")]
#[path = "../../migrate-kit-core/tests/it/pg.rs"]
mod pg;

mod sets;

#[cfg(feature = "postgres")]
mod async_postgres;
mod compiletest;
mod embed;
mod hostile_files;
mod main_errors;
mod sqlx_sqlite;
mod test_attribute;
mod tokio_start;
