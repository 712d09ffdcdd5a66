//! SQLite as a [`Backend`]: the write lock, foreign keys switched off for
//! a run, the three ledger tables of DESIGN §5 and every read and write of
//! them, and Alembic's SQLite text for offline SQL.

use super::error::Doing;
use super::exec::run_sql;
use super::lock::begin_immediate_waiting;
use crate::backend::foreign_keys::Violation;
use crate::backend::ledger::{
    AppliedRowRef, LedgerState, LogEntry, NewRow, Status, StoredDowngrade, LEDGER_TABLES,
};
use crate::backend::sealed::{Blocking, Ops};
use crate::backend::WaitPolicy;
use crate::backend::{Dialect, Origin, RunScope};
use crate::error::{BackendError, RunError};
use crate::files::pieces::Pieces;
use crate::graph::plan::RowOp;
use rusqlite::{params, Connection, OptionalExtension};

/// Alembic's own DDL for its version table, byte for byte as SQLAlchemy
/// emits it, so Alembic and `SELECT * FROM alembic_version` keep working.
pub const ALEMBIC_VERSION_DDL: &str = "CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, \n\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)";

/// One row per applied revision.
pub(crate) const MIGRATE_APPLIED_DDL: &str = "CREATE TABLE migrate_applied (
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
pub(crate) const MIGRATE_LOG_DDL: &str = "CREATE TABLE migrate_log (
    id INTEGER PRIMARY KEY,
    logged_at TEXT NOT NULL,
    operation TEXT NOT NULL,
    heads_before TEXT NOT NULL,
    heads_after TEXT NOT NULL,
    revisions TEXT NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT
)";

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

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

/// Reads the ledger, handing each row of `migrate_applied` to `visit`, in
/// rowid order. The caller provides the snapshot (a transaction).
fn read_visiting_rows(
    conn: &Connection,
    visit: &mut (dyn FnMut(AppliedRowRef<'_>) + Send),
) -> Result<LedgerState, RunError> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('alembic_version', 'migrate_applied')")
        .doing("reading the schema")?;
    let ledger: Vec<String> = stmt
        .query_map([], |row| row.get(0))
        .and_then(|r| r.collect())
        .doing("reading the schema")?;
    let mut state = LedgerState {
        has_version_table: ledger.iter().any(|t| t == "alembic_version"),
        has_applied_table: ledger.iter().any(|t| t == "migrate_applied"),
        ..LedgerState::default()
    };
    if !state.has_version_table {
        // Only a database without a version table has its tables listed
        // (what a run refuses to migrate unstamped, what `current` names);
        // a ledger of 1,000 revisions is read without sorting the schema.
        state.user_tables = super::data::user_tables(conn)?;
    }
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

/// Reads the current heads (`alembic_version` rows) of a database.
pub fn current(conn: &Connection) -> Result<Vec<String>, RunError> {
    Ok(read_visiting_rows(conn, &mut |_| {})?.heads)
}

/// Whether foreign keys were enforced before a run switched them off.
#[derive(Debug)]
pub struct SqliteSession {
    foreign_keys_were_on: bool,
}

/// rusqlite blocks: a run on it needs no runtime.
impl Blocking for Connection {}

// `Ops` is sealed: its ledger types stay crate-private (docs/DESIGN.md §2).
#[allow(private_interfaces)]
impl Ops for Connection {
    type Session = SqliteSession;

    /// Refuses a connection inside a transaction of its own (the pragmas
    /// below would be no-ops there, and the run's `BEGIN` an error), sets
    /// the busy timeout, refuses a read-only database and switches foreign
    /// keys off for the run (a table rebuild needs them off).
    async fn acquire(
        &mut self,
        wait: &WaitPolicy<'_>,
        _scope: RunScope,
    ) -> Result<SqliteSession, RunError> {
        if !self.is_autocommit() {
            return Err(RunError::Backend(BackendError::InTransaction));
        }
        self.busy_timeout(wait.limit)
            .doing("setting the busy timeout")?;
        if self
            .is_readonly(rusqlite::MAIN_DB)
            .doing("opening the database")?
        {
            return Err(RunError::Backend(BackendError::ReadOnly {
                path: self.path().unwrap_or("(in memory)").to_owned(),
            }));
        }
        let foreign_keys_were_on: bool = self
            .query_row("PRAGMA foreign_keys", [], |row| row.get(0))
            .doing("reading PRAGMA foreign_keys")?;
        if foreign_keys_were_on {
            self.execute_batch("PRAGMA foreign_keys = OFF")
                .doing("switching foreign keys off")?;
        }
        Ok(SqliteSession {
            foreign_keys_were_on,
        })
    }

    /// Restores the connection's foreign-key setting, whatever a migration
    /// outside the run's transaction set.
    async fn release(&mut self, session: SqliteSession) -> Result<(), RunError> {
        let setting = if session.foreign_keys_were_on {
            "PRAGMA foreign_keys = ON"
        } else {
            "PRAGMA foreign_keys = OFF"
        };
        self.execute_batch(setting)
            .doing("restoring the foreign-key setting")
    }

    /// Switches foreign keys off again before every transaction of a run:
    /// a `transactional: false` migration (or stored downgrade SQL) that
    /// switched them on must not make a later table rebuild cascade.
    async fn begin(
        &mut self,
        wait: &WaitPolicy<'_>,
        _session: &SqliteSession,
    ) -> Result<(), RunError> {
        self.execute_batch("PRAGMA foreign_keys = OFF")
            .doing("switching foreign keys off")?;
        begin_immediate_waiting(self, wait).doing("taking the write lock")
    }

    async fn transaction_is_open(&mut self) -> Result<bool, RunError> {
        Ok(!self.is_autocommit())
    }

    async fn commit(&mut self) -> Result<(), RunError> {
        self.execute_batch("COMMIT").doing("committing")
    }

    fn abandon(&mut self, _session: &SqliteSession) {
        if !self.is_autocommit() {
            // A failed rollback leaves SQLite to roll back on close.
            let _ = self.execute_batch("ROLLBACK");
        }
    }

    async fn run_script(
        &mut self,
        pieces: &mut Pieces<'_>,
        origin: &Origin<'_>,
    ) -> Result<(), RunError> {
        run_sql(self, pieces, origin)
    }

    async fn read_ledger(
        &mut self,
        visit: &mut (dyn FnMut(AppliedRowRef<'_>) + Send),
    ) -> Result<LedgerState, RunError> {
        if !self.is_autocommit() {
            return read_visiting_rows(self, visit);
        }
        // One snapshot for the three tables.
        self.execute_batch("BEGIN").doing("reading the ledger")?;
        let state = read_visiting_rows(self, visit);
        let ended = self.execute_batch("COMMIT").doing("reading the ledger");
        let state = state?;
        ended.map(|()| state)
    }

    async fn ensure_ledger(&mut self) -> Result<(), RunError> {
        for (name, ddl) in
            LEDGER_TABLES
                .iter()
                .zip([ALEMBIC_VERSION_DDL, MIGRATE_APPLIED_DDL, MIGRATE_LOG_DDL])
        {
            if !table_exists(self, name)? {
                self.execute_batch(ddl)
                    .doing("creating the ledger tables")?;
            }
        }
        Ok(())
    }

    async fn apply_row_op(&mut self, op: &RowOp) -> Result<usize, RunError> {
        match op {
            RowOp::Insert(rev) => self.execute("INSERT INTO alembic_version (version_num) VALUES (?1)", [rev]),
            RowOp::Delete(rev) => self.execute("DELETE FROM alembic_version WHERE alembic_version.version_num = ?1", [rev]),
            RowOp::Update { from, to } => self.execute(
                "UPDATE alembic_version SET version_num = ?1 WHERE alembic_version.version_num = ?2",
                [to, from],
            ),
        }
        .doing("updating alembic_version")
    }

    async fn record(&mut self, row: &NewRow<'_>) -> Result<(), RunError> {
        rusqlite::Connection::execute(
            self,
            &format!(
                "INSERT OR REPLACE INTO migrate_applied (revision, checksum, message, down_revision, downgrade_sql, applied_at, execution_ms, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, {NOW}, ?6, ?7)"
            ),
            params![
                row.revision,
                row.checksum,
                row.message,
                row.down_revisions,
                row.downgrade_sql,
                row.execution_ms,
                row.status.as_str(),
            ],
        )
        .doing("recording the migration in migrate_applied")?;
        Ok(())
    }

    async fn forget(&mut self, revision: &str) -> Result<(), RunError> {
        rusqlite::Connection::execute(
            self,
            "DELETE FROM migrate_applied WHERE revision = ?1",
            [revision],
        )
        .doing("updating migrate_applied")?;
        Ok(())
    }

    async fn set_checksum(&mut self, revision: &str, checksum: &str) -> Result<(), RunError> {
        rusqlite::Connection::execute(
            self,
            "UPDATE migrate_applied SET checksum = ?2 WHERE revision = ?1",
            [revision, checksum],
        )
        .doing("updating migrate_applied")?;
        Ok(())
    }

    async fn stored_downgrades(&mut self) -> Result<Vec<StoredDowngrade>, RunError> {
        let mut stmt = self
            .prepare("SELECT revision, message, down_revision, downgrade_sql FROM migrate_applied ORDER BY rowid DESC")
            .doing("reading migrate_applied")?;
        stmt.query_map([], |row| {
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
        .doing("reading migrate_applied")
    }

    async fn log(&mut self, entry: &LogEntry<'_>) -> Result<(), RunError> {
        rusqlite::Connection::execute(
            self,
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

    async fn foreign_key_violations(&mut self) -> Result<Vec<Violation>, RunError> {
        let mut stmt = self
            .prepare("PRAGMA foreign_key_check")
            .doing("checking foreign keys")?;
        stmt.query_map([], |row| {
            Ok(Violation {
                table: row.get(0)?,
                rowid: row.get(1)?,
                parent: row.get(2)?,
            })
        })
        .and_then(|rows| rows.collect())
        .doing("checking foreign keys")
    }
}

/// Alembic's SQLite text for offline SQL.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn create_version_table(&self) -> String {
        format!("{ALEMBIC_VERSION_DDL};")
    }

    fn returning(&self) -> String {
        "version_num".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ready;

    fn foreign_keys(conn: &Connection) -> bool {
        conn.query_row("PRAGMA foreign_keys", [], |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn every_transaction_of_a_run_has_foreign_keys_off_and_release_restores_them() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        let wait = WaitPolicy::default();
        let session = ready(conn.acquire(&wait, RunScope::CommitsPartway)).unwrap();
        assert!(!foreign_keys(&conn));
        // What a `transactional: false` migration might do between two
        // transactions of the run.
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        ready(conn.begin(&wait, &session)).unwrap();
        assert!(!foreign_keys(&conn));
        ready(conn.commit()).unwrap();
        ready(conn.release(session)).unwrap();
        assert!(foreign_keys(&conn));

        // A connection that had them off gets them off back.
        let session = ready(conn.acquire(&wait, RunScope::OneTransaction)).unwrap();
        ready(conn.release(session)).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        let session = ready(conn.acquire(&wait, RunScope::OneTransaction)).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        ready(conn.release(session)).unwrap();
        assert!(!foreign_keys(&conn));
    }

    #[test]
    fn a_connection_inside_a_transaction_of_its_own_is_refused_and_its_transaction_kept() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x); BEGIN; INSERT INTO t VALUES (1)")
            .unwrap();
        let refused = ready(conn.acquire(&WaitPolicy::default(), RunScope::OneTransaction));
        assert!(matches!(
            refused,
            Err(RunError::Backend(BackendError::InTransaction))
        ));
        conn.execute_batch("COMMIT").unwrap();
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 1);
    }
}
