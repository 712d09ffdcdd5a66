//! Executing a migration section one statement at a time, as SQLite's own
//! parser delimits statements (triggers, string literals and comments with
//! `;` inside are never split), and locating a failure in the file.

use crate::backend::Origin;
use crate::error::{RunError, StatementError};
use crate::files::sql_text::{abridge, skip_trivia};
// rusqlite 0.33 and later step a `Batch` through this trait; 0.32 has an
// inherent `next` of the same shape, which wins, so there it is unused.
#[allow(unused_imports)]
use fallible_iterator::FallibleIterator as _;
use rusqlite::{Batch, Connection};

/// Runs every statement of `sql`; `line_of` turns a byte offset into the
/// line an error names.
pub(crate) fn run_sql(
    conn: &Connection,
    sql: &str,
    origin: &Origin<'_>,
    line_of: &(dyn Fn(usize) -> u32 + Sync),
) -> Result<(), RunError> {
    let mut batch = Batch::new(conn, sql);
    let mut cursor = 0usize;
    loop {
        let fail = |start: usize, statement: &str, message: String| {
            RunError::Statement(Box::new(StatementError {
                direction: origin.direction,
                revision: origin.revision.to_owned(),
                path: origin.path.to_owned(),
                line: line_of(start),
                column: None,
                statement: abridge(statement),
                message,
                code: None,
                schema_matches: None,
            }))
        };
        let mut stmt = match batch.next() {
            Ok(Some(stmt)) => stmt,
            Ok(None) => return Ok(()),
            Err(error) => {
                // SQLite refused to parse: point at the offending token when it says where.
                let start = cursor + skip_trivia(&sql[cursor..]);
                let at = match &error {
                    rusqlite::Error::SqlInputError { offset, .. } => {
                        cursor + usize::try_from(*offset).unwrap_or(0)
                    }
                    _ => start,
                };
                let end = sql[at..].find('\n').map_or(sql.len(), |n| at + n);
                let line_start = sql[..at].rfind('\n').map_or(0, |n| n + 1);
                return Err(fail(
                    at.max(line_start),
                    &sql[line_start..end],
                    sqlite_message(&error),
                ));
            }
        };
        // The statement's text runs from the end of the previous one.
        let text = stmt.expanded_sql().unwrap_or_default();
        let begin = sql[cursor..]
            .find(text.as_str())
            .map_or(cursor, |n| cursor + n);
        let start = begin + skip_trivia(&sql[begin..]);
        cursor = (begin + text.len()).min(sql.len());
        let mut rows = stmt.raw_query();
        loop {
            match rows.next() {
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(error) => {
                    let statement = sql[start..cursor].trim_end();
                    return Err(fail(start, statement, sqlite_message(&error)));
                }
            }
        }
    }
}

fn sqlite_message(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(_, Some(message)) => message.clone(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
    }
}
