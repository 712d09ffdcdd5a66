//! `embed_migrations!`: reads a migrations folder at compile time, validates
//! it with the same code the runtime uses, and emits a static set.

use proc_macro::TokenStream;

mod expand;
mod test_attr;

/// Embeds a migrations folder (relative to the crate's `CARGO_MANIFEST_DIR`,
/// or under a build environment variable written first: `"$OUT_DIR/migrations"`)
/// as a `migrate_kit::Migrations` value.
///
/// Every problem in the folder (malformed files, a broken graph, two
/// unmerged heads) is a compile error pointing at the path literal. With
/// `embed_migrations!("migrations", replay)` (and the `replay` feature),
/// SQL that cannot run on a fresh database is one too.
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as expand::Input);
    match expand::expand(&input) {
        expand::Expansion::Source(source) => source.parse().unwrap_or_else(|error| {
            expand::internal_error("the expansion", &format!("{error}")).into()
        }),
        expand::Expansion::Error(tokens) => tokens.into(),
    }
}

/// A test that gets a fresh database migrated by a folder:
/// `#[migrate_kit::test("migrations")]` on a function taking a
/// `migrate_kit::TestDatabase` migrates it to head,
/// `#[migrate_kit::test("migrations", to = "002")]` to a revision, so the
/// test can insert rows and then upgrade (the `migrate-kit` crate's guide,
/// "Tests with a migrated database", has both, compiled).
///
/// The database is a SQLite file of the test's own, or a scratch database
/// on the PostgreSQL server `DATABASE_URL` names; it is removed when the
/// test ends. An `async fn` runs on a current-thread tokio runtime (the
/// crate needs tokio as a dev-dependency).
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(args as test_attr::Args);
    let body = syn::parse_macro_input!(item as syn::ItemFn);
    test_attr::expand(&args, body).into()
}
