//! A fresh database for each test, migrated by the set under test: a SQLite
//! file in a folder of its own, or, when `DATABASE_URL` names a PostgreSQL
//! server, a scratch database created on it. Both go away when the value
//! is dropped. `#[migrate_kit::test]` hands one to each test; a test of a data
//! migration builds one at the revision before it (`TestDatabase::at`),
//! inserts rows, then upgrades.

use crate::backend::database::Database;
use crate::backend::location::Location;
use crate::backend::settings::OpenOptions;
use crate::error::RunError;
use crate::graph::target::Target;
use crate::run::options::{RunOptions, RunReport};
use crate::set::Migrations;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A database of one test, migrated by a set to a target, removed on drop.
/// The set is a `static` (what `embed_migrations!` makes; a set read at
/// runtime can be leaked into one: `Box::leak(Box::new(set))`).
pub struct TestDatabase {
    set: &'static Migrations,
    database: Database,
    url: String,
    /// The SQLite file's folder, removed on drop.
    folder: Option<PathBuf>,
    #[cfg(feature = "postgres")]
    _scratch: Option<crate::tools::schema::server_lab::Scratch>,
}

/// The database and its folder; not the URL, which may hold the server's
/// password.
impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("database", &self.database)
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

impl TestDatabase {
    /// A fresh database migrated by `set` to `head` (`heads` for
    /// independent labelled branches).
    pub fn new(set: &'static Migrations) -> Result<TestDatabase, RunError> {
        let target = if set.graph()?.heads().len() > 1 {
            "heads"
        } else {
            "head"
        };
        TestDatabase::at(set, target)
    }

    /// A fresh database migrated to `target` (`"002"`, `"base"`, ...): the
    /// fixture for testing the next migration on rows inserted first.
    pub fn at(set: &'static Migrations, target: &str) -> Result<TestDatabase, RunError> {
        let mut db = TestDatabase::empty(set)?;
        db.upgrade(target)?;
        Ok(db)
    }

    /// An empty database: on the PostgreSQL server `DATABASE_URL` names,
    /// else a SQLite file in a new folder under the system's temporary
    /// directory (a SQLite `DATABASE_URL`, the bot's own file, is never
    /// touched). A `DATABASE_URL` that does not parse is refused rather
    /// than silently tested around.
    fn empty(set: &'static Migrations) -> Result<TestDatabase, RunError> {
        let server = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(Location::parse(&url).map_err(|error| {
                RunError::Backend(crate::error::BackendError::TestServer {
                    problem: error.to_string(),
                })
            })?),
            _ => None,
        }
        .filter(|location| matches!(location, Location::Postgres { .. }));
        match server {
            #[cfg(feature = "postgres")]
            Some(server) => {
                let options = OpenOptions::default();
                let scratch =
                    crate::tools::schema::server_lab::Scratch::create(&server, &options.server)?;
                let location = scratch.location();
                let url = location.postgres_url().unwrap_or_default();
                Ok(TestDatabase {
                    set,
                    database: Database::open(&location, &options)?,
                    url,
                    folder: None,
                    _scratch: Some(scratch),
                })
            }
            _ => {
                let folder = std::env::temp_dir().join(format!(
                    "migrate-test-{}-{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                ));
                let file = folder.join("test.db");
                let location = Location::Sqlite {
                    path: file.clone(),
                    mode: crate::backend::location::OpenMode::ReadWriteCreate,
                };
                Ok(TestDatabase {
                    set,
                    database: Database::open(&location, &OpenOptions::default())?,
                    url: format!("sqlite://{}", file.display()),
                    folder: Some(folder),
                    #[cfg(feature = "postgres")]
                    _scratch: None,
                })
            }
        }
    }

    /// Upgrades to `target` (the next migration, after a test inserted the
    /// rows it must carry over).
    pub fn upgrade(&mut self, target: &str) -> Result<RunReport, RunError> {
        let target: Target = target.parse()?;
        self.set
            .upgrade_with(&mut self.database, &target, &RunOptions::default())
    }

    /// Downgrades to `target` (a test of a downgrade's data handling).
    pub fn downgrade(&mut self, target: &str) -> Result<RunReport, RunError> {
        let target: Target = target.parse()?;
        self.set
            .downgrade_with(&mut self.database, &target, &RunOptions::default())
    }

    /// The database, for runs and for `migrate`'s own checks.
    pub fn database(&mut self) -> &mut Database {
        &mut self.database
    }

    /// A URL the test's own client opens: `sqlite:///tmp/.../test.db` or
    /// `postgresql://.../migrate_scratch_...` (for sqlx, tokio-postgres,
    /// rusqlite through its path).
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(folder) = &self.folder {
            let _ = std::fs::remove_dir_all(folder);
        }
    }
}
