//! Talking to the server through the simple query protocol only: values
//! travel as text and are quoted here, so no prepared statement is ever
//! created (a transaction-mode pooler could hand it to another client).

use super::link::{Link, LinkError, Reply};
use crate::error::{BackendError, DriverCode, RunError};

pub(crate) use super::link::TextRow;

/// The [`RunError`] of a client failure while doing `doing`.
pub(crate) fn database_error(doing: &'static str, source: impl Into<LinkError>) -> RunError {
    let source = source.into();
    let hint = if source.closed {
        Some("the connection to the server was lost; check the server and retry")
    } else {
        match source.code.as_deref() {
            Some("25006") => Some("the server or the connection is read-only (a standby, or default_transaction_read_only); connect to the primary"),
            Some("42501") => Some("the database user lacks a privilege this needs; grant it, or connect as the owner"),
            Some("55P03") => Some("a table lock was held by another session past lock_timeout; retry when the other work is done"),
            Some("57014") => Some("statement_timeout cancelled the statement"),
            _ => None,
        }
    };
    RunError::Backend(BackendError::Database {
        doing,
        code: source.code.map(DriverCode::SqlState),
        hint,
        source: source.source,
    })
}

/// Runs the statements of `sql` in one round trip and returns the rows of
/// each, as text, in order.
pub(crate) async fn simple_results<C: Link + ?Sized>(
    client: &mut C,
    sql: &str,
    doing: &'static str,
) -> Result<Vec<Vec<TextRow>>, RunError> {
    let messages = client
        .simple_query(sql)
        .await
        .map_err(|e| database_error(doing, e))?;
    let mut results = Vec::new();
    let mut rows = Vec::new();
    for message in messages {
        match message {
            Reply::Row(row) => rows.push(row),
            Reply::Done(_) => results.push(std::mem::take(&mut rows)),
        }
    }
    Ok(results)
}

/// Runs `sql` and returns the rows of its last result, as text.
pub(crate) async fn simple_rows<C: Link + ?Sized>(
    client: &mut C,
    sql: &str,
    doing: &'static str,
) -> Result<Vec<TextRow>, RunError> {
    Ok(simple_results(client, sql, doing)
        .await?
        .pop()
        .unwrap_or_default())
}

/// The first row of `sql`'s last result (empty when there is none).
pub(crate) async fn simple_row<C: Link + ?Sized>(
    client: &mut C,
    sql: &str,
    doing: &'static str,
) -> Result<TextRow, RunError> {
    Ok(simple_rows(client, sql, doing)
        .await?
        .into_iter()
        .next()
        .unwrap_or_default())
}

/// The first column of the first row, if any.
pub(crate) async fn simple_value<C: Link + ?Sized>(
    client: &mut C,
    sql: &str,
    doing: &'static str,
) -> Result<Option<String>, RunError> {
    Ok(simple_row(client, sql, doing)
        .await?
        .into_iter()
        .next()
        .flatten())
}

/// Runs the statements of `sql` in one round trip and returns how many
/// rows each changed, in order.
pub(crate) async fn command_counts<C: Link + ?Sized>(
    client: &mut C,
    sql: &str,
    doing: &'static str,
) -> Result<Vec<u64>, RunError> {
    let messages = client
        .simple_query(sql)
        .await
        .map_err(|e| database_error(doing, e))?;
    Ok(messages
        .iter()
        .filter_map(|m| match m {
            Reply::Done(n) => Some(*n),
            Reply::Row(_) => None,
        })
        .collect())
}

/// Runs `sql` and returns how many rows its last command changed.
pub(crate) async fn changed_rows<C: Link + ?Sized>(
    client: &mut C,
    sql: &str,
    doing: &'static str,
) -> Result<u64, RunError> {
    Ok(command_counts(client, sql, doing)
        .await?
        .last()
        .copied()
        .unwrap_or(0))
}

/// Runs statements whose results do not matter.
pub(crate) async fn run<C: Link + ?Sized>(
    client: &mut C,
    sql: &str,
    doing: &'static str,
) -> Result<(), RunError> {
    client
        .batch_execute(sql)
        .await
        .map_err(|e| database_error(doing, e))
}

/// `value` as a string literal (`standard_conforming_strings` is on in
/// every supported server version, so only quotes are doubled).
pub(crate) fn literal(value: &str) -> String {
    crate::files::sql_text::string_literal(value)
}

/// `NULL` or the literal.
pub(crate) fn literal_or_null(value: Option<&str>) -> String {
    value.map_or_else(|| "NULL".to_owned(), literal)
}

/// `name` as a quoted identifier.
pub(crate) fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
