//! What the PostgreSQL backend talks through ([`Link`]): the blocking
//! `postgres::Client`, whose calls finish before they return, or the async
//! `tokio_postgres::Client` of a bot's pool, whose calls await the server on
//! the bot's runtime. The backend is written once, as async code over a
//! link; driven over a blocking one, its futures are ready at their first
//! poll.

use crate::backend::sealed::{Awaits, Blocking};
use postgres::{Error, SimpleQueryMessage};
use std::time::Duration;

/// A connection the PostgreSQL backend can run on: `postgres::Client`,
/// `tokio_postgres::Client` (what deadpool-postgres and bb8 objects
/// dereference to), or a `&mut` of either. Sealed: the crate implements it.
#[allow(async_fn_in_trait)]
pub trait Link: sealed::Sealed + Send {
    /// Sends `sql` (one or more statements) through the simple query
    /// protocol and returns the server's messages.
    #[doc(hidden)]
    async fn simple_query(&mut self, sql: &str) -> Result<Vec<SimpleQueryMessage>, Error>;

    /// Runs statements whose results do not matter.
    #[doc(hidden)]
    async fn batch_execute(&mut self, sql: &str) -> Result<(), Error>;

    /// Waits `pause` between two attempts at a lock.
    #[doc(hidden)]
    async fn pause(&mut self, pause: Duration);

    /// Rolls back the open transaction now, when the link can without
    /// awaiting; `false` when it cannot (the caller sends the rollback with
    /// its next statement).
    #[doc(hidden)]
    fn roll_back_now(&mut self) -> bool;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for postgres::Client {}
    impl Sealed for tokio_postgres::Client {}
    impl<C: Sealed + ?Sized> Sealed for &mut C {}
}

impl Link for postgres::Client {
    async fn simple_query(&mut self, sql: &str) -> Result<Vec<SimpleQueryMessage>, Error> {
        postgres::Client::simple_query(self, sql)
    }

    async fn batch_execute(&mut self, sql: &str) -> Result<(), Error> {
        postgres::Client::batch_execute(self, sql)
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

impl Link for tokio_postgres::Client {
    async fn simple_query(&mut self, sql: &str) -> Result<Vec<SimpleQueryMessage>, Error> {
        tokio_postgres::Client::simple_query(self, sql).await
    }

    async fn batch_execute(&mut self, sql: &str) -> Result<(), Error> {
        tokio_postgres::Client::batch_execute(self, sql).await
    }

    /// The server sleeps: the wait needs no timer from the bot's runtime.
    async fn pause(&mut self, pause: Duration) {
        let sql = format!("SELECT pg_sleep({})", pause.as_secs_f64());
        // A failed pause only shortens the wait; the next attempt reports
        // a lost connection.
        let _ = tokio_postgres::Client::batch_execute(self, &sql).await;
    }

    fn roll_back_now(&mut self) -> bool {
        false
    }
}

impl Awaits for tokio_postgres::Client {}

impl<C: Link + ?Sized> Link for &mut C {
    async fn simple_query(&mut self, sql: &str) -> Result<Vec<SimpleQueryMessage>, Error> {
        (**self).simple_query(sql).await
    }

    async fn batch_execute(&mut self, sql: &str) -> Result<(), Error> {
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
