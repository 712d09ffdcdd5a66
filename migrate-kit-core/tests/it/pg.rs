//! A PostgreSQL database of its own for each test, on the server named by
//! `MIGRATE_TEST_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/postgres`),
//! dropped when the test ends. Without a reachable server a test says it
//! was skipped and passes; with `CI` set it fails instead, so CI never
//! skips these tests.
#![allow(dead_code)]

use postgres::{Client, NoTls};
use std::sync::atomic::{AtomicU32, Ordering};

/// The maintenance connection's URL.
pub fn server_url() -> String {
    std::env::var("MIGRATE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgresql://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database created for one test and dropped (with every connection to
/// it) when this value is dropped.
pub struct TestDb {
    name: String,
    url: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// A new empty database, or `None` (after saying so) when no server is
    /// reachable outside CI.
    pub fn create(test: &str) -> Option<TestDb> {
        let server = server_url();
        let mut admin = match Client::connect(&server, NoTls) {
            Ok(client) => client,
            Err(error) if std::env::var_os("CI").is_none() => {
                eprintln!("skipped {test}: no PostgreSQL server at {server} ({error}); set MIGRATE_TEST_POSTGRES_URL");
                return None;
            }
            Err(error) => {
                panic!("CI is set but the PostgreSQL server at {server} is unreachable: {error}")
            }
        };
        let name = format!(
            "migrate_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            test.chars()
                .filter(char::is_ascii_alphanumeric)
                .take(20)
                .collect::<String>()
        )
        .to_lowercase();
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap();
        let url = match server.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => format!("{server}/{name}"),
        };
        Some(TestDb { name, url })
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its URL through PgBouncer in transaction pooling mode
    /// (`MIGRATE_TEST_PGBOUNCER_URL`, default `127.0.0.1:6432`, which
    /// `.ci/start-pgbouncer` starts), or `None` (after saying so) when no
    /// pooler answers outside CI.
    pub fn pooled_url(&self) -> Option<String> {
        let pooler = std::env::var("MIGRATE_TEST_PGBOUNCER_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "postgresql://postgres@127.0.0.1:6432/postgres".to_owned());
        let url = match pooler.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{}", self.name),
            None => format!("{pooler}/{}", self.name),
        };
        match Client::connect(&url, NoTls) {
            Ok(_) => Some(url),
            Err(error) if std::env::var_os("CI").is_none() => {
                eprintln!("skipped: no PgBouncer at {pooler} ({error}); run .ci/start-pgbouncer or set MIGRATE_TEST_PGBOUNCER_URL");
                None
            }
            Err(error) => panic!("CI is set but PgBouncer at {pooler} is unreachable: {error}"),
        }
    }

    /// A new connection to it.
    pub fn connect(&self) -> Client {
        Client::connect(&self.url, NoTls).unwrap()
    }

    /// The rows of `sql` as text, for assertions.
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        let mut client = self.connect();
        client
            .simple_query(sql)
            .unwrap()
            .into_iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).unwrap_or("NULL").to_owned())
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    }

    /// The first column of every row of `sql`.
    pub fn column(&self, sql: &str) -> Vec<String> {
        self.rows(sql)
            .into_iter()
            .map(|mut r| r.remove(0))
            .collect()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = Client::connect(&server_url(), NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}
