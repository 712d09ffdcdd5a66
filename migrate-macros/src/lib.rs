//! `embed_migrations!`: reads a migrations folder at compile time, validates
//! it with the same code the runtime uses, and emits a static set.

use proc_macro::TokenStream;

mod expand;

/// Embeds a migrations folder (relative to the crate's `CARGO_MANIFEST_DIR`,
/// or under a build environment variable written first: `"$OUT_DIR/migrations"`)
/// as a `migrate::Migrations` value.
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
