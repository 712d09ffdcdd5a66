//! The integration tests of `migrate-kit-core`, built as one binary: the
//! runner and drift detection on real SQLite files, the layers of the
//! sources, and the PostgreSQL backend on a real server (with the
//! `postgres` feature). Tests of internals are unit tests (`src/tests/`).

#[cfg(feature = "postgres")]
mod pg;
mod support;

mod drift;
mod layers;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
mod postgres_tls;
mod runner;
