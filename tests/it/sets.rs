//! What tests of every feature set share: the migration folders of the
//! repository and the two tokio runtime flavours the async tests run on.
#![allow(dead_code)]

use tokio::runtime::{Builder, Runtime};

/// The bot's own migrations folder (SQLite).
pub const REFERENCE: &str = concat!(workspace_root!(), "/migrations");

/// The PostgreSQL example's folder, with a `transactional: false` migration.
pub const SERVER_SET: &str = concat!(workspace_root!(), "/examples/postgres/migrations");

/// A multi-thread and a current-thread runtime, each named.
pub fn runtimes() -> [(&'static str, Runtime); 2] {
    [
        (
            "multi-thread",
            Builder::new_multi_thread().enable_all().build().unwrap(),
        ),
        (
            "current-thread",
            Builder::new_current_thread().enable_all().build().unwrap(),
        ),
    ]
}
