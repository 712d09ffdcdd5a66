//! The engine of `migrate-kit` (applications use that crate, which
//! re-exports what they need): migration files, the revision graph, checksums,
//! and the orchestration of runs (plan, run, record, verify, repair, stamp,
//! offline SQL) written once against the [`Backend`] boundary. With the
//! default `sqlite` feature, [`sqlite`] implements it for
//! [`sqlite::Connection`].
//!
//! The folders are private layers that import only downwards
//! (docs/DESIGN.md §2): `hint`, `files`, `graph`, `set`, `model`,
//! `backend`, `run`, `tools`, with `error` as the sum of their errors, and
//! the command line (`cli`, feature `cli`) on top. The crate root
//! re-exports the API.
//!
//! `embed_migrations!` in `migrate-kit-macros` calls the loader (`load`:
//! `read_folder`, `parse_files`, `check_single_head`) at compile time; the
//! runtime calls the same functions, so a folder is parsed and validated by
//! one piece of code.

// Without a backend (the macro's build without `replay`) only files, graph
// and set are used, and without the command line some of what only it
// calls; the build with every feature (CI's clippy) checks for dead code.
#![cfg_attr(
    not(all(feature = "sqlite", feature = "cli")),
    allow(dead_code, unused_imports)
)]
// docs.rs labels what each feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
#[cfg(feature = "cli")]
pub mod cli;
mod error;
mod events;
mod files;
mod graph;
mod hint;
mod message;
mod model;
mod run;
mod set;
mod tools;

#[cfg(test)]
mod tests;

#[cfg(feature = "postgres")]
pub use backend::postgres;
#[cfg(feature = "sqlite")]
pub use backend::sqlite;
/// The folder loader `embed_migrations!` calls at compile time. Not public
/// API: for the macro crate only.
#[doc(hidden)]
pub use set::load;
/// Replays a set on an in-memory SQLite database: `embed_migrations!(...,
/// replay)` calls it at compile time. Not public API.
#[cfg(feature = "sqlite")]
#[doc(hidden)]
pub use tools::replay;

// Paths the crate's own modules use.
pub use backend::{foreign_keys, location};
pub use files::{checksum, migration, parse};

#[cfg(feature = "sqlite")]
pub use backend::database::Database;
pub use backend::settings::{LockMode, OpenOptions, ServerSettings};
pub use backend::{current, current_async, AsyncBackend, Backend, Dialect, LockWait};
pub use checksum::Checksum;
pub use error::{
    BackendError, Cause, DriverCode, LedgerError, RunError, StatementError, ToolError,
};
pub use files::pieces::ReadBackError;
pub use foreign_keys::Violation;
pub use graph::plan::{Direction, Plan, RowOp, Step};
pub use graph::target::{Target, TargetError};
pub use graph::{Graph, GraphError};
pub use hint::Commands;
pub use load::{LoadError, LoadProblem};
pub use location::{Location, LocationError, OpenMode};
pub use migration::{Header, Migration, Section};
pub use parse::{ParseError, ParseErrorKind};
pub use run::drift::{DriftError, DriftReport, Modified, Unknown};
pub use run::options::{RunOptions, RunReport, StepReport};
pub use run::startup::{StartError, Startup};
pub use set::Migrations;
#[cfg(feature = "sqlite")]
pub use tools::testing::TestDatabase;
