//! Running a migration section on PostgreSQL one statement at a time (as
//! [`crate::files::statements`] splits it) and locating a failure: the server's
//! error position counts characters, so multibyte text maps to the right
//! line and column of the file.

use super::link::Link;
use super::text::database_error;
use crate::backend::Origin;
use crate::error::{RunError, StatementError};
use crate::files::sql_text::abridge;
use crate::files::statements;

/// Runs every statement of `sql`; `line_of` turns a byte offset of `sql`
/// into the line of the file an error names.
pub(crate) async fn run_sql<C: Link + ?Sized>(
    client: &mut C,
    sql: &str,
    origin: &Origin<'_>,
    line_of: &(dyn Fn(usize) -> u32 + Sync),
) -> Result<(), RunError> {
    for statement in statements::split(sql) {
        let Err(error) = client.batch_execute(statement.text).await else {
            continue;
        };
        let Some(message) = error.message.clone() else {
            return Err(database_error("running a migration", error));
        };
        // The position is 1-based, in characters of the statement sent.
        let offset = match error.position {
            Some(position) => statement
                .text
                .char_indices()
                .nth(position.saturating_sub(1))
                .map_or(statement.text.len(), |(at, _)| at),
            None => 0,
        };
        let at = statement.start + offset;
        let line_start = sql[..at].rfind('\n').map_or(0, |n| n + 1);
        let column = error
            .position
            .map(|_| u32::try_from(sql[line_start..at].chars().count() + 1).unwrap_or(u32::MAX));
        return Err(RunError::Statement(Box::new(StatementError {
            direction: origin.direction,
            revision: origin.revision.to_owned(),
            path: origin.path.to_owned(),
            line: line_of(at),
            column,
            statement: abridge(statement.text),
            message,
            code: error.code,
            schema_matches: None,
        })));
    }
    Ok(())
}
