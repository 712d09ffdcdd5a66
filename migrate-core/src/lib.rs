//! The core of `migrate`: migration files, the revision graph, checksums,
//! and the orchestration of runs (plan, run, record, verify, repair, stamp,
//! offline SQL) written once against the [`Backend`] boundary. With the
//! default `sqlite` feature, [`sqlite`] implements it for
//! [`sqlite::Connection`].
//!
//! `embed_migrations!` in `migrate-macros` calls [`load::load_folder`] and
//! [`load::check_single_head`] at compile time; the runtime calls the same
//! functions, so a folder is parsed and validated by one piece of code.

mod ahead;
pub mod backend;
pub mod checksum;
mod commands;
pub mod data;
#[cfg(feature = "sqlite")]
mod database;
mod drift;
mod error;
pub mod foreign_keys;
pub mod graph;
pub mod ledger;
pub mod lint_code;
pub mod load;
pub mod location;
pub mod migration;
mod offline;
pub mod parse;
#[cfg(feature = "postgres")]
pub mod postgres;
mod repair;
mod runner;
pub mod schema;
pub mod set;
mod sql_text;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod startup;
pub mod statements;
pub mod template;

pub use backend::{Backend, Dialect};
pub use checksum::Checksum;
pub use commands::Commands;
#[cfg(feature = "sqlite")]
pub use database::{Database, DatabaseSession, Imported, PreparedImport};
pub use drift::{DriftError, DriftReport, Modified, Unknown};
pub use error::{
    BackendError, Cause, DriverCode, LedgerError, RunError, StatementError, ToolError,
};
pub use foreign_keys::Violation;
pub use graph::plan::{Direction, Plan, RowOp, Step};
pub use graph::target::{Target, TargetError};
pub use graph::{Graph, GraphError};
pub use load::{LoadError, LoadProblem};
pub use location::{Location, LocationError, OpenMode};
pub use migration::{Header, Migration, Section};
pub use parse::{ParseError, ParseErrorKind};
pub use backend::{LockWait, QUIET_WAIT};
pub use runner::{current, RunOptions, RunReport, StepReport};
pub use set::Migrations;
pub use startup::{StartError, Startup};
