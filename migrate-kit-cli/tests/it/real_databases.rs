//! Databases as the Python bot leaves them (the `sqlite3` module: foreign
//! keys off, orphan rows, tables made by hand), driven through the `migrate`
//! binary as an operator would.

use crate::common::{migrate_in as migrate, migration, run, snapshot, version_rows, write_folder};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A project with the reference migrations and `extra` files after them.
fn project(extra: &[(&str, String)]) -> (TempDir, PathBuf) {
    let dir = crate::common::reference_project(false);
    write_folder(&dir.path().join("migrations"), extra);
    let db = dir.path().join("data/bot_database.db");
    (dir, db)
}

/// An orphan row, written the way Python's `sqlite3` writes it: foreign
/// keys are off by default there.
fn insert_orphan(db: &Path, user_id: i64) {
    let conn = Connection::open(db).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    conn.execute(
        "INSERT INTO repair_requests (user_id, device_type, problem_description) VALUES (?1, 'phone', 'cracked screen')",
        [user_id],
    )
    .unwrap();
}

#[test]
fn orphan_rows_from_before_are_a_warning_and_new_ones_are_refused() {
    let add_note = migration(
        "004",
        "003",
        "ALTER TABLE users ADD COLUMN note TEXT;",
        Some("ALTER TABLE users DROP COLUMN note;"),
    );
    let (dir, db) = project(&[("004_add_note.sql", add_note)]);
    let (code, _, err) = run(migrate(dir.path()).args(["upgrade", "003"]));
    assert_eq!(code, 0, "{err}");
    insert_orphan(&db, 999);

    // The orphan is old: an unrelated migration runs, with a warning.
    let (code, out, err) = run(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("003 -> 004"), "{out}");
    assert!(
        err.contains("already had 1 foreign key violation before this run (for example: repair_requests row 1 references a missing row of users)"),
        "{err}"
    );
    let (code, out, err) = run(migrate(dir.path()).arg("verify"));
    assert_eq!(code, 0, "old violations are not drift: {out}{err}");
    assert!(out.contains("warning: 1 foreign key violation"), "{out}");
    assert!(
        out.contains("repair_requests row 1 references a missing row of users"),
        "{out}"
    );

    // A migration that adds an orphan of its own is refused, and changes nothing.
    let add_orphan = migration(
        "005",
        "004",
        "INSERT INTO repair_requests (user_id, device_type, problem_description) VALUES (777, 'laptop', 'no power');",
        Some("DELETE FROM repair_requests WHERE user_id = 777;"),
    );
    write_folder(
        &dir.path().join("migrations"),
        &[("005_orphan.sql", add_orphan)],
    );
    let before = snapshot(&Connection::open(&db).unwrap());
    let (code, _, err) = run(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("would add foreign key violations that the database did not have before, so it was rolled back: repair_requests row 2 references a missing row of users"),
        "{err}"
    );
    let conn = Connection::open(&db).unwrap();
    assert_eq!(snapshot(&conn), before);
    assert_eq!(version_rows(&conn), ["004"]);
}

/// A `users` table made by hand, without the `phone_number` that 002 adds.
fn hand_made_database(db: &Path) {
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let conn = Connection::open(db).unwrap();
    conn.execute_batch(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, telegram_id INTEGER NOT NULL UNIQUE, username TEXT, full_name TEXT NOT NULL);
         INSERT INTO users (telegram_id, full_name) VALUES (1, 'Ivan');",
    )
    .unwrap();
}

#[test]
fn stamp_refuses_a_database_without_the_schema_of_its_target() {
    let (dir, db) = project(&[]);
    hand_made_database(&db);
    let before = snapshot(&Connection::open(&db).unwrap());
    let (code, out, err) = run(migrate(dir.path()).args(["stamp", "head"]));
    assert_eq!(code, 1);
    assert!(
        out.contains("does not have the schema the migrations produce at 003"),
        "{out}"
    );
    assert!(
        err.contains("not stamped: the database is not at head"),
        "{err}"
    );
    assert!(
        err.contains("`migrate adopt`") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(snapshot(&Connection::open(&db).unwrap()), before);

    // --force stamps anyway; verify then reports the schema drift.
    let (code, _, err) = run(migrate(dir.path()).args(["stamp", "head", "--force"]));
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(migrate(dir.path()).arg("verify"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "schema drift: data/bot_database.db is not what the migrations produce at its revision"
        ),
        "{out}"
    );
    assert!(!out.contains("ok: no drift"), "{out}");
}

#[test]
fn a_failure_after_a_commit_says_what_was_committed() {
    let ok = migration(
        "004",
        "003",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY);",
        Some("DROP TABLE notes;"),
    );
    let broken = migration(
        "005",
        "004",
        "INSERT INTO nowhere VALUES (1);",
        Some("SELECT 1;"),
    );
    let (dir, db) = project(&[("004_notes.sql", ok), ("005_broken.sql", broken)]);
    run(migrate(dir.path()).args(["upgrade", "003"]));
    let (code, _, err) =
        run(migrate(dir.path()).args(["upgrade", "head", "--transaction-per-migration"]));
    assert_eq!(code, 1);
    assert!(err.contains("upgrade of revision `005` failed"), "{err}");
    assert!(
        err.contains("not all of the run was rolled back: 004 was committed before the failure and stays applied; the rest was rolled back. The database is now at 004."),
        "{err}"
    );
    assert!(
        !err.contains("the run was rolled back: the database is as it was"),
        "{err}"
    );
    assert_eq!(version_rows(&Connection::open(&db).unwrap()), ["004"]);
}

#[test]
fn a_non_transactional_migration_failing_partway_says_it_is_half_applied() {
    let half = migration(
        "004",
        "003",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY);\nINSERT INTO nowhere VALUES (1);",
        Some("DROP TABLE notes;"),
    )
    .replace("-- message", "-- transactional: false\n-- message");
    let (dir, db) = project(&[("004_half.sql", half)]);
    let (code, _, err) = run(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(code, 1);
    assert!(err.contains("The database is now at 003."), "{err}");
    assert!(
        err.contains("004 is non-transactional and did not finish: its statements before the failure are applied, and it is marked as started")
            && err.contains("`migrate repair --clear-dirty 004`"),
        "{err}"
    );
    let conn = Connection::open(&db).unwrap();
    assert_eq!(version_rows(&conn), ["003"]);
    let notes: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'notes'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        notes, 1,
        "the statement before the failure is applied, as the message says"
    );
}

#[test]
fn after_a_wrong_stamp_a_failing_migration_blames_the_database_not_the_file() {
    let (dir, _db) = project(&[]);
    run(migrate(dir.path()).args(["upgrade", "head"]));
    let (code, _, err) = run(migrate(dir.path()).args(["stamp", "001", "--force"]));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(code, 1);
    assert!(err.contains("duplicate column name: phone_number"), "{err}");
    assert!(
        err.contains("the database does not have the schema its recorded revision implies (a wrong `stamp`, or a hand edit?)"),
        "{err}"
    );
    assert!(!err.contains("fix the migration"), "{err}");
}

#[test]
fn the_guides_rebuild_recipe_moves_a_hand_made_database_into_migrations() {
    let (dir, db) = project(&[]);
    hand_made_database(&db);
    let export = dir.path().join("export.json");
    let (code, _, err) = run(migrate(dir.path()).arg("backup"));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) =
        run(migrate(dir.path()).args(["export", "--out", export.to_str().unwrap()]));
    assert_eq!(code, 0, "{err}");
    std::fs::remove_file(&db).unwrap();
    let (code, _, err) = run(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(migrate(dir.path()).args(["import", export.to_str().unwrap()]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("the export has no revision (a database made by hand)"),
        "{err}"
    );
    assert!(out.contains("imported 1 rows"), "{out}");
    let conn = Connection::open(&db).unwrap();
    let name: String = conn
        .query_row("SELECT full_name FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(name, "Ivan");
    let settings: i64 = conn
        .query_row("SELECT count(*) FROM settings", [], |r| r.get(0))
        .unwrap();
    assert!(settings > 0, "the rows migration 003 inserts survive");
    assert_eq!(version_rows(&conn), ["003"]);
}

#[test]
fn an_export_that_does_not_fit_lists_every_problem_and_imports_nothing() {
    let (dir, db) = project(&[]);
    hand_made_database(&db);
    {
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "ALTER TABLE users ADD COLUMN karma INTEGER; CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT); INSERT INTO audit (what) VALUES ('x');",
        )
        .unwrap();
    }
    let export = dir.path().join("export.json");
    run(migrate(dir.path()).args(["export", "--out", export.to_str().unwrap()]));
    std::fs::remove_file(&db).unwrap();
    run(migrate(dir.path()).args(["upgrade", "head"]));
    let before = snapshot(&Connection::open(&db).unwrap());
    let (code, _, err) = run(migrate(dir.path()).args(["import", export.to_str().unwrap()]));
    assert_eq!(code, 1);
    assert!(err.contains("table `audit` (1 rows) has no place"), "{err}");
    assert!(err.contains("column `users.karma` has no place"), "{err}");
    assert_eq!(snapshot(&Connection::open(&db).unwrap()), before);
}

#[test]
fn a_database_ahead_of_the_files_is_rolled_back_with_its_stored_sql() {
    let newer = [
        (
            "004_notes.sql",
            migration(
                "004",
                "003",
                "CREATE TABLE notes (id INTEGER PRIMARY KEY);",
                Some("DROP TABLE notes;"),
            ),
        ),
        (
            "005_tags.sql",
            migration(
                "005",
                "004",
                "CREATE TABLE tags (id INTEGER PRIMARY KEY);",
                Some("DROP TABLE tags;"),
            ),
        ),
    ];
    let (dir, db) = project(&newer);
    let (code, _, err) = run(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(code, 0, "{err}");
    // The older release: its files stop at 003.
    for (name, _) in &newer {
        std::fs::remove_file(dir.path().join("migrations/versions").join(name)).unwrap();
    }
    let (code, _, err) = run(migrate(dir.path()).arg("current"));
    assert_eq!(code, 1);
    assert!(
        err.contains("Stored downgrade SQL can roll back 005, 004"),
        "{err}"
    );
    let (code, _, err) = run(migrate(dir.path()).args(["downgrade", "-1"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("2 revisions this binary does not contain (005, 004)"),
        "{err}"
    );
    let (code, out, err) = run(migrate(dir.path()).args(["downgrade", "003"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "downgrade data/bot_database.db: 005 -> 003 (2 migrations, in one transaction)"
        ),
        "{out}"
    );
    let conn = Connection::open(&db).unwrap();
    assert_eq!(version_rows(&conn), ["003"]);
    let left: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name IN ('notes', 'tags')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0, "the stored downgrade SQL ran");
    let (code, out, _) = run(migrate(dir.path()).arg("verify"));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn an_alembic_era_id_no_file_declares_gets_a_way_out() {
    let (dir, db) = project(&[]);
    run(migrate(dir.path()).args(["upgrade", "head"]));
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "DROP TABLE migrate_applied; UPDATE alembic_version SET version_num = 'a1b2c3d4e5f6'",
    )
    .unwrap();
    let (code, _, err) = run(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("Can't locate revision identified by 'a1b2c3d4e5f6'"),
        "{err}"
    );
    assert!(
        err.contains("`migrate adopt` finds the revision the schema matches"),
        "{err}"
    );
    let (code, _, err) = run(migrate(dir.path()).args(["stamp", "003", "--purge"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(version_rows(&conn), ["003"]);
}

#[test]
fn rebuild_lists_every_problem_at_once_and_takes_no_backup_until_it_can_succeed() {
    let (dir, db) = project(&[]);
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE users (id INTEGER PRIMARY KEY, telegram_id INTEGER, full_name TEXT, karma INTEGER);
         INSERT INTO users VALUES (1, 100, 'Anna', 5), (2, 200, NULL, NULL);
         CREATE TABLE repair_requests (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id), device_type TEXT, problem_description TEXT, status TEXT);
         INSERT INTO repair_requests VALUES (1, 1, 'phone', 'cracked', 'weird'), (2, 99, 'tv', 'no image', 'new');",
    )
    .unwrap();
    drop(conn);
    let (code, out, err) = run(migrate(dir.path()).args(["rebuild", "--dry-run"]));
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("3 problems stop the rebuild; nothing was changed and no backup was taken"),
        "{err}"
    );
    assert!(
        err.contains("column `users.karma` has no place (1 row with a value)"),
        "{err}"
    );
    assert!(
        err.contains("users row id=2: NOT NULL constraint failed: users.full_name"),
        "{err}"
    );
    assert!(
        err.contains("repair_requests row id=1: CHECK constraint failed"),
        "{err}"
    );
    assert!(
        err.contains("warning: repair_requests row 2 references a missing row of users (it did in the old database too"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(db.parent().unwrap()).unwrap().count(),
        1,
        "no backup, no scratch file"
    );

    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("UPDATE users SET full_name = 'Boris' WHERE id = 2; UPDATE repair_requests SET status = 'new' WHERE id = 1;")
        .unwrap();
    drop(conn);
    let (code, out, err) =
        run(migrate(dir.path()).args(["rebuild", "--dry-run", "--drop-column", "users.karma"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("dry run: the rebuild would succeed; nothing was changed"),
        "{out}"
    );
    let (code, out, err) =
        run(migrate(dir.path()).args(["rebuild", "--drop-column", "users.karma"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("users: 2 rows carried over; column karma dropped with --drop-column (1 row with a value)"), "{out}");
    assert!(
        out.contains("repair_requests: 2 rows carried over"),
        "{out}"
    );
    let conn = Connection::open(&db).unwrap();
    assert_eq!(version_rows(&conn), ["003"]);
    let backups = std::fs::read_dir(db.parent().unwrap().join("backups"))
        .unwrap()
        .count();
    assert_eq!(backups, 1, "one backup, for the one rebuild that ran");
}

#[test]
fn check_offers_sql_that_brings_the_database_back_and_upgrade_warns_of_edited_files() {
    let (dir, db) = project(&[]);
    run(migrate(dir.path()).args(["upgrade", "head"]));
    Connection::open(&db)
        .unwrap()
        .execute_batch("DROP TABLE settings")
        .unwrap();
    let (code, out, _) = run(migrate(dir.path()).arg("check"));
    assert_eq!(code, 1);
    assert!(
        out.contains("SQL that would bring the database back to what the migrations produce:"),
        "{out}"
    );
    assert!(out.contains("    CREATE TABLE settings ("), "{out}");
    assert!(!out.contains("DROP TABLE settings"), "{out}");
    // Every line of a statement keeps its indentation under the label.
    assert!(
        out.lines()
            .filter(|l| l.contains("key TEXT"))
            .all(|l| l.starts_with("        ")),
        "{out}"
    );

    let file = dir
        .path()
        .join("migrations/versions/002_add_phone_number_to_users.sql");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("phone_number TEXT", "phone_number TEXT /* edited */"),
    )
    .unwrap();
    let (code, out, err) = run(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("nothing to upgrade"), "{out}");
    assert!(err.contains("warning: 002 (versions/002_add_phone_number_to_users.sql) was edited after it was applied"), "{err}");
}
