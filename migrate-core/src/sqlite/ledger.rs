//! The three ledger tables of DESIGN §5 and every read and write of them.

use super::error::{Doing, RunError};
use crate::graph::plan::RowOp;
use crate::migration::Migration;
use rusqlite::{params, Connection, OptionalExtension};

/// Alembic's own DDL for its version table, byte for byte as SQLAlchemy
/// emits it, so Alembic and `SELECT * FROM alembic_version` keep working.
pub const ALEMBIC_VERSION_DDL: &str = "CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, \n\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)";

/// One row per applied revision.
pub const MIGRATE_APPLIED_DDL: &str = "CREATE TABLE migrate_applied (
    revision VARCHAR(32) NOT NULL PRIMARY KEY,
    checksum TEXT,
    message TEXT NOT NULL,
    down_revision TEXT NOT NULL,
    downgrade_sql TEXT,
    applied_at TEXT NOT NULL,
    execution_ms INTEGER,
    status TEXT NOT NULL DEFAULT 'applied' CHECK (status IN ('applied', 'stamped', 'started'))
)";

/// One row per operation; never rewritten.
pub const MIGRATE_LOG_DDL: &str = "CREATE TABLE migrate_log (
    id INTEGER PRIMARY KEY,
    logged_at TEXT NOT NULL,
    operation TEXT NOT NULL,
    heads_before TEXT NOT NULL,
    heads_after TEXT NOT NULL,
    revisions TEXT NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT
)";

/// The names of the ledger tables.
pub const LEDGER_TABLES: [&str; 3] = ["alembic_version", "migrate_applied", "migrate_log"];

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// How a revision came to be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Its upgrade ran.
    Applied,
    /// `stamp` recorded it without running anything.
    Stamped,
    /// A non-transactional upgrade began and has not finished.
    Started,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::Stamped => "stamped",
            Status::Started => "started",
        }
    }

    fn parse(text: &[u8]) -> Status {
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
pub struct AppliedRow {
    /// The revision id.
    pub revision: String,
    /// `sha256:...`, or `None` for revisions taken over from Alembic.
    pub checksum: Option<String>,
    /// Whether the downgrade SQL was stored when it was applied.
    pub has_downgrade_sql: bool,
    /// How it was recorded.
    pub status: Status,
}

/// An [`AppliedRow`] borrowed from SQLite while its statement steps, so
/// that checking 1,000 rows at start-up copies none of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppliedRowRef<'row> {
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
    pub fn to_owned_row(self) -> AppliedRow {
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
#[derive(Debug, Clone, Default)]
pub struct LedgerState {
    /// Whether `alembic_version` exists.
    pub has_version_table: bool,
    /// Whether `migrate_applied` exists.
    pub has_applied_table: bool,
    /// The rows of `alembic_version`, in rowid order.
    pub heads: Vec<String>,
    /// The rows of `migrate_applied`.
    pub applied: Vec<AppliedRow>,
    /// Tables that are neither the ledger nor SQLite's own.
    pub user_tables: Vec<String>,
}

fn table_exists(conn: &Connection, name: &str) -> Result<bool, RunError> {
    conn.query_row(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [name],
        |_| Ok(()),
    )
    .optional()
    .doing("reading the schema")
    .map(|found| found.is_some())
}

/// Reads the ledger. Missing tables read as empty.
pub fn read(conn: &Connection) -> Result<LedgerState, RunError> {
    let mut applied = Vec::new();
    let mut state = read_visiting_rows(conn, |row| applied.push(row.to_owned_row()))?;
    state.applied = applied;
    Ok(state)
}

/// Reads the ledger but hands each row of `migrate_applied` to `visit`, in
/// rowid order, instead of collecting it (`applied` stays empty).
pub fn read_visiting_rows(
    conn: &Connection,
    mut visit: impl FnMut(AppliedRowRef<'_>),
) -> Result<LedgerState, RunError> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
        .doing("reading the schema")?;
    let tables: Vec<String> = stmt
        .query_map([], |row| row.get(0))
        .and_then(|r| r.collect())
        .doing("reading the schema")?;
    let mut state = LedgerState {
        has_version_table: tables.iter().any(|t| t == "alembic_version"),
        has_applied_table: tables.iter().any(|t| t == "migrate_applied"),
        ..LedgerState::default()
    };
    state.user_tables = tables
        .into_iter()
        .filter(|t| !LEDGER_TABLES.contains(&t.as_str()))
        .collect();
    if state.has_version_table {
        let mut stmt = conn
            .prepare("SELECT version_num FROM alembic_version ORDER BY rowid")
            .doing("reading alembic_version")?;
        state.heads = stmt
            .query_map([], |row| row.get(0))
            .and_then(|rows| rows.collect())
            .doing("reading alembic_version")?;
    }
    if state.has_applied_table {
        let mut stmt = conn
            .prepare("SELECT revision, checksum, downgrade_sql IS NOT NULL, status FROM migrate_applied ORDER BY rowid")
            .doing("reading migrate_applied")?;
        let mut rows = stmt.query([]).doing("reading migrate_applied")?;
        while let Some(row) = rows.next().doing("reading migrate_applied")? {
            visit(applied_row(row).doing("reading migrate_applied")?);
        }
    }
    Ok(state)
}

/// One row of the `migrate_applied` query above, borrowed.
fn applied_row<'row>(row: &'row rusqlite::Row<'_>) -> rusqlite::Result<AppliedRowRef<'row>> {
    Ok(AppliedRowRef {
        revision: row.get_ref(0)?.as_str()?,
        checksum: row.get_ref(1)?.as_bytes_or_null()?,
        has_downgrade_sql: row.get(2)?,
        status: Status::parse(row.get_ref(3)?.as_bytes()?),
    })
}

/// Creates whichever ledger tables are missing.
pub fn ensure_tables(conn: &Connection) -> Result<(), RunError> {
    for (name, ddl) in
        LEDGER_TABLES
            .iter()
            .zip([ALEMBIC_VERSION_DDL, MIGRATE_APPLIED_DDL, MIGRATE_LOG_DDL])
    {
        if !table_exists(conn, name)? {
            conn.execute_batch(ddl)
                .doing("creating the ledger tables")?;
        }
    }
    Ok(())
}

/// Applies one change to `alembic_version`, checking that it touches exactly one row.
pub fn apply_row_op(conn: &Connection, op: &RowOp) -> Result<(), RunError> {
    let (changed, what) = match op {
        RowOp::Insert(rev) => (
            conn.execute("INSERT INTO alembic_version (version_num) VALUES (?1)", [rev]),
            format!("insert `{rev}` into alembic_version"),
        ),
        RowOp::Delete(rev) => (
            conn.execute("DELETE FROM alembic_version WHERE alembic_version.version_num = ?1", [rev]),
            format!("delete `{rev}` from alembic_version"),
        ),
        RowOp::Update { from, to } => (
            conn.execute(
                "UPDATE alembic_version SET version_num = ?1 WHERE alembic_version.version_num = ?2",
                [to, from],
            ),
            format!("move alembic_version from `{from}` to `{to}`"),
        ),
    };
    match changed.doing("updating alembic_version")? {
        1 => Ok(()),
        n => Err(RunError::Ledger(format!(
            "expected to {what} on exactly one row, changed {n}"
        ))),
    }
}

/// Records a revision as applied (or stamped, or started).
pub fn record_applied(
    conn: &Connection,
    m: &Migration,
    status: Status,
    execution_ms: Option<i64>,
) -> Result<(), RunError> {
    record(
        conn,
        m,
        Some(m.checksum().to_string()),
        status,
        execution_ms,
    )
}

/// Records a revision that Alembic applied: its checksum is unknown until
/// `migrate repair` records it.
pub fn record_taken_over(conn: &Connection, m: &Migration) -> Result<(), RunError> {
    record(conn, m, None, Status::Applied, None)
}

fn record(
    conn: &Connection,
    m: &Migration,
    checksum: Option<String>,
    status: Status,
    execution_ms: Option<i64>,
) -> Result<(), RunError> {
    let down: Vec<&str> = m.down_revisions().collect();
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO migrate_applied (revision, checksum, message, down_revision, downgrade_sql, applied_at, execution_ms, status)
             VALUES (?1, ?2, ?3, ?4, ?5, {NOW}, ?6, ?7)"
        ),
        params![
            m.revision(),
            checksum,
            m.message(),
            down.join(","),
            m.downgrade().map(|s| s.sql()),
            execution_ms,
            status.as_str(),
        ],
    )
    .doing("recording the migration in migrate_applied")?;
    Ok(())
}

/// What `migrate_applied` keeps of an applied revision for rolling it back
/// without its file.
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

/// The stored downgrades of `revisions`, newest first (the reverse of the
/// order they were recorded in).
pub fn stored_downgrades(
    conn: &Connection,
    revisions: &[String],
) -> Result<Vec<StoredDowngrade>, RunError> {
    let mut stmt = conn
        .prepare("SELECT revision, message, down_revision, downgrade_sql FROM migrate_applied ORDER BY rowid DESC")
        .doing("reading migrate_applied")?;
    let rows: Vec<StoredDowngrade> = stmt
        .query_map([], |row| {
            let down: String = row.get(2)?;
            Ok(StoredDowngrade {
                revision: row.get(0)?,
                message: row.get(1)?,
                down_revisions: down
                    .split(',')
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned)
                    .collect(),
                sql: row.get(3)?,
            })
        })
        .and_then(|rows| rows.collect())
        .doing("reading migrate_applied")?;
    Ok(rows
        .into_iter()
        .filter(|r| revisions.contains(&r.revision))
        .collect())
}

/// Removes a revision's row (after its downgrade, or when stamped away).
pub fn forget(conn: &Connection, revision: &str) -> Result<(), RunError> {
    conn.execute(
        "DELETE FROM migrate_applied WHERE revision = ?1",
        [revision],
    )
    .doing("updating migrate_applied")?;
    Ok(())
}

/// Sets the checksum of an applied revision (`repair`).
pub fn set_checksum(conn: &Connection, revision: &str, checksum: &str) -> Result<(), RunError> {
    conn.execute(
        "UPDATE migrate_applied SET checksum = ?2 WHERE revision = ?1",
        [revision, checksum],
    )
    .doing("updating migrate_applied")?;
    Ok(())
}

/// One row of `migrate_log`.
#[derive(Debug, Clone)]
pub struct LogEntry<'a> {
    /// `upgrade`, `downgrade`, `stamp`, `repair`, `restore`.
    pub operation: &'a str,
    /// Heads before, comma-separated.
    pub heads_before: &'a [String],
    /// Heads after, comma-separated.
    pub heads_after: &'a [String],
    /// Revisions touched.
    pub revisions: &'a [String],
    /// `ok` or `failed`.
    pub outcome: &'a str,
    /// The error, when failed.
    pub error: Option<&'a str>,
}

/// Appends a row to `migrate_log`.
pub fn log(conn: &Connection, entry: &LogEntry<'_>) -> Result<(), RunError> {
    conn.execute(
        &format!(
            "INSERT INTO migrate_log (logged_at, operation, heads_before, heads_after, revisions, outcome, error)
             VALUES ({NOW}, ?1, ?2, ?3, ?4, ?5, ?6)"
        ),
        params![
            entry.operation,
            entry.heads_before.join(","),
            entry.heads_after.join(","),
            entry.revisions.join(","),
            entry.outcome,
            entry.error,
        ],
    )
    .doing("writing migrate_log")?;
    Ok(())
}
