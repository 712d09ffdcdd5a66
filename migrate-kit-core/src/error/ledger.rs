//! Refusals that come from what the ledger holds: revisions these files
//! lack, a database made by hand, an irreversible or interrupted
//! migration, `alembic_version` edited under a run, a repair that names
//! nothing.

use crate::graph::plan::RowOp;
use crate::hint::Cmd;

/// Why the ledger (`alembic_version`, `migrate_applied`) refuses an
/// operation. Nothing was changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The database names revisions this set does not contain.
    #[error("Can't locate revision identified by '{}': the database is at a revision these migration files do not contain (the database is ahead of this binary, or files are missing). {}", .revisions.join("', '"), rollback_text(.rollback, .known_heads))]
    UnknownRevisions {
        /// The unknown revisions.
        revisions: Vec<String>,
        /// Those whose downgrade SQL is stored in `migrate_applied`.
        rollback: Vec<String>,
        /// Where the database is once they are rolled back: the newest
        /// revisions of these files it has applied.
        known_heads: Vec<String>,
    },
    /// The database is at a revision a squashed baseline replaced.
    #[error("the database is at `{revision}`, which the squashed baseline `{baseline}` replaced; upgrade it to `{baseline}` or later with a binary from before the squash, then use this one")]
    Squashed {
        /// The database's revision.
        revision: String,
        /// The baseline that replaced it.
        baseline: String,
    },
    /// Tables but no ledger: a database created by hand.
    #[error("the database has tables ({}) but no migration ledger: it was created by hand, not through migrations; {} finds the revision its schema matches and stamps it; when none matches, {} moves its data into a database built by the migrations", .tables.join(", "), Cmd("adopt"), Cmd("rebuild"))]
    CreatedByHand {
        /// The user tables found.
        tables: Vec<String>,
    },
    /// A downgrade through a migration with no downgrade section.
    #[error("revision `{revision}` ({path}) is irreversible: it has no `-- migrate:downgrade` section; nothing was changed")]
    Irreversible {
        /// The revision.
        revision: String,
        /// Its file.
        path: String,
    },
    /// A `transactional: false` migration started but never finished.
    #[error("revision `{revision}` is marked as started but not finished (a non-transactional migration was interrupted); check the database by hand, then run {} to clear the mark", Cmd(format!("repair --clear-dirty {}", .revision)))]
    Dirty {
        /// The revision.
        revision: String,
    },
    /// A change to `alembic_version` did not touch exactly one row: the
    /// table was edited while the run held the lock, or by hand before it.
    #[error("expected to {} on exactly one row of alembic_version, but {changed} rows changed; the run was rolled back. {} shows what the ledger holds", row_op_text(.operation), Cmd("verify"))]
    VersionRows {
        /// The change.
        operation: RowOp,
        /// How many rows it changed.
        changed: usize,
    },
    /// A repair named a revision that has no `migrate_applied` row.
    #[error("revision `{revision}` is not recorded as applied, so there is nothing to {action}; {} shows what is applied", Cmd("current"))]
    NotRecorded {
        /// The revision.
        revision: String,
        /// What was asked (`accept`, `clear`).
        action: &'static str,
    },
    /// `repair --clear-dirty` named a revision that has no started mark.
    #[error(
        "revision `{revision}` has no started mark to clear; {} lists the dirty ones",
        Cmd("verify")
    )]
    NotStarted {
        /// The revision.
        revision: String,
    },
}

fn row_op_text(op: &RowOp) -> String {
    match op {
        RowOp::Insert(rev) => format!("insert `{rev}`"),
        RowOp::Delete(rev) => format!("delete `{rev}`"),
        RowOp::Update { from, to } => format!("move `{from}` to `{to}`"),
    }
}

fn rollback_text(rollback: &[String], known_heads: &[String]) -> String {
    if rollback.is_empty() {
        format!("No downgrade SQL is stored for them (ids from before this tool, or files applied by Alembic): deploy the migration files that contain them; if they are gone for good, {} finds the revision the schema matches and stamps it in their place.", Cmd("adopt"))
    } else {
        let target = match known_heads {
            [] => "base".to_owned(),
            [one] => one.clone(),
            _ => "heads".to_owned(),
        };
        format!(
            "Stored downgrade SQL can roll back {}: a downgrade to a revision these files hold reverts them first, in the same run ({}; embedded: `RunOptions::roll_back_unknown`).",
            rollback.join(", "),
            Cmd(format!("downgrade {target}"))
        )
    }
}
