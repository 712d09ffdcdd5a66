//! The expansion of `embed_migrations!`, kept free of `proc_macro` types so
//! it can be unit-tested.

use migrate_kit_core::load::{self, LoadError, LoadProblem, Loaded};
use migrate_kit_core::{Migration, Section};
use proc_macro2::{Literal, TokenStream};
use quote::quote;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// What `embed_migrations!` expands to.
pub enum Expansion {
    /// The embedded set as source text, for the compiler's own lexer.
    Source(String),
    /// A `compile_error!` beside an empty set of the right type.
    Error(TokenStream),
}

/// The macro's input: the folder, and whether to replay its SQL.
pub struct Input {
    /// The folder, relative to `CARGO_MANIFEST_DIR`.
    pub path: syn::LitStr,
    /// `, replay` after the path.
    pub replay: bool,
}

impl syn::parse::Parse for Input {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        let path = input.parse()?;
        let mut replay = false;
        if input.parse::<Option<syn::Token![,]>>()?.is_some() && !input.is_empty() {
            let word: syn::Ident = input.parse()?;
            if word != "replay" {
                return Err(syn::Error::new(word.span(), "expected `replay` (run every migration on an in-memory SQLite database while building)"));
            }
            replay = true;
            input.parse::<Option<syn::Token![,]>>()?;
        }
        Ok(Input { path, replay })
    }
}

/// Expands to the embedded set, or to `compile_error!` beside an empty set
/// of the right type when the folder has problems.
pub fn expand(input: &Input) -> Expansion {
    let literal = &input.path;
    let fail = |message: String| {
        let error = syn::Error::new(literal.span(), message).into_compile_error();
        Expansion::Error(quote! {{
            #error
            ::migrate_kit::__private::Migrations::embedded(&[])
        }})
    };
    let dir = match resolve(&literal.value()) {
        Ok(dir) => dir,
        Err(message) => return fail(message),
    };
    match load_strict(&dir) {
        Ok((loaded, files)) => {
            if input.replay {
                if let Err(message) = replay(&loaded) {
                    return fail(format!(
                        "migrations folder `{}`: {message}",
                        literal.value()
                    ));
                }
            }
            emit(&loaded, &files)
        }
        Err(error) => fail(format!(
            "invalid migrations folder `{}`:\n{error}",
            literal.value()
        )),
    }
}

/// Runs every migration up and back down on an in-memory database.
#[cfg(feature = "replay")]
fn replay(loaded: &Loaded) -> Result<(), String> {
    let set = migrate_kit_core::Migrations::from_migrations(loaded.migrations.clone())
        .map_err(|e| e.to_string())?;
    migrate_kit_core::replay::replay_up_and_down(&set).map_err(|error| match error {
        // On a fresh database the migration itself is wrong: no stamp or
        // hand edit to blame.
        migrate_kit_core::RunError::Statement(failure) => format!(
            "{} of revision `{}` fails on a fresh database (the build-time replay, after every migration before it ran) at {}:{}: {}\n  statement: {}\nfix the migration",
            failure.direction, failure.revision, failure.path, failure.line, failure.message, failure.statement
        ),
        other => format!("the build-time replay failed: {other}"),
    })
}

/// Without the feature, the request cannot be honoured: say how to enable it.
#[cfg(not(feature = "replay"))]
fn replay(_: &Loaded) -> Result<(), String> {
    Err("the replay check needs the `replay` feature: `migrate = { version = \"...\", features = [\"replay\"] }`".to_owned())
}

/// The folder as an absolute path: `include_str!` resolves a relative path
/// against the source file, not against the directory the macro reads from.
/// A leading `$NAME` or `${NAME}` is the build environment's variable
/// (`$OUT_DIR/migrations` for a folder a build script writes); anything
/// else is relative to `CARGO_MANIFEST_DIR`.
fn resolve(written: &str) -> Result<PathBuf, String> {
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    let expanded = match written.strip_prefix('$') {
        Some(rest) => {
            let (name, tail) = match rest.strip_prefix('{') {
                Some(braced) => braced
                    .split_once('}')
                    .ok_or_else(|| format!("`{written}`: `${{` without its `}}`"))?,
                None => rest.split_at(rest.find('/').unwrap_or(rest.len())),
            };
            let value = std::env::var(name).map_err(|_| {
                format!("`{written}`: the environment variable `{name}` is not set while this crate builds")
            })?;
            format!("{value}{tail}")
        }
        None => written.to_owned(),
    };
    let dir = root.join(expanded);
    Ok(std::path::absolute(&dir).unwrap_or(dir))
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
/// one initializer exhausted 24 GiB; 1,000 took 2.5 s in MIR passes led
/// by drop elaboration, as every call may unwind past the migrations built
/// before it). Each item is one call of
/// `Migration::embedded` with positional arguments and the SQL taken from
/// `include_str!` (which also makes editing the file rebuild), so the
/// expansion is about 70 tokens per migration whatever the file's size.
///
/// The items are written as source text for the compiler to lex in one
/// call: a proc macro runs unoptimized in debug builds, and building the
/// tokens one by one with `quote!` (or lexing the text with proc-macro2's
/// own lexer) took 35-57 ms at 1,000 migrations.
fn emit(loaded: &Loaded, files: &[load::SourceFile]) -> Expansion {
    let by_path: std::collections::HashMap<&str, &load::SourceFile> =
        files.iter().map(|f| (f.relative.as_str(), f)).collect();
    let mut source = String::with_capacity(400 * loaded.migrations.len());
    source.push_str(
        "{ use ::core::option::Option::{None, Some}; \
         use ::migrate_kit::__private::{Cow::Borrowed as B, Migration as M, Migrations};\n",
    );
    for (index, m) in loaded.migrations.iter().enumerate() {
        let Some(file) = by_path.get(m.path()) else {
            return Expansion::Error(internal_error(m.path(), "the file was not read"));
        };
        if let Err(message) = write_migration(&mut source, index, m, file) {
            return Expansion::Error(internal_error(m.path(), &message));
        }
    }
    source.push_str("static ITEMS: &[M] = &[");
    for index in 0..loaded.migrations.len() {
        let _ = write!(source, "M{index},");
    }
    source.push_str("]; Migrations::embedded(ITEMS) }");
    Expansion::Source(source)
}

/// A disagreement between the parser and the file it parsed, or an
/// expansion that does not lex: a bug of this crate, reported as a compile
/// error rather than a wrong embedded set.
pub fn internal_error(path: &str, message: &str) -> TokenStream {
    let message =
        format!("embed_migrations!: internal error on `{path}`: {message}; please report it");
    quote! {{
        ::core::compile_error!(#message);
        ::migrate_kit::__private::Migrations::embedded(&[])
    }}
}

/// `&[B("a"), B("b")]`: a list of borrowed texts. Every literal of the
/// expansion is rendered by [`Literal`], so any text (quotes, backslashes,
/// control characters, any Unicode) comes back exactly.
fn write_list<'a>(out: &mut String, values: impl Iterator<Item = &'a str>) {
    out.push_str("&[");
    for value in values {
        let _ = write!(out, "B({}),", Literal::string(value));
    }
    out.push(']');
}

/// The byte offset where 1-based `line` starts (the end for a line past it).
fn line_start(text: &str, line: u32) -> usize {
    if line <= 1 {
        return 0;
    }
    text.match_indices('\n')
        .nth(line as usize - 2)
        .map_or(text.len(), |(at, _)| at + 1)
}

/// `(start, end, first_line)` of a section in its file, checked against
/// the parsed SQL.
fn write_section(out: &mut String, text: &str, s: &Section) -> Result<(), String> {
    let start = line_start(text, s.first_line());
    // The macro reads files whole: the SQL is held, never read back.
    let sql = s.sql().map_err(|e| e.to_string())?;
    let end = start + sql.len();
    if text.get(start..end) != Some(&*sql) {
        return Err(format!("section at line {} not found", s.first_line()));
    }
    let _ = write!(out, "({start}, {end}, {})", s.first_line());
    Ok(())
}

/// `const M<index>: M = M::embedded(...);` with the arguments in the order
/// `Migration::embedded` takes them.
fn write_migration(
    out: &mut String,
    index: usize,
    m: &Migration,
    file: &load::SourceFile,
) -> Result<(), String> {
    let text = std::str::from_utf8(file.bytes()).map_err(|e| e.to_string())?;
    let absolute = file.path.to_str().ok_or("the path is not UTF-8")?;
    let _ = write!(
        out,
        "const M{index}: M = M::embedded(::core::include_str!({}), {}, {}, ({}, ",
        Literal::string(absolute),
        text.len(),
        Literal::string(m.path()),
        Literal::string(m.revision()),
    );
    write_list(out, m.down_revisions());
    let create_date = match m.create_date() {
        Some(date) => format!("Some({})", Literal::string(date)),
        None => "None".to_owned(),
    };
    let _ = write!(
        out,
        ", {}, {create_date}, {}), [",
        Literal::string(m.message()),
        m.is_transactional()
    );
    write_list(out, m.branch_labels());
    out.push_str(", ");
    write_list(out, m.depends_on());
    out.push_str(", ");
    write_list(out, m.allowed());
    out.push_str(", ");
    write_list(out, m.header().replaces.iter().map(|t| t.as_ref()));
    let l = m.header().lines;
    let _ = write!(
        out,
        "], [{}, {}, {}, {}], ",
        l.revision, l.down_revision, l.depends_on, l.branch_labels
    );
    write_section(out, text, m.upgrade())?;
    out.push_str(", ");
    match m.downgrade() {
        Some(s) => {
            out.push_str("Some(");
            write_section(out, text, s)?;
            out.push(')');
        }
        None => out.push_str("None"),
    }
    let _ = writeln!(out, ", *{});", Literal::byte_string(m.checksum().digest()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_relative(folder: &str) -> Expansion {
        expand(&Input {
            path: syn::LitStr::new(folder, proc_macro2::Span::call_site()),
            replay: false,
        })
    }

    #[test]
    fn the_replay_input_is_parsed_and_anything_else_is_refused() {
        let input: Input = syn::parse_str(r#""migrations", replay"#).unwrap();
        assert!(input.replay);
        let input: Input = syn::parse_str(r#""migrations""#).unwrap();
        assert!(!input.replay);
        let error = syn::parse_str::<Input>(r#""migrations", replya"#)
            .err()
            .unwrap();
        assert!(
            error.to_string().starts_with("expected `replay`"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_folder_expands_to_compile_error_and_an_empty_set() {
        let Expansion::Error(tokens) = expand_relative("no/such/folder") else {
            panic!("a missing folder must be an error");
        };
        let tokens = tokens.to_string();
        assert!(tokens.contains("compile_error"), "{tokens}");
        assert!(tokens.contains("embedded (& [])"), "{tokens}");
    }

    #[test]
    fn a_valid_folder_expands_to_source_that_lexes_with_one_item_per_file() {
        let Expansion::Source(source) = expand_relative("../migrations") else {
            panic!("the reference folder must embed");
        };
        let tokens: TokenStream = source.parse().expect("the expansion must lex");
        let text = tokens.to_string();
        assert_eq!(text.matches("M :: embedded (").count(), 3, "{text}");
        assert!(text.contains("include_str !"), "{text}");
        assert!(
            text.contains("static ITEMS : & [M] = & [M0 , M1 , M2 ,]"),
            "{text}"
        );
    }

    #[test]
    fn a_leading_variable_names_a_folder_outside_the_crate() {
        let plain = resolve("../migrations").unwrap();
        assert_eq!(resolve("$CARGO_MANIFEST_DIR/../migrations").unwrap(), plain);
        assert_eq!(
            resolve("${CARGO_MANIFEST_DIR}/../migrations").unwrap(),
            plain
        );
        let error = resolve("$MIGRATE_SURELY_UNSET_VARIABLE/migrations").unwrap_err();
        assert!(
            error.contains("`MIGRATE_SURELY_UNSET_VARIABLE` is not set"),
            "{error}"
        );
        assert!(resolve("${CARGO_MANIFEST_DIR/x")
            .unwrap_err()
            .contains("without its"));
    }
}
