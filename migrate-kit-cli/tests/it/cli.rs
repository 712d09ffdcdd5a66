//! The `migrate` command line as a real process over temp folders.

use crate::common::{migrate_in as migrate, stdout_of, REFERENCE};
use crate::common::{migration, snapshot, version_rows, write_folder};
use assert_cmd::Command;
use rusqlite::Connection;
use std::path::Path;
use tempfile::TempDir;

fn failure(cmd: &mut Command, code: i32) -> String {
    String::from_utf8(cmd.assert().code(code).get_output().stderr.clone()).unwrap()
}

/// A project folder with a copy of the reference migrations.
fn project() -> TempDir {
    crate::common::reference_project(false)
}

/// A branch point (aaa) and a merge point (ddd).
fn branched(dir: &Path) {
    write_folder(
        &dir.join("migrations"),
        &[
            (
                "aaa_base.sql",
                migration("aaa", "none", "CREATE TABLE a (x);", Some("DROP TABLE a;"))
                    .replace("step aaa", "base"),
            ),
            (
                "bbb_b.sql",
                migration("bbb", "aaa", "CREATE TABLE b (x);", Some("DROP TABLE b;"))
                    .replace("step bbb", "add b"),
            ),
            (
                "ccc_c.sql",
                migration("ccc", "aaa", "CREATE TABLE c (x);", Some("DROP TABLE c;"))
                    .replace("step ccc", "add c"),
            ),
            (
                "ddd_merge.sql",
                migration("ddd", "bbb, ccc", "SELECT 1;", Some("SELECT 1;"))
                    .replace("step ddd", "merge"),
            ),
        ],
    );
}

#[test]
fn the_everyday_workflow_works_end_to_end() {
    let dir = project();
    let out = stdout_of(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(
        out,
        "upgrade data/bot_database.db: base -> 003 (3 migrations, in one transaction)\n"
    );
    assert!(
        dir.path().join("data/bot_database.db").exists(),
        "the default database is data/bot_database.db"
    );
    assert_eq!(
        stdout_of(migrate(dir.path()).arg("current")),
        "003 (head)\n"
    );
    assert_eq!(
        stdout_of(migrate(dir.path()).args(["history", "--indicate-current"])),
        "002 -> 003 (head) (current), add settings table\n001 -> 002, add phone_number to users\n<base> -> 001, initial schema\n"
    );
    stdout_of(migrate(dir.path()).args(["downgrade", "-1"]));
    assert_eq!(stdout_of(migrate(dir.path()).arg("current")), "002\n");
    assert_eq!(
        stdout_of(migrate(dir.path()).args(["upgrade", "head"])),
        "upgrade data/bot_database.db: 002 -> 003 (1 migration, in one transaction)\n"
    );
    assert_eq!(
        stdout_of(migrate(dir.path()).args(["upgrade", "head"])),
        "nothing to upgrade: data/bot_database.db is at 003\n"
    );
    assert_eq!(stdout_of(migrate(dir.path()).arg("heads")), "003 (head)\n");
    let show = stdout_of(migrate(dir.path()).args(["show", "002"]));
    assert!(
        show.starts_with(
            "Rev: 002\nParent: 001\nPath: migrations/versions/002_add_phone_number_to_users.sql\n"
        ),
        "{show}"
    );
    stdout_of(migrate(dir.path()).arg("verify"));
}

#[test]
fn history_and_offline_sql_follow_alembic_line_for_line() {
    let dir = TempDir::new().unwrap();
    branched(dir.path());
    assert_eq!(
        stdout_of(migrate(dir.path()).arg("history")),
        "bbb, ccc -> ddd (head) (mergepoint), merge\naaa -> bbb, add b\naaa -> ccc, add c\n<base> -> aaa (branchpoint), base\n"
    );
    assert_eq!(
        stdout_of(migrate(dir.path()).arg("branches")),
        "aaa (branchpoint)\n    -> bbb\n    -> ccc\n\n"
    );
    let expected = "BEGIN;

CREATE TABLE alembic_version (
\tversion_num VARCHAR(32) NOT NULL, 
\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

-- Running upgrade  -> aaa

CREATE TABLE a (x);

INSERT INTO alembic_version (version_num) VALUES ('aaa') RETURNING version_num;

-- Running upgrade aaa -> ccc

CREATE TABLE c (x);

UPDATE alembic_version SET version_num='ccc' WHERE alembic_version.version_num = 'aaa';

-- Running upgrade aaa -> bbb

CREATE TABLE b (x);

INSERT INTO alembic_version (version_num) VALUES ('bbb') RETURNING version_num;

-- Running upgrade bbb, ccc -> ddd

SELECT 1;

DELETE FROM alembic_version WHERE alembic_version.version_num = 'bbb';

UPDATE alembic_version SET version_num='ddd' WHERE alembic_version.version_num = 'ccc';

COMMIT;
";
    assert_eq!(
        stdout_of(migrate(dir.path()).args(["upgrade", "head", "--sql"])),
        expected
    );
    // The offline SQL, run by SQLite itself, gives what an online run gives.
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(expected).unwrap();
    assert_eq!(version_rows(&conn), ["ddd"]);
    let down = stdout_of(migrate(dir.path()).args(["downgrade", "ddd:aaa", "--sql"]));
    // Alembic's unmerge inserts the other parent's row first, then moves its own.
    assert!(down.contains("-- Running downgrade ddd -> bbb, ccc\n\nSELECT 1;\n\nINSERT INTO alembic_version (version_num) VALUES ('bbb') RETURNING version_num;\n\nUPDATE alembic_version SET version_num='ccc' WHERE alembic_version.version_num = 'ddd';\n"), "{down}");
    conn.execute_batch(&down).unwrap();
    assert_eq!(version_rows(&conn), ["aaa"]);
    let usage = failure(migrate(dir.path()).args(["downgrade", "aaa", "--sql"]), 2);
    assert!(usage.contains("needs FROM:TO"), "{usage}");
    // The suggestion for a relative step is a command that works.
    let line = project();
    let usage = failure(migrate(line.path()).args(["downgrade", "-1", "--sql"]), 2);
    assert!(
        usage.contains("`migrate downgrade 003:003-1 --sql`"),
        "{usage}"
    );
    let down = stdout_of(migrate(line.path()).args(["downgrade", "003:003-1", "--sql"]));
    assert!(down.contains("-- Running downgrade 003 -> 002"), "{down}");
}

#[test]
fn json_listings_are_machine_readable() {
    let dir = TempDir::new().unwrap();
    branched(dir.path());
    let out = stdout_of(migrate(dir.path()).args(["history", "--format", "json"]));
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    let revisions = value["revisions"].as_array().unwrap();
    assert_eq!(revisions.len(), 4);
    assert_eq!(revisions[0]["revision"], "ddd");
    assert_eq!(revisions[0]["is_merge_point"], true);
    assert_eq!(revisions[3]["is_branch_point"], true);
    let heads: serde_json::Value = serde_json::from_str(&stdout_of(
        migrate(dir.path()).args(["heads", "--format", "json"]),
    ))
    .unwrap();
    assert_eq!(heads["heads"][0]["revision"], "ddd");
    stdout_of(migrate(dir.path()).args(["upgrade", "heads"]));
    let current: serde_json::Value = serde_json::from_str(&stdout_of(
        migrate(dir.path()).args(["current", "--format", "json"]),
    ))
    .unwrap();
    assert_eq!(current["heads"][0]["revision"], "ddd");
}

#[test]
fn init_writes_the_skeleton_and_refuses_to_overwrite() {
    let dir = TempDir::new().unwrap();
    let out = stdout_of(migrate(dir.path()).arg("init"));
    assert!(out.contains("Generating migrate.toml ... done"), "{out}");
    assert!(dir.path().join("migrations/versions").is_dir());
    let err = failure(migrate(dir.path()).arg("init"), 1);
    assert!(err.contains("already exists"), "{err}");
    // A first revision in the empty folder, then the folder loads.
    stdout_of(migrate(dir.path()).args(["revision", "-m", "initial schema", "--rev-id", "001"]));
    stdout_of(migrate(dir.path()).arg("heads"));
}

#[test]
fn revision_continues_the_numbering_and_blocks_unwritten_sql() {
    let dir = project();
    let out = stdout_of(migrate(dir.path()).args(["revision", "-m", "add notes table"]));
    // The number continues; 8 random hex digits keep branches apart.
    let file = generated(&out);
    let id = file
        .strip_suffix("_add_notes_table.sql")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        id.len() == 12 && id.starts_with("004_") && id[4..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let text = std::fs::read_to_string(dir.path().join("migrations/versions").join(&file)).unwrap();
    assert!(text.starts_with(&format!("-- revision: {id}\n-- down_revision: 003\n-- message: add notes table\n-- create_date: ")), "{text}");
    assert_eq!(
        stdout_of(migrate(dir.path()).arg("heads")),
        format!("{id} (head)\n")
    );
    let err = failure(migrate(dir.path()).args(["upgrade", "head"]), 1);
    assert!(err.contains(&format!("versions/{file}:9")), "{err}");
    // The intended text is SQLite's message itself, not a statement quote.
    assert!(
        err.contains(&format!(
            ": no such table: revision {id} has no upgrade SQL yet\n"
        )),
        "{err}"
    );
    assert!(err.contains("write the upgrade SQL in the file"), "{err}");
    assert!(!err.contains("RAISE"), "{err}");
    // The whole run rolled back, ledger tables included, and the file this
    // first run created is gone with it.
    assert!(!dir.path().join("data/bot_database.db").exists(), "{err}");
    assert!(err.contains("removed data/bot_database.db"), "{err}");
}

#[test]
fn several_heads_are_refused_with_the_merge_hint_and_merge_joins_them() {
    let dir = project();
    stdout_of(migrate(dir.path()).args(["revision", "-m", "branch a", "--rev-id", "004"]));
    stdout_of(migrate(dir.path()).args([
        "revision", "-m", "branch b", "--rev-id", "005", "--head", "003", "--splice",
    ]));
    let err = failure(migrate(dir.path()).args(["revision", "-m", "again"]), 1);
    assert!(
        err.contains("Multiple heads are present; please specify the head revision")
            && err.contains("004, 005"),
        "{err}"
    );
    let err = failure(migrate(dir.path()).args(["upgrade", "head"]), 1);
    assert!(
        err.contains("Multiple head revisions are present") && err.contains("migrate merge heads"),
        "{err}"
    );
    let heads = stdout_of(migrate(dir.path()).arg("heads"));
    assert_eq!(heads, "004 (head)\n005 (head)\n");
    let out = stdout_of(migrate(dir.path()).args(["merge", "heads", "-m", "merge branches"]));
    let file = generated(&out);
    let id = file.strip_suffix("_merge_branches.sql").unwrap();
    assert!(id.starts_with("006_"), "{out}");
    assert_eq!(
        stdout_of(migrate(dir.path()).arg("heads")),
        format!("{id} (head)\n")
    );
    let history = stdout_of(migrate(dir.path()).arg("history"));
    assert!(
        history.starts_with(&format!(
            "004, 005 -> {id} (head) (mergepoint), merge branches\n"
        )),
        "{history}"
    );
}

#[test]
fn stamp_verify_and_repair_handle_a_database_made_by_hand() {
    let dir = project();
    let db = dir.path().join("data/bot_database.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let conn = Connection::open(&db).unwrap();
    let set = migrate_kit::Migrations::from_dir(REFERENCE).unwrap();
    for rev in ["001", "002"] {
        conn.execute_batch(&set.get(rev).unwrap().upgrade().sql().unwrap())
            .unwrap();
    }
    let err = failure(migrate(dir.path()).args(["upgrade", "head"]), 1);
    assert!(
        err.contains("created by hand, not through migrations") && err.contains("`migrate adopt`"),
        "{err}"
    );
    let report = failure(migrate(dir.path()).arg("verify"), 1);
    assert!(report.contains("does not match"), "{report}");
    assert_eq!(
        stdout_of(migrate(dir.path()).args(["stamp", "002"])),
        "stamp data/bot_database.db: base -> 002\n"
    );
    assert_eq!(
        stdout_of(migrate(dir.path()).args(["upgrade", "head"])),
        "upgrade data/bot_database.db: 002 -> 003 (1 migration, in one transaction)\n"
    );
    stdout_of(migrate(dir.path()).arg("verify"));
    // An edited file is drift until accepted.
    let file = dir
        .path()
        .join("migrations/versions/003_add_settings_table.sql");
    std::fs::write(
        &file,
        std::fs::read_to_string(&file).unwrap() + "\n-- reviewed\n",
    )
    .unwrap();
    let out = String::from_utf8(
        migrate(dir.path())
            .arg("verify")
            .assert()
            .code(1)
            .get_output()
            .stdout
            .clone(),
    )
    .unwrap();
    assert!(out.contains("modified: 003"), "{out}");
    let out = stdout_of(migrate(dir.path()).args(["repair", "--accept", "003", "--yes"]));
    assert!(
        out.contains("recorded sha256:") && out.contains("accepted 003"),
        "{out}"
    );
    stdout_of(migrate(dir.path()).arg("verify"));
    let logged: i64 = conn
        .query_row(
            "SELECT count(*) FROM migrate_log WHERE operation IN ('stamp', 'repair')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(logged, 2);
}

#[test]
fn repair_records_checksums_of_a_database_alembic_migrated() {
    let dir = project();
    let db = dir.path().join("alembic.db");
    let conn = Connection::open(&db).unwrap();
    let set = migrate_kit::Migrations::from_dir(REFERENCE).unwrap();
    for rev in ["001", "002"] {
        conn.execute_batch(&set.get(rev).unwrap().upgrade().sql().unwrap())
            .unwrap();
    }
    conn.execute_batch(crate::common::ALEMBIC_VERSION_DDL)
        .unwrap();
    conn.execute("INSERT INTO alembic_version VALUES ('002')", [])
        .unwrap();
    let out = stdout_of(migrate(dir.path()).args(["--database", "alembic.db", "verify"]));
    assert!(out.contains("unverified: 001, 002"), "{out}");
    let out = stdout_of(migrate(dir.path()).args(["--database", "alembic.db", "repair"]));
    assert_eq!(out, "recorded checksums of 001, 002 in alembic.db\n");
    let out = stdout_of(migrate(dir.path()).args(["--database", "alembic.db", "verify"]));
    assert!(!out.contains("unverified"), "{out}");
}

#[test]
fn an_unknown_revision_in_the_database_is_named() {
    let dir = project();
    stdout_of(migrate(dir.path()).args(["upgrade", "head"]));
    let conn = Connection::open(dir.path().join("data/bot_database.db")).unwrap();
    conn.execute(
        "UPDATE alembic_version SET version_num = 'f00dcafe0001'",
        [],
    )
    .unwrap();
    let err = failure(migrate(dir.path()).arg("current"), 1);
    assert!(
        err.contains("Can't locate revision identified by 'f00dcafe0001'"),
        "{err}"
    );
    assert!(
        err.contains("the database is ahead of this binary, or files are missing"),
        "{err}"
    );
    assert!(err.contains("No downgrade SQL is stored"), "{err}");
}

#[test]
fn an_empty_upgrade_is_refused_when_the_folder_loads() {
    let dir = project();
    let file = dir.path().join("migrations/versions/004_empty.sql");
    std::fs::write(&file, "-- revision: 004\n-- down_revision: 003\n-- message: empty\n\n-- migrate:upgrade\n-- nothing yet\n").unwrap();
    let err = failure(migrate(dir.path()).args(["upgrade", "head"]), 1);
    assert!(
        err.contains("versions/004_empty.sql:5: the upgrade section holds no SQL"),
        "{err}"
    );
}

#[test]
fn backup_and_restore_round_trip() {
    let dir = project();
    stdout_of(migrate(dir.path()).args(["upgrade", "head"]));
    let db = dir.path().join("data/bot_database.db");
    let conn = Connection::open(&db).unwrap();
    conn.execute(
        "INSERT INTO users (telegram_id, full_name) VALUES (42, 'Before Backup')",
        [],
    )
    .unwrap();
    let before = snapshot(&conn);
    let out = stdout_of(migrate(dir.path()).arg("backup"));
    let backup = dir.path().join(out.trim());
    assert!(
        out.trim().starts_with("data/backups/bot_database-") && out.trim().ends_with("-003.db"),
        "{out}"
    );
    conn.execute("DELETE FROM users", []).unwrap();
    stdout_of(migrate(dir.path()).args(["restore", backup.to_str().unwrap()]));
    let after = snapshot(&conn);
    let strip_log = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("migrate_log:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip_log(&after), strip_log(&before));
    let backups = std::fs::read_dir(dir.path().join("data/backups"))
        .unwrap()
        .count();
    assert_eq!(backups, 2, "restore backed up the database it replaced");
}

#[test]
fn export_and_import_round_trip_every_value() {
    let dir = project();
    stdout_of(migrate(dir.path()).args(["upgrade", "head"]));
    let db = dir.path().join("data/bot_database.db");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE odd (i INTEGER, r REAL, t TEXT, b BLOB, n);
         INSERT INTO odd VALUES (9223372036854775807, 2.5, 'Привет 🛠️ \"quotes\" \n line', x'00ff10', -0.0);
         INSERT INTO odd VALUES (-9223372036854775808, 1.7976931348623157e308, '', x'', 4.9e-324);
         INSERT INTO odd VALUES (0, 0.1, 'tab\there', NULL, 'x');",
    )
    .unwrap();
    conn.execute(
        "INSERT INTO users (telegram_id, full_name, phone_number) VALUES (1, 'Anna', '+7')",
        [],
    )
    .unwrap();
    let before = snapshot(&conn);
    stdout_of(migrate(dir.path()).args(["export", "--out", "dump.json"]));
    conn.execute_batch(
        "DELETE FROM odd; DELETE FROM users; UPDATE settings SET value = 'changed';",
    )
    .unwrap();
    // `settings` holds its seed rows: nothing is replaced unasked, and the
    // refusal leaves no backup behind.
    let backups_before =
        std::fs::read_dir(dir.path().join("data/backups")).map_or(0, |d| d.count());
    let err = failure(migrate(dir.path()).args(["import", "dump.json"]), 1);
    assert!(err.contains("`settings` (2 rows)"), "{err}");
    assert!(
        err.contains("`migrate import dump.json --replace`"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("data/backups")).map_or(0, |d| d.count()),
        backups_before
    );
    let out = stdout_of(migrate(dir.path()).args(["import", "dump.json", "--replace"]));
    assert!(out.contains("row counts verified"), "{out}");
    assert_eq!(snapshot(&conn), before);
    let negative_zero: f64 = conn
        .query_row("SELECT n FROM odd WHERE i = 9223372036854775807", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(negative_zero == 0.0 && negative_zero.is_sign_negative());
    // An export taken at another revision is refused.
    stdout_of(migrate(dir.path()).args(["downgrade", "-1"]));
    let err = failure(
        migrate(dir.path()).args(["import", "dump.json", "--replace"]),
        1,
    );
    assert!(
        err.contains("export was taken at revision 003") && err.contains("migrate upgrade 003"),
        "{err}"
    );
}

#[test]
fn schema_prints_tables_for_servers_without_sqlite3() {
    let dir = project();
    stdout_of(migrate(dir.path()).args(["upgrade", "head"]));
    let out = stdout_of(migrate(dir.path()).args(["schema", "settings"]));
    assert!(out.starts_with("CREATE TABLE settings ("), "{out}");
    let err = failure(migrate(dir.path()).args(["schema", "nope"]), 1);
    assert!(err.contains("there is no table `nope`"), "{err}");
}

#[test]
fn configuration_comes_from_flags_then_environment_then_file() {
    let dir = project();
    std::fs::write(
        dir.path().join("migrate.toml"),
        "[migrate]\ndatabase = \"from_file.db\"\n",
    )
    .unwrap();
    stdout_of(migrate(dir.path()).args(["upgrade", "001"]));
    assert!(dir.path().join("from_file.db").exists());
    stdout_of(
        migrate(dir.path())
            .env("DATABASE_URL", "sqlite:///from_env.db")
            .args(["upgrade", "001"]),
    );
    assert!(dir.path().join("from_env.db").exists());
    stdout_of(
        migrate(dir.path())
            .env("DATABASE_URL", "from_env.db")
            .args(["--database", "from_flag.db", "upgrade", "001"]),
    );
    assert!(dir.path().join("from_flag.db").exists());
}

#[test]
fn usage_errors_exit_2_and_every_command_has_help() {
    let dir = TempDir::new().unwrap();
    failure(migrate(dir.path()).arg("frobnicate"), 2);
    for command in [
        "upgrade",
        "downgrade",
        "history",
        "stamp",
        "revision",
        "merge",
        "backup",
        "export",
        "import",
        "repair",
    ] {
        let help = stdout_of(migrate(dir.path()).args([command, "--help"]));
        assert!(help.contains("Example"), "{command} --help has no example");
    }
    let err = failure(migrate(dir.path()).args(["upgrade", "a b"]), 1);
    assert!(err.contains("invalid target"), "{err}");
}

#[test]
fn upgrade_backup_takes_a_copy_first() {
    let dir = project();
    stdout_of(migrate(dir.path()).args(["upgrade", "001"]));
    stdout_of(migrate(dir.path()).args(["upgrade", "head", "--backup"]));
    let names: Vec<String> = std::fs::read_dir(dir.path().join("data/backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1);
    assert!(names[0].ends_with("-001.db"), "{names:?}");
}

#[test]
fn history_ranges_and_purging_stamps() {
    let dir = project();
    assert_eq!(
        stdout_of(migrate(dir.path()).args(["history", "-r", "002:head"])),
        "002 -> 003 (head), add settings table\n001 -> 002, add phone_number to users\n"
    );
    stdout_of(migrate(dir.path()).args(["upgrade", "002"]));
    assert_eq!(
        stdout_of(migrate(dir.path()).args(["history", "-r", "current:"])),
        "002 -> 003 (head), add settings table\n001 -> 002, add phone_number to users\n"
    );
    let conn = Connection::open(dir.path().join("data/bot_database.db")).unwrap();
    conn.execute("UPDATE alembic_version SET version_num = 'gone'", [])
        .unwrap();
    failure(migrate(dir.path()).args(["stamp", "002"]), 1);
    assert_eq!(
        stdout_of(migrate(dir.path()).args(["stamp", "002", "--purge"])),
        "stamp data/bot_database.db: gone -> 002\n"
    );
    assert_eq!(version_rows(&conn), ["002"]);
}

#[test]
fn backup_works_while_the_bot_is_writing() {
    let dir = project();
    stdout_of(migrate(dir.path()).args(["upgrade", "head"]));
    let db = dir.path().join("data/bot_database.db");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let conn = Connection::open(db).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .unwrap();
            let mut written = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                conn.execute(
                    "INSERT INTO users (telegram_id, full_name) VALUES (?1, 'writer')",
                    [written],
                )
                .unwrap();
                written += 1;
            }
            written
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    let mut copies = Vec::new();
    for i in 0..3 {
        let out = format!("copy{i}.db");
        stdout_of(migrate(dir.path()).args(["backup", "--out", &out]));
        copies.push(dir.path().join(out));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().unwrap();
    let conn = Connection::open(&db).unwrap();
    let total: i64 = conn
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(total, written, "no write of the bot was lost");
    for copy in copies {
        let copy = Connection::open(copy).unwrap();
        let ok: String = copy
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        assert_eq!(version_rows(&copy), ["003"]);
    }
}

#[test]
fn an_interrupted_non_transactional_migration_is_cleared_by_repair() {
    let dir = TempDir::new().unwrap();
    let bad = "-- revision: b1\n-- down_revision: a1\n-- message: vacuum\n-- transactional: false\n\n-- migrate:upgrade\nCREATE TABLE half (x);\nSELECT no_such_function();\n";
    write_folder(
        &dir.path().join("migrations"),
        &[
            (
                "a.sql",
                migration("a1", "none", "CREATE TABLE t (x);", None),
            ),
            ("b.sql", bad.to_owned()),
        ],
    );
    failure(migrate(dir.path()).args(["upgrade", "head"]), 1);
    let out = String::from_utf8(
        migrate(dir.path())
            .arg("verify")
            .assert()
            .code(1)
            .get_output()
            .stdout
            .clone(),
    )
    .unwrap();
    assert!(out.contains("dirty: b1"), "{out}");
    let err = failure(migrate(dir.path()).args(["upgrade", "head"]), 1);
    assert!(
        err.contains("marked as started but not finished") && err.contains("migrate repair"),
        "{err}"
    );
    let err = failure(
        migrate(dir.path())
            .args(["repair", "--clear-dirty", "b1"])
            .write_stdin("n\n"),
        1,
    );
    assert!(err.contains("not cleared"), "{err}");
    let conn = Connection::open(dir.path().join("data/bot_database.db")).unwrap();
    conn.execute_batch("DROP TABLE half").unwrap();
    stdout_of(
        migrate(dir.path())
            .args(["repair", "--clear-dirty", "b1"])
            .write_stdin("y\n"),
    );
    let fixed = bad.replace("SELECT no_such_function();", "SELECT 1;");
    std::fs::write(dir.path().join("migrations/versions/b.sql"), fixed).unwrap();
    stdout_of(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(version_rows(&conn), ["b1"]);
    stdout_of(migrate(dir.path()).arg("verify"));
}

#[test]
fn upgrade_to_a_revision_already_applied_succeeds_and_says_so() {
    let dir = project();
    stdout_of(migrate(dir.path()).args(["upgrade", "head"]));
    let db = dir.path().join("data/bot_database.db");
    let before = snapshot(&Connection::open(&db).unwrap());
    // Alembic exits 0 and changes nothing; a pinned deploy script keeps working.
    let assert = migrate(dir.path())
        .args(["upgrade", "002"])
        .assert()
        .success();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("002 already applied: the database is past it (at 003)"),
        "{stderr}"
    );
    let conn = Connection::open(&db).unwrap();
    assert_eq!(snapshot(&conn), before);
    assert_eq!(version_rows(&conn), ["003"]);
}

#[test]
fn branch_targets_take_labels_and_revisions_before_the_at_sign() {
    let dir = TempDir::new().unwrap();
    write_folder(
        &dir.path().join("migrations"),
        &[
            (
                "r.sql",
                migration("root", "none", "CREATE TABLE r (x);", Some("DROP TABLE r;")),
            ),
            (
                "a1.sql",
                migration(
                    "aaa1",
                    "root",
                    "CREATE TABLE a1 (x);",
                    Some("DROP TABLE a1;"),
                )
                .replace("-- message", "-- branch_labels: left\n-- message"),
            ),
            (
                "a2.sql",
                migration(
                    "aaa2",
                    "aaa1",
                    "CREATE TABLE a2 (x);",
                    Some("DROP TABLE a2;"),
                ),
            ),
            (
                "b1.sql",
                migration(
                    "bbb1",
                    "root",
                    "CREATE TABLE b1 (x);",
                    Some("DROP TABLE b1;"),
                )
                .replace("-- message", "-- branch_labels: right\n-- message"),
            ),
        ],
    );
    let db = dir.path().join("data/bot_database.db");
    // LABEL@+N counts migrations along the path into the branch.
    stdout_of(migrate(dir.path()).args(["upgrade", "left@+1"]));
    assert_eq!(version_rows(&Connection::open(&db).unwrap()), ["root"]);
    // LABEL@REV: a prefix inside the branch.
    stdout_of(migrate(dir.path()).args(["upgrade", "left@aaa2"]));
    stdout_of(migrate(dir.path()).args(["upgrade", "right@head"]));
    let mut rows = version_rows(&Connection::open(&db).unwrap());
    rows.sort();
    assert_eq!(rows, ["aaa2", "bbb1"]);
    let stderr = failure(migrate(dir.path()).args(["upgrade", "right@aaa2"]), 1);
    assert!(
        stderr.contains("Revision aaa2 is not a member of branch 'right'"),
        "{stderr}"
    );
    // REV@-N walks down the branch that revision is on, leaving the other.
    stdout_of(migrate(dir.path()).args(["downgrade", "aaa2@-1"]));
    let mut rows = version_rows(&Connection::open(&db).unwrap());
    rows.sort();
    assert_eq!(rows, ["aaa1", "bbb1"]);
    // A bare -1 from two rows is the documented refusal.
    let stderr = failure(migrate(dir.path()).args(["downgrade", "-1"]), 1);
    assert!(
        stderr.contains("the database has several heads (aaa1, bbb1)"),
        "{stderr}"
    );
}

#[test]
fn a_revision_message_in_russian_keeps_its_words_in_the_file_name() {
    let dir = project();
    let out = stdout_of(migrate(dir.path()).args(["revision", "-m", "добавить таблицу отзывов"]));
    let file = generated(&out);
    assert!(
        file.starts_with("004_") && file.ends_with("_добавить_таблицу_отзывов.sql"),
        "{out}"
    );
    assert!(dir.path().join("migrations/versions").join(file).exists());
}

/// The file name in `revision`'s "Generating .../versions/FILE ... done".
fn generated(out: &str) -> String {
    let path = out
        .trim()
        .strip_prefix("Generating ")
        .and_then(|rest| rest.strip_suffix(" ... done"))
        .unwrap_or_else(|| panic!("{out}"));
    path.rsplit('/').next().unwrap().to_owned()
}

#[test]
fn verbose_runs_print_a_line_per_migration_and_a_held_lock_is_announced() {
    let dir = project();
    let quiet = migrate(dir.path())
        .args(["upgrade", "001"])
        .assert()
        .success();
    assert!(!String::from_utf8_lossy(&quiet.get_output().stderr).contains("Running upgrade"));
    let verbose = migrate(dir.path())
        .args(["upgrade", "head", "-v"])
        .assert()
        .success();
    let err = String::from_utf8_lossy(&verbose.get_output().stderr).into_owned();
    assert!(
        err.contains("Running upgrade 001 -> 002, add phone_number to users ("),
        "{err}"
    );
    assert!(
        err.contains("Running upgrade 002 -> 003, add settings table ("),
        "{err}"
    );

    // Another process holds the write lock for two seconds: the wait is said.
    let db = dir.path().join("data/bot_database.db");
    let holder = Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(2000));
        holder.execute_batch("COMMIT").unwrap();
    });
    let waited = migrate(dir.path())
        .args(["downgrade", "-1"])
        .assert()
        .success();
    release.join().unwrap();
    let err = String::from_utf8_lossy(&waited.get_output().stderr).into_owned();
    assert!(
        err.contains("waiting for another process that is writing to data/bot_database.db"),
        "{err}"
    );
}

#[test]
fn two_branches_with_the_same_id_reach_merge_heads_through_reid() {
    let dir = project();
    let sql = |table: &str| format!("CREATE TABLE {table} (id INTEGER PRIMARY KEY);");
    let drop = |table: &str| format!("DROP TABLE {table};");
    write_folder(
        &dir.path().join("migrations"),
        &[
            // Anna's branch: 004 and 005 on top of it.
            (
                "004_add_reviews.sql",
                migration("004", "003", &sql("reviews"), Some(&drop("reviews"))),
            ),
            (
                "005_add_review_index.sql",
                migration(
                    "005",
                    "004",
                    &sql("review_index"),
                    Some(&drop("review_index")),
                ),
            ),
            // Boris's branch, merged in: his own 004.
            (
                "004_add_coupons.sql",
                migration("004", "003", &sql("coupons"), Some(&drop("coupons"))),
            ),
        ],
    );
    // Listings still work and name both files.
    let listed = migrate(dir.path()).arg("heads").assert().success();
    let err = String::from_utf8_lossy(&listed.get_output().stderr).into_owned();
    assert!(
        err.contains("revision `004` is declared by both versions/004_add_coupons.sql and versions/004_add_reviews.sql")
            && err.contains("`migrate reid versions/004_add_reviews.sql`"),
        "{err}"
    );
    // Runs refuse, naming both files.
    let err = failure(migrate(dir.path()).args(["upgrade", "head"]), 1);
    assert!(
        err.contains("004_add_coupons.sql") && err.contains("004_add_reviews.sql"),
        "{err}"
    );

    // Boris's file gets a new id; Anna's 005 keeps naming her 004.
    let out = stdout_of(migrate(dir.path()).args(["reid", "versions/004_add_coupons.sql"]));
    let new = out
        .split('`')
        .nth(3)
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned();
    assert!(new.starts_with("006_"), "{out}");
    assert!(
        out.contains("still naming `004` (the other file): versions/005_add_review_index.sql"),
        "{out}"
    );
    assert!(dir
        .path()
        .join(format!("migrations/versions/{new}_add_coupons.sql"))
        .exists());
    assert!(!dir
        .path()
        .join("migrations/versions/004_add_coupons.sql")
        .exists());
    let heads = stdout_of(migrate(dir.path()).arg("heads"));
    assert_eq!(heads, format!("005 (head)\n{new} (head)\n"));
    stdout_of(migrate(dir.path()).args(["merge", "heads", "-m", "merge branches"]));
    let out = stdout_of(migrate(dir.path()).args(["upgrade", "head"]));
    assert!(out.contains("base -> 007_"), "{out}");

    // A revision the database has applied keeps its id.
    let err = failure(
        migrate(dir.path()).args(["reid", "versions/005_add_review_index.sql"]),
        1,
    );
    assert!(
        err.contains(
            "revision `005` (versions/005_add_review_index.sql) is applied in data/bot_database.db"
        ),
        "{err}"
    );
}

#[test]
fn a_listing_whose_reader_goes_away_ends_quietly() {
    let dir = TempDir::new().unwrap();
    crate::common::long_history(&dir.path().join("migrations"), 600);
    // `migrate history -v | head -1`: the reader closes the pipe at once,
    // and the listing (over 100 KB) is more than the pipe holds.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("migrate"))
        .args(["history", "--verbose"])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
