//! Replaying migrations on scratch SQLite databases in memory: the
//! build-time check of `embed_migrations!(..., replay)` and the scratch
//! databases of tests and tools.

use crate::backend::sqlite::{Connection, Doing};
use crate::error::{LedgerError, RunError};
use crate::graph::target::Target;
use crate::run::options::RunOptions;
use crate::set::Migrations;

/// Runs every migration of `set` on an empty in-memory database, in order,
/// then reverts them, newest first, down to base or to the newest
/// irreversible revision: the build-time check of `embed_migrations!(...,
/// replay)`. The first failure names the file, line, statement and
/// SQLite's message.
pub fn replay_up_and_down(set: &Migrations) -> Result<(), RunError> {
    let mut conn = Connection::open_in_memory().doing("opening an in-memory database")?;
    let options = RunOptions::default();
    set.upgrade_with(&mut conn, &Target::Heads, &options)?;
    let mut target = Target::Base;
    loop {
        match set.downgrade_with(&mut conn, &target, &options) {
            Err(RunError::Ledger(LedgerError::Irreversible { revision, .. }))
                if target != Target::Revision(revision.clone()) =>
            {
                // Down to the revision that cannot be reverted, and no further.
                target = Target::Revision(revision);
            }
            other => return other.map(|_| ()),
        }
    }
}

/// A scratch in-memory database with the migrations applied up to `target`.
pub fn replay(set: &Migrations, target: &Target) -> Result<Connection, RunError> {
    let mut conn = Connection::open_in_memory().doing("opening a scratch database")?;
    set.upgrade_with(&mut conn, target, &RunOptions::default())?;
    Ok(conn)
}
