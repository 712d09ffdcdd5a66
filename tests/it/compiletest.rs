//! Compile-fail cases of `embed_migrations!`: one mistake per file in
//! `tests/ui/`, each with the `.stderr` the build must print. Regenerate
//! with `TRYBUILD=overwrite cargo test --test it compiletest` and read the diff.
//!
//! The fixtures live in `tests/fixtures/`; the paths in `tests/ui/*.rs`
//! start with `$MIGRATE_UI_FIXTURES`, which this test sets for the builds
//! trybuild runs, so they hold wherever `CARGO_TARGET_DIR` puts trybuild's
//! scratch crate.

#[test]
fn ui() {
    std::env::set_var(
        "MIGRATE_UI_FIXTURES",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"),
    );
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
