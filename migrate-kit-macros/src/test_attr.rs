//! `#[migrate_kit::test("migrations")]`: the test function receives a fresh
//! database (a `migrate_kit::TestDatabase`) migrated by the embedded folder, to
//! `head` or to the revision `to = "..."` names; async tests run on a
//! current-thread tokio runtime, with the database made before it starts.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The attribute's arguments: the folder, and the revision to stop at.
pub struct Args {
    path: syn::LitStr,
    to: Option<syn::LitStr>,
}

impl syn::parse::Parse for Args {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        let path = input.parse()?;
        let mut to = None;
        while input.parse::<Option<syn::Token![,]>>()?.is_some() && !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            if key != "to" {
                return Err(syn::Error::new(
                    key.span(),
                    "expected `to = \"REVISION\"` (the revision the test's database is migrated to; head without it)",
                ));
            }
            input.parse::<syn::Token![=]>()?;
            to = Some(input.parse()?);
        }
        Ok(Args { path, to })
    }
}

/// The test function around `body`.
pub fn expand(args: &Args, mut body: syn::ItemFn) -> TokenStream {
    if body.sig.inputs.len() != 1 {
        return syn::Error::new_spanned(
            &body.sig,
            "a #[migrate_kit::test] function takes one argument, its database: `fn name(db: migrate_kit::TestDatabase)`",
        )
        .into_compile_error();
    }
    let name = body.sig.ident.clone();
    let inner = format_ident!("__migrate_test_{}", name);
    let attrs = std::mem::take(&mut body.attrs);
    let vis = body.vis.clone();
    let output = body.sig.output.clone();
    let is_async = body.sig.asyncness.is_some();
    body.sig.ident = inner.clone();
    let path = &args.path;
    let database = match &args.to {
        Some(to) => quote! { ::migrate_kit::TestDatabase::at(&MIGRATIONS, #to) },
        None => quote! { ::migrate_kit::TestDatabase::new(&MIGRATIONS) },
    };
    let call = if is_async {
        quote! {
            ::tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime for the test")
                .block_on(#inner(database))
        }
    } else {
        quote! { #inner(database) }
    };
    quote! {
        #(#attrs)*
        #[::core::prelude::v1::test]
        #vis fn #name() #output {
            static MIGRATIONS: ::migrate_kit::Migrations = ::migrate_kit::embed_migrations!(#path);
            #body
            let database = #database.unwrap_or_else(|error| {
                panic!("the test's database could not be made: {error}")
            });
            #call
        }
    }
}
