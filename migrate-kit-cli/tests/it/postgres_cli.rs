//! The command line on a real PostgreSQL server: the everyday commands,
//! eight processes migrating one empty database at once, and processes
//! killed at random moments. Each test in a database of its own.

use crate::common::{migrate_in, migration, non_transactional, run, write_folder};
use crate::pg::TestDb;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const EXAMPLE: &str = concat!(workspace_root!(), "/examples/postgres/migrations");

/// `migrate` in `dir` against `db`, with the example's migrations.
fn migrate(dir: &Path, db: &TestDb) -> assert_cmd::Command {
    let mut cmd = migrate_in(dir);
    cmd.env("DATABASE_URL", db.url())
        .env("MIGRATE_DIR", EXAMPLE);
    cmd
}

#[test]
fn the_everyday_commands_work_on_a_server() {
    let Some(db) = TestDb::create("cli") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let (code, out, err) = run(migrate(dir.path(), &db).args(["upgrade", "head"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("base -> 004"), "{out}");
    let (_, out, _) = run(migrate(dir.path(), &db).arg("current"));
    assert_eq!(out, "004 (head)\n");
    let (_, out, _) = run(migrate(dir.path(), &db).args(["history", "-i"]));
    assert!(out.starts_with("003 -> 004 (head) (current)"), "{out}");
    let (code, out, _) = run(migrate(dir.path(), &db).arg("verify"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok: no drift"), "{out}");
    let (code, out, err) = run(migrate(dir.path(), &db).args(["downgrade", "-1"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("004 -> 003"), "{out}");
    // At 003 the index of 004 is missing: a stamp to head is refused with
    // the difference, and goes through with --force.
    let (code, out, err) = run(migrate(dir.path(), &db).args(["stamp", "head"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("index ix_repair_requests_status is missing"),
        "{out}"
    );
    assert!(err.contains("not stamped"), "{err}");
    let (code, _, err) = run(migrate(dir.path(), &db).args(["stamp", "head", "--force"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        db.column("SELECT version_num FROM alembic_version"),
        ["004"]
    );
    // An edited file is drift; repair accepts it.
    let folder = TempDir::new().unwrap();
    copy_folder(Path::new(EXAMPLE), folder.path());
    let edited = folder.path().join("versions/003_add_settings_table.sql");
    let text = std::fs::read_to_string(&edited).unwrap() + "\n-- reviewed\n";
    std::fs::write(&edited, text).unwrap();
    let (code, out, _) = run(migrate(dir.path(), &db)
        .env("MIGRATE_DIR", folder.path())
        .arg("verify"));
    assert_eq!(code, 1);
    assert!(out.contains("modified: 003"), "{out}");
    let (code, _, err) = run(migrate(dir.path(), &db)
        .env("MIGRATE_DIR", folder.path())
        .args(["repair", "--accept", "003", "--yes"]));
    assert_eq!(code, 0, "{err}");
    // Offline SQL in Alembic's PostgreSQL text, picked by the URL.
    let (_, out, _) = run(migrate(dir.path(), &db).args(["upgrade", "003:004", "--sql"]));
    assert!(
        out.contains("COMMIT;\n\n-- Running upgrade 003 -> 004"),
        "{out}"
    );
    let (_, out, _) = run(migrate(dir.path(), &db).args(["upgrade", "base:001", "--sql"]));
    assert!(
        out.contains("INSERT INTO alembic_version (version_num) VALUES ('001') RETURNING alembic_version.version_num;"),
        "{out}"
    );
    // A backup of a server is a pg_dump file, named like SQLite's.
    let (code, out, err) = run(migrate(dir.path(), &db).arg("backup"));
    assert_eq!(code, 0, "{err}");
    assert!(out.trim().ends_with("-004.dump"), "{out}");
    assert_eq!(backups(dir.path()).len(), 1);
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("versions")).unwrap();
    for entry in std::fs::read_dir(from.join("versions")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join("versions").join(path.file_name().unwrap())).unwrap();
    }
}

#[test]
fn eight_processes_migrating_one_empty_database_apply_each_migration_once() {
    let Some(db) = TestDb::create("eight") else {
        return;
    };
    let binary = assert_cmd::cargo::cargo_bin("migrate");
    let dir = TempDir::new().unwrap();
    for round in 0..5 {
        let children: Vec<_> = (0..8)
            .map(|_| {
                Command::new(&binary)
                    .current_dir(dir.path())
                    .env("DATABASE_URL", db.url())
                    .env("MIGRATE_DIR", EXAMPLE)
                    .args(["upgrade", "head"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut applied = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            if stdout.contains("base -> 004") {
                applied += 1;
            } else {
                assert!(
                    stdout.contains("nothing to upgrade"),
                    "round {round}: {stdout}"
                );
            }
        }
        assert_eq!(applied, 1, "round {round}: exactly one process applies");
        assert_eq!(db.column("SELECT count(*) FROM migrate_applied"), ["4"]);
        assert_eq!(
            db.column("SELECT version_num FROM alembic_version"),
            ["004"]
        );
        let (code, _, err) = run(migrate(dir.path(), &db).args(["downgrade", "base"]));
        assert_eq!(code, 0, "{err}");
    }
    assert_eq!(
        db.column(
            "SELECT count(*) FROM migrate_log WHERE operation = 'upgrade' AND outcome = 'ok'"
        ),
        ["5"]
    );
}

/// `n` migrations, each creating one table and filling it, with a short
/// sleep so that a kill lands inside the run.
fn slow_history(dir: &Path, n: usize) {
    let files: Vec<(String, String)> = (0..n)
        .map(|i| {
            let down = if i == 0 { "none".to_owned() } else { format!("r{:03}", i - 1) };
            let rev = format!("r{i:03}");
            let up = format!("CREATE TABLE t{i} (id int PRIMARY KEY, v text);\nINSERT INTO t{i} SELECT g, md5(g::text) FROM generate_series(1, 200) g;\nSELECT pg_sleep(0.01);");
            (format!("{rev}.sql"), migration(&rev, &down, &up, Some(&format!("DROP TABLE t{i};"))))
        })
        .collect();
    let refs: Vec<(&str, String)> = files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    write_folder(dir, &refs);
}

/// The trials of [`a_killed_run_leaves_nothing_half_applied`]:
/// `MIGRATE_PG_CRASH_TRIALS` (default 12).
fn crash_trials() -> usize {
    std::env::var("MIGRATE_PG_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
}

#[test]
fn a_killed_run_leaves_nothing_half_applied_and_the_next_run_proceeds() {
    let Some(db) = TestDb::create("sigkill") else {
        return;
    };
    let folder = TempDir::new().unwrap();
    slow_history(folder.path(), 40);
    let binary = assert_cmd::cargo::cargo_bin("migrate");
    let dir = TempDir::new().unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut finished_before_kill = 0;
    for trial in 0..crash_trials() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut child = Command::new(&binary)
            .current_dir(dir.path())
            .env("DATABASE_URL", db.url())
            .env("MIGRATE_DIR", folder.path())
            .args(["upgrade", "head"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(seed % 500));
        if child.try_wait().unwrap().is_some() {
            finished_before_kill += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        // One transaction: either every table of the run, with its ledger
        // rows, or none of them.
        let tables: usize = db.column(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 't%'",
        )[0]
        .parse()
        .unwrap();
        let has_ledger = db
            .column("SELECT count(*) FROM pg_tables WHERE tablename = 'alembic_version'")
            == ["1"];
        let heads = if has_ledger {
            db.column("SELECT version_num FROM alembic_version")
                .join(",")
        } else {
            String::new()
        };
        assert!(
            (tables == 0 && heads.is_empty()) || (tables == 40 && heads == "r039"),
            "trial {trial}: {tables} tables at `{heads}`"
        );
        // The killed session's lock went with it: the next run starts at once.
        let started = Instant::now();
        let (code, _, err) = run(migrate_in(dir.path())
            .env("DATABASE_URL", db.url())
            .env("MIGRATE_DIR", folder.path())
            .args(["upgrade", "head"]));
        assert_eq!(code, 0, "trial {trial}: {err}");
        assert!(started.elapsed() < Duration::from_secs(20));
        assert_eq!(
            db.column("SELECT version_num FROM alembic_version"),
            ["r039"]
        );
        let (code, _, err) = run(migrate_in(dir.path())
            .env("DATABASE_URL", db.url())
            .env("MIGRATE_DIR", folder.path())
            .args(["downgrade", "base"]));
        assert_eq!(code, 0, "trial {trial}: {err}");
    }
    eprintln!(
        "{} trials, {finished_before_kill} finished before the kill",
        crash_trials()
    );
}

/// `migrate` in `dir` on the SQLite bot's file `db`, with its migrations.
fn sqlite_bot(dir: &Path, db: &Path) -> assert_cmd::Command {
    let mut cmd = migrate_in(dir);
    cmd.env("DATABASE_URL", db)
        .env("MIGRATE_DIR", crate::common::REFERENCE);
    cmd
}

#[test]
fn the_bot_moves_from_sqlite_to_postgresql_with_its_data() {
    let Some(db) = TestDb::create("move") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    // The SQLite bot at 003 with rows, as the Python bot left it.
    let sqlite = dir.path().join("bot.db");
    let sqlite_migrate = || sqlite_bot(dir.path(), &sqlite);
    assert_eq!(run(sqlite_migrate().args(["upgrade", "head"])).0, 0);
    {
        let conn = rusqlite::Connection::open(&sqlite).unwrap();
        conn.execute_batch(
            "INSERT INTO users (id, telegram_id, username, full_name, is_admin, created_at, phone_number)
                 VALUES (7, 100200300, 'ivan_p', 'Иван Петров', 1, '2025-10-02T10:00:00Z', '+7 900 000-00-00');
             INSERT INTO repair_requests (user_id, device_type, problem_description, status, created_at, updated_at)
                 VALUES (7, 'phone', 'экран не включается; ''срочно''', 'accepted', '2025-10-03T11:00:00Z', '2025-10-03T11:00:00Z');",
        )
        .unwrap();
    }
    let export = dir.path().join("export.json");
    let (code, _, err) = run(sqlite_migrate().args(["export", "--out"]).arg(&export));
    assert_eq!(code, 0, "{err}");
    // The server database at the same revision, then the rows.
    let (code, _, err) = run(migrate(dir.path(), &db).args(["upgrade", "003"]));
    assert_eq!(code, 0, "{err}");
    // The server's seeded settings rows are there already: --merge keeps
    // them and adds the rest.
    let (code, _, err) = run(migrate(dir.path(), &db).arg("import").arg(&export));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("`settings` (2 rows)"), "{err}");
    let (code, out, err) = run(migrate(dir.path(), &db)
        .arg("import")
        .arg(&export)
        .arg("--merge"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported"), "{out}");
    assert!(
        out.contains("2 rows of the export were there already"),
        "{out}"
    );
    assert!(err.contains("backup written to"), "{err}");
    assert_eq!(
        db.rows("SELECT full_name, is_admin::text, created_at = '2025-10-02T10:00:00Z'::timestamptz FROM users"),
        [["Иван Петров", "true", "t"]]
    );
    assert_eq!(
        db.column("SELECT problem_description FROM repair_requests"),
        ["экран не включается; 'срочно'"]
    );
    // The seeded settings rows came along, and new keys continue after the imported ones.
    assert_eq!(db.column("SELECT count(*) FROM settings"), ["2"]);
    let mut client = db.connect();
    let next: i64 = client
        .query_one(
            "INSERT INTO users (telegram_id, full_name) VALUES (1, 'new') RETURNING id",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(next, 8);
    let (code, _, err) = run(migrate(dir.path(), &db).args(["upgrade", "head"]));
    assert_eq!(code, 0, "{err}");
}

/// Databases named `migrate_scratch_*` left on the server.
fn scratch_databases(db: &TestDb) -> Vec<String> {
    db.column("SELECT datname FROM pg_database WHERE datname LIKE 'migrate\\_scratch\\_%'")
        .into_iter()
        .filter(|name| name.starts_with(&format!("migrate_scratch_{}_", std::process::id())))
        .collect()
}

#[test]
fn check_catches_a_table_created_by_hand_on_the_server() {
    let Some(db) = TestDb::create("check") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    assert_eq!(run(migrate(dir.path(), &db).args(["upgrade", "head"])).0, 0);
    let (code, out, err) = run(migrate(dir.path(), &db).arg("check"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("ok: the database matches the migrations at 004"),
        "{out}"
    );
    db.connect()
        .batch_execute("CREATE TABLE notes (id int PRIMARY KEY, body text); ALTER TABLE users ALTER COLUMN username SET NOT NULL")
        .unwrap();
    let (code, out, _) = run(migrate(dir.path(), &db).arg("check"));
    assert_eq!(code, 1);
    assert!(out.contains("table notes is extra"), "{out}");
    assert!(
        out.contains("column users.username differs: text -> text NOT NULL"),
        "{out}"
    );
    let (code, out, _) = run(migrate(dir.path(), &db).arg("verify"));
    assert_eq!(code, 1);
    assert!(out.contains("table notes is extra"), "{out}");
}

#[test]
fn the_stairway_test_and_adopt_run_on_scratch_databases_of_the_server() {
    let Some(db) = TestDb::create("stairway") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let (code, out, err) = run(migrate(dir.path(), &db).arg("test"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("004: up, down, up ok"), "{out}");
    // A database made by hand at 002: the same tables, no ledger.
    let mut client = db.connect();
    for name in [
        "001_initial_schema.sql",
        "002_add_phone_number_to_users.sql",
    ] {
        let text = std::fs::read_to_string(format!("{EXAMPLE}/versions/{name}")).unwrap();
        let up = text
            .split("-- migrate:upgrade")
            .nth(1)
            .unwrap()
            .split("-- migrate:downgrade")
            .next()
            .unwrap();
        client.batch_execute(up).unwrap();
    }
    let (code, out, err) = run(migrate(dir.path(), &db).args(["adopt", "--yes"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("matches revision 002"), "{out}");
    assert_eq!(
        db.column("SELECT version_num FROM alembic_version"),
        ["002"]
    );
    assert!(
        scratch_databases(&db).is_empty(),
        "{:?}",
        scratch_databases(&db)
    );
}

#[test]
fn check_lint_reports_postgresql_hazards_until_acknowledged() {
    let Some(db) = TestDb::create("lint") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let folder = TempDir::new().unwrap();
    copy_folder(Path::new(EXAMPLE), folder.path());
    let hazard = folder.path().join("versions/005_require_phone.sql");
    std::fs::write(
        &hazard,
        "-- revision: 005\n-- down_revision: 004\n-- message: require phone\n\n-- migrate:upgrade\nALTER TABLE users ALTER COLUMN phone_number SET NOT NULL;\nCREATE INDEX ix_users_phone ON users (phone_number);\n\n-- migrate:downgrade\nDROP INDEX ix_users_phone;\nALTER TABLE users ALTER COLUMN phone_number DROP NOT NULL;\n",
    )
    .unwrap();
    let lint = || {
        run(migrate(dir.path(), &db)
            .env("MIGRATE_DIR", folder.path())
            .args(["check", "--lint"]))
    };
    let (code, out, _) = lint();
    assert_eq!(code, 1);
    assert!(
        out.contains("versions/005_require_phone.sql: set_not_null: users"),
        "{out}"
    );
    assert!(
        out.contains("index_not_concurrent: users: CREATE INDEX without CONCURRENTLY"),
        "{out}"
    );
    assert!(
        out.contains("CREATE INDEX CONCURRENTLY in a migration of its own"),
        "{out}"
    );
    let text = std::fs::read_to_string(&hazard).unwrap().replace(
        "-- message: require phone\n",
        "-- message: require phone\n-- allow: set_not_null, index_not_concurrent\n",
    );
    std::fs::write(&hazard, text).unwrap();
    let (code, out, err) = lint();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok: no unacknowledged"), "{out}");
}

#[test]
fn autogenerate_on_the_server_writes_the_safe_migration_that_closes_the_gap() {
    let Some(db) = TestDb::create("autogen") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let folder = TempDir::new().unwrap();
    copy_folder(Path::new(EXAMPLE), folder.path());
    let in_folder = |args: &[&str]| {
        run(migrate(dir.path(), &db)
            .env("MIGRATE_DIR", folder.path())
            .args(args))
    };
    // The example's schema.sql is what its migrations build.
    std::fs::copy(
        format!("{EXAMPLE}/schema.sql"),
        folder.path().join("schema.sql"),
    )
    .unwrap();
    assert_eq!(in_folder(&["upgrade", "head"]).0, 0);
    let (code, out, err) = in_folder(&["check"]);
    assert_eq!(code, 0, "{out}{err}");
    let (_, out, err) = in_folder(&["revision", "--autogenerate", "-m", "nothing"]);
    assert!(out.contains("No changes detected"), "{out}{err}");
    // The application now wants more: an enum column, an index on an
    // existing table, a checked column.
    let wanted = std::fs::read_to_string(folder.path().join("schema.sql")).unwrap()
        + "\nCREATE TYPE priority AS ENUM ('low', 'normal', 'urgent');\n\
           ALTER TABLE repair_requests ADD COLUMN priority priority NOT NULL DEFAULT 'normal';\n\
           CREATE INDEX ix_users_phone ON users (phone_number);\n\
           ALTER TABLE users ADD CONSTRAINT users_phone_format CHECK (phone_number LIKE '+%');\n";
    std::fs::write(folder.path().join("schema.sql"), wanted).unwrap();
    db.connect()
        .batch_execute(
            "INSERT INTO users (telegram_id, full_name, phone_number) VALUES (1, 'Ivan', '+7 900')",
        )
        .unwrap();
    let (code, out, err) = in_folder(&["revision", "--autogenerate", "-m", "priority and phone"]);
    assert_eq!(code, 0, "{out}{err}");
    let written = std::fs::read_dir(folder.path().join("versions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("priority_and_phone"))
        .unwrap();
    let text = std::fs::read_to_string(&written).unwrap();
    assert!(text.contains("-- transactional: false"), "{text}");
    assert!(
        text.contains("CREATE TYPE priority AS ENUM ('low', 'normal', 'urgent');"),
        "{text}"
    );
    assert!(
        text.contains("CREATE INDEX CONCURRENTLY ix_users_phone"),
        "{text}"
    );
    assert!(
        text.contains("NOT VALID;\n\nALTER TABLE users VALIDATE CONSTRAINT users_phone_format;"),
        "{text}"
    );
    // Applied, the database is what schema.sql says; reverted, it is back.
    let (code, out, err) = in_folder(&["upgrade", "head"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = in_folder(&["check"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = in_folder(&["downgrade", "-1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        db.column("SELECT count(*) FROM pg_type WHERE typname = 'priority'"),
        ["0"]
    );
    assert_eq!(db.column("SELECT count(*) FROM users"), ["1"]);
    assert!(scratch_databases(&db).is_empty());
}

#[test]
fn dev_url_names_where_scratch_databases_go_when_the_live_user_may_not_create_them() {
    let Some(db) = TestDb::create("devurl") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    assert_eq!(run(migrate(dir.path(), &db).args(["upgrade", "head"])).0, 0);
    let role = format!("migrate_nocreate_{}", std::process::id());
    let mut admin = db.connect();
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN NOCREATEDB; GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"
        ))
        .unwrap();
    let server = crate::pg::server_url();
    let (scheme_and_user, rest) = db.url().split_once('@').unwrap();
    let scheme = scheme_and_user.split("//").next().unwrap();
    let limited = format!("{scheme}//{role}@{rest}");
    let check = |dev_url: Option<&str>| {
        let mut cmd = migrate(dir.path(), &db);
        cmd.env("DATABASE_URL", &limited).arg("check");
        if let Some(url) = dev_url {
            cmd.args(["--dev-url", url]);
        }
        run(&mut cmd)
    };
    let (code, _, err) = check(None);
    assert_eq!(code, 1);
    assert!(
        err.contains("permission denied to create database"),
        "{err}"
    );
    assert!(err.contains("--dev-url"), "{err}");
    let (code, out, err) = check(Some(&server));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("ok: the database matches the migrations at 004"),
        "{out}"
    );
    admin
        .batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .unwrap();
}

#[test]
fn offline_sql_puts_the_ledger_in_version_table_schema_where_online_commands_find_it() {
    let Some(db) = TestDb::create("offline_schema") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("migrate.toml"),
        "version_table_schema = \"ledger\"\n",
    )
    .unwrap();
    let (code, script, err) = run(migrate(dir.path(), &db).args(["upgrade", "003", "--sql"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        script.contains(
            "CREATE SCHEMA IF NOT EXISTS ledger;\n\nCREATE TABLE ledger.alembic_version ("
        ),
        "{script}"
    );
    assert!(
        script.contains("INSERT INTO ledger.alembic_version (version_num) VALUES ('001') RETURNING ledger.alembic_version.version_num;"),
        "{script}"
    );
    let script_file = dir.path().join("upgrade.sql");
    std::fs::write(&script_file, &script).unwrap();
    let psql = Command::new("psql")
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-d", db.url(), "-f"])
        .arg(&script_file)
        .output()
        .expect("psql runs");
    assert!(
        psql.status.success(),
        "{}",
        String::from_utf8_lossy(&psql.stderr)
    );
    assert_eq!(
        db.column("SELECT version_num FROM ledger.alembic_version"),
        ["003"]
    );
    assert!(db
        .column("SELECT to_regclass('public.alembic_version')::text")
        .iter()
        .all(|t| t.is_empty() || t == "NULL"));
    let (_, out, _) = run(migrate(dir.path(), &db).arg("current"));
    assert_eq!(out, "003\n");
    // The next online run continues from 003 instead of re-running 001.
    let (code, out, err) = run(migrate(dir.path(), &db).args(["upgrade", "head"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("003 -> 004"), "{out}");
    assert!(!out.contains("-> 001"), "{out}");
}

#[test]
fn a_run_waiting_for_the_lock_names_the_holder() {
    let Some(db) = TestDb::create("lock_wait") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("migrate.toml"), "busy_timeout_ms = 1500\n").unwrap();
    let mut holder = db.connect();
    holder
        .batch_execute(&format!(
            "SET application_name = 'repair_bot'; SELECT pg_advisory_lock({})",
            migrate_kit::postgres::lock_key("public.alembic_version")
        ))
        .unwrap();
    let (code, _, err) = run(migrate(dir.path(), &db).args(["upgrade", "head"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("waiting for the migration lock of postgresql://"),
        "{err}"
    );
    assert!(err.contains("held by pid"), "{err}");
    assert!(err.contains("repair_bot"), "{err}");
    assert!(!err.contains("SQLite"), "{err}");
}

#[test]
fn lock_and_statement_timeouts_bound_non_transactional_migrations_too() {
    let Some(db) = TestDb::create("limits") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let folder = dir.path().join("migrations");
    write_folder(
        &folder,
        &[
            (
                "a.sql",
                migration(
                    "a",
                    "none",
                    "CREATE TABLE repair_requests (id int);",
                    Some("DROP TABLE repair_requests;"),
                ),
            ),
            (
                "b.sql",
                non_transactional(
                    "b",
                    "a",
                    "ALTER TABLE repair_requests ADD COLUMN status text;",
                    None,
                ),
            ),
        ],
    );
    std::fs::write(
        dir.path().join("migrate.toml"),
        "lock_timeout_ms = 800\nstatement_timeout_ms = 1500\n",
    )
    .unwrap();
    let cli = || {
        let mut cmd = migrate_in(dir.path());
        cmd.env("DATABASE_URL", db.url()).env_remove("MIGRATE_DIR");
        cmd
    };
    let (code, _, err) = run(cli().args(["upgrade", "a"]));
    assert_eq!(code, 0, "{err}");
    // The live bot holds a lock on the table for as long as the test runs.
    let mut bot = db.connect();
    bot.batch_execute("BEGIN; LOCK TABLE repair_requests IN ACCESS SHARE MODE")
        .unwrap();
    let started = Instant::now();
    let (code, _, err) = run(cli().args(["upgrade", "head"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(err.contains("55P03"), "{err}");
    assert!(
        err.contains("raise lock_timeout_ms in migrate.toml"),
        "{err}"
    );
    assert!(!err.contains("fix the migration"), "{err}");
    bot.batch_execute("ROLLBACK").unwrap();
    // The run stopped at b, which stays marked as started until repaired.
    assert_eq!(
        db.column(
            "SELECT count(*) FROM migrate_applied WHERE revision = 'b' AND status = 'started'"
        ),
        ["1"]
    );
    let (code, _, err) = run(cli().args(["repair", "--clear-dirty", "b", "--yes"]));
    assert_eq!(code, 0, "{err}");

    // A statement that runs past statement_timeout_ms outside a transaction.
    std::fs::write(
        folder.join("versions/b.sql"),
        non_transactional("b", "a", "SELECT pg_sleep(3);", None),
    )
    .unwrap();
    let started = Instant::now();
    let (code, _, err) = run(cli().args(["upgrade", "head"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("57014"), "{err}");
    assert!(
        err.contains("raise statement_timeout_ms in migrate.toml"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(2900),
        "{:?}",
        started.elapsed()
    );
}

/// The backups in `dir/backups`, by name.
fn backups(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("backups"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn backups_on_a_server_are_pg_dump_files_restored_only_into_an_empty_database() {
    let Some(db) = TestDb::create("backup") else {
        return;
    };
    let Some(empty) = TestDb::create("restore") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("migrate.toml"),
        "backup_before_migrating = true\nbackup_keep = 2\n",
    )
    .unwrap();
    // The setting backs up only when there is something to run.
    let (code, _, err) = run(migrate(dir.path(), &db).args(["upgrade", "002"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(backups(dir.path()).len(), 1, "{err}");
    let (code, _, err) = run(migrate(dir.path(), &db).args(["upgrade", "002"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        backups(dir.path()).len(),
        1,
        "nothing to run, nothing written"
    );
    let (code, _, err) = run(migrate(dir.path(), &db).args(["upgrade", "head"]));
    assert_eq!(code, 0, "{err}");
    db.connect()
        .batch_execute("INSERT INTO users (telegram_id, full_name) VALUES (42, 'Ann')")
        .unwrap();
    let (code, out, err) = run(migrate(dir.path(), &db).arg("backup"));
    assert_eq!(code, 0, "{err}");
    // backup_keep = 2: the oldest of three went.
    let names = backups(dir.path());
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().all(|n| n.ends_with(".dump")), "{names:?}");
    assert!(names[1].ends_with("-004.dump"), "{names:?}");
    assert!(err.contains("removed the old backup"), "{err}");
    let dump = out.trim().to_owned();

    // Into a database with tables: refused, nothing changed.
    let (code, _, err) = run(migrate(dir.path(), &db).args(["restore", &dump]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("restored only into an empty database"),
        "{err}"
    );
    // Into an empty one: the schema, the rows and the ledger come back.
    let (code, out, err) = run(migrate(dir.path(), &empty).args(["restore", &dump]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("now at 004"), "{out}");
    assert_eq!(empty.column("SELECT full_name FROM users"), ["Ann"]);
    let (code, out, _) = run(migrate(dir.path(), &empty).arg("verify"));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn without_pg_dump_the_backup_setting_is_named_and_nothing_is_migrated() {
    let Some(db) = TestDb::create("no_pg_dump") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("migrate.toml"),
        "backup_before_migrating = true\n",
    )
    .unwrap();
    let bare_path = TempDir::new().unwrap();
    let (code, _, err) = run(migrate(dir.path(), &db)
        .env("PATH", bare_path.path())
        .args(["upgrade", "head"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("`pg_dump` is not installed"), "{err}");
    assert!(
        err.contains("backup_before_migrating = true in migrate.toml"),
        "{err}"
    );
    assert_eq!(
        db.column("SELECT count(*) FROM pg_tables WHERE tablename = 'alembic_version'"),
        ["0"]
    );
}

#[test]
fn date_text_crosses_to_the_server_exactly_or_is_refused_and_imports_repeat_exactly() {
    let Some(db) = TestDb::create("dates") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let sqlite = dir.path().join("bot.db");
    let sqlite_migrate = || sqlite_bot(dir.path(), &sqlite);
    assert_eq!(run(sqlite_migrate().args(["upgrade", "head"])).0, 0);
    rusqlite::Connection::open(&sqlite)
        .unwrap()
        .execute_batch(
            "INSERT INTO users (id, telegram_id, full_name, created_at) VALUES
                 (1, 11, 'Anna', '02.12.2026 10:00'),
                 (2, 22, 'Boris', '2026-11-30T08:00:00Z'),
                 (3, 33, 'Vera', '2026-11-30 09:15:00');",
        )
        .unwrap();
    let export = dir.path().join("export.json");
    assert_eq!(
        run(sqlite_migrate().args(["export", "--out"]).arg(&export)).0,
        0
    );
    let (code, _, err) = run(migrate(dir.path(), &db).args(["upgrade", "003"]));
    assert_eq!(code, 0, "{err}");
    // Day and month could be read either way: refused with table, row and
    // value, nothing imported.
    let (code, _, err) = run(migrate(dir.path(), &db)
        .arg("import")
        .arg(&export)
        .arg("--merge"));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "`users` row 1, column `created_at`: `02.12.2026 10:00` is not an ISO 8601 date"
        ),
        "{err}"
    );
    assert_eq!(db.column("SELECT count(*) FROM users"), ["0"]);
    // With the order given, the 2nd of December, whatever the server's DateStyle.
    db.connect()
        .batch_execute(&format!(
            "ALTER DATABASE \"{}\" SET DateStyle = 'ISO, MDY'",
            db.url().rsplit('/').next().unwrap()
        ))
        .unwrap();
    let (code, _, err) = run(migrate(dir.path(), &db).arg("import").arg(&export).args([
        "--merge",
        "--date-order",
        "dmy",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        db.column("SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM users ORDER BY id"),
        ["2026-12-02 10:00", "2026-11-30 08:00", "2026-11-30 09:15"]
    );
    // A second import replaces exactly: three rows stay three.
    let (code, _, err) = run(migrate(dir.path(), &db).arg("import").arg(&export).args([
        "--replace",
        "--date-order",
        "dmy",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(db.column("SELECT count(*) FROM users"), ["3"]);
}

#[test]
fn a_connection_lost_in_a_non_transactional_migration_says_where_the_database_stands() {
    let Some(db) = TestDb::create("terminated") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let folder = dir.path().join("migrations");
    write_folder(
        &folder,
        &[
            (
                "a.sql",
                migration("a", "none", "CREATE TABLE t (id int);", None),
            ),
            (
                "b.sql",
                non_transactional("b", "a", "SELECT pg_sleep(30);", None),
            ),
        ],
    );
    let binary = assert_cmd::cargo::cargo_bin("migrate");
    let child = Command::new(&binary)
        .current_dir(dir.path())
        .env("DATABASE_URL", db.url())
        .env_remove("MIGRATE_DIR")
        .args(["upgrade", "head"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // An administrator ends the migrator's backend while b sleeps.
    let started = Instant::now();
    loop {
        let ended = db.column(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%' AND pid <> pg_backend_pid()",
        );
        if ended != ["0"] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "b never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(!err.contains("now at base"), "{err}");
    assert!(err.contains("a was committed before the failure"), "{err}");
    assert!(err.contains("it should be at a"), "{err}");
    assert!(err.contains("`migrate repair --clear-dirty b`"), "{err}");
    // Which is where it stands, and the hints run as printed.
    let cli = || {
        let mut cmd = migrate_in(dir.path());
        cmd.env("DATABASE_URL", db.url());
        cmd
    };
    let (_, out, _) = run(cli().arg("current"));
    assert_eq!(out, "a\n");
    let (code, _, err) = run(cli().args(["repair", "--clear-dirty", "b", "--yes"]));
    assert_eq!(code, 0, "{err}");
}
