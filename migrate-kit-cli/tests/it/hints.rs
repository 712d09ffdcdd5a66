//! Every hint runs: each state whose message names a command is made on a
//! real SQLite file, the command is taken from the message as printed
//! (`--yes` added where it asks), run as a real process, and what the hint
//! promised is checked. The troubleshooting chapter's table (docs/troubleshooting.md) names only
//! commands walked here.

use crate::common::{reference_project, run};
use rusqlite::Connection;
use std::path::Path;
use tempfile::TempDir;

fn migrate(dir: &Path) -> assert_cmd::Command {
    crate::common::migrate_in(dir)
}

/// The words of the first backticked `migrate ...` command in `text` that
/// starts with `prefix` (quotes kept together, as a shell reads them).
fn hinted(text: &str, prefix: &str) -> Vec<String> {
    let command = text
        .split('`')
        .skip(1)
        .step_by(2)
        .find(|c| c.starts_with(&format!("migrate {prefix}")))
        .unwrap_or_else(|| panic!("no `migrate {prefix}...` hint in: {text}"));
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in command.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => words.push(std::mem::take(&mut word)),
            c => word.push(c),
        }
    }
    words.push(word);
    assert!(
        !words.iter().any(|w| w.starts_with('<')),
        "a hint must be runnable as printed: {command}"
    );
    words.remove(0);
    words
}

/// Runs a hinted command; `--yes` is added when it asks for confirmation.
fn run_hint(dir: &Path, words: &[String]) -> (i32, String, String) {
    let mut cmd = migrate(dir);
    cmd.args(words);
    if matches!(words[0].as_str(), "repair" | "adopt") && !words.iter().any(|w| w == "--yes") {
        cmd.arg("--yes");
    }
    run(&mut cmd)
}

fn upgraded(to: &str) -> TempDir {
    let dir = reference_project(false);
    let (code, _, err) = run(migrate(dir.path()).args(["upgrade", to]));
    assert_eq!(code, 0, "{err}");
    dir
}

fn db(dir: &Path) -> Connection {
    Connection::open(dir.join("data/bot_database.db")).unwrap()
}

fn heads(dir: &Path) -> String {
    run(migrate(dir).arg("current")).1
}

#[test]
fn an_edited_file_is_accepted_by_the_command_verify_names() {
    let dir = upgraded("head");
    let file = dir
        .path()
        .join("migrations/versions/003_add_settings_table.sql");
    let text = std::fs::read_to_string(&file).unwrap() + "\n-- reviewed\n";
    std::fs::write(&file, text).unwrap();
    let (code, out, _) = run(migrate(dir.path()).arg("verify"));
    assert_eq!(code, 1);
    let (code, _, err) = run_hint(dir.path(), &hinted(&out, "repair"));
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(migrate(dir.path()).arg("verify"));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_dirty_mark_is_cleared_by_the_command_verify_names() {
    // 003 was interrupted before it changed anything: at 002, marked started.
    let dir = upgraded("002");
    db(dir.path())
        .execute_batch(
            "INSERT INTO migrate_applied (revision, message, down_revision, applied_at, status)
             VALUES ('003', 'add settings table', '002', '2026-12-02T10:00:00Z', 'started');",
        )
        .unwrap();
    let (code, out, _) = run(migrate(dir.path()).arg("verify"));
    assert_eq!(code, 1);
    let words = hinted(&out, "repair");
    assert_eq!(words, ["repair", "--clear-dirty", "003"]);
    let (code, _, err) = run_hint(dir.path(), &words);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(migrate(dir.path()).arg("verify"));
    assert_eq!(code, 0, "{out}");
    assert_eq!(run(migrate(dir.path()).args(["upgrade", "head"])).0, 0);
}

#[test]
fn a_database_made_by_hand_is_adopted_by_the_command_upgrade_names() {
    let dir = upgraded("002");
    db(dir.path())
        .execute_batch(
            "DROP TABLE alembic_version; DROP TABLE migrate_applied; DROP TABLE migrate_log;",
        )
        .unwrap();
    let (code, _, err) = run(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(code, 1);
    let (code, _, err2) = run_hint(dir.path(), &hinted(&err, "adopt"));
    assert_eq!(code, 0, "{err2}");
    assert_eq!(heads(dir.path()), "002\n");
}

#[test]
fn a_wrong_stamp_is_repaired_by_the_command_verify_names() {
    let dir = upgraded("001");
    let (code, _, err) = run(migrate(dir.path()).args(["stamp", "head", "--force"]));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(migrate(dir.path()).arg("verify"));
    assert_eq!(code, 1, "{out}{err}");
    let (code, _, err) = run_hint(dir.path(), &hinted(&format!("{out}{err}"), "adopt"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(heads(dir.path()), "001\n");
    assert_eq!(run(migrate(dir.path()).args(["upgrade", "head"])).0, 0);
    // Once the schema is what its revision builds, adopt says so.
    let (code, _, err) = run(migrate(dir.path()).args(["adopt", "--yes"]));
    assert_eq!(code, 1);
    assert!(err.contains("nothing to adopt"), "{err}");
}

#[test]
fn an_alembic_era_id_no_file_declares_is_adopted_by_the_command_named() {
    let dir = upgraded("002");
    db(dir.path())
        .execute_batch(
            "DROP TABLE migrate_applied; UPDATE alembic_version SET version_num = 'a1b2c3d4e5f6'",
        )
        .unwrap();
    let (code, _, err) = run(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(code, 1);
    assert!(err.contains("a1b2c3d4e5f6"), "{err}");
    let (code, _, err) = run_hint(dir.path(), &hinted(&err, "adopt"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(heads(dir.path()), "002\n");
    assert_eq!(run(migrate(dir.path()).args(["upgrade", "head"])).0, 0);
}

#[test]
fn two_heads_are_merged_by_the_command_upgrade_names() {
    let dir = reference_project(false);
    let versions = dir.path().join("migrations/versions");
    for (id, table) in [("004", "a"), ("005", "b")] {
        std::fs::write(
            versions.join(format!("{id}_{table}.sql")),
            format!("-- revision: {id}\n-- down_revision: 003\n-- message: {table}\n\n-- migrate:upgrade\nCREATE TABLE {table} (x);\n\n-- migrate:downgrade\nDROP TABLE {table};\n"),
        )
        .unwrap();
    }
    let (code, _, err) = run(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(code, 1);
    let (code, _, err) = run_hint(dir.path(), &hinted(&err, "merge"));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn an_export_of_another_revision_is_imported_after_the_command_named() {
    let dir = upgraded("head");
    assert_eq!(
        run(migrate(dir.path()).args(["export", "--out", "e.json"])).0,
        0
    );
    assert_eq!(run(migrate(dir.path()).args(["downgrade", "-1"])).0, 0);
    let (code, _, err) = run(migrate(dir.path()).args(["import", "e.json", "--replace"]));
    assert_eq!(code, 1);
    let (code, _, err) = run_hint(dir.path(), &hinted(&err, "upgrade"));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(migrate(dir.path()).args(["import", "e.json"]));
    assert_eq!(code, 1, "settings holds its seed rows");
    let (code, _, err) = run_hint(dir.path(), &hinted(&err, "import"));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn revisions_applied_by_alembic_get_checksums_from_the_command_verify_names() {
    let dir = upgraded("head");
    db(dir.path())
        .execute_batch("DROP TABLE migrate_applied")
        .unwrap();
    let (_, out, _) = run(migrate(dir.path()).arg("verify"));
    let words = hinted(&out, "repair");
    assert_eq!(words, ["repair"]);
    let (code, _, err) = run_hint(dir.path(), &words);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(migrate(dir.path()).arg("verify"));
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("unverified"), "{out}");
}

#[test]
fn a_missing_database_is_created_by_the_command_named() {
    let dir = reference_project(false);
    let (_, _, err) = run(migrate(dir.path()).arg("current"));
    let (code, _, err) = run_hint(dir.path(), &hinted(&err, "upgrade"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(heads(dir.path()), "003 (head)\n");
}

#[test]
fn a_database_ahead_of_the_files_goes_back_with_the_command_named() {
    let dir = reference_project(false);
    let extra = dir.path().join("migrations/versions/004_notes.sql");
    std::fs::write(
        &extra,
        "-- revision: 004\n-- down_revision: 003\n-- message: notes\n\n-- migrate:upgrade\nCREATE TABLE notes (x);\n\n-- migrate:downgrade\nDROP TABLE notes;\n",
    )
    .unwrap();
    assert_eq!(run(migrate(dir.path()).args(["upgrade", "head"])).0, 0);
    std::fs::remove_file(&extra).unwrap();
    let (code, _, err) = run(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(code, 1);
    let words = hinted(&err, "downgrade");
    assert_eq!(words, ["downgrade", "003"]);
    let (code, _, err) = run_hint(dir.path(), &words);
    assert_eq!(code, 0, "{err}");
    assert_eq!(heads(dir.path()), "003 (head)\n");
}

#[test]
fn a_hand_made_database_no_revision_matches_is_rebuilt_by_the_commands_named() {
    let dir = reference_project(false);
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    db(dir.path())
        .execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, telegram_id INTEGER NOT NULL, full_name TEXT NOT NULL, karma INTEGER);
             INSERT INTO users VALUES (1, 11, 'Anna', NULL);",
        )
        .unwrap();
    let (code, _, err) = run(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(code, 1);
    let (code, out, err2) = run_hint(dir.path(), &hinted(&err, "adopt"));
    assert_eq!(code, 1, "{out}{err2}");
    assert!(
        format!("{out}{err2}").contains("no revision matches"),
        "{out}{err2}"
    );
    let (code, out, err) = run_hint(dir.path(), &hinted(&err, "rebuild"));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(heads(dir.path()), "003 (head)\n");
    let names: i64 = db(dir.path())
        .query_row(
            "SELECT count(*) FROM users WHERE full_name = 'Anna'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(names, 1);
}

/// The commands the walks above run, as the troubleshooting chapter's table
/// may name them.
const WALKED: &[&str] = &[
    "migrate adopt",
    "migrate rebuild",
    "migrate downgrade 003",
    "migrate merge heads -m \"merge\"",
    "migrate check",
    "migrate verify",
    "migrate repair --clear-dirty 003",
    "migrate repair --accept 003",
    "migrate repair",
    "migrate import export.json --replace",
    "migrate import export.json --merge",
    "migrate upgrade head",
    "migrate upgrade 003",
];

#[test]
fn the_troubleshooting_table_names_only_walked_commands() {
    let chapter =
        std::fs::read_to_string(concat!(workspace_root!(), "/docs/troubleshooting.md")).unwrap();
    let table = chapter
        .split("# Troubleshooting")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .unwrap();
    let mut named = 0;
    for row in table.lines().filter(|l| l.starts_with("| ")) {
        let fix = row.rsplit(" | ").next().unwrap_or_default();
        for command in fix
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|c| c.starts_with("migrate "))
        {
            assert!(
                WALKED.contains(&command),
                "the troubleshooting chapter's fix `{command}` is not walked by a test"
            );
            named += 1;
        }
    }
    assert!(named >= 8, "{named}");
}
