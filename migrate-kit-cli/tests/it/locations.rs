//! Where the database is: the `DATABASE_URL` forms of a Python bot's `.env`,
//! other schemes, `:memory:`, paths in `migrate.toml`, backups, and reading
//! a database that does not exist. Real processes on temp folders.

use crate::common::{bot_binary, run, version_rows, REFERENCE};
use assert_cmd::Command;
use rusqlite::Connection;
use std::path::Path;
use tempfile::TempDir;

/// `migrate` in `dir`, reading the reference migrations.
fn migrate(dir: &Path) -> Command {
    let mut cmd = crate::common::migrate_in(dir);
    cmd.env("MIGRATE_DIR", REFERENCE);
    cmd
}

/// Every file and folder under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() {
                todo.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn sqlalchemy_and_sqlx_urls_migrate_the_file_they_name() {
    for url in [
        "sqlite+aiosqlite:///data/bot_database.db",
        "sqlite+pysqlite:///data/bot_database.db",
        "sqlite:///data/bot_database.db",
        "sqlite://data/bot_database.db",
        "data/bot_database.db?mode=rwc",
    ] {
        let dir = TempDir::new().unwrap();
        let (code, out, err) = run(migrate(dir.path())
            .env("DATABASE_URL", url)
            .args(["upgrade", "head"]));
        assert_eq!(code, 0, "{url}: {err}");
        assert!(
            out.contains("upgrade data/bot_database.db: base -> 003"),
            "{url}: {out}"
        );
        assert!(
            err.contains("creating the database data/bot_database.db"),
            "{url}: {err}"
        );
        assert_eq!(tree(dir.path()), ["data", "data/bot_database.db"], "{url}");
        let conn = Connection::open(dir.path().join("data/bot_database.db")).unwrap();
        assert_eq!(version_rows(&conn), ["003"]);
    }
}

#[test]
fn other_schemes_and_memory_are_refused_without_creating_anything() {
    for (location, expected) in [
        (
            "postgresql://bot:s3cret@db.invalid/shop",
            "cannot connect to postgresql://bot:***@db.invalid/shop",
        ),
        (
            "mysql://bot@db/shop",
            "`mysql` is not a database this tool can open",
        ),
        (
            "sqlite:///:memory:",
            "`:memory:`, which keeps nothing between runs",
        ),
        ("sqlite://", "`:memory:`, which keeps nothing between runs"),
        ("h.db?mode=wat", "`mode=wat` is not an SQLite mode"),
        ("h.db?journal=wal", "unknown parameter `journal`"),
        (
            "sqlite+aiosqlite//data/x.db",
            "looks like a URL whose scheme lost its `:`",
        ),
        (
            "sqlite+aiosqlite/data/x.db",
            "starts like a database URL but has no `:`",
        ),
        ("\"data/x.db", "has a quote on one side only"),
    ] {
        let dir = TempDir::new().unwrap();
        let (code, _, err) =
            run(migrate(dir.path()).args(["--database", location, "upgrade", "head"]));
        assert_eq!(code, 1, "{location}: {err}");
        assert!(err.contains(expected), "{location}: {err}");
        assert!(
            !err.contains("s3cret"),
            "the password is never printed: {err}"
        );
        assert!(
            tree(dir.path()).is_empty(),
            "{location} created {:?}",
            tree(dir.path())
        );
    }
    // A listing that needs no database still works with any location.
    let dir = TempDir::new().unwrap();
    let (code, out, _) = run(migrate(dir.path())
        .env("DATABASE_URL", "postgresql://h/db")
        .arg("heads"));
    assert_eq!((code, out.as_str()), (0, "003 (head)\n"));
}

#[test]
fn mode_ro_and_rw_never_create_the_file() {
    let dir = TempDir::new().unwrap();
    for location in ["bot.db?mode=ro", "bot.db?mode=rw"] {
        let (code, _, err) =
            run(migrate(dir.path()).args(["--database", location, "upgrade", "head"]));
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("there is no database at bot.db"), "{err}");
    }
    assert!(tree(dir.path()).is_empty());
    run(migrate(dir.path()).args(["--database", "bot.db", "upgrade", "001"]));
    let (code, _, err) =
        run(migrate(dir.path()).args(["--database", "bot.db?mode=ro", "upgrade", "head"]));
    assert_eq!(code, 1);
    assert!(err.contains("read-only"), "{err}");
    let (code, out, _) = run(migrate(dir.path()).args(["--database", "bot.db?mode=ro", "current"]));
    assert_eq!((code, out.as_str()), (0, "001\n"));
}

#[test]
fn reading_a_missing_database_says_so_and_creates_nothing() {
    let dir = TempDir::new().unwrap();
    for args in [&["current"][..], &["history", "-i"]] {
        let (code, _, err) = run(migrate(dir.path()).args(args));
        assert_eq!(code, 0, "{args:?}: as Alembic, an empty listing: {err}");
        assert!(
            err.contains("there is no database at data/bot_database.db"),
            "{args:?}: {err}"
        );
    }
    let (code, _, err) = run(migrate(dir.path()).arg("verify"));
    assert_eq!(code, 1);
    assert!(
        err.contains("there is no database at data/bot_database.db"),
        "{err}"
    );
    assert!(tree(dir.path()).is_empty(), "{:?}", tree(dir.path()));
}

#[test]
fn paths_in_migrate_toml_are_relative_to_the_file() {
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("migrate.toml"),
        format!(
            "[migrate]\ndir = \"{REFERENCE}\"\ndatabase = \"sqlite+aiosqlite:///var/shop.db\"\n"
        ),
    )
    .unwrap();
    let sub = dir.path().join("scripts");
    std::fs::create_dir(&sub).unwrap();
    let mut cmd = Command::cargo_bin("migrate").unwrap();
    cmd.current_dir(&sub)
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATE_DIR")
        .args(["--config", "../migrate.toml", "upgrade", "head"]);
    let (code, _, err) = run(&mut cmd);
    assert_eq!(code, 0, "{err}");
    assert!(dir.path().join("var/shop.db").exists());
    assert!(!sub.join("var").exists());
    // backup lands beside the database, not in the working folder.
    let mut cmd = Command::cargo_bin("migrate").unwrap();
    cmd.current_dir(&sub)
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATE_DIR")
        .args(["--config", "../migrate.toml", "backup"]);
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{err}");
    let written = std::fs::canonicalize(sub.join(out.trim())).unwrap();
    let beside = std::fs::canonicalize(dir.path().join("var/backups")).unwrap();
    assert!(written.starts_with(beside), "{out}");
    assert!(tree(&sub).is_empty(), "{:?}", tree(&sub));
}

#[test]
fn the_bot_and_its_embedded_cli_open_the_same_file_from_a_python_env_url() {
    let dir = TempDir::new().unwrap();
    let url = "sqlite+aiosqlite:///data/bot_database.db";
    let mut migrate_cmd = Command::new(bot_binary());
    migrate_cmd
        .current_dir(dir.path())
        .env("DATABASE_URL", url)
        .args(["migrate", "upgrade", "002"]);
    let (code, _, err) = run(&mut migrate_cmd);
    assert_eq!(code, 0, "{err}");
    let mut start = Command::new(bot_binary());
    start.current_dir(dir.path()).env("DATABASE_URL", url);
    let (code, out, err) = run(&mut start);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("database at revision 003"), "{out}");
    assert_eq!(tree(dir.path()), ["data", "data/bot_database.db"]);
    let conn = Connection::open(dir.path().join("data/bot_database.db")).unwrap();
    assert_eq!(version_rows(&conn), ["003"]);
}

#[test]
fn empty_variables_of_a_dotenv_file_count_as_unset() {
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("migrate.toml"),
        format!("[migrate]\ndir = {REFERENCE:?}\ndatabase = \"bot.db\"\n"),
    )
    .unwrap();
    let (code, out, err) = run(crate::common::migrate_in(dir.path())
        .env("DATABASE_URL", "")
        .env("MIGRATE_DIR", "")
        .args(["upgrade", "head"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("bot.db: base -> 003"), "{out}");
    assert_eq!(
        version_rows(&Connection::open(dir.path().join("bot.db")).unwrap()),
        ["003"]
    );
}

#[test]
fn help_names_the_database_variable_but_never_shows_its_password() {
    let dir = TempDir::new().unwrap();
    let (code, out, _) = run(migrate(dir.path())
        .env("DATABASE_URL", "postgres://bot:s3cret@db/bot")
        .arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("[env: DATABASE_URL]"), "{out}");
    assert!(!out.contains("s3cret"), "{out}");
}

#[test]
fn quotes_a_dotenv_value_kept_are_removed_and_the_file_is_the_one_named() {
    for url in ["'sqlite:///data/y.db'", "\"sqlite+aiosqlite:///data/y.db\""] {
        let dir = TempDir::new().unwrap();
        let (code, _, err) = run(migrate(dir.path())
            .env("DATABASE_URL", url)
            .args(["upgrade", "head"]));
        assert_eq!(code, 0, "{url}: {err}");
        assert_eq!(
            tree(dir.path()),
            ["data", "data/y.db"],
            "{url}: no folder named like the URL"
        );
    }
}

#[test]
fn dotenv_gives_the_location_the_environment_leaves_unset_and_current_says_which() {
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "BOT_TOKEN=123:abc\nDATABASE_URL=\"sqlite+aiosqlite:///data/from_env_file.db\"\n",
    )
    .unwrap();
    let (code, out, err) = run(migrate(dir.path()).args(["upgrade", "head"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("data/from_env_file.db: base -> 003"), "{out}");
    let (_, out, err) = run(migrate(dir.path()).arg("current"));
    assert_eq!(out, "003 (head)\n");
    assert!(
        err.contains("Database: data/from_env_file.db (from DATABASE_URL in .env)"),
        "{err}"
    );
    // The process environment wins over the file, and says so.
    let (_, _, err) = run(migrate(dir.path())
        .env("DATABASE_URL", "data/other.db")
        .arg("current"));
    assert!(
        err.contains("Database: data/other.db (from DATABASE_URL)"),
        "{err}"
    );
    let (_, _, err) =
        run(migrate(dir.path()).args(["--database", "data/third.db", "upgrade", "head", "-v"]));
    assert!(
        err.contains("Database: data/third.db (from --database)"),
        "{err}"
    );
    let (_, out, _) = run(migrate(dir.path()).args(["current", "--format", "json"]));
    assert!(
        out.contains("\"database_source\": \"DATABASE_URL in .env\""),
        "{out}"
    );
}

#[test]
fn a_failed_first_run_leaves_no_file_behind() {
    let dir = TempDir::new().unwrap();
    let folder = dir.path().join("migrations");
    crate::common::write_folder(
        &folder,
        &[(
            "001.sql",
            crate::common::migration("001", "none", "CREATE TABLE users (id INTEGER PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);", None),
        )],
    );
    let (code, _, err) = run(crate::common::migrate_in(dir.path())
        .env("DATABASE_URL", "data/new/bot.db")
        .args(["upgrade", "head"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("removed data/new/bot.db, which this run created"),
        "{err}"
    );
    assert_eq!(tree(dir.path()), tree_of_migrations(dir.path()));
    // An existing database is never removed.
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    Connection::open(dir.path().join("data/kept.db"))
        .unwrap()
        .execute_batch("CREATE TABLE notes (x)")
        .unwrap();
    let (code, _, _) = run(crate::common::migrate_in(dir.path())
        .env("DATABASE_URL", "data/kept.db")
        .args(["upgrade", "head"]));
    assert_eq!(code, 1);
    assert!(dir.path().join("data/kept.db").exists());
}

/// The entries of `tree` under `migrations/` only.
fn tree_of_migrations(dir: &Path) -> Vec<String> {
    tree(dir)
        .into_iter()
        .filter(|p| p.starts_with("migrations"))
        .collect()
}
