use super::*;

const VALID: &str = "-- revision: 002\n-- down_revision: 001\n-- message: add phone_number to users\n-- create_date: 2025-10-13 12:00:00\n\n-- migrate:upgrade\nALTER TABLE users ADD COLUMN phone_number TEXT;\n\n-- migrate:downgrade\nALTER TABLE users DROP COLUMN phone_number;\n";

fn errors(text: &str) -> Vec<String> {
    parse_migration("versions/x.sql", text.as_bytes())
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn parses_the_design_example() {
    let m = parse_migration("versions/002.sql", VALID.as_bytes()).unwrap();
    assert_eq!(m.revision(), "002");
    assert_eq!(m.down_revisions().collect::<Vec<_>>(), ["001"]);
    assert_eq!(m.message(), "add phone_number to users");
    assert_eq!(m.create_date(), Some("2025-10-13 12:00:00"));
    assert!(m.is_transactional());
    assert_eq!(m.upgrade().first_line(), 7);
    assert_eq!(
        m.upgrade().sql().unwrap().trim(),
        "ALTER TABLE users ADD COLUMN phone_number TEXT;"
    );
    assert_eq!(m.downgrade().unwrap().first_line(), 10);
    assert_eq!(m.checksum(), Checksum::of_file(VALID.as_bytes()));
    assert_eq!(m.header().lines.down_revision, 2);
}

#[test]
fn merges_labels_dependencies_and_flags() {
    let text = "-- revision: m1\n-- down_revision: a1, b2\n-- message: merge\n-- branch_labels: billing, crm\n-- depends_on: c3\n-- transactional: false\n-- migrate:upgrade\nVACUUM;\n";
    let m = parse_migration("v.sql", text.as_bytes()).unwrap();
    assert_eq!(m.down_revisions().collect::<Vec<_>>(), ["a1", "b2"]);
    assert_eq!(m.branch_labels().collect::<Vec<_>>(), ["billing", "crm"]);
    assert_eq!(m.depends_on().collect::<Vec<_>>(), ["c3"]);
    assert!(!m.is_transactional());
    assert!(
        m.downgrade().is_none(),
        "no downgrade section means irreversible"
    );
}

#[test]
fn a_downgrade_with_only_comments_is_irreversible() {
    let text = VALID.replace(
        "ALTER TABLE users DROP COLUMN phone_number;",
        "-- cannot be undone",
    );
    assert!(parse_migration("v.sql", text.as_bytes())
        .unwrap()
        .downgrade()
        .is_none());
}

#[test]
fn crlf_and_bom_parse_like_lf() {
    let lf = parse_migration("v.sql", VALID.as_bytes()).unwrap();
    let crlf_text = format!("\u{feff}{}", VALID.replace('\n', "\r\n"));
    let crlf = parse_migration("v.sql", crlf_text.as_bytes()).unwrap();
    assert_eq!(lf.checksum(), crlf.checksum());
    assert_eq!(lf.upgrade().first_line(), crlf.upgrade().first_line());
    assert_eq!(lf.header(), crlf.header());
    // The sections are ranges of the file's text, past the BOM.
    let bom = format!("\u{feff}{VALID}");
    let bom = parse_migration("v.sql", bom.as_bytes()).unwrap();
    assert_eq!(bom.upgrade(), lf.upgrade());
    assert_eq!(bom.downgrade(), lf.downgrade());
    assert!(
        bom.upgrade().sql().unwrap().starts_with("ALTER TABLE"),
        "{}",
        bom.upgrade().sql().unwrap()
    );
}

/// One case per error kind, with its exact message: a wording change is a visible diff.
#[test]
fn every_error_kind_has_a_line_and_a_clear_message() {
    let header = "-- revision: 001\n-- down_revision: none\n-- message: m\n";
    let cases: Vec<(String, &str)> = vec![
        (format!("{header}-- migrate:upgrade\nSELECT 1;\0\n"), "versions/x.sql:5: the file contains a NUL byte; remove it"),
        (format!("{header}-- migrate:upgrade\nSELECT '\u{feff}';\n"), "versions/x.sql:5: a byte order mark (U+FEFF) appears inside the file; only a leading one is allowed"),
        ("-- down_revision: none\n-- message: m\n-- migrate:upgrade\nSELECT 1;\n".into(), "versions/x.sql:1: missing header `-- revision: ...`"),
        (format!("{header}-- mesage: x\n-- migrate:upgrade\nSELECT 1;\n"), "versions/x.sql:4: unknown header key `mesage`; did you mean `message`?"),
        (format!("{header}-- colour: x\n-- migrate:upgrade\nSELECT 1;\n"), "versions/x.sql:4: unknown header key `colour`; known keys are revision, down_revision, message, create_date, branch_labels, depends_on, transactional, allow, replaces"),
        (format!("{header}-- message: again\n-- migrate:upgrade\nSELECT 1;\n"), "versions/x.sql:4: header key `message` repeats the one on line 3"),
        ("-- revision: 001\n-- down_revision:\n-- message: m\n-- migrate:upgrade\nSELECT 1;\n".into(), "versions/x.sql:2: header key `down_revision` has no value"),
        ("-- revision: heads\n-- down_revision: none\n-- message: m\n-- migrate:upgrade\nSELECT 1;\n".into(), "versions/x.sql:1: invalid revision id `heads` in `revision`: it is a reserved target name"),
        ("-- revision: 001\n-- down_revision: а1\n-- message: m\n-- migrate:upgrade\nSELECT 1;\n".into(), "versions/x.sql:2: invalid revision id `а1` in `down_revision`: 'а' is not allowed; use letters A-Z, a-z, digits and `_`"),
        (format!("{header}-- transactional: no\n-- migrate:upgrade\nSELECT 1;\n"), "versions/x.sql:4: `transactional` must be `true` or `false`, not `no`"),
        ("-- revision: 003\n-- down_revision: 001, 001\n-- message: m\n-- migrate:upgrade\nSELECT 1;\n".into(), "versions/x.sql:2: `down_revision` lists `001` twice"),
        (format!("{header}CREATE TABLE t (x);\n-- migrate:upgrade\nSELECT 1;\n"), "versions/x.sql:4: SQL before the `-- migrate:upgrade` marker; put it inside a section"),
        (header.to_owned(), "versions/x.sql:3: missing the `-- migrate:upgrade` marker line"),
        (format!("{header}-- migrate:upgrades\n-- migrate:upgrade\nSELECT 1;\n"), "versions/x.sql:4: unknown section marker `-- migrate:upgrades`; use `-- migrate:upgrade` or `-- migrate:downgrade`"),
        (format!("{header}-- migrate:upgrade\nSELECT 1;\n-- migrate:upgrade\nSELECT 2;\n"), "versions/x.sql:6: section marker `-- migrate:upgrade` repeats the one on line 4"),
        (format!("{header}-- migrate:downgrade\nSELECT 1;\n-- migrate:upgrade\nSELECT 2;\n"), "versions/x.sql:4: `-- migrate:downgrade` must come after `-- migrate:upgrade`"),
        (format!("{header}-- migrate:upgrade\n-- nothing\n"), "versions/x.sql:4: the upgrade section holds no SQL (only comments or blanks); write the migration or delete the file"),
        (format!("{header}-- migrate:upgrade\nSELECT 1;\nCREATE INDEX CONCURRENTLY i ON t (x);\n"), "versions/x.sql:6: `CONCURRENTLY` cannot run inside a transaction, and this migration is transactional; put the statement in its own migration with `-- transactional: false` in the header"),
        (format!("{header}-- migrate:upgrade\nCOPY users FROM stdin;\n"), "versions/x.sql:5: `COPY ... FROM STDIN` reads rows that follow it in a psql script, which a migration has no way to send; insert the rows with INSERT, or COPY from a file the server can read"),
        (format!("{header}-- migrate:upgrade\nSELECT 1;\n\\connect other\n"), "versions/x.sql:6: a psql meta-command (a backslash command such as \\connect or \\i) is not SQL and cannot run through a migration; write the SQL it stands for"),
    ];
    for (text, expected) in cases {
        assert_eq!(errors(&text), [expected], "for input {text:?}");
    }
    let invalid = parse_migration("versions/x.sql", b"-- revision: 001\n\xff\n").unwrap_err();
    assert_eq!(
        invalid[0].to_string(),
        "versions/x.sql:2: the file is not valid UTF-8; save it as UTF-8"
    );
    let long = format!("-- revision: {}\n", "a".repeat(33));
    assert!(errors(&long)[0].contains("it has 33 characters, the limit is 32"));
}

#[test]
fn all_problems_of_a_file_are_reported_together() {
    let text = "-- revison: 001\n-- down_revision: none\n-- message: m\n-- migrate:upgrade\n";
    let found = errors(text);
    assert_eq!(found.len(), 3, "{found:?}");
}

#[test]
fn plain_comments_in_the_header_are_allowed() {
    let text = format!("-- Adds the phone column (requested by the shop)\n{VALID}");
    assert!(parse_migration("v.sql", text.as_bytes()).is_ok());
}
