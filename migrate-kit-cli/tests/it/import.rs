//! `import` never drops rows silently: tables that hold rows are refused
//! unless `--replace` or `--merge` says what becomes of them, a refused or
//! failed import leaves the database and the backups folder as they were,
//! and rows with a missing parent are named (table, key, column) and kept
//! or left out only when asked. Real processes on real SQLite files.

use crate::common::{migrate_in, run, REFERENCE};
use rusqlite::Connection;
use std::path::Path;
use tempfile::TempDir;

fn migrate(dir: &Path) -> assert_cmd::Command {
    let mut cmd = migrate_in(dir);
    cmd.env("MIGRATE_DIR", REFERENCE)
        .env("DATABASE_URL", "data/bot.db");
    cmd
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn backups(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("data/backups")).map_or(0, |d| d.count())
}

/// A migrated database with three users, exported to `export.json`, then
/// a fourth user added after the export.
fn exported_then_changed() -> (TempDir, Connection) {
    let dir = TempDir::new().unwrap();
    let (code, _, err) = run(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(code, 0, "{err}");
    let conn = Connection::open(dir.path().join("data/bot.db")).unwrap();
    conn.execute_batch(
        "INSERT INTO users (id, telegram_id, full_name) VALUES (1, 11, 'Anna'), (2, 22, 'Boris'), (3, 33, 'Vera');",
    )
    .unwrap();
    let (code, _, err) = run(migrate(dir.path()).args(["export", "--out", "export.json"]));
    assert_eq!(code, 0, "{err}");
    conn.execute_batch("INSERT INTO users (id, telegram_id, full_name) VALUES (4, 44, 'Gleb');")
        .unwrap();
    (dir, conn)
}

#[test]
fn a_row_added_after_the_export_is_never_dropped_unasked() {
    let (dir, conn) = exported_then_changed();
    let backups_before = backups(dir.path());
    let (code, _, err) = run(migrate(dir.path()).args(["import", "export.json"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("`users` (4 rows)"), "{err}");
    assert!(
        err.contains("`migrate import export.json --merge`"),
        "{err}"
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM users"), 4);
    assert_eq!(
        backups(dir.path()),
        backups_before,
        "a refusal takes no backup"
    );

    // --merge keeps Gleb and every row that is there.
    conn.execute_batch(
        "UPDATE users SET full_name = 'Anna K.' WHERE id = 1; DELETE FROM users WHERE id = 2;",
    )
    .unwrap();
    let (code, out, err) = run(migrate(dir.path()).args(["import", "export.json", "--merge"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 1 rows"), "{out}");
    let names: Vec<String> = conn
        .prepare("SELECT full_name FROM users ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(names, ["Anna K.", "Boris", "Vera", "Gleb"]);
    assert_eq!(
        backups(dir.path()),
        backups_before + 1,
        "one backup per import"
    );

    // --replace: exactly the export, as asked (the backup keeps Gleb).
    let (code, _, err) = run(migrate(dir.path()).args(["import", "export.json", "--replace"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(count(&conn, "SELECT count(*) FROM users"), 3);
    assert_eq!(
        count(&conn, "SELECT count(*) FROM users WHERE full_name = 'Anna'"),
        1
    );
}

#[test]
fn orphans_are_named_and_kept_or_left_out_only_when_asked() {
    let (dir, conn) = exported_then_changed();
    // An export whose repair request names a user the export lacks.
    let text = std::fs::read_to_string(dir.path().join("export.json")).unwrap();
    let mut export: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tables = export["tables"].as_array_mut().unwrap();
    let requests = tables
        .iter_mut()
        .find(|t| t["name"] == "repair_requests")
        .unwrap();
    let columns: Vec<String> = requests["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let row: Vec<serde_json::Value> = columns
        .iter()
        .map(|c| match c.as_str() {
            "id" => serde_json::json!(7),
            "user_id" => serde_json::json!(42),
            "device_type" => serde_json::json!("phone"),
            "problem_description" => serde_json::json!("screen"),
            "status" => serde_json::json!("new"),
            "created_at" | "updated_at" => serde_json::json!("2026-12-02T10:00:00Z"),
            _ => serde_json::Value::Null,
        })
        .collect();
    requests["rows"] = serde_json::json!([row]);
    std::fs::write(dir.path().join("orphan.json"), export.to_string()).unwrap();
    let backups_before = backups(dir.path());

    // A row a CHECK refuses is named by its table and key.
    let bad = export.to_string().replace("\"screen\"", "\"\"");
    std::fs::write(dir.path().join("bad.json"), bad).unwrap();
    let (code, _, err) = run(migrate(dir.path()).args(["import", "bad.json", "--replace"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("table `repair_requests` refuses a row (id=7): CHECK constraint failed"),
        "{err}"
    );

    let (code, _, err) = run(migrate(dir.path()).args(["import", "orphan.json", "--replace"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("`repair_requests` row id=7: user_id = 42 names no `users` row"),
        "{err}"
    );
    assert!(err.contains("--orphans keep"), "{err}");
    assert_eq!(
        count(&conn, "SELECT count(*) FROM users"),
        4,
        "nothing imported"
    );
    assert_eq!(
        backups(dir.path()),
        backups_before,
        "a failed import keeps no backup"
    );

    let (code, _, err) =
        run(migrate(dir.path()).args(["import", "orphan.json", "--replace", "--orphans", "drop"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("left out: `repair_requests` row id=7"),
        "{err}"
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM repair_requests"), 0);

    let (code, _, err) =
        run(migrate(dir.path()).args(["import", "orphan.json", "--replace", "--orphans", "keep"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("kept with a missing parent: `repair_requests` row id=7"),
        "{err}"
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM repair_requests"), 1);

    // A table left out keeps what it had.
    let (code, _, err) = run(migrate(dir.path()).args([
        "import",
        "orphan.json",
        "--replace",
        "--drop-table",
        "repair_requests",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(count(&conn, "SELECT count(*) FROM repair_requests"), 1);
}
