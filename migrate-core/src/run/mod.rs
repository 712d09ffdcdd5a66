//! The run layer: the orchestration written once against the
//! [`Backend`](crate::backend::Backend) boundary. The migration set and its
//! runs (upgrade, downgrade, stamp), a database ahead of the files, drift,
//! repair, offline SQL and the one-call start of a bot. It imports the
//! files, the graph and the boundary, never a backend's module.

pub(crate) mod ahead;
pub(crate) mod commands;
pub(crate) mod drift;
pub(crate) mod offline;
pub(crate) mod repair;
pub(crate) mod runner;
pub mod set;
pub(crate) mod startup;
