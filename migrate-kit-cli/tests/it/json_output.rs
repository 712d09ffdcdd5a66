//! `--format json`: every command that prints a result prints exactly one
//! JSON object on stdout, with `version`, and nothing else there.

use crate::common::{migration, write_folder};
use assert_cmd::Command;
use rusqlite::Connection;
use serde_json::Value;
use std::path::Path;
use tempfile::TempDir;

/// A project with a copy of the reference migrations and schema.sql.
fn project() -> TempDir {
    crate::common::reference_project(true)
}

/// Runs `migrate --format json ARGS`, expecting success, and parses stdout
/// as one JSON object.
fn json(dir: &Path, args: &[&str]) -> Value {
    let out = Command::cargo_bin("migrate")
        .unwrap()
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATE_DIR")
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{args:?} failed: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}\n{stdout}"));
    assert!(value.is_object(), "{args:?}: {stdout}");
    assert_eq!(value["version"], 1, "{args:?}: {stdout}");
    value
}

#[test]
fn every_command_prints_one_json_object() {
    let dir = project();
    let p = dir.path();
    assert_eq!(json(p, &["upgrade", "head"])["heads_after"][0], "003");
    assert_eq!(json(p, &["current"])["heads"][0]["revision"], "003");
    // With a database there, history says which revision is current.
    let history = json(p, &["history"]);
    assert_eq!(history["revisions"][0]["is_current"], true);
    assert_eq!(history["revisions"][1]["is_current"], false);
    json(p, &["history", "-i"]);
    json(p, &["heads"]);
    json(p, &["branches"]);
    assert_eq!(json(p, &["show", "002"])["revisions"][0]["revision"], "002");
    assert_eq!(json(p, &["verify"])["clean"], true);
    assert_eq!(json(p, &["check", "--lint"])["problems"], 0);
    assert_eq!(json(p, &["test"])["ok"], true);
    json(p, &["schema", "users"]);
    let backup = json(p, &["backup"]);
    let file = backup["backup"].as_str().unwrap().to_owned();
    let export = json(p, &["export", "--out", "e.json"]);
    assert_eq!(export["export"], "e.json");
    assert!(json(p, &["import", "e.json", "--replace"])["imported_rows"].is_number());
    json(p, &["restore", &file]);
    json(p, &["repair"]);
    assert_eq!(json(p, &["downgrade", "-1"])["heads_after"][0], "002");
    assert_eq!(
        json(p, &["stamp", "003", "--force"])["heads_after"][0],
        "003"
    );
    assert_eq!(
        json(p, &["revision", "-m", "add notes"])["down_revisions"][0],
        "003"
    );

    let fresh = TempDir::new().unwrap();
    assert!(json(fresh.path(), &["init"])["created"].is_array());
}

#[test]
fn the_commands_for_hand_made_databases_and_branches_print_json_too() {
    let dir = project();
    let p = dir.path();
    // A hand-made database: rebuild's dry run and adopt.
    std::fs::create_dir_all(p.join("data")).unwrap();
    Connection::open(p.join("data/bot_database.db"))
        .unwrap()
        .execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, telegram_id INTEGER, full_name TEXT); INSERT INTO users VALUES (1, 1, 'Anna');")
        .unwrap();
    assert_eq!(json(p, &["rebuild", "--dry-run"])["dry_run"], true);
    let rebuilt = json(p, &["rebuild"]);
    assert!(rebuilt["rebuilt"].is_string(), "{rebuilt}");

    // Two branches with one id: reid, then merge heads.
    let sql = "CREATE TABLE x4 (id INTEGER);";
    write_folder(
        &p.join("migrations"),
        &[
            (
                "004_a.sql",
                migration("004", "003", sql, Some("DROP TABLE x4;")),
            ),
            (
                "004_b.sql",
                migration(
                    "004",
                    "003",
                    &sql.replace("x4", "y4"),
                    Some("DROP TABLE y4;"),
                ),
            ),
        ],
    );
    json(p, &["heads"]);
    let reid = json(p, &["reid", "versions/004_b.sql"]);
    assert_eq!(reid["old"], "004");
    let merged = json(p, &["merge", "heads", "-m", "merge"]);
    assert_eq!(merged["down_revisions"].as_array().unwrap().len(), 2);
}
