//! Where the schema tools replay migrations: the [`Lab`] the stairway test
//! and the revision search are written against, and SQLite's
//! ([`SqliteLab`]). PostgreSQL's is [`ServerLab`](super::server_lab::ServerLab).

use super::diff::{diff, Diff, Renames};
use crate::backend::database::Database;
use crate::backend::Backend;
use crate::error::RunError;
use crate::graph::target::Target;
use crate::model::schema::Schema;
use crate::run::options::RunOptions;
use crate::set::Migrations;

/// Where the schema tools replay migrations and how they compare what
/// they find: SQLite's in-memory databases ([`SqliteLab`]), or databases
/// created on a PostgreSQL server (`postgres::tools::ServerLab`). The
/// stairway test and the search for a matching revision are written once
/// against it.
pub(crate) trait Lab {
    /// A scratch database, dropped when the value is.
    type Scratch;
    /// The backend the migrations run through on a scratch database.
    type Db: Backend + ?Sized;
    /// A schema as this backend reads it.
    type Snapshot;

    /// A new empty scratch database.
    fn scratch(&self) -> Result<Self::Scratch, RunError>;

    /// The backend of a scratch database.
    fn db<'s>(&self, scratch: &'s mut Self::Scratch) -> &'s mut Self::Db;

    /// The schema of a scratch database.
    fn snapshot(&self, scratch: &mut Self::Scratch) -> Result<Self::Snapshot, RunError>;

    /// From `expected` to `found`: empty when they are equal.
    fn compare(&self, expected: &Self::Snapshot, found: &Self::Snapshot) -> Diff;

    /// A scratch database with exactly `heads` (and what they need) applied.
    fn replayed(&self, set: &Migrations, heads: &[String]) -> Result<Self::Scratch, RunError> {
        let mut scratch = self.scratch()?;
        for head in heads {
            set.upgrade_with(
                self.db(&mut scratch),
                &Target::Revision(head.clone()),
                &RunOptions::default(),
            )?;
        }
        Ok(scratch)
    }
}

/// SQLite's lab: in-memory databases, compared through the schema model
/// (so a difference comes with its SQL).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SqliteLab;

impl Lab for SqliteLab {
    type Scratch = Database;
    type Db = Database;
    type Snapshot = Schema;

    fn scratch(&self) -> Result<Database, RunError> {
        Database::scratch()
    }

    fn db<'s>(&self, scratch: &'s mut Database) -> &'s mut Database {
        scratch
    }

    fn snapshot(&self, scratch: &mut Database) -> Result<Schema, RunError> {
        scratch.schema()
    }

    fn compare(&self, expected: &Schema, found: &Schema) -> Diff {
        diff(expected, found, &Renames::default())
    }
}
