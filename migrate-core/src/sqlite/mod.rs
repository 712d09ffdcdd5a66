//! The SQLite backend: the ledger tables, the runner and drift detection.
//! All SQL dialect and database access of the crate lives under this module.

mod ahead;
pub mod backup;
pub mod data;
pub mod drift;
pub mod error;
mod exec;
pub mod foreign_keys;
pub mod introspect;
pub mod ledger;
pub mod lock;
mod open;
mod repair;
pub mod runner;

pub use drift::{DriftError, DriftReport, Modified, Unknown};
pub use error::RunError;
pub use open::open;
pub use runner::{current, RunOptions, RunReport, StepReport};
