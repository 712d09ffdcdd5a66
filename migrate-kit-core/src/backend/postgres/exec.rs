//! Running a migration section on PostgreSQL and locating a failure: the
//! server's error position counts characters, so multibyte text maps to the
//! right line and column of the file.
//!
//! A section comes in pieces of whole statements (one for a held text;
//! about 1 MiB each read back from a file too large to hold). Inside the
//! run's transaction, a piece goes to the server as few messages of many
//! statements (about [`MESSAGE_BYTES`] each), so that a migration costs
//! one round trip, not one per statement, and memory stays bounded
//! whatever the section's size. Each message runs inside a
//! savepoint. When it fails without a position (a constraint violation,
//! say), the message is rolled back to that savepoint and its statements
//! run again one at a time, so that the error still names the statement
//! and its line. Outside a transaction (a `transactional: false`
//! migration) statements go one at a time, as `CREATE INDEX CONCURRENTLY`
//! must.

use super::link::{Link, LinkError};
use super::text::database_error;
use crate::backend::Origin;
use crate::error::{RunError, StatementError};
use crate::files::pieces::{Piece, Pieces};
use crate::files::sql_text::abridge;
use crate::files::statements::{self, Statement};

/// The size a message of statements grows to before it is sent.
const MESSAGE_BYTES: usize = 256 * 1024;

/// The savepoint each message runs in.
const SAVEPOINT: &str = "migrate_statements";

/// Where an error is reported: the piece of the section, and its origin.
struct Section<'a> {
    piece: &'a Piece<'a>,
    origin: &'a Origin<'a>,
}

/// Runs every statement of `pieces` one at a time.
pub(crate) async fn run_sql<C: Link + ?Sized>(
    client: &mut C,
    pieces: &mut Pieces<'_>,
    origin: &Origin<'_>,
) -> Result<(), RunError> {
    while let Some(piece) = pieces.next()? {
        let section = Section {
            piece: &piece,
            origin,
        };
        one_at_a_time(client, &section, statements::split(piece.sql)).await?;
    }
    Ok(())
}

/// Runs every statement of `pieces` inside the run's open transaction,
/// many to a message; returns whether the transaction is still open after
/// it (a `COMMIT` in the section, which the folder check missed, ends it).
pub(crate) async fn run_sql_in_transaction<C: Link + ?Sized>(
    client: &mut C,
    pieces: &mut Pieces<'_>,
    origin: &Origin<'_>,
) -> Result<bool, RunError> {
    while let Some(piece) = pieces.next()? {
        let section = Section {
            piece: &piece,
            origin,
        };
        if !run_piece_in_transaction(client, &section).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Runs the statements of one piece inside the run's open transaction, as
/// [`run_sql_in_transaction`] does.
async fn run_piece_in_transaction<C: Link + ?Sized>(
    client: &mut C,
    section: &Section<'_>,
) -> Result<bool, RunError> {
    let sql = section.piece.sql;
    let mut statements = statements::split(sql);
    while let Some(first) = statements.next() {
        let mut last = first;
        while last.end - first.start < MESSAGE_BYTES {
            match statements.next() {
                Some(next) => last = next,
                None => break,
            }
        }
        let batch = &sql[first.start..last.start + last.text.len()];
        let head = format!("SAVEPOINT {SAVEPOINT};\n");
        // The newline ends a line comment the batch may close with.
        let message = format!("{head}{batch}\n;\nRELEASE SAVEPOINT {SAVEPOINT}");
        let Err(error) = client.batch_execute(&message).await else {
            continue;
        };
        if error.message.is_none() {
            return Err(database_error("running a migration", error));
        }
        // The server points into the message: at a statement of the batch.
        let at = error.position.and_then(|position| {
            let offset = char_offset(&message, position)?;
            (head.len()..head.len() + batch.len())
                .contains(&offset)
                .then(|| first.start + offset - head.len())
        });
        let batch_statements = || statements::split(batch).map(|s| shifted(s, first.start));
        if let Some(at) = at {
            if let Some(statement) = batch_statements().find(|s| at < s.end) {
                return Err(statement_error(
                    section,
                    statement,
                    at - statement.start,
                    error,
                ));
            }
        }
        // No position: run the batch again, a statement at a time, to find
        // the one that fails. The run is rolled back anyway.
        if client
            .batch_execute(&format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}"))
            .await
            .is_err()
        {
            // The savepoint is gone: the batch ended the transaction.
            return Ok(false);
        }
        one_at_a_time(client, section, batch_statements()).await?;
        // It ran this time (a failure that does not repeat, such as a
        // deadlock): the batch is applied once, and the run goes on.
        if let Err(error) = client
            .batch_execute(&format!("RELEASE SAVEPOINT {SAVEPOINT}"))
            .await
        {
            return Err(database_error("running a migration", error));
        }
    }
    Ok(true)
}

/// `statement` of a text that starts at byte `offset` of the section.
fn shifted(statement: Statement<'_>, offset: usize) -> Statement<'_> {
    Statement {
        start: statement.start + offset,
        end: statement.end + offset,
        ..statement
    }
}

/// Runs `statements` of `section` one message each.
async fn one_at_a_time<'s, C: Link + ?Sized>(
    client: &mut C,
    section: &Section<'s>,
    statements: impl Iterator<Item = Statement<'s>>,
) -> Result<(), RunError> {
    for statement in statements {
        let Err(error) = client.batch_execute(statement.text).await else {
            continue;
        };
        if error.message.is_none() {
            return Err(database_error("running a migration", error));
        }
        let offset = error
            .position
            .and_then(|position| char_offset(statement.text, position))
            .unwrap_or(0);
        return Err(statement_error(section, statement, offset, error));
    }
    Ok(())
}

/// The byte offset of the 1-based character `position` of `text`.
fn char_offset(text: &str, position: usize) -> Option<usize> {
    text.char_indices()
        .nth(position.checked_sub(1)?)
        .map(|(at, _)| at)
}

/// The error of `statement`, failing at byte `offset` of its text (0 when
/// the server gave no position).
fn statement_error(
    section: &Section<'_>,
    statement: Statement<'_>,
    offset: usize,
    error: LinkError,
) -> RunError {
    let sql = section.piece.sql;
    let at = (statement.start + offset).min(sql.len());
    let line_start = sql[..at].rfind('\n').map_or(0, |n| n + 1);
    let column = error
        .position
        .map(|_| u32::try_from(sql[line_start..at].chars().count() + 1).unwrap_or(u32::MAX));
    RunError::Statement(Box::new(StatementError {
        direction: section.origin.direction,
        revision: section.origin.revision.to_owned(),
        path: section.origin.path.to_owned(),
        line: section.piece.line_of(at),
        column,
        statement: abridge(statement.text),
        message: error.message.unwrap_or_default(),
        code: error.code,
        schema_matches: None,
    }))
}
