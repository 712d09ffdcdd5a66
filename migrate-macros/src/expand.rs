//! The expansion of `embed_migrations!`, kept free of `proc_macro` types so
//! it can be unit-tested.

use migrate_core::load::{self, LoadError, LoadProblem, Loaded};
use migrate_core::migration::{Migration, Section};
use proc_macro2::TokenStream;
use quote::quote;
use std::path::{Path, PathBuf};

/// Expands to the embedded set, or to `compile_error!` beside an empty set
/// of the right type when the folder has problems.
pub fn expand(literal: &syn::LitStr) -> TokenStream {
    let dir = resolve(&literal.value());
    match load_strict(&dir) {
        Ok((loaded, files)) => emit(&loaded, &files),
        Err(error) => {
            let message = format!("invalid migrations folder `{}`:\n{error}", literal.value());
            let error = syn::Error::new(literal.span(), message).into_compile_error();
            quote! {{
                #error
                ::migrate::__private::Migrations::embedded(&[])
            }}
        }
    }
}

fn resolve(relative: &str) -> PathBuf {
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    root.join(relative)
}

/// Loads with the runtime's code, plus the build-time rule of one head.
fn load_strict(dir: &Path) -> Result<(Loaded, Vec<load::SourceFile>), LoadError> {
    let files = load::read_folder(dir)?;
    let loaded = load::parse_files(&files)?;
    load::check_single_head(&loaded).map_err(|e| LoadError::from(vec![LoadProblem::Graph(e)]))?;
    Ok((loaded, files))
}

/// One `const` item per migration and a static slice naming them: many
/// small bodies for the compiler instead of one huge initializer, whose
/// compile time and memory grow faster than linearly (10,000 migrations in
/// one initializer exhausted 24 GiB).
fn emit(loaded: &Loaded, files: &[load::SourceFile]) -> TokenStream {
    let by_path: std::collections::HashMap<&str, &load::SourceFile> =
        files.iter().map(|f| (f.relative.as_str(), f)).collect();
    let names: Vec<syn::Ident> = (0..loaded.migrations.len())
        .map(|i| quote::format_ident!("MIGRATION_{}", i))
        .collect();
    let items = loaded.migrations.iter().zip(&names).map(|(m, name)| {
        let include = by_path.get(m.path()).map(|f| {
            let absolute = f.path.canonicalize().unwrap_or_else(|_| f.path.clone());
            let absolute = absolute.to_string_lossy().into_owned();
            quote! { const _: &str = include_str!(#absolute); }
        });
        let value = migration(m);
        quote! {
            #include
            const #name: ::migrate::__private::Migration = #value;
        }
    });
    quote! {{
        #(#items)*
        static ITEMS: &[::migrate::__private::Migration] = &[#(#names),*];
        ::migrate::__private::Migrations::embedded(ITEMS)
    }}
}

fn text(value: &str) -> TokenStream {
    quote! { ::migrate::__private::Cow::Borrowed(#value) }
}

fn list<'a>(values: impl Iterator<Item = &'a str>) -> TokenStream {
    let values = values.map(text);
    quote! { ::migrate::__private::Cow::Borrowed(&[#(#values),*]) }
}

fn section(s: &Section) -> TokenStream {
    let sql = text(s.sql());
    let line = s.first_line();
    quote! { ::migrate::__private::Section::new(#sql, #line) }
}

fn migration(m: &Migration) -> TokenStream {
    let revision = text(m.revision());
    let down = list(m.down_revisions());
    let message = text(m.message());
    let create_date = match m.create_date() {
        Some(d) => {
            let d = text(d);
            quote! { ::core::option::Option::Some(#d) }
        }
        None => quote! { ::core::option::Option::None },
    };
    let labels = list(m.branch_labels());
    let depends = list(m.depends_on());
    let transactional = m.is_transactional();
    let allow = list(m.allowed());
    let replaces = list(m.header().replaces.iter().map(|t| t.as_ref()));
    let l = m.header().lines;
    let (l_rev, l_down, l_dep, l_lab) =
        (l.revision, l.down_revision, l.depends_on, l.branch_labels);
    let lines = quote! {
        ::migrate::__private::HeaderLines {
            revision: #l_rev,
            down_revision: #l_down,
            depends_on: #l_dep,
            branch_labels: #l_lab,
        }
    };
    let path = text(m.path());
    let upgrade = section(m.upgrade());
    let downgrade = match m.downgrade() {
        Some(s) => {
            let s = section(s);
            quote! { ::core::option::Option::Some(#s) }
        }
        None => quote! { ::core::option::Option::None },
    };
    let digest = *m.checksum().digest();
    let digest = digest.iter();
    quote! {
        ::migrate::__private::Migration::new(
            ::migrate::__private::Header {
                revision: #revision,
                down_revisions: #down,
                message: #message,
                create_date: #create_date,
                branch_labels: #labels,
                depends_on: #depends,
                transactional: #transactional,
                allow: #allow,
                replaces: #replaces,
                lines: #lines,
            },
            #path,
            #upgrade,
            #downgrade,
            ::migrate::__private::Checksum::from_digest([#(#digest),*]),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_folder_expands_to_compile_error_and_an_empty_set() {
        let literal = syn::LitStr::new("no/such/folder", proc_macro2::Span::call_site());
        let tokens = expand(&literal).to_string();
        assert!(tokens.contains("compile_error"), "{tokens}");
        assert!(tokens.contains("embedded (& [])"), "{tokens}");
    }
}
