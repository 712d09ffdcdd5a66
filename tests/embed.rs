//! The embedded set equals the same folder loaded at runtime, field for
//! field, checksums included: the macro and the runtime share one parser.

mod common;

use migrate::{Checksum, Migrations};

static MIGRATIONS: Migrations = migrate::embed_migrations!("migrations");
static CRLF: Migrations = migrate::embed_migrations!("tests/fixtures/crlf");

#[test]
fn embedded_set_equals_the_folder_loaded_at_runtime() {
    let loaded = Migrations::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap();
    assert_eq!(MIGRATIONS.as_slice(), loaded.as_slice());
    assert_eq!(MIGRATIONS.len(), 3);
    let ids: Vec<&str> = MIGRATIONS.as_slice().iter().map(|m| m.revision()).collect();
    assert_eq!(ids, ["001", "002", "003"]);
    for m in MIGRATIONS.as_slice() {
        let bytes = std::fs::read(
            concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/").to_owned() + m.path(),
        )
        .unwrap();
        assert_eq!(m.checksum(), Checksum::of_file(&bytes));
        assert!(
            m.downgrade().is_some(),
            "{} must be reversible",
            m.revision()
        );
    }
}

#[test]
fn a_crlf_file_embeds_with_the_checksum_of_its_lf_form() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/crlf/versions/001_a.sql"
    );
    let crlf = std::fs::read(path).unwrap();
    assert!(
        crlf.windows(2).any(|w| w == b"\r\n"),
        "the fixture must keep its CRLF bytes"
    );
    let lf: Vec<u8> = String::from_utf8(crlf.clone())
        .unwrap()
        .replace("\r\n", "\n")
        .into_bytes();
    assert_eq!(CRLF.as_slice()[0].checksum(), Checksum::of_file(&lf));
    let loaded =
        Migrations::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/crlf")).unwrap();
    assert_eq!(CRLF.as_slice(), loaded.as_slice());
}
