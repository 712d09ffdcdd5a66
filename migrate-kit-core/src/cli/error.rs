//! Errors of the command line and their exit codes.

use crate::{DriftError, LoadError, RunError, TargetError};
use std::path::PathBuf;

/// Why a command failed. [`CliError::exit_code`] maps it to DESIGN §9's codes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum CliError {
    /// The arguments do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// The configuration file is unusable.
    #[error("{}: {reason}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The migrations folder is invalid.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A run or a ledger read failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A target cannot be resolved.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The database drifted from the migrations.
    #[error(transparent)]
    Drift(#[from] DriftError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The operation was refused; the message says why and what to do.
    #[error("{0}")]
    Refused(String),
    /// Already reported (clap's help and usage errors); exit with this code.
    #[error("exit {0}")]
    Exit(u8),
}

impl CliError {
    /// 2 for usage errors, 1 for everything refused or failed.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Exit(code) => *code,
            _ => 1,
        }
    }

    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CliError {
        let path = path.into();
        move |source| CliError::Io { path, source }
    }
}
