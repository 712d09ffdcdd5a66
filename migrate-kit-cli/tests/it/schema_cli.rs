//! The schema commands as real processes: autogenerate, check, lint,
//! the stairway test and adopt.

use crate::common::{migrate_in as migrate, stdout_of, REFERENCE};
use crate::common::{migration, version_rows, write_folder};
use assert_cmd::Command;
use rusqlite::Connection;
use std::path::Path;
use tempfile::TempDir;

fn refused(cmd: &mut Command) -> (String, String) {
    let out = cmd.assert().code(1);
    let output = out.get_output();
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn reference_file(name: &str) -> String {
    std::fs::read_to_string(Path::new(REFERENCE).join(name)).unwrap()
}

/// The reference schema.sql without the settings table and phone_number.
fn schema_at_001() -> String {
    let full = reference_file("schema.sql");
    let without_settings = &full[..full.find("CREATE TABLE settings").unwrap()];
    without_settings.replace(",\n    phone_number TEXT", "")
}

fn project_at_001() -> TempDir {
    let dir = TempDir::new().unwrap();
    let versions = dir.path().join("migrations/versions");
    std::fs::create_dir_all(&versions).unwrap();
    std::fs::write(
        versions.join("001_initial_schema.sql"),
        reference_file("versions/001_initial_schema.sql"),
    )
    .unwrap();
    dir
}

#[test]
fn the_seed_examples_with_autogenerate() {
    let dir = project_at_001();
    let schema = dir.path().join("migrations/schema.sql");
    std::fs::write(&schema, schema_at_001()).unwrap();
    let out =
        stdout_of(migrate(dir.path()).args(["revision", "--autogenerate", "-m", "nothing yet"]));
    assert!(out.starts_with("No changes detected"), "{out}");
    assert_eq!(
        std::fs::read_dir(dir.path().join("migrations/versions"))
            .unwrap()
            .count(),
        1,
        "nothing was written"
    );

    // "add phone_number to users"
    std::fs::write(
        &schema,
        reference_file("schema.sql")
            .split("CREATE TABLE settings")
            .next()
            .unwrap(),
    )
    .unwrap();
    let out = migrate(dir.path())
        .args([
            "revision",
            "--autogenerate",
            "-m",
            "add phone_number to users",
        ])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("Detected add column users.phone_number"),
        "{stderr}"
    );
    let (_, file) = written(dir.path(), "002_", "_add_phone_number_to_users.sql");
    assert!(
        file.contains("-- migrate:upgrade\nALTER TABLE users ADD COLUMN phone_number TEXT;\n"),
        "{file}"
    );
    assert!(
        file.contains("-- migrate:downgrade\nALTER TABLE users DROP COLUMN phone_number;\n"),
        "{file}"
    );

    // "add settings table"
    std::fs::write(&schema, reference_file("schema.sql")).unwrap();
    stdout_of(migrate(dir.path()).args(["revision", "--autogenerate", "-m", "add settings table"]));
    let (head, file) = written(dir.path(), "003_", "_add_settings_table.sql");
    assert!(file.contains("CREATE TABLE settings ("), "{file}");
    assert!(
        file.contains("-- migrate:downgrade\nDROP TABLE settings;\n"),
        "{file}"
    );

    stdout_of(migrate(dir.path()).arg("check"));
    let out = stdout_of(migrate(dir.path()).arg("test"));
    assert!(out.contains("stairway ok: 3 revisions"), "{out}");
    stdout_of(migrate(dir.path()).args(["upgrade", "head"]));
    let conn = Connection::open(dir.path().join("data/bot_database.db")).unwrap();
    assert_eq!(version_rows(&conn), [head]);
}

/// The revision id and text of the one file `revision` wrote whose name
/// starts with `number` and ends with `slug`.
fn written(dir: &std::path::Path, number: &str, slug: &str) -> (String, String) {
    let versions = dir.join("migrations/versions");
    let name = std::fs::read_dir(&versions)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with(number) && n.ends_with(slug))
        .unwrap_or_else(|| panic!("no {number}*{slug}"));
    let id = name.strip_suffix(slug).unwrap().to_owned();
    (id, std::fs::read_to_string(versions.join(&name)).unwrap())
}

#[test]
fn check_catches_a_forgotten_migration_and_hand_made_drift() {
    let dir = TempDir::new().unwrap();
    std::fs::create_dir_all(dir.path().join("migrations/versions")).unwrap();
    for entry in std::fs::read_dir(Path::new(REFERENCE).join("versions")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            dir.path()
                .join("migrations/versions")
                .join(entry.file_name()),
        )
        .unwrap();
    }
    let schema = dir.path().join("migrations/schema.sql");
    std::fs::write(
        &schema,
        reference_file("schema.sql").replace(
            "    phone_number TEXT\n",
            "    phone_number TEXT,\n    email TEXT\n",
        ),
    )
    .unwrap();
    let (out, _) = refused(migrate(dir.path()).arg("check"));
    assert!(
        out.contains("schema.sql and the migrations disagree")
            && out.contains("add column users.email"),
        "{out}"
    );
    std::fs::write(&schema, reference_file("schema.sql")).unwrap();

    stdout_of(migrate(dir.path()).args(["upgrade", "head"]));
    stdout_of(migrate(dir.path()).arg("check"));
    let conn = Connection::open(dir.path().join("data/bot_database.db")).unwrap();
    conn.execute_batch("ALTER TABLE users ADD COLUMN nickname TEXT")
        .unwrap();
    let (out, _) = refused(migrate(dir.path()).arg("check"));
    assert!(
        out.contains("schema drift") && out.contains("users"),
        "{out}"
    );
}

#[test]
fn lint_requires_destructive_changes_to_be_acknowledged() {
    let dir = TempDir::new().unwrap();
    let drop = migration(
        "b1",
        "a1",
        "ALTER TABLE t DROP COLUMN y;",
        Some("ALTER TABLE t ADD COLUMN y TEXT;"),
    );
    write_folder(
        &dir.path().join("migrations"),
        &[
            (
                "a.sql",
                migration("a1", "none", "CREATE TABLE t (x TEXT, y TEXT);", None),
            ),
            ("b.sql", drop.clone()),
        ],
    );
    let (out, _) = refused(migrate(dir.path()).args(["check", "--lint"]));
    assert!(
        out.contains("versions/b.sql: drop_column: t.y") && out.contains("-- allow: drop_column"),
        "{out}"
    );
    let acknowledged = drop.replace(
        "-- message: step b1\n",
        "-- message: step b1\n-- allow: drop_column\n",
    );
    std::fs::write(dir.path().join("migrations/versions/b.sql"), acknowledged).unwrap();
    let out = stdout_of(migrate(dir.path()).args(["check", "--lint"]));
    assert!(out.contains("no unacknowledged"), "{out}");
}

#[test]
fn the_stairway_test_names_a_revision_whose_downgrade_is_wrong() {
    let dir = TempDir::new().unwrap();
    write_folder(
        &dir.path().join("migrations"),
        &[
            (
                "a.sql",
                migration(
                    "a1",
                    "none",
                    "CREATE TABLE t (x TEXT);",
                    Some("DROP TABLE t;"),
                ),
            ),
            (
                "b.sql",
                migration("b1", "a1", "CREATE INDEX ix_t ON t (x);", Some("SELECT 1;")),
            ),
            ("c.sql", migration("c1", "b1", "CREATE TABLE u (x);", None)),
        ],
    );
    let (out, err) = refused(migrate(dir.path()).arg("test"));
    assert!(out.contains("a1: up, down, up ok"), "{out}");
    assert!(
        out.contains("b1: after downgrade the schema differs"),
        "{out}"
    );
    assert!(err.contains("stairway test failed at revision b1"), "{err}");
    std::fs::write(
        dir.path().join("migrations/versions/b.sql"),
        migration(
            "b1",
            "a1",
            "CREATE INDEX ix_t ON t (x);",
            Some("DROP INDEX ix_t;"),
        ),
    )
    .unwrap();
    let out = stdout_of(migrate(dir.path()).arg("test"));
    assert!(
        out.contains("c1: up ok; irreversible, down skipped") && out.contains("irreversible: c1"),
        "{out}"
    );
}

#[test]
fn adopt_finds_the_revision_of_a_database_built_by_hand() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("hand.db");
    let conn = Connection::open(&db).unwrap();
    // Built by hand from the reference schema at 002, formatted differently.
    conn.execute_batch(
        &schema_at_001()
            .replace(
                "    username TEXT,",
                "    username   TEXT,\n    phone_number TEXT,",
            )
            .replace("\n    phone_number TEXT,", ""),
    )
    .unwrap();
    conn.execute_batch("ALTER TABLE users ADD COLUMN \"phone_number\" TEXT")
        .unwrap();
    conn.execute(
        "INSERT INTO users (telegram_id, full_name) VALUES (5, 'Hand Made')",
        [],
    )
    .unwrap();
    let migrations = format!("--dir={REFERENCE}");
    let out = stdout_of(migrate(dir.path()).args([
        migrations.as_str(),
        "--database",
        "hand.db",
        "adopt",
        "--yes",
    ]));
    assert!(
        out.contains("the database matches revision 002")
            && out.contains("stamp hand.db: base -> 002"),
        "{out}"
    );
    stdout_of(migrate(dir.path()).args([
        migrations.as_str(),
        "--database",
        "hand.db",
        "upgrade",
        "head",
    ]));
    assert_eq!(version_rows(&conn), ["003"]);

    let other = dir.path().join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        .unwrap();
    let (out, err) = refused(migrate(dir.path()).args([
        migrations.as_str(),
        "--database",
        "other.db",
        "adopt",
        "--yes",
    ]));
    assert!(
        out.contains("no revision matches the database; the closest is"),
        "{out}"
    );
    assert!(
        err.contains("`migrate rebuild` moves the rows into a database the migrations build"),
        "{err}"
    );
}

#[test]
fn renames_are_chosen_not_guessed() {
    let dir = TempDir::new().unwrap();
    write_folder(
        &dir.path().join("migrations"),
        &[(
            "a.sql",
            migration(
                "a1",
                "none",
                "CREATE TABLE clients (id INTEGER PRIMARY KEY, phone TEXT);",
                None,
            ),
        )],
    );
    std::fs::write(
        dir.path().join("migrations/schema.sql"),
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, phone_number TEXT);",
    )
    .unwrap();
    stdout_of(migrate(dir.path()).args([
        "revision",
        "--autogenerate",
        "-m",
        "rename",
        "--rev-id",
        "b1",
        "--rename-table",
        "clients=customers",
        "--rename-column",
        "customers.phone=phone_number",
    ]));
    let file =
        std::fs::read_to_string(dir.path().join("migrations/versions/b1_rename.sql")).unwrap();
    assert!(file.contains("ALTER TABLE clients RENAME TO customers;\n\nALTER TABLE customers RENAME COLUMN phone TO phone_number;"), "{file}");
    stdout_of(migrate(dir.path()).arg("check"));
}

#[test]
fn rebuild_moves_a_hand_made_database_into_migrations_and_keeps_the_old_one() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("data/bot_database.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, telegram_id INTEGER, full_name TEXT, phone_number TEXT);
         INSERT INTO users VALUES (1, 100, 'Anna', '+7 1'), (2, 200, 'Boris', NULL);
         CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);
         INSERT INTO settings VALUES ('work_hours', '09:00-18:00');",
    )
    .unwrap();
    drop(conn);
    let migrations = format!("--dir={REFERENCE}");
    let (out, _) = refused(migrate(dir.path()).args([migrations.as_str(), "adopt", "--yes"]));
    assert!(out.contains("no revision matches"), "{out}");
    let out = stdout_of(migrate(dir.path()).args([migrations.as_str(), "rebuild"]));
    assert!(out.contains("users: 2 rows carried over"), "{out}");
    // 003 seeds two settings; the old work_hours row takes the key of one.
    assert!(
        out.contains("settings: 1 row carried over, 1 the migrations inserted kept, 1 replaced by an old row with the same key"),
        "{out}"
    );
    let rows: i64 = conn_count(&db, "settings");
    assert_eq!(rows, 2, "the seed row without an old twin survives");
    let conn = Connection::open(&db).unwrap();
    assert_eq!(version_rows(&conn), ["003"]);
    let names: Vec<String> = conn
        .prepare("SELECT full_name FROM users ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(names, ["Anna", "Boris"]);
    let hours: String = conn
        .query_row(
            "SELECT value FROM settings WHERE key = 'work_hours'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        hours, "09:00-18:00",
        "the old rows replace the migration's seed rows"
    );
    let kept: Vec<String> = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        kept.iter()
            .any(|n| n.starts_with("bot_database.before-rebuild-")),
        "{kept:?}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("data/backups"))
            .unwrap()
            .count(),
        1
    );
    stdout_of(migrate(dir.path()).args([migrations.as_str(), "verify"]));
}

#[test]
fn rebuild_refuses_when_rows_would_have_nowhere_to_go() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("data/bot_database.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me');")
        .unwrap();
    let migrations = format!("--dir={REFERENCE}");
    let (_, err) = refused(migrate(dir.path()).args([migrations.as_str(), "rebuild"]));
    assert!(
        err.contains("table `notes` (1 row) has no place")
            && err.contains("nothing was changed and no backup was taken"),
        "{err}"
    );
    let conn = Connection::open(&db).unwrap();
    let body: String = conn
        .query_row("SELECT body FROM notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(body, "keep me");
    let beside: Vec<String> = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, ["bot_database.db"], "no backup, no stray files");
    // Dropping the table on purpose goes ahead.
    let out = stdout_of(migrate(dir.path()).args([
        migrations.as_str(),
        "rebuild",
        "--drop-table",
        "notes",
    ]));
    assert!(
        out.contains("notes: dropped with --drop-table (1 row)"),
        "{out}"
    );
}

fn conn_count(db: &std::path::Path, table: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

/// A project with the reference migrations and schema.sql copied in.
fn reference_project() -> TempDir {
    crate::common::reference_project(true)
}

#[test]
fn squash_serves_new_databases_and_keeps_old_ones_working() {
    let dir = reference_project();
    // An old database, migrated before the squash, with a bot's row.
    stdout_of(migrate(dir.path()).args(["--database", "old.db", "upgrade", "head"]));
    stdout_of(migrate(dir.path()).args(["--database", "below.db", "upgrade", "001"]));
    Connection::open(dir.path().join("old.db"))
        .unwrap()
        .execute(
            "INSERT INTO users (telegram_id, full_name) VALUES (1, 'Anna')",
            [],
        )
        .unwrap();

    let out = stdout_of(migrate(dir.path()).args(["squash", "002", "-m", "baseline"]));
    assert!(out.contains("squashed 2 revisions"), "{out}");
    let names: Vec<String> = std::fs::read_dir(dir.path().join("migrations/versions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(
        stdout_of(migrate(dir.path()).arg("history")),
        "002 -> 003 (head), add settings table\n<base> -> 002, baseline\n"
    );

    // A new database starts from the baseline and ends with the same schema.
    stdout_of(migrate(dir.path()).args(["--database", "new.db", "upgrade", "head"]));
    stdout_of(migrate(dir.path()).args(["--database", "new.db", "check"]));
    stdout_of(migrate(dir.path()).args(["--database", "new.db", "test"]));

    // The old database: clean drift report, schema check, downgrades through the baseline.
    let out = stdout_of(migrate(dir.path()).args(["--database", "old.db", "verify"]));
    assert!(out.contains("ok: no drift"), "{out}");
    stdout_of(migrate(dir.path()).args(["--database", "old.db", "check"]));
    stdout_of(migrate(dir.path()).args(["--database", "old.db", "downgrade", "-1"]));
    stdout_of(migrate(dir.path()).args(["--database", "old.db", "upgrade", "head"]));
    let conn = Connection::open(dir.path().join("old.db")).unwrap();
    let anna: i64 = conn
        .query_row(
            "SELECT count(*) FROM users WHERE full_name = 'Anna'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(anna, 1);
    stdout_of(migrate(dir.path()).args(["--database", "old.db", "downgrade", "base"]));
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM migrate_applied", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0, "the replaced revisions' rows go with the baseline");

    // A database below the squash point is told what to do.
    let (_, err) = refused(migrate(dir.path()).args(["--database", "below.db", "upgrade", "head"]));
    assert!(
        err.contains("which the squashed baseline `002` replaced"),
        "{err}"
    );
}

#[test]
fn autogenerate_starts_from_the_head_chosen_with_head() {
    let dir = TempDir::new().unwrap();
    write_folder(
        &dir.path().join("migrations"),
        &[
            (
                "001_a.sql",
                migration(
                    "001",
                    "none",
                    "CREATE TABLE t (id INTEGER PRIMARY KEY);",
                    Some("DROP TABLE t;"),
                ),
            ),
            (
                "002_b.sql",
                migration(
                    "002",
                    "001",
                    "ALTER TABLE t ADD COLUMN note TEXT;",
                    Some("ALTER TABLE t DROP COLUMN note;"),
                ),
            ),
        ],
    );
    // schema.sql is what 002 produces: from 002 nothing is missing, but a
    // branch from 001 must add the column itself.
    std::fs::write(
        dir.path().join("migrations/schema.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT);\n",
    )
    .unwrap();
    let out = stdout_of(migrate(dir.path()).args([
        "revision",
        "--autogenerate",
        "-m",
        "side",
        "--rev-id",
        "003",
        "--head",
        "001",
        "--splice",
    ]));
    assert!(out.contains("003_side.sql"), "{out}");
    let file =
        std::fs::read_to_string(dir.path().join("migrations/versions/003_side.sql")).unwrap();
    assert!(file.contains("-- down_revision: 001\n"), "{file}");
    assert!(
        file.contains("ALTER TABLE t ADD COLUMN note TEXT;"),
        "{file}"
    );
}

#[test]
fn after_a_squash_listings_and_upgrade_agree_about_a_database() {
    let dir = TempDir::new().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir_all(migrations.join("versions")).unwrap();
    for entry in std::fs::read_dir(Path::new(REFERENCE).join("versions")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            migrations.join("versions").join(entry.file_name()),
        )
        .unwrap();
    }
    stdout_of(migrate(dir.path()).args(["upgrade", "001"]));
    std::fs::copy(
        dir.path().join("data/bot_database.db"),
        dir.path().join("at_001.db"),
    )
    .unwrap();
    stdout_of(migrate(dir.path()).args(["upgrade", "head"]));
    stdout_of(migrate(dir.path()).args(["squash", "002", "-m", "baseline"]));
    // At the head: every listing reads it, as upgrade does.
    assert_eq!(
        stdout_of(migrate(dir.path()).arg("current")),
        "003 (head)\n"
    );
    assert!(stdout_of(migrate(dir.path()).args(["history", "-i"])).contains("(current)"));
    assert!(stdout_of(migrate(dir.path()).args(["upgrade", "head"])).contains("nothing to upgrade"));
    // At a folded revision: the same answer from the listings and upgrade.
    for args in [&["current"][..], &["show", "current"], &["upgrade", "head"]] {
        let (_, err) = refused(
            migrate(dir.path())
                .args(["--database", "at_001.db"])
                .args(args),
        );
        assert!(
            err.contains("the database is at `001`, which the squashed baseline `002` replaced"),
            "{args:?}: {err}"
        );
    }
}
