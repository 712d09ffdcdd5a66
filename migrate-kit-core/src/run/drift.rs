//! Drift detection (DESIGN §7): comparing a migration set with what a
//! database's ledger says was applied.

use crate::backend::ledger::{AppliedRowRef, Status};
use crate::backend::{ready, AsyncBackend, Backend, Ops};
use crate::error::RunError;
use crate::hint::Cmd;
use crate::set::Migrations;
use std::fmt;

/// An applied revision whose file changed after it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modified {
    /// The revision.
    pub revision: String,
    /// Its file.
    pub path: String,
    /// The checksum recorded when it ran.
    pub recorded: String,
    /// The file's checksum now.
    pub current: String,
}

/// An applied revision this set does not contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// The revision.
    pub revision: String,
    /// Whether `migrate_applied` holds its downgrade SQL.
    pub has_downgrade_sql: bool,
}

/// The result of [`Migrations::verify`]; every list is in apply order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriftReport {
    /// The database's heads (`alembic_version`).
    pub heads: Vec<String>,
    /// Revisions not yet applied.
    pub pending: Vec<String>,
    /// Applied revisions whose file was edited afterwards.
    pub modified: Vec<Modified>,
    /// Applied revisions missing from this set (the database is ahead).
    pub unknown: Vec<Unknown>,
    /// Disagreements between `alembic_version` and `migrate_applied`.
    pub inconsistent: Vec<String>,
    /// Applied revisions with no recorded checksum (taken over from Alembic).
    pub unverified: Vec<String>,
    /// Non-transactional migrations that started and never finished.
    pub dirty: Vec<String>,
    /// Tables of a database that has no ledger at all (created by hand).
    pub untracked_tables: Vec<String>,
}

impl DriftReport {
    /// Whether the database may be used and upgraded as it is: nothing
    /// modified, unknown, inconsistent, dirty or created by hand.
    pub fn is_clean(&self) -> bool {
        self.modified.is_empty()
            && self.unknown.is_empty()
            && self.inconsistent.is_empty()
            && self.dirty.is_empty()
            && self.untracked_tables.is_empty()
    }

    /// `Ok` when [`DriftReport::is_clean`], else an error that says what to do.
    pub fn ensure_clean(&self) -> Result<(), DriftError> {
        if self.is_clean() {
            Ok(())
        } else {
            Err(DriftError {
                report: Box::new(self.clone()),
            })
        }
    }
}

impl DriftReport {
    /// One line per finding (what `migrate verify` prints between the
    /// heads and the pending revisions), each saying what to do.
    pub(crate) fn findings(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for m in &self.modified {
            lines.push(format!(
                "modified: {} ({}) was edited after it was applied: recorded {}, file now {}; restore the file, or accept it with {}",
                m.revision, m.path, m.recorded, m.current, Cmd(format!("repair --accept {}", m.revision))
            ));
        }
        for u in &self.unknown {
            let how = if u.has_downgrade_sql {
                "its stored downgrade SQL can roll it back"
            } else {
                "no downgrade SQL is stored for it"
            };
            lines.push(format!("unknown: {} is applied but not in these migrations (the database is ahead of this binary, or files are missing); {how}", u.revision));
        }
        for i in &self.inconsistent {
            lines.push(format!("inconsistent: {i}"));
        }
        for d in &self.dirty {
            lines.push(format!("dirty: {d} started without finishing (non-transactional); check the database, then run {}", Cmd(format!("repair --clear-dirty {d}"))));
        }
        if !self.untracked_tables.is_empty() {
            lines.push(format!(
                "created by hand: tables {} exist but there is no migration ledger; run {} to find and stamp the revision it matches",
                self.untracked_tables.join(", "),
                Cmd("adopt")
            ));
        }
        if !self.unverified.is_empty() {
            lines.push(format!(
                "unverified: {} (applied by Alembic, no checksum yet; {} records them)",
                self.unverified.join(", "),
                Cmd("repair")
            ));
        }
        lines
    }
}

impl fmt::Display for DriftReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let heads = if self.heads.is_empty() {
            "base".to_owned()
        } else {
            self.heads.join(", ")
        };
        writeln!(f, "database at: {heads}")?;
        for line in self.findings() {
            writeln!(f, "{line}")?;
        }
        if !self.pending.is_empty() {
            writeln!(f, "pending: {}", self.pending.join(", "))?;
        }
        if self.is_clean() {
            writeln!(f, "ok: no drift")?;
        }
        Ok(())
    }
}

/// The database has drifted from the migrations; [`DriftReport`] says how.
/// `{:?}` prints the message; `{:#?}` the report's data.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("the database does not match the migrations:\n{report}")]
pub struct DriftError {
    /// The full report.
    pub report: Box<DriftReport>,
}

crate::message::debug_as_message!(DriftError, |error, f| f
    .debug_struct("DriftError")
    .field("report", &error.report)
    .finish());

impl Migrations {
    /// Compares the set with the database's ledger. Reads only; takes no write lock.
    pub fn verify<B: Backend + ?Sized>(&self, db: &mut B) -> Result<DriftReport, RunError> {
        ready(self.drift(db))
    }

    /// [`Migrations::verify`] from async code.
    pub async fn verify_async<B: AsyncBackend + ?Sized>(
        &self,
        db: &mut B,
    ) -> Result<DriftReport, RunError> {
        self.drift(db).await
    }

    /// The drift report of the ledger `db` holds.
    pub(crate) async fn drift<B: Ops + ?Sized>(&self, db: &mut B) -> Result<DriftReport, RunError> {
        let graph = self.graph()?;
        let n = graph.len();
        let mut report = DriftReport::default();
        let mut applied = vec![false; n];
        // Rows of revisions this set does not hold, each with whether a
        // squashed baseline of the set replaces it.
        let mut outside: Vec<(Unknown, bool)> = Vec::new();
        let state = db
            .read_ledger(&mut |row| match graph.find(row.revision) {
                Some(i) => self.check_row(i, row, &mut applied, &mut report),
                None => {
                    let replaced = self.check_replaced_row(row, &mut report);
                    let row = Unknown {
                        revision: row.revision.to_owned(),
                        has_downgrade_sql: row.has_downgrade_sql,
                    };
                    outside.push((row, replaced));
                }
            })
            .await?;
        report.heads = state.heads.clone();
        if !state.has_version_table && !state.has_applied_table && !state.user_tables.is_empty() {
            report.untracked_tables = state.user_tables;
        }
        let known_heads: Vec<usize> = state.heads.iter().filter_map(|h| graph.find(h)).collect();
        let below_heads = graph.ancestors(&known_heads);
        let mut unknown: Vec<Unknown> = state
            .heads
            .iter()
            .filter(|h| graph.find(h).is_none())
            .map(|h| Unknown {
                revision: h.clone(),
                has_downgrade_sql: outside
                    .iter()
                    .any(|(row, _)| row.revision == *h && row.has_downgrade_sql),
            })
            .collect();
        for (row, replaced) in outside {
            if !replaced && !unknown.iter().any(|u| u.revision == row.revision) {
                unknown.push(row);
            }
        }
        if !state.has_applied_table {
            // Migrated by Alembic: everything below its heads counts as applied, unverified.
            applied = below_heads.clone();
            report.unverified = (0..n)
                .filter(|&i| applied[i])
                .map(|i| graph.id(i).to_owned())
                .collect();
        } else if unknown.is_empty() {
            for i in 0..n {
                match (below_heads[i], applied[i]) {
                    (true, false) if !report.dirty.iter().any(|d| d == graph.id(i)) => report.inconsistent.push(format!(
                        "{} is below the alembic_version heads but has no migrate_applied row (a hand edit?); {} can rewrite the ledger",
                        graph.id(i),
                        Cmd("stamp")
                    )),
                    (false, true) => report.inconsistent.push(format!(
                        "{} has a migrate_applied row but is not below any alembic_version head ({}); {} can rewrite the ledger",
                        graph.id(i),
                        if state.heads.is_empty() { "none".to_owned() } else { state.heads.join(", ") },
                        Cmd("stamp")
                    )),
                    _ => {}
                }
            }
            let expected = graph.heads_of(&applied);
            let mut expected_names = graph.names(&expected);
            let mut actual = state.heads.clone();
            expected_names.sort();
            actual.sort();
            // Alembic keeps a row for a revision that another row stands on
            // through `depends_on` or a redundant merge parent, so rows may
            // be more than the heads; every head must be one of them.
            let missing = expected_names.iter().any(|h| !actual.contains(h));
            if report.inconsistent.is_empty() && missing {
                report.inconsistent.push(format!(
                    "alembic_version holds {} but the heads of the applied revisions are {}",
                    if actual.is_empty() {
                        "no row".to_owned()
                    } else {
                        actual.join(", ")
                    },
                    if expected_names.is_empty() {
                        "none".to_owned()
                    } else {
                        expected_names.join(", ")
                    }
                ));
            }
        }
        report.unknown = unknown;
        let covered = graph.ancestors(&(0..n).filter(|&i| applied[i]).collect::<Vec<_>>());
        report.pending = (0..n)
            .filter(|&i| !covered[i])
            .map(|i| graph.id(i).to_owned())
            .collect();
        for line in report.findings() {
            crate::events::drift_finding(&line);
        }
        Ok(report)
    }

    /// Checks the ledger row of revision `i` of this set: its checksum
    /// against the file's (or, for a squashed baseline's own id, the file it
    /// replaced), or that it never finished.
    fn check_row(
        &self,
        i: usize,
        row: AppliedRowRef<'_>,
        applied: &mut [bool],
        report: &mut DriftReport,
    ) {
        let m = &self.as_slice()[i];
        if row.status == Status::Started {
            report.dirty.push(row.revision.to_owned());
            return;
        }
        applied[i] = true;
        match row.checksum {
            None => report.unverified.push(row.revision.to_owned()),
            Some(recorded)
                if !m.checksum().matches(recorded)
                    && m.replaced_checksum(m.revision())
                        .is_none_or(|old| !old.matches(recorded)) =>
            {
                report.modified.push(Modified {
                    revision: row.revision.to_owned(),
                    path: m.path().to_owned(),
                    recorded: String::from_utf8_lossy(recorded).into_owned(),
                    current: m.checksum().to_string(),
                })
            }
            Some(_) => {}
        }
    }

    /// Checks a row of a revision applied before a squash against the
    /// checksum its file had, which the baseline records. Returns whether
    /// a baseline of this set replaces the revision.
    fn check_replaced_row(&self, row: AppliedRowRef<'_>, report: &mut DriftReport) -> bool {
        let Some(baseline) = self.replaced_by(row.revision) else {
            return false;
        };
        let expected = baseline.replaced_checksum(row.revision);
        if let (Some(recorded), Some(expected)) = (row.checksum, expected) {
            if !expected.matches(recorded) {
                report.modified.push(Modified {
                    revision: row.revision.to_owned(),
                    path: format!(
                        "{} (squashed into {})",
                        baseline.path(),
                        baseline.revision()
                    ),
                    recorded: String::from_utf8_lossy(recorded).into_owned(),
                    current: expected.to_string(),
                });
            }
        }
        true
    }
}
