//! The errors of the core, cut along its layers: [`RunError`] is what a
//! run, a ledger read or a tool returns, and holds the file and graph
//! errors ([`LoadError`], [`TargetError`]), a failed migration statement
//! ([`StatementError`]), what the ledger refuses ([`LedgerError`]), what the
//! database or connection did ([`BackendError`]) and what a tool around
//! runs met ([`ToolError`]). Each variant carries its data; its message
//! says what to do.

mod backend;
mod ledger;
mod statement;
mod tool;

pub use backend::{BackendError, DriverCode};
pub use ledger::LedgerError;
pub use statement::{Cause, StatementError};
pub use tool::ToolError;

use crate::graph::target::TargetError;
use crate::hint::Cmd;
use crate::message::debug_as_message;
use crate::model::data::ImportError;
use crate::set::load::{LoadError, LoadProblem};

/// Why a run (upgrade, downgrade, stamp) or a ledger read failed.
/// Nothing was changed unless the variant says otherwise. `{:?}` prints
/// the message (what `?` in `main` shows); `{:#?}` the data.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The migration set itself is invalid.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The target cannot be resolved.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A statement of a migration failed; the run was rolled back (unless
    /// [`RunError::PartlyCommitted`] wraps it).
    #[error("{0}\nthe run was rolled back: the database is as it was")]
    Statement(Box<StatementError>),
    /// The run added foreign key violations; the run was rolled back.
    #[error("the run would add foreign key violations that the database did not have before, so it was rolled back: {}", .violations.join("; "))]
    ForeignKeys {
        /// One line per violation.
        violations: Vec<String>,
    },
    /// A run failed after part of it was committed (`transaction_per_migration`,
    /// or a `transactional: false` migration): what was committed stays.
    #[error("{}\n{}", cause_text(.cause), partial_text(.committed, .started.as_deref(), .heads_now.as_deref()))]
    PartlyCommitted {
        /// Why the run stopped.
        cause: Box<RunError>,
        /// Migrations committed and recorded before the failure, in order.
        committed: Vec<String>,
        /// A non-transactional migration whose changes may be partly applied
        /// (its "started" mark is in the ledger).
        started: Option<String>,
        /// The `alembic_version` rows now; `None` when they could not be
        /// read (the connection was lost).
        heads_now: Option<Vec<String>>,
    },
    /// A transactional migration ended the run's transaction (a `COMMIT`,
    /// `END` or `ROLLBACK` the folder check could not see, such as one a
    /// function ran). The run stopped right after that migration.
    #[error("revision `{revision}` ({path}) ended the run's transaction: a COMMIT, END or ROLLBACK ran inside it, so the run stopped after it. What the run did before that statement was committed or rolled back by the migration itself, and what the migration ran after it is committed; the ledger does not record {} as applied, and alembic_version now holds {}. Compare the schema with the migrations ({}), put the database back from a backup if you took one, and remove the transaction control from the migration", .unrecorded.join(", "), heads_text(.heads_now.as_deref()), Cmd("check"))]
    TransactionEnded {
        /// The migration.
        revision: String,
        /// Its file.
        path: String,
        /// This run's migrations since its last commit, this one last: their
        /// changes may be in the database without ledger rows.
        unrecorded: Vec<String>,
        /// The `alembic_version` rows now, when they could be read.
        heads_now: Option<Vec<String>>,
    },
    /// The ledger refuses the operation.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The database or the connection failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A tool around runs failed.
    #[error(transparent)]
    Tool(#[from] ToolError),
}

impl From<crate::files::pieces::ReadBackError> for RunError {
    /// A migration file read back while it runs is a problem of the set.
    fn from(error: crate::files::pieces::ReadBackError) -> Self {
        RunError::Load(LoadError::from(vec![LoadProblem::ReadBack(error)]))
    }
}

debug_as_message!(RunError, |error, f| match error {
    RunError::Load(inner) => f.debug_tuple("Load").field(inner).finish(),
    RunError::Target(inner) => f.debug_tuple("Target").field(inner).finish(),
    RunError::Statement(inner) => f.debug_tuple("Statement").field(inner).finish(),
    RunError::ForeignKeys { violations } => f
        .debug_struct("ForeignKeys")
        .field("violations", violations)
        .finish(),
    RunError::PartlyCommitted {
        cause,
        committed,
        started,
        heads_now,
    } => f
        .debug_struct("PartlyCommitted")
        .field("cause", cause)
        .field("committed", committed)
        .field("started", started)
        .field("heads_now", heads_now)
        .finish(),
    RunError::TransactionEnded {
        revision,
        path,
        unrecorded,
        heads_now,
    } => f
        .debug_struct("TransactionEnded")
        .field("revision", revision)
        .field("path", path)
        .field("unrecorded", unrecorded)
        .field("heads_now", heads_now)
        .finish(),
    RunError::Ledger(inner) => f.debug_tuple("Ledger").field(inner).finish(),
    RunError::Backend(inner) => f.debug_tuple("Backend").field(inner).finish(),
    RunError::Tool(inner) => f.debug_tuple("Tool").field(inner).finish(),
});

impl From<ImportError> for RunError {
    fn from(error: ImportError) -> Self {
        RunError::Tool(ToolError::Import(error))
    }
}

impl RunError {
    /// The failed statement behind this error, also when part of the run
    /// was committed before it.
    pub(crate) fn statement_mut(&mut self) -> Option<&mut StatementError> {
        match self {
            RunError::Statement(statement) => Some(statement),
            RunError::PartlyCommitted { cause, .. } => cause.statement_mut(),
            _ => None,
        }
    }

    /// Whether the database keeps anything of the failed operation: part of
    /// a run was committed, or a migration ended the run's transaction.
    pub(crate) fn committed_anything(&self) -> bool {
        matches!(
            self,
            RunError::PartlyCommitted { .. } | RunError::TransactionEnded { .. }
        )
    }
}

/// The cause of a partly committed run, without a claim that all of it rolled back.
fn cause_text(cause: &RunError) -> String {
    match cause {
        RunError::Statement(failure) => failure.to_string(),
        other => other.to_string(),
    }
}

fn partial_text(
    committed: &[String],
    started: Option<&str>,
    heads_now: Option<&[String]>,
) -> String {
    let mut text = if committed.is_empty() {
        "nothing of this run was committed before the failure".to_owned()
    } else {
        format!(
            "not all of the run was rolled back: {} {} committed before the failure and stay{} applied",
            committed.join(", "),
            if committed.len() == 1 { "was" } else { "were" },
            if committed.len() == 1 { "s" } else { "" }
        )
    };
    text += &match heads_now {
        Some(heads) => format!(
            "; the rest was rolled back. The database is now at {}.",
            crate::graph::heads_text(heads)
        ),
        None => format!(
            "; the rest was rolled back. Where the database stands could not be read back (the connection is gone): it should be at {}; once the server answers, {} shows it.",
            committed.last().map_or("base", String::as_str),
            Cmd("current")
        ),
    };
    if let Some(started) = started {
        text += &format!(" {started} is non-transactional and did not finish: its statements before the failure are applied, and it is marked as started; check the database by hand, then run {}.", Cmd(format!("repair --clear-dirty {started}")));
    }
    text
}

fn heads_text(heads: Option<&[String]>) -> String {
    match heads {
        None => "rows that could not be read".to_owned(),
        Some([]) => "no row (base)".to_owned(),
        Some(heads) => crate::graph::heads_text(heads),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::plan::RowOp;

    /// One value of every variant. The match below has no wildcard, so a
    /// new variant does not compile until it is added here, and its
    /// message shows in the snapshot for review.
    fn every_variant() -> Vec<RunError> {
        let statement = || {
            RunError::Statement(Box::new(StatementError {
                direction: "upgrade",
                revision: "002".into(),
                path: "versions/002_add_phone.sql".into(),
                line: 7,
                column: None,
                statement: "ALTER TABLE users ADD COLUMN phone TEXT".into(),
                message: "duplicate column name: phone".into(),
                code: None,
                schema_matches: None,
            }))
        };
        let on_postgres = RunError::Statement(Box::new(StatementError {
            direction: "upgrade",
            revision: "003".into(),
            path: "versions/003_settings.sql".into(),
            line: 12,
            column: Some(8),
            statement: "ALTER TABLE user_settings ADD COLUMN lang text".into(),
            message: "relation \"user_settings\" does not exist".into(),
            code: Some("42P01".into()),
            schema_matches: None,
        }));
        let all = vec![
            RunError::Load(crate::LoadError::from(vec![
                crate::LoadProblem::NotSql {
                    path: "versions/notes.txt".into(),
                },
                crate::LoadProblem::OutsideLink {
                    path: "versions/004_shared.sql".into(),
                },
            ])),
            RunError::Target(TargetError::Unknown("zzz".into())),
            RunError::Tool(ToolError::Import(ImportError::Orphans {
                orphans: vec!["`repair_requests` row id=7: user_id = 42 names no `users` row".into()],
            })),
            RunError::Tool(ToolError::Import(ImportError::HoldsRows {
                tables: vec!["`users` (3 rows)".into()],
            })),
            RunError::Tool(ToolError::Import(ImportError::AmbiguousDate {
                table: "repair_requests".into(),
                row: 4,
                column: "created_at".into(),
                value: "02.12.2026 10:00".into(),
            })),
            RunError::Backend(BackendError::Database {
                code: Some(DriverCode::Sqlite(5)),
                doing: "taking the write lock",
                source: "database is locked".into(),
                hint: Some("another process held the database longer than the busy timeout; retry when it is done"),
            }),
            statement(),
            on_postgres,
            RunError::Ledger(LedgerError::UnknownRevisions {
                revisions: vec!["004".into()],
                rollback: vec!["004".into()],
                known_heads: vec!["003".into()],
            }),
            RunError::Ledger(LedgerError::UnknownRevisions {
                revisions: vec!["004".into()],
                rollback: Vec::new(),
                known_heads: vec!["003".into()],
            }),
            RunError::Ledger(LedgerError::Squashed {
                revision: "001".into(),
                baseline: "003".into(),
            }),
            RunError::Ledger(LedgerError::CreatedByHand {
                tables: vec!["users".into(), "repair_requests".into()],
            }),
            RunError::Ledger(LedgerError::Irreversible {
                revision: "002".into(),
                path: "versions/002_add_phone.sql".into(),
            }),
            RunError::ForeignKeys {
                violations: vec!["repair_requests row 3 references a missing row of users".into()],
            },
            RunError::Ledger(LedgerError::Dirty {
                revision: "004".into(),
            }),
            RunError::Backend(BackendError::ReadOnly {
                path: "data/bot.db".into(),
            }),
            RunError::Backend(BackendError::UnsupportedLocation {
                location: "postgres://bot:***@db/bot".into(),
            }),
            RunError::Backend(BackendError::MissingDatabase {
                path: "data/bot.db".into(),
            }),
            RunError::Backend(BackendError::TestServer {
                problem: "`mysql://shop@db/bot`: `mysql` is not a database this tool can open"
                    .into(),
            }),
            RunError::Backend(BackendError::Io {
                path: "backups/bot.db".into(),
                source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            }),
            RunError::PartlyCommitted {
                cause: Box::new(statement()),
                committed: vec!["001".into()],
                started: Some("002".into()),
                heads_now: Some(vec!["001".into()]),
            },
            RunError::PartlyCommitted {
                cause: Box::new(RunError::Backend(BackendError::Database {
                    code: None,
                    doing: "running a migration",
                    source: "connection closed".into(),
                    hint: Some("the connection to the server was lost; check the server and retry"),
                })),
                committed: vec!["001".into()],
                started: Some("002".into()),
                heads_now: None,
            },
            RunError::Ledger(LedgerError::VersionRows {
                operation: RowOp::Update {
                    from: "001".into(),
                    to: "002".into(),
                },
                changed: 0,
            }),
            RunError::Backend(BackendError::Busy {
                doing: "copying pages",
            }),
            RunError::Tool(ToolError::Integrity {
                path: "backups/bot.db".into(),
                result: "*** in database main ***\nPage 3 is never used".into(),
            }),
            RunError::Tool(ToolError::TableDefinition {
                table: "users".into(),
                reason: "unbalanced parentheses".into(),
            }),
            RunError::Tool(ToolError::DeclaredSchema {
                path: "migrations/schema.sql".into(),
                message: "near \"TABL\": syntax error".into(),
            }),
            RunError::Ledger(LedgerError::NotRecorded {
                revision: "003".into(),
                action: "accept",
            }),
            RunError::Ledger(LedgerError::NotStarted {
                revision: "003".into(),
            }),
            RunError::Backend(BackendError::LockTimeout {
                waited: std::time::Duration::from_secs(60),
                holder: Some("pid 4242 (repair_bot, from 10.0.0.7, active since 2026-11-25 21:03:11 UTC)".into()),
            }),
            RunError::Backend(BackendError::LockLost),
            RunError::Backend(BackendError::NoSchema),
            RunError::Backend(BackendError::InTransaction),
            RunError::Backend(BackendError::NoServerLocation),
            RunError::Backend(BackendError::Tls {
                location: "postgresql://bot:***@db.example/shop?sslmode=verify-full".into(),
                problem: "sslmode=verify-full checks the server's certificate against /home/bot/.postgresql/root.crt, which does not exist; give the server's root certificate there or as sslrootcert=/path/to/root.crt, use sslrootcert=system for the machine's trusted roots, or lower sslmode to require to encrypt without checking".into(),
            }),
            RunError::Backend(BackendError::Connect {
                location: "postgresql://bot:***@db.example/shop".into(),
                source: "error connecting to server".into(),
            }),
            RunError::Backend(BackendError::Connect {
                location: "postgresql://bot:***@10.0.0.5/shop?sslmode=verify-full".into(),
                source: "error performing TLS handshake: invalid peer certificate: certificate not valid for name \"10.0.0.5\"; certificate is only valid for DnsName(\"db.example\")".into(),
            }),
            RunError::Backend(BackendError::Unsupported {
                operation: "backup",
                backend: "PostgreSQL",
                instead: "run `pg_dump --format=custom --file=backup.dump` against the same URL (and `pg_restore` to restore)",
            }),
            RunError::Backend(BackendError::NeedsSessionLock {
                revision: "004".into(),
                reason: "is `transactional: false`",
            }),
            RunError::Backend(BackendError::TransactionPooler {
                first_pid: "4242".into(),
                then_pid: "4377".into(),
            }),
            RunError::Tool(ToolError::ToolMissing { tool: "pg_dump" }),
            RunError::Tool(ToolError::ToolFailed {
                tool: "pg_dump",
                file: "backups/shop-20261202T101500Z-003.dump".into(),
                message: "pg_dump: error: server version: 16.4; pg_dump version: 15.19\npg_dump: error: aborting because of server version mismatch".into(),
            }),
            RunError::Tool(ToolError::RestoreIntoData {
                location: "postgresql://bot:***@db/shop".into(),
                tables: "public.alembic_version, public.users".into(),
            }),
            RunError::Backend(BackendError::LockOnAnotherConnection {
                lock_pid: "4242".into(),
                transaction_pid: "4377".into(),
            }),
            RunError::TransactionEnded {
                revision: "002".into(),
                path: "versions/002_add_phone.sql".into(),
                unrecorded: vec!["001".into(), "002".into()],
                heads_now: Some(Vec::new()),
            },
        ];
        for error in &all {
            match error {
                RunError::Load(_)
                | RunError::Target(_)
                | RunError::Tool(ToolError::Import(_))
                | RunError::Backend(BackendError::Database { .. })
                | RunError::Statement(_)
                | RunError::Ledger(LedgerError::UnknownRevisions { .. })
                | RunError::Ledger(LedgerError::Squashed { .. })
                | RunError::Ledger(LedgerError::CreatedByHand { .. })
                | RunError::Ledger(LedgerError::Irreversible { .. })
                | RunError::ForeignKeys { .. }
                | RunError::Ledger(LedgerError::Dirty { .. })
                | RunError::Backend(BackendError::ReadOnly { .. })
                | RunError::Backend(BackendError::UnsupportedLocation { .. })
                | RunError::Backend(BackendError::TestServer { .. })
                | RunError::Backend(BackendError::MissingDatabase { .. })
                | RunError::Backend(BackendError::Io { .. })
                | RunError::PartlyCommitted { .. }
                | RunError::Ledger(LedgerError::VersionRows { .. })
                | RunError::Backend(BackendError::Busy { .. })
                | RunError::Tool(ToolError::Integrity { .. })
                | RunError::Tool(ToolError::TableDefinition { .. })
                | RunError::Tool(ToolError::DeclaredSchema { .. })
                | RunError::Ledger(LedgerError::NotRecorded { .. })
                | RunError::Backend(BackendError::LockTimeout { .. })
                | RunError::Backend(BackendError::LockLost)
                | RunError::Backend(BackendError::NoSchema)
                | RunError::Backend(BackendError::InTransaction)
                | RunError::Backend(BackendError::Unsupported { .. })
                | RunError::Backend(BackendError::NoServerLocation)
                | RunError::Backend(BackendError::Tls { .. })
                | RunError::Backend(BackendError::Connect { .. })
                | RunError::Backend(BackendError::NeedsSessionLock { .. })
                | RunError::TransactionEnded { .. }
                | RunError::Backend(BackendError::LockOnAnotherConnection { .. })
                | RunError::Backend(BackendError::TransactionPooler { .. })
                | RunError::Tool(ToolError::ToolMissing { .. })
                | RunError::Tool(ToolError::ToolFailed { .. })
                | RunError::Tool(ToolError::RestoreIntoData { .. })
                | RunError::Ledger(LedgerError::NotStarted { .. }) => {}
            }
        }
        all
    }

    #[test]
    fn every_message_as_an_operator_reads_it() {
        let rendered: Vec<String> = every_variant()
            .iter()
            .map(|error| format!("{error:#?}\n=> {error}"))
            .collect();
        insta::assert_snapshot!(rendered.join("\n\n"));
    }

    #[test]
    fn debug_prints_the_message_as_main_and_box_dyn_error_show_it() {
        for error in every_variant() {
            let message = error.to_string();
            let debug = format!("{error:?}");
            assert!(debug.starts_with(&message), "{debug}");
            assert!(
                !debug.contains("Some(") && !debug.contains(" { "),
                "{debug}"
            );
            let boxed: Box<dyn std::error::Error> = Box::new(error);
            assert_eq!(format!("{boxed:?}"), debug);
        }
    }

    #[test]
    fn a_bot_names_its_own_commands_in_every_hint() {
        let bot = crate::Commands::new("repair_bot migrate");
        let mut hints = 0;
        for error in every_variant() {
            let named = bot.render(&error);
            assert!(!named.contains("`migrate "), "{named}");
            hints += named.matches("`repair_bot migrate ").count();
            // Outside the bot's rendering, the same error names the binary.
            assert_eq!(
                error.to_string(),
                named.replace("`repair_bot migrate ", "`migrate ")
            );
        }
        assert!(hints > 10, "only {hints} hints");
    }
}
