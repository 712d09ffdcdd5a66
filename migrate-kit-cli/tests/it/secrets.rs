//! No password is ever printed or written: a matrix of commands and of the
//! forms a location takes (URL user part, `password=` parameter, an
//! unencoded `/`, libpq's key/value string, `.env` with quotes,
//! `migrate.toml`, a `migrate.toml` that does not parse, a server that
//! refuses the connection), each run as a real process against a real
//! server. Every output and every file the commands leave is searched for
//! the marker password.

use crate::common::{migrate_in, run};
use crate::pg::TestDb;
use std::path::Path;
use tempfile::TempDir;

/// The PostgreSQL example's migrations.
const EXAMPLE: &str = concat!(workspace_root!(), "/examples/postgres/migrations");

/// The password every form carries. The server trusts every login, so a
/// wrong password still connects and each command does its real work.
const MARKER: &str = "Marker7731";

/// How the location reaches the command.
enum Given {
    Environment(String),
    DotEnv(String),
    Toml(String),
}

/// Every file under `dir`, with its contents (lossy), for the search.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(folder) = todo.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                out.push((path.display().to_string(), text));
            }
        }
    }
    out
}

#[test]
fn no_command_prints_or_writes_the_password_in_any_form_of_location() {
    let Some(db) = TestDb::create("secrets") else {
        return;
    };
    let name = db.url().rsplit('/').next().unwrap().to_owned();
    let forms = [
        Given::Environment(format!(
            "postgresql://postgres:{MARKER}@127.0.0.1:5432/{name}"
        )),
        Given::Environment(format!(
            "postgresql://postgres@127.0.0.1:5432/{name}?password={MARKER}&application_name=bot"
        )),
        Given::Environment(format!(
            "postgresql://postgres:Zq/{MARKER}@127.0.0.1:5432/{name}"
        )),
        Given::Environment(format!(
            "host=127.0.0.1 port=5432 user=postgres password={MARKER} dbname={name}"
        )),
        Given::Environment(format!(
            "host=127.0.0.1 user=postgres password='a b {MARKER}' dbname={name}"
        )),
        Given::Environment(format!("postgresql://postgres:{MARKER}@127.0.0.1:1/{name}")),
        Given::Environment(format!(
            "host=127.0.0.1 port=1 password={MARKER} dbname={name}"
        )),
        Given::DotEnv(format!(
            "DATABASE_URL='\"postgresql+asyncpg://postgres:{MARKER}@127.0.0.1/{name}\"'\n"
        )),
        Given::Toml(format!(
            "database = \"postgresql://postgres:{MARKER}@127.0.0.1/{name}\"\n"
        )),
        Given::Toml(format!(
            "database = \"postgresql://postgres:{MARKER}@127.0.0.1/{name}\nbusy_timeout_ms = 10\n"
        )),
        Given::Toml(format!(
            "database = \"postgresql://postgres:{MARKER}@127.0.0.1/{name}\"\ndatabse = 1\n"
        )),
    ];
    let commands: [&[&str]; 8] = [
        &["current"],
        &["current", "--format", "json"],
        &["upgrade", "head", "-v"],
        &["history", "-i"],
        &["verify"],
        &["backup"],
        &["export", "--out", "export.json"],
        &["downgrade", "base", "--format", "json"],
    ];
    let mut checked = 0;
    for (i, form) in forms.iter().enumerate() {
        let dir = TempDir::new().unwrap();
        match form {
            Given::DotEnv(text) => std::fs::write(dir.path().join(".env"), text).unwrap(),
            Given::Toml(text) => std::fs::write(dir.path().join("migrate.toml"), text).unwrap(),
            Given::Environment(_) => {}
        }
        for args in commands {
            let mut cmd = migrate_in(dir.path());
            cmd.env("MIGRATE_DIR", EXAMPLE).args(args);
            if let Given::Environment(url) = form {
                cmd.env("DATABASE_URL", url);
            }
            let (_, out, err) = run(&mut cmd);
            assert!(!out.contains(MARKER), "form {i}, {args:?}: stdout {out}");
            assert!(!err.contains(MARKER), "form {i}, {args:?}: stderr {err}");
            checked += 1;
        }
        for (path, text) in files(dir.path()) {
            if path.ends_with(".env") || path.ends_with("migrate.toml") {
                continue;
            }
            assert!(!path.contains(MARKER), "form {i}: file {path}");
            assert!(
                !text.contains(MARKER),
                "form {i}: {path} holds the password"
            );
        }
    }
    assert_eq!(checked, forms.len() * commands.len());
    // The forms that reach the server did their real work there: each of
    // the seven that name a listening server upgraded it and downgraded it again.
    assert_eq!(
        db.column(
            "SELECT count(*) FROM migrate_log WHERE operation = 'upgrade' AND outcome = 'ok'"
        ),
        ["7"]
    );
}
