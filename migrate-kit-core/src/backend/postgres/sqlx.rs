//! sqlx's `PgConnection` as a [`Link`](super::Link), for a bot whose pool is
//! sqlx's (features `sqlx-0_8` and `sqlx-0_9`, one per major version of
//! sqlx): `MIGRATIONS.start_async(&mut *pool.acquire().await?)`. sqlx sends
//! SQL without arguments through the simple query protocol, as the other
//! links do, and hands rows back as text.

/// Implements the link and the backend for `PgConnection` of the sqlx crate
/// `$sqlx`, whose `raw_sql` takes what `$sql` makes of a `&str`.
macro_rules! sqlx_link {
    ($sqlx:ident, |$text:ident| $sql:expr) => {
        mod $sqlx {
            use super::super::link::sealed::Exec;
            use super::super::link::{LinkError, Reply};
            use crate::backend::sealed::Awaits;
            use futures_util::TryStreamExt;
            use $sqlx::postgres::{PgDatabaseError, PgErrorPosition, PgRow};
            use $sqlx::{Either, Row, ValueRef};

            impl Exec for $sqlx::PgConnection {
                async fn simple_query(&mut self, $text: &str) -> Result<Vec<Reply>, LinkError> {
                    let mut answers = $sqlx::raw_sql($sql).fetch_many(&mut *self);
                    let mut replies = Vec::new();
                    while let Some(answer) = answers.try_next().await.map_err(link_error)? {
                        replies.push(match answer {
                            Either::Left(done) => Reply::Done(done.rows_affected()),
                            Either::Right(row) => Reply::Row(text_row(&row).map_err(link_error)?),
                        });
                    }
                    Ok(replies)
                }
            }

            impl Awaits for $sqlx::PgConnection {}

            /// A row of the simple query protocol, whose values are text.
            fn text_row(row: &PgRow) -> Result<Vec<Option<String>>, $sqlx::Error> {
                (0..row.len())
                    .map(|i| {
                        let value = row.try_get_raw(i)?;
                        if value.is_null() {
                            return Ok(None);
                        }
                        value
                            .as_str()
                            .map(|text| Some(text.to_owned()))
                            .map_err(|source| $sqlx::Error::Decode(source))
                    })
                    .collect()
            }

            fn link_error(error: $sqlx::Error) -> LinkError {
                let (code, message, position) = match &error {
                    $sqlx::Error::Database(db) => (
                        db.code().map(|code| code.into_owned()),
                        Some(db.message().to_owned()),
                        db.try_downcast_ref::<PgDatabaseError>()
                            .and_then(PgDatabaseError::position)
                            .and_then(|position| match position {
                                PgErrorPosition::Original(at) => Some(at),
                                PgErrorPosition::Internal { .. } => None,
                            }),
                    ),
                    _ => (None, None, None),
                };
                LinkError {
                    code,
                    message,
                    position,
                    closed: matches!(error, $sqlx::Error::Io(_)),
                    source: Box::new(error),
                }
            }
        }
    };
}

#[cfg(feature = "sqlx-0_8")]
sqlx_link!(sqlx_0_8, |sql| sql);
#[cfg(feature = "sqlx-0_9")]
sqlx_link!(sqlx_0_9, |sql| sqlx_0_9::AssertSqlSafe(sql));
