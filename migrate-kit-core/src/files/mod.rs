//! The files layer: a migration file's text, parsed (header, sections,
//! statements) and checksummed, with the lint codes a header may
//! acknowledge. Pure code over text; it imports nothing of
//! the crate above it.

pub mod checksum;
pub(crate) mod lint_code;
pub mod migration;
pub mod parse;
pub(crate) mod sql_text;
pub(crate) mod statements;
pub(crate) mod template;
