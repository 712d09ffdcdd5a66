//! The run layer: the orchestration written once against the
//! [`Backend`](crate::backend::Backend) boundary. The runs of a migration
//! set (upgrade, downgrade, stamp), a database ahead of the files, drift,
//! repair, offline SQL and the one-call start of a bot. It imports the
//! files, the graph, the set and the boundary, never a backend's module.

pub(crate) mod ahead;
pub(crate) mod drift;
pub(crate) mod offline;
pub(crate) mod options;
pub(crate) mod repair;
pub(crate) mod runner;
pub(crate) mod startup;
