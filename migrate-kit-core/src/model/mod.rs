//! Plain models that several layers share, with no I/O: a schema (tables,
//! columns, indexes, as SQLite declares them) and the SQL lexer that reads
//! it, and table rows with the options of an import. A backend reads into
//! them; the tools compare and fit them.

pub(crate) mod data;
pub(crate) mod lexer;
pub(crate) mod schema;
