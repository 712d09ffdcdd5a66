//! A corpus of hostile migration folders, each with the outcome it must
//! have: a precise error, or a correct load. `cargo test --test
//! hostile_files -- --ignored` adds the 100,000-file folder.

use crate::support::{migration, write_folder};
use migrate_kit::{Checksum, Migrations};
use tempfile::TempDir;

const HEADER: &str = "-- revision: a1\n-- down_revision: none\n-- message: m\n";

fn load(files: &[(&str, Vec<u8>)]) -> Result<Migrations, String> {
    let dir = TempDir::new().unwrap();
    let versions = dir.path().join("versions");
    std::fs::create_dir_all(&versions).unwrap();
    for (name, bytes) in files {
        std::fs::write(versions.join(name), bytes).unwrap();
    }
    Migrations::from_dir(dir.path()).map_err(|e| e.to_string())
}

fn error_of(text: &[u8]) -> String {
    load(&[("a.sql", text.to_vec())]).unwrap_err()
}

#[test]
fn the_corpus_gives_the_expected_errors() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (format!("{HEADER}-- migrate:upgrade\nSELECT 1;\0\n").into_bytes(), "versions/a.sql:5: the file contains a NUL byte"),
        (b"-- revision: a1\n-- down_revision: none\n-- message: caf\xe9\n-- migrate:upgrade\nSELECT 1;\n".to_vec(), "versions/a.sql:3: the file is not valid UTF-8"),
        (format!("{HEADER}-- migrate:upgrade\nSELECT 1;\n\u{feff}SELECT 2;\n").into_bytes(), "versions/a.sql:6: a byte order mark (U+FEFF) appears inside the file"),
        (format!("-- revision: {}\n-- down_revision: none\n-- message: m\n-- migrate:upgrade\nSELECT 1;\n", "a".repeat(33)).into_bytes(), "it has 33 characters, the limit is 32"),
        (b"-- revision: head\n-- down_revision: none\n-- message: m\n-- migrate:upgrade\nSELECT 1;\n".to_vec(), "invalid revision id `head` in `revision`: it is a reserved target name"),
        (b"-- revision: base\n-- down_revision: none\n-- message: m\n-- migrate:upgrade\nSELECT 1;\n".to_vec(), "invalid revision id `base` in `revision`: it is a reserved target name"),
        (b"-- revision: a-b\n-- down_revision: none\n-- message: m\n-- migrate:upgrade\nSELECT 1;\n".to_vec(), "'-' is not allowed"),
        ("-- revision: \u{0430}1\n-- down_revision: none\n-- message: m\n-- migrate:upgrade\nSELECT 1;\n".as_bytes().to_vec(), "'\u{0430}' is not allowed"),
    ];
    for (bytes, expected) in cases {
        let error = error_of(&bytes);
        assert!(
            error.contains(expected),
            "expected {expected:?} in {error:?}"
        );
    }
}

#[test]
fn odd_but_valid_files_load() {
    // Mixed CRLF and LF: loads, and checksums like its LF form.
    let mixed = format!("{HEADER}\r\n-- migrate:upgrade\r\nSELECT 1;\nSELECT 2;\r\n");
    let set = load(&[("a.sql", mixed.clone().into_bytes())]).unwrap();
    assert_eq!(
        set.as_slice()[0].checksum(),
        Checksum::of_file(mixed.replace("\r\n", "\n").as_bytes())
    );
    // A header of 10,000 comment lines.
    let long_header = format!(
        "{HEADER}{}-- migrate:upgrade\nSELECT 1;\n",
        "-- a plain comment line\n".repeat(10_000)
    );
    assert_eq!(
        load(&[("a.sql", long_header.into_bytes())]).unwrap().len(),
        1
    );
    // A 50 MB file.
    let mut big = format!("{HEADER}-- migrate:upgrade\n").into_bytes();
    let line = b"INSERT INTO t VALUES ('0123456789012345678901234567890123456789');\n";
    while big.len() < 50 * 1024 * 1024 {
        big.extend_from_slice(line);
    }
    let dir = TempDir::new().unwrap();
    let folder = write_folder(
        dir.path(),
        &[("a.sql", String::from_utf8(big.clone()).unwrap())],
    );
    let set = Migrations::from_dir(folder).unwrap();
    let upgrade = set.as_slice()[0].upgrade();
    assert_eq!(set.as_slice()[0].checksum(), Checksum::of_file(&big));
    // Too large to hold: read back from the file when asked for.
    assert!(upgrade.is_read_back());
    assert!(upgrade.sql().unwrap().len() > 50_000_000);
}

#[test]
fn semicolons_inside_sql_constructs_run_correctly() {
    let dir = TempDir::new().unwrap();
    let sql = "CREATE TABLE log (msg TEXT, n INTEGER);
CREATE TABLE t (x INTEGER);
-- a comment; with a semicolon
/* a block; comment */
CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN
  INSERT INTO log VALUES ('begin; end', CASE WHEN NEW.x > 0 THEN 1 ELSE 0 END);
  INSERT INTO log VALUES ('two;', 2);
END;
INSERT INTO t VALUES (5); INSERT INTO log VALUES ('it''s; quoted', 3);";
    let set = Migrations::from_dir(write_folder(
        dir.path(),
        &[("a.sql", migration("a1", "none", sql, None))],
    ))
    .unwrap();
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    set.upgrade(&mut conn, "head").unwrap();
    let logged: Vec<String> = conn
        .prepare("SELECT msg || '/' || n FROM log ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(logged, ["begin; end/1", "two;/2", "it's; quoted/3"]);
}

#[test]
fn links_out_of_the_folder_and_vanished_files_are_named() {
    let outside = TempDir::new().unwrap();
    let target = outside.path().join("evil.sql");
    std::fs::write(&target, format!("{HEADER}-- migrate:upgrade\nSELECT 1;\n")).unwrap();
    let dir = TempDir::new().unwrap();
    write_folder(
        dir.path(),
        &[("a.sql", migration("a1", "none", "SELECT 1;", None))],
    );
    std::os::unix::fs::symlink(&target, dir.path().join("versions/b.sql")).unwrap();
    let error = Migrations::from_dir(dir.path()).unwrap_err().to_string();
    assert!(
        error.contains("versions/b.sql: symbolic link points outside the migrations folder"),
        "{error}"
    );
    std::fs::remove_file(dir.path().join("versions/b.sql")).unwrap();
    // Listed, then gone before it is read: a dangling entry.
    std::os::unix::fs::symlink(
        dir.path().join("versions/gone.sql.tmp"),
        dir.path().join("versions/c.sql"),
    )
    .unwrap();
    let error = Migrations::from_dir(dir.path()).unwrap_err().to_string();
    assert!(
        error.contains("cannot read") && error.contains("c.sql") && error.contains("No such file"),
        "{error}"
    );
}

fn many_files(n: usize) {
    let dir = TempDir::new().unwrap();
    let versions = dir.path().join("versions");
    std::fs::create_dir_all(&versions).unwrap();
    for i in 0..n {
        let down = if i == 0 {
            "none".to_owned()
        } else {
            format!("r{:06}", i - 1)
        };
        std::fs::write(
            versions.join(format!("r{i:06}.sql")),
            migration(&format!("r{i:06}"), &down, "SELECT 1;", None),
        )
        .unwrap();
    }
    let set = Migrations::from_dir(dir.path()).unwrap();
    assert_eq!(set.len(), n);
    assert_eq!(set.graph().unwrap().heads().len(), 1);
}

#[test]
fn five_thousand_files_load() {
    many_files(5_000);
}

#[test]
#[ignore = "slow in debug builds: run with --ignored"]
fn a_hundred_thousand_files_load() {
    many_files(100_000);
}
