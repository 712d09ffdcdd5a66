//! The README's tokio start-up, run as written: inside a tokio runtime
//! (multi-thread and current-thread), the runs go to the blocking pool
//! with a connection of their own, on a SQLite file and on a PostgreSQL
//! database; eight concurrent starts apply each migration once.

#[cfg(feature = "postgres")]
use crate::sets::SERVER_SET;
use crate::sets::{runtimes, REFERENCE};
use migrate_kit::{Database, Location, Migrations, OpenOptions, Startup};
use std::error::Error;

type BoxError = Box<dyn Error + Send + Sync>;

/// The start-up as the README writes it, for `url` and `set`.
async fn start(url: String, set: &'static Migrations) -> Result<Startup, BoxError> {
    tokio::task::spawn_blocking(move || -> Result<Startup, BoxError> {
        let location = Location::parse(&url)?;
        let mut db = Database::open(&location, &OpenOptions::default())?;
        Ok(set.start(&mut db)?)
    })
    .await?
}

fn leaked(dir: &str) -> &'static Migrations {
    Box::leak(Box::new(Migrations::from_dir(dir).unwrap()))
}

/// Eight starts at once: exactly one applies the migrations, the others
/// wait for its lock or find nothing to do, and all end at head.
async fn eight_starts(url: &str, set: &'static Migrations) -> (usize, Vec<String>) {
    let starts: Vec<_> = (0..8)
        .map(|_| tokio::spawn(start(url.to_owned(), set)))
        .collect();
    let mut applied = 0;
    let mut heads = Vec::new();
    for handle in starts {
        let startup = handle.await.unwrap().unwrap();
        applied += startup.run.steps.len();
        heads = startup.run.heads_after;
    }
    (applied, heads)
}

#[test]
fn sqlite_starts_from_inside_tokio() {
    let set = leaked(REFERENCE);
    for (flavor, runtime) in runtimes() {
        let dir = tempfile::TempDir::new().unwrap();
        // The folder does not exist yet: Database::open creates it.
        let url = format!("sqlite:///{}", dir.path().join("data/bot.db").display());
        let (applied, heads) = runtime.block_on(eight_starts(&url, set));
        assert_eq!(applied, set.len(), "{flavor}");
        assert_eq!(heads, ["003"], "{flavor}");
    }
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_starts_from_inside_tokio() {
    let set = leaked(SERVER_SET);
    for (flavor, runtime) in runtimes() {
        let Some(db) = crate::pg::TestDb::create("tokio_start") else {
            return;
        };
        let (applied, heads) = runtime.block_on(eight_starts(db.url(), set));
        assert_eq!(applied, set.len(), "{flavor}");
        assert_eq!(heads.len(), 1, "{flavor}");
        assert_eq!(
            db.column("SELECT count(*) FROM migrate_applied"),
            [set.len().to_string()],
            "{flavor}"
        );
    }
}
