//! What the PostgreSQL backend talks through ([`Link`]): the blocking
//! `postgres::Client`, whose calls finish before they return, or an async
//! client of a bot's pool (`tokio_postgres::Client`, sqlx's
//! `PgConnection`), whose calls await the server on the bot's runtime. The
//! backend is written once, as async code over a link; driven over a
//! blocking one, its futures are ready at their first poll. Every call
//! goes through the simple query protocol, and answers come back as text
//! ([`Reply`]) or a [`LinkError`], whatever the driver.

use crate::backend::sealed::{Awaits, Blocking};
use std::time::Duration;

/// A connection the PostgreSQL backend can run on: `postgres::Client`,
/// `tokio_postgres::Client` (what deadpool-postgres and bb8 objects
/// dereference to), sqlx's `PgConnection` (features `sqlx-0_8`,
/// `sqlx-0_9`), or a `&mut` of any of them. Sealed: the crate implements it.
pub trait Link: sealed::Exec + Send {}

impl<C: sealed::Exec + Send + ?Sized> Link for C {}

/// One row as text; `None` for `NULL`.
pub type TextRow = Vec<Option<String>>;

/// One answer to a simple query, in the order the server sent them.
#[derive(Debug)]
pub enum Reply {
    /// A row, as text.
    Row(TextRow),
    /// A command completed, having changed this many rows.
    Done(u64),
}

/// A failure on a link: the server's error, or a lost connection.
#[derive(Debug)]
pub struct LinkError {
    /// The SQLSTATE, when the server reported the error.
    pub code: Option<String>,
    /// The server's message, when it reported the error.
    pub message: Option<String>,
    /// Where in the statement the server found the error: a 1-based
    /// character position.
    pub position: Option<usize>,
    /// Whether the connection is gone.
    pub closed: bool,
    /// The driver's error.
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

pub(crate) mod sealed {
    use super::{LinkError, Reply};
    use std::time::Duration;

    /// The calls the backend makes on a link.
    #[allow(async_fn_in_trait)]
    pub trait Exec {
        /// Sends `sql` (one or more statements) through the simple query
        /// protocol and returns the server's answers.
        async fn simple_query(&mut self, sql: &str) -> Result<Vec<Reply>, LinkError>;

        /// Runs statements whose results do not matter.
        async fn batch_execute(&mut self, sql: &str) -> Result<(), LinkError> {
            self.simple_query(sql).await.map(drop)
        }

        /// Waits `pause` between two attempts at a lock. An async link asks
        /// the server to sleep, so the wait needs no timer from the bot's
        /// runtime.
        async fn pause(&mut self, pause: Duration) {
            let sql = format!("SELECT pg_sleep({})", pause.as_secs_f64());
            // A failed pause only shortens the wait; the next attempt
            // reports a lost connection.
            let _ = self.batch_execute(&sql).await;
        }

        /// Rolls back the open transaction now, when the link can without
        /// awaiting; `false` when it cannot (the run sends the rollback
        /// with its next statement).
        fn roll_back_now(&mut self) -> bool {
            false
        }
    }
}

use sealed::Exec;

impl From<postgres::Error> for LinkError {
    fn from(error: postgres::Error) -> LinkError {
        let db = error.as_db_error();
        LinkError {
            code: error.code().map(|state| state.code().to_owned()),
            message: db.map(|db| db.message().to_owned()),
            position: match db.and_then(|db| db.position()) {
                Some(postgres::error::ErrorPosition::Original(position)) => {
                    Some(*position as usize)
                }
                _ => None,
            },
            closed: error.is_closed(),
            source: Box::new(error),
        }
    }
}

/// The server's messages as [`Reply`]s.
fn replies(messages: Vec<postgres::SimpleQueryMessage>) -> Vec<Reply> {
    messages
        .into_iter()
        .filter_map(|message| match message {
            postgres::SimpleQueryMessage::Row(row) => Some(Reply::Row(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_owned))
                    .collect(),
            )),
            postgres::SimpleQueryMessage::CommandComplete(n) => Some(Reply::Done(n)),
            _ => None,
        })
        .collect()
}

impl Exec for postgres::Client {
    async fn simple_query(&mut self, sql: &str) -> Result<Vec<Reply>, LinkError> {
        Ok(replies(postgres::Client::simple_query(self, sql)?))
    }

    async fn batch_execute(&mut self, sql: &str) -> Result<(), LinkError> {
        Ok(postgres::Client::batch_execute(self, sql)?)
    }

    async fn pause(&mut self, pause: Duration) {
        std::thread::sleep(pause);
    }

    fn roll_back_now(&mut self) -> bool {
        // Outside a transaction this is a warning, not an error.
        let _ = postgres::Client::batch_execute(self, "ROLLBACK");
        true
    }
}

impl Blocking for postgres::Client {}

impl Exec for tokio_postgres::Client {
    async fn simple_query(&mut self, sql: &str) -> Result<Vec<Reply>, LinkError> {
        Ok(replies(
            tokio_postgres::Client::simple_query(self, sql).await?,
        ))
    }

    async fn batch_execute(&mut self, sql: &str) -> Result<(), LinkError> {
        Ok(tokio_postgres::Client::batch_execute(self, sql).await?)
    }
}

impl Awaits for tokio_postgres::Client {}

impl<C: Exec + ?Sized> Exec for &mut C {
    async fn simple_query(&mut self, sql: &str) -> Result<Vec<Reply>, LinkError> {
        (**self).simple_query(sql).await
    }

    async fn batch_execute(&mut self, sql: &str) -> Result<(), LinkError> {
        (**self).batch_execute(sql).await
    }

    async fn pause(&mut self, pause: Duration) {
        (**self).pause(pause).await;
    }

    fn roll_back_now(&mut self) -> bool {
        (**self).roll_back_now()
    }
}

impl<C: Blocking + ?Sized> Blocking for &mut C {}
impl<C: Awaits + ?Sized> Awaits for &mut C {}
