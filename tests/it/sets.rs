//! What tests of every feature set share: the migration folders of the
//! repository and the two tokio runtime flavours the async tests run on.
#![allow(dead_code)]

use migrate_kit::Migrations;
use std::path::Path;
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

/// Writes `files` (name, text) into `dir/versions` and loads the set.
pub fn set_of(dir: &Path, files: &[(&str, &str)]) -> Migrations {
    let versions = dir.join("versions");
    std::fs::create_dir_all(&versions).unwrap();
    for (name, text) in files {
        std::fs::write(versions.join(name), text).unwrap();
    }
    Migrations::from_dir(dir).unwrap()
}

/// `set` for the rest of the test binary, as tasks on a runtime need it.
pub fn leaked(set: Migrations) -> &'static Migrations {
    Box::leak(Box::new(set))
}
