//! Compile-fail cases of `embed_migrations!`: one mistake per file in
//! `tests/ui/`, each with the `.stderr` the build must print. Regenerate
//! with `TRYBUILD=overwrite cargo test --test it compiletest` and read the diff.
//!
//! The fixtures live in `tests/fixtures/`; the paths in `tests/ui/*.rs` are
//! relative to trybuild's scratch crate under `target/tests/trybuild/`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
