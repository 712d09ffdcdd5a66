//! Through a real PgBouncer in transaction pooling mode (`.ci/start-pgbouncer`):
//! eight processes started at once apply every migration exactly once, in
//! either lock mode, and a run that commits partway is refused rather than
//! left unprotected by a session lock the pooler cannot keep.

use crate::common::{migration, non_transactional, write_folder};
use crate::pg::TestDb;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use tempfile::TempDir;

/// Ten migrations; each records that it ran in `runs`, which has no key,
/// so a migration that ran twice leaves two rows.
fn counted_history(dir: &Path, non_transactional_at: Option<usize>) {
    let files: Vec<(String, String)> = (0..10)
        .map(|i| {
            let down = if i == 0 { "none".to_owned() } else { format!("r{:02}", i - 1) };
            let rev = format!("r{i:02}");
            let mut up = String::new();
            if i == 0 {
                up += "CREATE TABLE runs (revision text NOT NULL);\n";
            }
            up += &format!("CREATE TABLE t{i} (id int PRIMARY KEY);\nINSERT INTO runs VALUES ('{rev}');\nSELECT pg_sleep(0.02);");
            let write = if non_transactional_at == Some(i) {
                non_transactional
            } else {
                migration
            };
            let text = write(&rev, &down, &up, Some(&format!("DROP TABLE t{i};")));
            (format!("{rev}.sql"), text)
        })
        .collect();
    let refs: Vec<(&str, String)> = files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    write_folder(dir, &refs);
}

/// Starts eight `migrate upgrade head` at once through `url` and waits.
fn eight_at_once(dir: &Path, url: &str) -> Vec<Output> {
    let binary = assert_cmd::cargo::cargo_bin("migrate");
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(&binary)
                .current_dir(dir)
                .env("DATABASE_URL", url)
                .env_remove("MIGRATE_DIR")
                .args(["upgrade", "head"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect()
}

fn assert_each_ran_once(db: &TestDb) {
    let counts = db.column("SELECT count(*) FROM runs GROUP BY revision HAVING count(*) <> 1");
    assert!(
        counts.is_empty(),
        "a migration ran more than once: {counts:?}"
    );
    assert_eq!(db.column("SELECT count(*) FROM runs"), ["10"]);
    assert_eq!(
        db.column("SELECT version_num FROM alembic_version"),
        ["r09"]
    );
    assert_eq!(db.column("SELECT count(*) FROM migrate_applied"), ["10"]);
}

fn all_succeed(outputs: &[Output]) {
    for out in outputs {
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn eight_processes_through_pgbouncer_with_default_settings_apply_each_migration_once() {
    let Some(db) = TestDb::create("bouncer_default") else {
        return;
    };
    let Some(url) = db.pooled_url() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    counted_history(&dir.path().join("migrations"), None);
    for _ in 0..3 {
        all_succeed(&eight_at_once(dir.path(), &url));
        assert_each_ran_once(&db);
    }
    // No lock is left behind on any of the pooler's server connections.
    assert_eq!(
        db.column("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
        ["0"]
    );
}

#[test]
fn eight_processes_through_pgbouncer_in_transaction_lock_mode_apply_each_migration_once() {
    let Some(db) = TestDb::create("bouncer_xact") else {
        return;
    };
    let Some(url) = db.pooled_url() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    counted_history(&dir.path().join("migrations"), None);
    std::fs::write(
        dir.path().join("migrate.toml"),
        "lock_mode = \"transaction\"\n",
    )
    .unwrap();
    all_succeed(&eight_at_once(dir.path(), &url));
    assert_each_ran_once(&db);
}

#[test]
fn a_run_that_commits_partway_through_pgbouncer_is_never_left_unprotected() {
    let Some(db) = TestDb::create("bouncer_partway") else {
        return;
    };
    let Some(url) = db.pooled_url() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    counted_history(&dir.path().join("migrations"), Some(5));
    std::fs::write(dir.path().join("migrate.toml"), "busy_timeout_ms = 5000\n").unwrap();
    let outputs = eight_at_once(dir.path(), &url);
    let mut refused = 0;
    for out in &outputs {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            refused += 1;
            assert!(
                stderr.contains("transaction-mode pooler") || stderr.contains("migration lock"),
                "{stderr}"
            );
        }
    }
    eprintln!("{refused} of 8 refused");
    // Mostly every process refuses before changing anything (a session
    // setting vanished between two statements: the pooler is detected).
    // When that probe is outrun by the others, the checks of each
    // transaction refuse later: then no migration ran twice, and what ran
    // is recorded, applied or (the non-transactional r05) marked started,
    // with the refusal naming it.
    if db.column("SELECT coalesce(to_regclass('runs')::text, '')") == [""] {
        assert_eq!(refused, 8);
        assert_eq!(
            db.column("SELECT coalesce(to_regclass('alembic_version')::text, '')"),
            [""],
            "nothing was changed"
        );
        return;
    }
    let counts = db.column("SELECT count(*) FROM runs GROUP BY revision HAVING count(*) <> 1");
    assert!(
        counts.is_empty(),
        "a migration ran more than once: {counts:?}"
    );
    let ran = db.column("SELECT count(*) FROM runs");
    let recorded =
        db.column("SELECT count(*) FROM migrate_applied WHERE status IN ('applied', 'started')");
    assert_eq!(ran, recorded);
    for revision in db.column("SELECT revision FROM migrate_applied WHERE status = 'started'") {
        assert!(
            outputs.iter().any(|o| String::from_utf8_lossy(&o.stderr)
                .contains(&format!("--clear-dirty {revision}"))),
            "{revision} is marked started and no refusal says so"
        );
    }
}
