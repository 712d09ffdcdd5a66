//! Reading a migrations folder (DESIGN §3): listing `versions/`, reading and
//! parsing every file, validating the graph, and reporting every problem at once.

use crate::files::migration::Migration;
use crate::files::parse::{parse_large, parse_migration, parse_text, ParseError};
use crate::files::pieces::{ReadBackError, PIECE_BYTES};
use crate::graph::{Graph, GraphError};
use crate::hint::Cmd;
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The folder inside a migrations folder that holds the revision files.
pub(crate) const VERSIONS_DIR: &str = "versions";

/// One problem found while loading a folder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadProblem {
    /// The folder or `versions/` is missing or unreadable.
    #[error("cannot read migrations folder {}: {source}; create it with {} or pass --dir", path.display(), Cmd("init"))]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A file could not be read (it may have vanished after listing).
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// An entry of `versions/` that is not a `.sql` file.
    #[error("{path}: not a .sql file; migrations must end in .sql (hidden files and README* are ignored)")]
    NotSql {
        /// The entry, relative to the migrations folder.
        path: String,
    },
    /// A symbolic link that leads outside the migrations folder.
    #[error(
        "{path}: symbolic link points outside the migrations folder; copy the file in instead"
    )]
    OutsideLink {
        /// The link, relative to the migrations folder.
        path: String,
    },
    /// A malformed file.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A file too large to hold could not be read back, or changed.
    #[error(transparent)]
    ReadBack(#[from] ReadBackError),
    /// A broken revision graph.
    #[error(transparent)]
    Graph(#[from] GraphError),
}

/// Everything wrong with a migrations folder, reported together. `{:?}`
/// prints the message; `{:#?}` the problems' data.
pub struct LoadError {
    /// The problems, in file order.
    pub problems: Vec<LoadProblem>,
}

crate::message::debug_as_message!(LoadError, |error, f| f
    .debug_struct("LoadError")
    .field("problems", &error.problems)
    .finish());

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [one] = &self.problems[..] {
            return write!(f, "{one}");
        }
        write!(
            f,
            "{} problems in the migrations folder:",
            self.problems.len()
        )?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

impl From<Vec<LoadProblem>> for LoadError {
    fn from(problems: Vec<LoadProblem>) -> Self {
        LoadError { problems }
    }
}

impl From<Vec<GraphError>> for LoadError {
    fn from(errors: Vec<GraphError>) -> Self {
        LoadError {
            problems: errors.into_iter().map(LoadProblem::Graph).collect(),
        }
    }
}

/// A file of `versions/` as read from disk.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path relative to the migrations folder, with `/` separators.
    pub relative: String,
    /// The absolute (or caller-relative) path.
    pub path: PathBuf,
    /// What the file holds.
    pub contents: Contents,
}

/// What a migration file holds.
#[derive(Debug, Clone)]
pub enum Contents {
    /// UTF-8 text, which the migration parsed from it goes on sharing (a
    /// big file is held once).
    Text(Arc<String>),
    /// Bytes that are not UTF-8 (parsing says where).
    NotUtf8(Vec<u8>),
}

impl SourceFile {
    /// The migration this file holds, or what is wrong with it.
    pub(crate) fn parse(&self) -> Result<Migration, Vec<ParseError>> {
        match &self.contents {
            Contents::Text(text) => parse_text(&self.relative, text),
            Contents::NotUtf8(bytes) => parse_migration(&self.relative, bytes),
        }
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.contents {
            Contents::Text(text) => text.as_bytes(),
            Contents::NotUtf8(bytes) => bytes,
        }
    }
}

/// Lists and reads the `.sql` files of `dir/versions`, sorted by name.
pub fn read_folder(dir: &Path) -> Result<Vec<SourceFile>, LoadError> {
    visit_folder(dir, |relative, path| {
        // Without a limit, the file is always read.
        let bytes = read_file(&path, &relative, None)?.unwrap_or_default();
        Ok(source_file(relative, path, bytes))
    })
}

/// A file read into memory.
fn source_file(relative: String, path: PathBuf, bytes: Vec<u8>) -> SourceFile {
    SourceFile {
        relative,
        path,
        contents: match String::from_utf8(bytes) {
            Ok(text) => Contents::Text(Arc::new(text)),
            Err(error) => Contents::NotUtf8(error.into_bytes()),
        },
    }
}

/// The bytes of the file at `path`, or `None` when it is larger than
/// `limit` (when one is given).
fn read_file(
    path: &Path,
    relative: &str,
    limit: Option<u64>,
) -> Result<Option<Vec<u8>>, LoadProblem> {
    let problem = |source: io::Error| match source.kind() {
        io::ErrorKind::IsADirectory => LoadProblem::NotSql {
            path: relative.to_owned(),
        },
        _ => LoadProblem::Read {
            path: path.to_owned(),
            source,
        },
    };
    let mut file = fs::File::open(path).map_err(problem)?;
    let len = file.metadata().map_err(problem)?.len();
    if limit.is_some_and(|limit| len > limit) {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.read_to_end(&mut bytes).map_err(problem)?;
    Ok(Some(bytes))
}

/// Lists the `.sql` files of `dir/versions`, sorted by name, and hands each
/// to `read` (its path relative to `dir`, and its path), on every core.
fn visit_folder<T: Send>(
    dir: &Path,
    read: impl Fn(String, PathBuf) -> Result<T, LoadProblem> + Sync,
) -> Result<Vec<T>, LoadError> {
    let versions = dir.join(VERSIONS_DIR);
    let folder_error = |path: &Path, source| {
        LoadError::from(vec![LoadProblem::Folder {
            path: path.to_owned(),
            source,
        }])
    };
    if let Err(source) = fs::metadata(dir) {
        return Err(folder_error(dir, source));
    }
    let listing = fs::read_dir(&versions).map_err(|source| folder_error(&versions, source))?;
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for entry in listing {
        match entry {
            Ok(entry) => {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !(name.starts_with('.') || name.starts_with("README")) {
                    entries.push((name, entry.file_type().ok()));
                }
            }
            Err(source) => problems.push(LoadProblem::Folder {
                path: versions.clone(),
                source,
            }),
        }
    }
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let root = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
    let visited = parallel_map(&entries, |(name, file_type)| {
        let path = versions.join(name);
        let relative = format!("{VERSIONS_DIR}/{name}");
        let is_link = file_type.is_some_and(|t| t.is_symlink());
        if !name.ends_with(".sql") || file_type.is_some_and(|t| t.is_dir()) {
            return Err(LoadProblem::NotSql { path: relative });
        }
        if is_link {
            match fs::canonicalize(&path) {
                Err(source) => return Err(LoadProblem::Read { path, source }),
                Ok(target) if !target.starts_with(&root) => {
                    return Err(LoadProblem::OutsideLink { path: relative })
                }
                Ok(_) => {}
            }
        }
        read(relative, path)
    });
    let mut files = Vec::with_capacity(visited.len());
    for result in visited {
        match result {
            Ok(file) => files.push(file),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(problems.into())
    }
}

/// Maps `items` with `f` on every available core, keeping the order.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    const MIN_CHUNK: usize = 256;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < 2 * MIN_CHUNK {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// The outcome of loading: migrations in apply order and their graph.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The migrations, topologically sorted.
    pub migrations: Vec<Migration>,
    /// Their graph (indices match `migrations`).
    pub graph: Graph,
}

/// Parses `files` and validates their graph; on success, returns the
/// migrations in the canonical apply order that both the macro and the
/// runtime use.
pub fn parse_files(files: &[SourceFile]) -> Result<Loaded, LoadError> {
    order_parsed(parallel_map(files, SourceFile::parse))
}

/// Orders the migrations `parsed` from a folder's files, and reports every
/// problem together.
fn order_parsed(parsed: Vec<Result<Migration, Vec<ParseError>>>) -> Result<Loaded, LoadError> {
    let mut problems: Vec<LoadProblem> = Vec::new();
    let mut migrations = Vec::with_capacity(parsed.len());
    for result in parsed {
        match result {
            Ok(m) => migrations.push(m),
            Err(errors) => problems.extend(errors.into_iter().map(LoadProblem::Parse)),
        }
    }
    if !problems.is_empty() && migrations.is_empty() {
        return Err(problems.into());
    }
    match order_migrations(migrations) {
        Ok(loaded) if problems.is_empty() => Ok(loaded),
        Ok(_) => Err(problems.into()),
        Err(graph_errors) => {
            // Parents in files that failed to parse are not "unknown": the
            // parse error already explains them.
            if problems.is_empty() {
                problems.extend(graph_errors.into_iter().map(LoadProblem::Graph));
            } else {
                problems.extend(
                    graph_errors
                        .into_iter()
                        .filter(|e| {
                            matches!(
                                e,
                                GraphError::DuplicateRevision { .. } | GraphError::Cycle { .. }
                            )
                        })
                        .map(LoadProblem::Graph),
                );
            }
            Err(problems.into())
        }
    }
}

/// Validates the graph of `migrations` and sorts them into apply order.
pub(crate) fn order_migrations(migrations: Vec<Migration>) -> Result<Loaded, Vec<GraphError>> {
    let graph = Graph::build(&migrations)?;
    let order = graph.upgrade_order();
    let graph = graph.permuted(&order);
    let mut slots: Vec<Option<Migration>> = migrations.into_iter().map(Some).collect();
    let migrations: Vec<Migration> = order.iter().filter_map(|&i| slots[i].take()).collect();
    Ok(Loaded { migrations, graph })
}

/// Reads, parses and validates a migrations folder. A file larger than
/// [`PIECE_BYTES`] is not held: it is parsed a piece at a time, and its
/// larger sections are read back from it when they run.
pub(crate) fn load_folder(dir: &Path) -> Result<Loaded, LoadError> {
    load_folder_leaving_out(dir, &[])
}

/// [`load_folder`] without the files named in `left_out` (paths relative
/// to the folder).
pub(crate) fn load_folder_leaving_out(dir: &Path, left_out: &[&str]) -> Result<Loaded, LoadError> {
    let parsed = visit_folder(dir, |relative, path| {
        if left_out.contains(&relative.as_str()) {
            return Ok(None);
        }
        Ok(Some(
            match read_file(&path, &relative, Some(PIECE_BYTES as u64))? {
                Some(bytes) => source_file(relative, path, bytes).parse(),
                None => {
                    parse_large(&relative, &path, PIECE_BYTES).map_err(LoadProblem::ReadBack)?
                }
            },
        ))
    })?;
    order_parsed(parsed.into_iter().flatten().collect())
}

/// The macro's extra rule: exactly one head unless every head carries a
/// branch label.
pub fn check_single_head(loaded: &Loaded) -> Result<(), GraphError> {
    let graph = &loaded.graph;
    let mut heads = graph.heads().to_vec();
    heads.sort_by_key(|&h| loaded.migrations[h].path());
    let unlabelled = heads
        .iter()
        .filter(|&&h| graph.labels(h).is_empty())
        .count();
    if heads.len() > 1 && unlabelled > 0 {
        return Err(GraphError::MultipleHeads {
            heads: heads
                .iter()
                .map(|&h| {
                    (
                        graph.id(h).to_owned(),
                        loaded.migrations[h].path().to_owned(),
                    )
                })
                .collect(),
        });
    }
    Ok(())
}
