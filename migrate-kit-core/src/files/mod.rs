//! The files layer: a migration file's text, parsed (header, sections,
//! statements) and checksummed, with the lint codes a header may
//! acknowledge; a file too large to hold is parsed and run from the file,
//! in pieces. It imports nothing of the crate above it.

pub mod checksum;
pub(crate) mod lint_code;
pub mod migration;
pub mod parse;
pub(crate) mod pieces;
pub(crate) mod sql_text;
pub(crate) mod statements;
pub(crate) mod template;
