//! The set layer: [`Migrations`], an ordered, validated set of
//! migrations, embedded at compile time or read from a folder at runtime
//! ([`load`]). It imports the files and the graph; the runs on a set are in
//! `run/`, the tools in `tools/`.

pub mod load;

use crate::files::migration::Migration;
use crate::graph::Graph;
use load::{LoadError, LoadProblem};
use std::borrow::Cow;
use std::path::Path;
use std::sync::OnceLock;

/// An ordered, validated migration set. `embed_migrations!` builds one as a
/// `static`; [`Migrations::from_dir`] reads one at runtime.
#[derive(Debug)]
pub struct Migrations {
    migrations: Cow<'static, [Migration]>,
    graph: OnceLock<Graph>,
}

/// Two files that declare one revision id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duplicate {
    /// The id.
    pub revision: String,
    /// The file read (the first by name).
    pub kept: String,
    /// The file left out.
    pub left_out: String,
}

impl Migrations {
    /// A set embedded by `embed_migrations!`: already validated and sorted at
    /// compile time. Not meant to be called by hand.
    #[doc(hidden)]
    pub const fn embedded(migrations: &'static [Migration]) -> Self {
        Migrations {
            migrations: Cow::Borrowed(migrations),
            graph: OnceLock::new(),
        }
    }

    /// Reads, parses and validates a migrations folder (the one holding
    /// `versions/`). A file over 1 MiB is not held: it is checked a piece
    /// at a time, and a section of it larger than that is read back from
    /// the file when it runs (see [`Section::is_read_back`]), so the folder
    /// must stay in place while the set is used.
    ///
    /// [`Section::is_read_back`]: crate::Section::is_read_back
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, LoadError> {
        let loaded = load::load_folder(dir.as_ref())?;
        Ok(Self::from_loaded(loaded))
    }

    /// Validates and sorts migrations built in code.
    pub fn from_migrations(migrations: Vec<Migration>) -> Result<Self, LoadError> {
        let loaded = load::order_migrations(migrations).map_err(LoadError::from)?;
        Ok(Self::from_loaded(loaded))
    }

    /// Reads a folder in which two files may declare the same revision id
    /// (two people's branches, merged): the later file of each pair is left
    /// out, so that listings still work. Returns the set and each pair;
    /// other problems are errors.
    pub(crate) fn from_dir_despite_duplicates(
        dir: impl AsRef<Path>,
    ) -> Result<(Self, Vec<Duplicate>), LoadError> {
        let error = match load::load_folder(dir.as_ref()) {
            Ok(loaded) => return Ok((Self::from_loaded(loaded), Vec::new())),
            Err(error) => error,
        };
        let mut duplicates = Vec::new();
        for problem in &error.problems {
            match problem {
                LoadProblem::Graph(crate::GraphError::DuplicateRevision {
                    revision,
                    first,
                    second,
                    ..
                }) => duplicates.push(Duplicate {
                    revision: revision.clone(),
                    kept: first.clone(),
                    left_out: second.clone(),
                }),
                _ => return Err(error),
            }
        }
        let left_out: Vec<&str> = duplicates.iter().map(|d| d.left_out.as_str()).collect();
        let loaded = load::load_folder_leaving_out(dir.as_ref(), &left_out)?;
        Ok((Self::from_loaded(loaded), duplicates))
    }

    fn from_loaded(loaded: load::Loaded) -> Self {
        Migrations {
            migrations: Cow::Owned(loaded.migrations),
            graph: OnceLock::from(loaded.graph),
        }
    }

    /// The migrations in apply order.
    pub fn as_slice(&self) -> &[Migration] {
        &self.migrations
    }

    /// Number of migrations.
    pub fn len(&self) -> usize {
        self.migrations.len()
    }

    /// Whether the set is empty (never true for a validated set).
    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }

    /// The migration with this exact revision id.
    pub fn get(&self, revision: &str) -> Option<&Migration> {
        self.graph()
            .ok()?
            .find(revision)
            .map(|i| &self.migrations[i])
    }

    /// The squashed baseline that replaces `revision`, if any.
    pub(crate) fn replaced_by(&self, revision: &str) -> Option<&Migration> {
        self.migrations
            .iter()
            .find(|m| m.revision() != revision && m.replaced_checksum(revision).is_some())
    }

    /// The revision graph (built on first use for embedded sets).
    pub fn graph(&self) -> Result<&Graph, LoadError> {
        if let Some(graph) = self.graph.get() {
            return Ok(graph);
        }
        let graph = Graph::build(&self.migrations).map_err(LoadError::from)?;
        Ok(self.graph.get_or_init(|| graph))
    }
}

impl PartialEq for Migrations {
    fn eq(&self, other: &Self) -> bool {
        self.migrations == other.migrations
    }
}
