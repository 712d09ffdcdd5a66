//! `migrate convert-alembic` on the bot's Alembic project
//! (`tests/fixtures/alembic_bot`: foreign keys, add_column,
//! batch_alter_table, an index, op.execute, bulk_insert, a labelled branch,
//! depends_on, a merge, a revision that reads the database), with real
//! Alembic (`MIGRATE_TEST_PYTHON`, default the virtualenv `.ci/run` makes in
//! target/alembic-venv).

use crate::common::{migrate_in, run, stdout_of};
use std::path::{Path, PathBuf};
use std::process::Command;

const PROJECT: &str = concat!(workspace_root!(), "/tests/fixtures/alembic_bot");
/// The revision that reads the database, and the line of its `op.get_bind()`.
const READS: (&str, &str) = (
    "8b9c0d1e2f3a",
    "alembic/versions/8b9c0d1e2f3a_split_full_names.py:19",
);

/// A Python with Alembic, or `None` (after saying so) outside CI.
fn python() -> Option<String> {
    let python = std::env::var("MIGRATE_TEST_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| {
            concat!(workspace_root!(), "/target/alembic-venv/bin/python").to_owned()
        });
    let works = Command::new(&python)
        .args(["-c", "import alembic, psycopg"])
        .status()
        .is_ok_and(|s| s.success());
    match (works, std::env::var_os("CI")) {
        (true, _) => Some(python),
        (false, None) => {
            eprintln!(
                "skipped: {python} has no Alembic; set MIGRATE_TEST_PYTHON or run .ci/run once"
            );
            None
        }
        (false, Some(_)) => panic!("CI is set but {python} has no Alembic and psycopg"),
    }
}

/// The fixture project copied into `dir/alembic_bot` (Alembic writes its
/// database beside alembic.ini).
fn project_copy(dir: &Path) -> PathBuf {
    let to = dir.join("alembic_bot");
    copy_dir(Path::new(PROJECT), &to);
    std::fs::create_dir_all(to.join("data")).unwrap();
    to
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "__pycache__" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Alembic's own command line on the project copy.
fn alembic(python: &str, project: &Path, args: &[&str]) -> String {
    succeeds(
        Command::new(python)
            .args(["-m", "alembic", "-c", "alembic.ini"])
            .args(args)
            .current_dir(project),
    )
}

/// Runs `command`, which must succeed; its standard output.
fn succeeds(command: &mut Command) -> String {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The first column of `sql`'s rows in the SQLite file `database`.
fn column(database: &Path, sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(database).unwrap();
    let mut statement = conn.prepare(sql).unwrap();
    let rows = statement.query_map([], |row| row.get(0)).unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

/// Converts the fixture into `dir/migrations`; returns stdout and stderr.
fn convert(dir: &Path, python: &str, extra: &[&str]) -> (i32, String, String) {
    run(migrate_in(dir)
        .args(["convert-alembic", PROJECT, "--python", python])
        .args(extra))
}

/// An Alembic revision file `9c0d1e2f3a4b` right after the merge, with
/// `message` and the bodies (indented) of its two functions.
fn after_the_merge(message: &str, upgrade: &str, downgrade: &str) -> String {
    format!(
        "\"\"\"{message}\n\nRevision ID: 9c0d1e2f3a4b\n\"\"\"\nimport uuid\nfrom alembic import op\nimport sqlalchemy as sa\n\n\
         revision = \"9c0d1e2f3a4b\"\ndown_revision = \"7a8b9c0d1e2f\"\nbranch_labels = None\ndepends_on = None\n\n\n\
         def upgrade():\n{upgrade}\n\n\ndef downgrade():\n{downgrade}\n"
    )
}

/// Converts a copy of the fixture in which the reading revision is replaced
/// by `file` (name, Python text) after the merge, with `extra` arguments.
fn convert_with_instead(
    dir: &Path,
    python: &str,
    file: (&str, &str),
    extra: &[&str],
) -> (i32, String, String) {
    let copy = project_copy(dir);
    let versions = copy.join("alembic/versions");
    std::fs::remove_file(versions.join("8b9c0d1e2f3a_split_full_names.py")).unwrap();
    std::fs::write(versions.join(file.0), file.1).unwrap();
    run(migrate_in(dir)
        .args([
            "convert-alembic",
            copy.join("alembic.ini").to_str().unwrap(),
            "--python",
            python,
        ])
        .args(extra))
}

/// Writes the SQL the reading revision needs in place of its placeholder,
/// as the operator does after reading the report.
fn write_the_hand_part(dir: &Path, sql: &str) {
    let file = dir.join("migrations/versions/8b9c0d1e2f3a_split_full_names.sql");
    let text = std::fs::read_to_string(&file).unwrap();
    let placeholder = "SELECT * FROM \"revision 8b9c0d1e2f3a has no upgrade SQL yet\";";
    assert!(text.contains(placeholder), "{text}");
    std::fs::write(&file, text.replace(placeholder, sql)).unwrap();
}

#[test]
fn the_bot_project_converts_with_alembics_graph_and_the_reading_revision_named() {
    let Some(python) = python() else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    let (code, stdout, stderr) = convert(dir.path(), &python, &[]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "NEEDS A HAND: {} (upgrade): calls op.get_bind()",
            READS.1
        )),
        "{stderr}"
    );
    assert!(stderr.contains("1 of 8 revisions need a hand"), "{stderr}");
    // Alembic's own upgrade, revision by revision, left the same schema and
    // rows as the converted files, up to the revision that needs a hand.
    assert!(
        stdout.contains(
            "compared with Alembic's own upgrade and downgrade, revision by revision from base: 14 steps the same, 0 different"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("the comparison stopped at 8b9c0d1e2f3a"),
        "{stdout}"
    );
    // The same graph as Alembic's, in Alembic's own words.
    let copy = project_copy(dir.path());
    let theirs = alembic(&python, &copy, &["history"]);
    let ours = stdout_of(migrate_in(dir.path()).arg("history"));
    assert_eq!(ours.trim(), theirs.trim());
    // The upgrade stops on the placeholder, in one transaction: nothing stays.
    let (code, _, stderr) = run(migrate_in(dir.path()).args(["upgrade", "head"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("has no upgrade SQL yet"), "{stderr}");
    assert!(stdout_of(migrate_in(dir.path()).arg("current"))
        .trim()
        .is_empty());
    // Everything before it runs up and back down; the seed rows come along.
    stdout_of(migrate_in(dir.path()).args(["upgrade", "7a8b9c0d1e2f"]));
    let seeds = column(
        &dir.path().join("data/bot_database.db"),
        "SELECT key || '=' || value || '=' || editable FROM settings ORDER BY key",
    );
    assert_eq!(
        seeds,
        [
            "greeting=Здравствуйте! Чем можем помочь?=1",
            "shop_name=Mike's repairs=0",
            "work_hours=10:00-19:00=1"
        ]
    );
    stdout_of(migrate_in(dir.path()).args(["downgrade", "base"]));
    // A second conversion does not overwrite what the first wrote.
    let (code, _, stderr) = convert(dir.path(), &python, &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("exist already") && stderr.contains("--force"),
        "{stderr}"
    );
    // The command the refusal names overwrites them.
    let (code, stdout, _) = convert(dir.path(), &python, &["--force"]);
    assert_eq!(code, 1, "still one revision needs a hand");
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.contains(" -> versions/"))
            .count(),
        8
    );
}

#[test]
fn a_database_alembic_left_at_a_middle_revision_is_taken_over() {
    let Some(python) = python() else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    let copy = project_copy(dir.path());
    alembic(&python, &copy, &["upgrade", "4d5e6f7a8b9c"]);
    let database = copy.join("data/bot_database.db");
    let conn = rusqlite::Connection::open(&database).unwrap();
    conn.execute_batch(
        "INSERT INTO users (telegram_id, full_name) VALUES (7, 'Ivan Petrov'), (8, 'Olga Smirnova')",
    )
    .unwrap();
    drop(conn);
    convert(dir.path(), &python, &[]);
    write_the_hand_part(
        dir.path(),
        "UPDATE users SET first_name = substr(full_name, 1, instr(full_name || ' ', ' ') - 1);",
    );
    let db = database.display().to_string();
    let verify = stdout_of(migrate_in(dir.path()).args(["--database", &db, "verify"]));
    assert!(verify.contains("4d5e6f7a8b9c"), "{verify}");
    // What the bot does at start-up with the converted folder embedded:
    // accept Alembic's ledger, then upgrade from where Alembic left it.
    let set = migrate_kit::Migrations::from_dir(dir.path().join("migrations")).unwrap();
    let mut conn = migrate_kit::sqlite::Connection::open(&database).unwrap();
    let startup = set.start(&mut conn).unwrap();
    drop(conn);
    assert_eq!(startup.drift.heads, ["4d5e6f7a8b9c"]);
    assert!(!startup.drift.unverified.is_empty());
    assert_eq!(startup.run.heads_after, [READS.0]);
    assert_eq!(
        column(&database, "SELECT first_name FROM users ORDER BY id"),
        ["Ivan", "Olga"]
    );
    // The check the report names once the hand-written SQL is in.
    let stairway = stdout_of(migrate_in(dir.path()).arg("test"));
    assert!(stairway.contains("stairway ok: 8 revisions"), "{stairway}");
    // Alembic reads the database the converted folder moved on.
    assert!(alembic(&python, &copy, &["current"]).contains("8b9c0d1e2f3a (head)"));
}

#[test]
fn the_postgresql_dialect_is_captured_on_a_scratch_database_of_the_server() {
    let Some(python) = python() else {
        return;
    };
    let Some(db) = crate::pg::TestDb::create("convert_alembic") else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    let (code, stdout, stderr) = convert(dir.path(), &python, &["--database", db.url()]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains(READS.1), "{stderr}");
    assert!(
        stdout.contains("14 steps the same, 0 different"),
        "{stdout}"
    );
    let settings = std::fs::read_to_string(
        dir.path()
            .join("migrations/versions/4d5e6f7a8b9c_settings.sql"),
    )
    .unwrap();
    assert!(
        settings.contains("editable BOOLEAN DEFAULT true NOT NULL"),
        "{settings}"
    );
    write_the_hand_part(
        dir.path(),
        "UPDATE users SET first_name = split_part(full_name, ' ', 1);",
    );
    let url = ["--database", db.url()];
    stdout_of(migrate_in(dir.path()).args(url).args(["upgrade", "head"]));
    assert_eq!(
        db.column("SELECT version_num FROM alembic_version"),
        [READS.0]
    );
    assert_eq!(db.column("SELECT count(*) FROM settings"), ["3"]);
    stdout_of(migrate_in(dir.path()).args(url).args(["downgrade", "base"]));
    assert_eq!(
        db.column("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('alembic_version', 'migrate_applied', 'migrate_log')"),
        ["0"]
    );
}

#[test]
fn a_downgrade_that_raises_makes_an_irreversible_revision_that_needs_no_hand() {
    let Some(python) = python() else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    let (code, stdout, stderr) = convert_with_instead(
        dir.path(),
        &python,
        (
            "9c0d1e2f3a4b_drop_usernames.py",
            &after_the_merge(
                "drop usernames",
                "    with op.batch_alter_table(\"users\") as batch:\n        batch.drop_column(\"username\")",
                "    raise NotImplementedError(\"the usernames are gone\")",
            ),
        ),
        &[],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let file = std::fs::read_to_string(
        dir.path()
            .join("migrations/versions/9c0d1e2f3a4b_drop_usernames.sql"),
    )
    .unwrap();
    assert!(
        file.contains("NotImplementedError: the usernames are gone"),
        "{file}"
    );
    stdout_of(migrate_in(dir.path()).args(["upgrade", "head"]));
    let (code, _, stderr) = run(migrate_in(dir.path()).args(["downgrade", "-1"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("irreversible"), "{stderr}");
}

#[test]
fn a_revision_whose_effect_changes_from_run_to_run_is_caught_by_the_comparison() {
    let Some(python) = python() else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    // A seed row made when the revision runs: the captured SQL holds the
    // value of the capture, Alembic's next run another one.
    let (code, stdout, stderr) = convert_with_instead(
        dir.path(),
        &python,
        (
            "9c0d1e2f3a4b_install_id.py",
            &after_the_merge(
                "install id",
                "    settings = sa.table(\"settings\", sa.column(\"key\", sa.String), sa.column(\"value\", sa.Text))\n    op.bulk_insert(settings, [{\"key\": \"install_id\", \"value\": str(uuid.uuid4())}])",
                "    op.execute(\"DELETE FROM settings WHERE key = 'install_id'\")",
            ),
        ),
        &[],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("15 steps the same, 1 different"),
        "{stdout}"
    );
    assert!(
        stderr.contains(
            "after `upgrade 9c0d1e2f3a4b`, Alembic's database (-) and the converted folder's (+) differ"
        ) && stderr.contains("install_id"),
        "{stderr}"
    );
    assert!(
        stderr.contains("disagree after `upgrade 9c0d1e2f3a4b`"),
        "{stderr}"
    );
}

#[test]
fn an_autocommit_block_becomes_a_non_transactional_migration() {
    let Some(python) = python() else {
        return;
    };
    let Some(db) = crate::pg::TestDb::create("convert_autocommit") else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    let (code, stdout, stderr) = convert_with_instead(
        dir.path(),
        &python,
        (
            "9c0d1e2f3a4b_index_users_by_name.py",
            &after_the_merge(
                "index users by name without blocking the bot",
                "    with op.get_context().autocommit_block():\n        op.create_index(\"ix_users_full_name\", \"users\", [\"full_name\"], postgresql_concurrently=True)",
                "    with op.get_context().autocommit_block():\n        op.drop_index(\"ix_users_full_name\", table_name=\"users\", postgresql_concurrently=True)",
            ),
        ),
        &["--database", db.url()],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let file = std::fs::read_to_string(
        dir.path()
            .join("migrations/versions/9c0d1e2f3a4b_index_users_by_name.sql"),
    )
    .unwrap();
    assert!(
        file.contains("-- transactional: false")
            && file.contains("CREATE INDEX CONCURRENTLY ix_users_full_name"),
        "{file}"
    );
    stdout_of(migrate_in(dir.path()).args(["--database", db.url(), "upgrade", "head"]));
    assert_eq!(
        db.column("SELECT indexname FROM pg_indexes WHERE indexname = 'ix_users_full_name'"),
        ["ix_users_full_name"]
    );
}

#[test]
fn a_downgrade_whose_effect_changes_from_run_to_run_is_caught_by_the_comparison() {
    let Some(python) = python() else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    // The downgrade keeps a note of when it ran: the captured SQL holds the
    // time of the capture, Alembic's own downgrade another one.
    let (code, stdout, stderr) = convert_with_instead(
        dir.path(),
        &python,
        (
            "9c0d1e2f3a4b_vip_flag.py",
            &after_the_merge(
                "vip flag",
                "    op.execute(\"INSERT INTO settings (key, value) VALUES ('vip', 'on')\")",
                "    op.execute(f\"UPDATE settings SET value = 'off {uuid.uuid4()}' WHERE key = 'vip'\")",
            ),
        ),
        &[],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("15 steps the same, 1 different"),
        "{stdout}"
    );
    assert!(
        stderr.contains("after `downgrade 7a8b9c0d1e2f (from 9c0d1e2f3a4b)`, Alembic's database (-) and the converted folder's (+) differ")
            && stderr.contains("vip"),
        "{stderr}"
    );
}

/// The interpreter `python3` runs, when it has no Alembic (else `None`,
/// after saying so): the tests of the virtualenv convert-alembic makes.
fn bare_python() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let has_alembic = Command::new(&path)
        .args(["-c", "import alembic"])
        .output()
        .is_ok_and(|out| out.status.success());
    if has_alembic {
        eprintln!("skipped: {} has Alembic already", path.display());
        return None;
    }
    Some(path)
}

/// A machine whose `python3` has no Alembic, in `dir`: its `PATH`, a
/// working folder and a copy of the Alembic project. `None` (the test is
/// skipped) without the test's Alembic or when `python3` has Alembic.
struct BareMachine {
    path: String,
    work: PathBuf,
    copy: PathBuf,
}

fn bare_machine(dir: &Path) -> Option<BareMachine> {
    python()?;
    let bare = bare_python()?;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(&bare, bin.join("python3")).unwrap();
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    Some(BareMachine {
        path: format!("{}:/usr/bin:/bin", bin.display()),
        work,
        copy: project_copy(dir),
    })
}

/// The command between the first pair of backticks of `text`, as words.
fn quoted_command(text: &str) -> Vec<String> {
    let command = text.split('`').nth(1).expect("a command in backticks");
    command.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn without_python_a_virtualenv_with_alembic_is_made_and_every_hint_runs_as_printed() {
    let dir = tempfile::TempDir::new().unwrap();
    // A machine whose python3 has no Alembic; the cache is the test's own.
    let Some(BareMachine { path, work, copy }) = bare_machine(dir.path()) else {
        return;
    };
    let cache = dir.path().join("cache");
    // A revision importing a package the new virtualenv does not have.
    let initial = copy.join("alembic/versions/1a2b3c4d5e6f_initial_schema.py");
    let text = std::fs::read_to_string(&initial).unwrap();
    std::fs::write(
        &initial,
        format!("import sqlalchemy_utils  # noqa: F401\n{text}"),
    )
    .unwrap();
    let project = copy.join("alembic.ini");
    let migrate = |args: &[&str]| {
        run(migrate_in(&work)
            .env("PATH", &path)
            .env("XDG_CACHE_HOME", &cache)
            .args(args))
    };
    // python3 named, but without Alembic: the hint leaves --python out.
    let (code, _, stderr) = migrate(&[
        "convert-alembic",
        project.to_str().unwrap(),
        "--python",
        "python3",
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("python3 has no Alembic"), "{stderr}");
    let hint = quoted_command(stderr.rsplit_once("virtualenv with Alembic:").unwrap().1);
    assert_eq!(hint[0], "migrate");
    let hint: Vec<&str> = hint[1..].iter().map(String::as_str).collect();
    // As printed: the virtualenv is made, and the import is what is missing.
    let (code, stdout, stderr) = migrate(&hint);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("python3 has no Alembic: installing it from PyPI into the virtualenv"),
        "{stdout}"
    );
    assert!(
        stderr.contains("No module named 'sqlalchemy_utils'"),
        "{stderr}"
    );
    let venv_python = cache.join("migrate-kit/alembic-venv/bin/python");
    let pip = quoted_command(stderr.split_once("; install the package").unwrap().1);
    assert_eq!(pip[0], venv_python.to_str().unwrap());
    succeeds(Command::new(&pip[0]).args(&pip[1..]));
    // Then the conversion runs, in the virtualenv it made, without making it again.
    let (code, stdout, stderr) = migrate(&hint);
    assert_eq!(code, 1, "one revision needs a hand: {stdout}{stderr}");
    assert!(!stdout.contains("installing it from PyPI"), "{stdout}");
    assert!(
        stdout.contains("14 steps the same, 0 different"),
        "{stdout}"
    );
}

#[test]
fn without_a_cache_folder_the_hint_makes_the_project_virtualenv_which_is_then_used() {
    let dir = tempfile::TempDir::new().unwrap();
    // python3 without Alembic, and no HOME or XDG_CACHE_HOME to keep a
    // virtualenv in (a service account in a container, say).
    let Some(BareMachine { path, work, copy }) = bare_machine(dir.path()) else {
        return;
    };
    let project = copy.join("alembic.ini");
    let migrate = || {
        run(migrate_in(&work)
            .env("PATH", &path)
            .env_remove("HOME")
            .env_remove("XDG_CACHE_HOME")
            .args(["convert-alembic", project.to_str().unwrap()]))
    };
    let (code, _, stderr) = migrate();
    assert_eq!(code, 1);
    assert!(stderr.contains("there is no cache folder"), "{stderr}");
    // As printed: the virtualenv beside the project, with Alembic from PyPI.
    let make = stderr.split('`').nth(1).expect("a command in backticks");
    assert!(make.starts_with("python3 -m venv "), "{make}");
    succeeds(Command::new("sh").args(["-c", make]).env("PATH", &path));
    // Then the conversion runs with it, making nothing in a cache.
    let (code, stdout, stderr) = migrate();
    assert_eq!(code, 1, "one revision needs a hand: {stdout}{stderr}");
    let own = copy.join(".venv/bin/python");
    assert!(
        stdout.contains(&format!(
            "running Alembic with the project's virtualenv: {}",
            own.display()
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("installing it from PyPI"), "{stdout}");
    assert!(
        stdout.contains("14 steps the same, 0 different"),
        "{stdout}"
    );
}
