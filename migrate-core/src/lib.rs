//! The core of `migrate`: migration files, the revision graph, checksums,
//! and (with the default `sqlite` feature) the SQLite runner and drift
//! detection.
//!
//! `embed_migrations!` in `migrate-macros` calls [`load::load_folder`] and
//! [`load::check_single_head`] at compile time; the runtime calls the same
//! functions, so a folder is parsed and validated by one piece of code.

pub mod checksum;
pub mod graph;
pub mod load;
pub mod location;
pub mod migration;
pub mod parse;
pub mod schema;
pub mod set;
mod sql_text;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use checksum::Checksum;
pub use graph::plan::{Direction, Plan, RowOp, Step};
pub use graph::target::{Target, TargetError};
pub use graph::{Graph, GraphError};
pub use load::{LoadError, LoadProblem};
pub use location::{Location, LocationError, OpenMode};
pub use migration::{Header, Migration, Section};
pub use parse::{ParseError, ParseErrorKind};
pub use set::Migrations;
#[cfg(feature = "sqlite")]
pub use sqlite::{DriftError, DriftReport, RunError, RunOptions, RunReport};
