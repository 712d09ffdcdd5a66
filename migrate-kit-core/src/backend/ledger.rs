//! What the ledger tables of DESIGN §5 hold, as the orchestration reads and
//! writes them through a [`Backend`](crate::backend::Backend).

/// The names of the ledger tables.
pub(crate) const LEDGER_TABLES: [&str; 3] = ["alembic_version", "migrate_applied", "migrate_log"];

/// How a revision came to be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Its upgrade ran.
    Applied,
    /// `stamp` recorded it without running anything.
    Stamped,
    /// A non-transactional upgrade began and has not finished.
    Started,
}

impl Status {
    /// The text stored in `migrate_applied.status`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::Stamped => "stamped",
            Status::Started => "started",
        }
    }

    /// Reads the stored text; anything unknown counts as applied.
    pub(crate) fn parse(text: &[u8]) -> Status {
        match text {
            b"stamped" => Status::Stamped,
            b"started" => Status::Started,
            _ => Status::Applied,
        }
    }
}

/// What start-up checks need of a row of `migrate_applied` (the message,
/// times and downgrade text stay in the table for `migrate history` and
/// for rolling back revisions the files no longer hold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppliedRow {
    /// The revision id.
    pub revision: String,
    /// `sha256:...`, or `None` for revisions taken over from Alembic.
    pub checksum: Option<String>,
    /// Whether the downgrade SQL was stored when it was applied.
    pub has_downgrade_sql: bool,
    /// How it was recorded.
    pub status: Status,
}

/// An [`AppliedRow`] borrowed from the database while its statement steps,
/// so that checking 1,000 rows at start-up copies none of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AppliedRowRef<'row> {
    /// The revision id.
    pub revision: &'row str,
    /// The stored checksum text's bytes, or `None` for revisions taken over
    /// from Alembic (compare with [`Checksum::matches`](crate::Checksum::matches)).
    pub checksum: Option<&'row [u8]>,
    /// Whether the downgrade SQL was stored when it was applied.
    pub has_downgrade_sql: bool,
    /// How it was recorded.
    pub status: Status,
}

impl AppliedRowRef<'_> {
    /// The owned row.
    pub(crate) fn to_owned_row(self) -> AppliedRow {
        AppliedRow {
            revision: self.revision.to_owned(),
            checksum: self
                .checksum
                .map(|c| String::from_utf8_lossy(c).into_owned()),
            has_downgrade_sql: self.has_downgrade_sql,
            status: self.status,
        }
    }
}

/// What the ledger says, read in one snapshot.
// `pub` in a crate-private module, so unreachable from outside: the sealed
// `Ops` trait returns it from an `async fn`, whose hidden future type the
// `private_interfaces` lint checks without heeding an `allow` on the item.
#[derive(Debug, Clone, Default)]
pub struct LedgerState {
    /// Whether `alembic_version` exists.
    pub has_version_table: bool,
    /// Whether `migrate_applied` exists.
    pub has_applied_table: bool,
    /// The rows of `alembic_version`, in the order they were inserted.
    pub heads: Vec<String>,
    /// The rows of `migrate_applied` (empty when a visitor read them).
    pub(crate) applied: Vec<AppliedRow>,
    /// Tables that are neither the ledger nor the database's own.
    pub user_tables: Vec<String>,
}

/// A row to write to `migrate_applied`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewRow<'a> {
    /// The revision.
    pub revision: &'a str,
    /// `sha256:...`, or `None` when taken over from Alembic.
    pub checksum: Option<&'a str>,
    /// Its message.
    pub message: &'a str,
    /// Its `down_revision` ids, comma-separated.
    pub down_revisions: &'a str,
    /// Its downgrade SQL, kept for rolling it back without the file.
    pub downgrade_sql: Option<&'a str>,
    /// How long its upgrade took.
    pub execution_ms: Option<i64>,
    /// How it is recorded.
    pub status: Status,
}

/// What `migrate_applied` keeps of an applied revision for rolling it back
/// without its file.
// `pub` for the reason `LedgerState` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDowngrade {
    /// The revision.
    pub revision: String,
    /// Its message.
    pub message: String,
    /// Its `down_revision` ids.
    pub down_revisions: Vec<String>,
    /// The downgrade SQL, when it had one.
    pub sql: Option<String>,
}

/// One row of `migrate_log`.
#[derive(Debug, Clone)]
pub(crate) struct LogEntry<'a> {
    /// `upgrade`, `downgrade`, `stamp`, `repair`, `restore`, `import`.
    pub operation: &'a str,
    /// Heads before.
    pub heads_before: &'a [String],
    /// Heads after.
    pub heads_after: &'a [String],
    /// Revisions touched.
    pub revisions: &'a [String],
    /// `ok` or `failed`.
    pub outcome: &'a str,
    /// The error, when failed (or what a repair did).
    pub error: Option<&'a str>,
}
