//! What `?` in a bot's `main` prints: the Rust runtime writes
//! `Error: {:?}` of the returned error, which for this crate's errors is the
//! message with its hint, not a dump of the structures.

use crate::support::{migration, write_folder};
use migrate_kit::Migrations;
use rusqlite::Connection;
use std::error::Error;
use tempfile::TempDir;

/// A bot's start-up, as its `main` would write it.
fn bot_main(folder: &std::path::Path, db: &std::path::Path) -> Result<(), Box<dyn Error>> {
    let set = Migrations::from_dir(folder)?;
    let mut conn = Connection::open(db)?;
    set.start(&mut conn)?;
    Ok(())
}

#[test]
fn a_drifted_database_reads_as_a_message_from_main() {
    let dir = TempDir::new().unwrap();
    let folder = dir.path().join("migrations");
    let db = dir.path().join("bot.db");
    let file = |sql: &str| migration("a1", "none", sql, None);
    write_folder(&folder, &[("a1.sql", file("CREATE TABLE t (id INTEGER);"))]);
    bot_main(&folder, &db).unwrap();
    write_folder(
        &folder,
        &[("a1.sql", file("CREATE TABLE t (id INTEGER, x TEXT);"))],
    );
    let printed = format!("Error: {:?}", bot_main(&folder, &db).unwrap_err());
    assert!(
        printed.starts_with("Error: the database does not match the migrations:\ndatabase at: a1\nmodified: a1 (versions/a1.sql) was edited after it was applied"),
        "{printed}"
    );
    assert!(
        printed.contains("`migrate repair --accept a1`"),
        "{printed}"
    );
    assert!(!printed.contains("DriftReport"), "{printed}");
}

#[test]
fn a_broken_folder_reads_as_a_message_from_main() {
    let dir = TempDir::new().unwrap();
    let folder = dir.path().join("migrations");
    write_folder(&folder, &[("a1.sql", "-- revision: a1\n".to_owned())]);
    let error = bot_main(&folder, &dir.path().join("bot.db")).unwrap_err();
    let printed = format!("Error: {error:?}");
    assert!(
        printed.starts_with(
            "Error: 3 problems in the migrations folder:\n  versions/a1.sql:1: missing header"
        ),
        "{printed}"
    );
    assert!(!printed.contains("LoadError"), "{printed}");
    // The data stays in the types, and `{:#?}` shows it.
    assert!(format!("{error:#?}").contains("LoadError"));
}
