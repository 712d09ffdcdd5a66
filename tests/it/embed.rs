//! The embedded set equals the same folder loaded at runtime, field for
//! field, checksums included: the macro and the runtime share one parser.

use migrate_kit::{Checksum, Migrations};

static MIGRATIONS: Migrations = migrate_kit::embed_migrations!("migrations");
static CRLF: Migrations = migrate_kit::embed_migrations!("tests/fixtures/crlf");
static EVERY_FIELD: Migrations = migrate_kit::embed_migrations!("tests/fixtures/every_field");

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

#[test]
fn every_header_field_and_section_shape_embeds_as_the_runtime_loads_it() {
    let loaded = Migrations::from_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/every_field"
    ))
    .unwrap();
    assert_eq!(EVERY_FIELD.as_slice(), loaded.as_slice());

    let by_id = |id: &str| {
        EVERY_FIELD
            .as_slice()
            .iter()
            .find(|m| m.revision() == id)
            .unwrap()
    };
    // A BOM, a create date, a label, Cyrillic text and `;` inside a string.
    let base = by_id("a1");
    assert_eq!(base.create_date(), Some("2026-11-25 10:00:00"));
    assert_eq!(base.message(), "база: клиенты и заказы");
    assert_eq!(base.branch_labels().collect::<Vec<_>>(), ["core"]);
    assert!(base
        .upgrade()
        .sql()
        .unwrap()
        .contains("'Пётр; -- не комментарий'"));
    assert_eq!(
        base.downgrade().unwrap().sql().unwrap(),
        "DROP TABLE clients;\n"
    );
    // No downgrade, two labels, and a file without a final newline.
    let side = by_id("b1");
    assert_eq!(side.branch_labels().collect::<Vec<_>>(), ["side", "extra"]);
    assert_eq!(
        side.upgrade().sql().unwrap(),
        "CREATE TABLE side (id INTEGER PRIMARY KEY);"
    );
    assert!(side.downgrade().is_none());
    // Outside a transaction, a dependency, an empty downgrade marker last.
    let pragma = by_id("c1");
    assert!(!pragma.is_transactional());
    assert_eq!(pragma.depends_on().collect::<Vec<_>>(), ["b1"]);
    assert!(pragma.downgrade().is_none());
    // A CRLF merge that acknowledges a lint and replaces a revision.
    let merge = by_id("d1");
    assert_eq!(merge.down_revisions().collect::<Vec<_>>(), ["b1", "c1"]);
    assert_eq!(merge.allowed().collect::<Vec<_>>(), ["drop_column"]);
    assert_eq!(merge.replaces().count(), 1);
    assert_eq!(merge.upgrade().first_line(), 8);
    assert_eq!(merge.header().lines.down_revision, 2);
}
