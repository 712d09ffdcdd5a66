//! The tools layer, above runs: the schema tools (compare, lint,
//! autogenerate, the stairway test, adopt) on scratch databases, the
//! rebuild of a hand-made SQLite file, what [`Database`](crate::Database)
//! offers beyond runs, and the database of a test (`testing`). It may import every layer below.

#[cfg(feature = "sqlite")]
mod database;
#[cfg(feature = "sqlite")]
pub(crate) mod rebuild;
#[cfg(feature = "sqlite")]
pub mod replay;
pub(crate) mod schema;
#[cfg(feature = "sqlite")]
pub(crate) mod testing;

#[cfg(feature = "sqlite")]
pub(crate) use database::Imported;
