//! A bot's start in one call: refuse drift, then bring the database to
//! `head`. An up-to-date database is read once, and no lock is taken.

use crate::backend::{ready, AsyncBackend, Backend, Ops};
use crate::error::RunError;
use crate::graph::plan::Direction;
use crate::graph::target::Target;
use crate::run::drift::{DriftError, DriftReport};
use crate::run::options::{RunOptions, RunReport};
use crate::set::Migrations;

/// What [`Migrations::start`] found and did.
#[derive(Debug, Clone)]
pub struct Startup {
    /// The ledger as it was found (clean, or the start was refused);
    /// `unverified` lists revisions Alembic applied, whose checksums
    /// `migrate repair` records.
    pub drift: DriftReport,
    /// The upgrade to `head`; without steps when there was nothing to run.
    pub run: RunReport,
}

/// Why [`Migrations::start`] refused or failed. `{:?}` prints the message
/// (what `?` in `main` shows); `{:#?}` the data.
#[derive(thiserror::Error)]
pub enum StartError {
    /// The database has drifted from the migrations; nothing was run.
    #[error(transparent)]
    Drift(#[from] DriftError),
    /// The upgrade failed (and was rolled back as [`RunError`] says).
    #[error(transparent)]
    Run(#[from] RunError),
}

crate::message::debug_as_message!(StartError, |error, f| match error {
    StartError::Drift(inner) => f.debug_tuple("Drift").field(inner).finish(),
    StartError::Run(inner) => f.debug_tuple("Run").field(inner).finish(),
});

impl Migrations {
    /// [`Migrations::start_with`] with the default [`RunOptions`].
    pub fn start<B: Backend + ?Sized>(&self, db: &mut B) -> Result<Startup, StartError> {
        ready(self.start_run(db, &RunOptions::default()))
    }

    /// [`Migrations::start`] from async code, on the bot's own connection
    /// ([`AsyncBackend`]: a `tokio_postgres::Client`, a deadpool-postgres or
    /// bb8 object dereferenced to one, or
    /// [`Postgres`](crate::postgres::Postgres) over one for other
    /// [`ServerSettings`](crate::postgres::ServerSettings)). The same
    /// checks, lock and single transaction as the blocking start; the
    /// connection is awaited, never blocked on.
    ///
    /// Dropping the future before it completes (a timeout around it) leaves
    /// the run's transaction open on the connection until the server sees
    /// it close: drop that connection too, or take it out of its pool.
    pub async fn start_async<B: AsyncBackend + ?Sized>(
        &self,
        db: &mut B,
    ) -> Result<Startup, StartError> {
        self.start_run(db, &RunOptions::default()).await
    }

    /// [`Migrations::start_async`] with options.
    pub async fn start_with_async<B: AsyncBackend + ?Sized>(
        &self,
        db: &mut B,
        options: &RunOptions<'_>,
    ) -> Result<Startup, StartError> {
        self.start_run(db, options).await
    }

    /// What a bot does before serving: [`Migrations::verify`], refusing a
    /// database that drifted (an applied file edited, a database ahead of
    /// the binary, a dirty mark, a ledger that disagrees with itself, tables
    /// made by hand), then upgrades to `head` (as [`Migrations::upgrade_with`]) when
    /// anything is pending; a set of independent labelled branches is
    /// upgraded to `heads`. When nothing is, the ledger was read once and
    /// no lock was taken.
    pub fn start_with<B: Backend + ?Sized>(
        &self,
        db: &mut B,
        options: &RunOptions<'_>,
    ) -> Result<Startup, StartError> {
        ready(self.start_run(db, options))
    }

    /// The start, for either API.
    async fn start_run<B: Ops + ?Sized>(
        &self,
        db: &mut B,
        options: &RunOptions<'_>,
    ) -> Result<Startup, StartError> {
        let drift = self.drift(db).await?;
        drift.ensure_clean()?;
        let graph = self.graph().map_err(RunError::from)?;
        // A clean report names only revisions of this set.
        let current: Vec<usize> = drift.heads.iter().filter_map(|h| graph.find(h)).collect();
        // Independent branches, each with its branch label, are a legal
        // graph with several heads: the bot runs them all, as `heads` does.
        let target = if graph.heads().len() > 1 {
            Target::Heads
        } else {
            Target::Head
        };
        let plan = self.plan_from(&current, &target, Direction::Up)?;
        let run = if plan.steps.is_empty() {
            RunReport::nothing_to_run(plan)
        } else {
            // The ledger was just read: straight to the locked run.
            self.upgrade_locked(db, &target, options).await?
        };
        Ok(Startup { drift, run })
    }
}
