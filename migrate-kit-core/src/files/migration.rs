//! One migration file, parsed: its header, its SQL sections and its checksum.

use crate::files::checksum::Checksum;
use crate::files::pieces::{FilePlace, Pieces, ReadBackError, PIECE_BYTES};
use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

/// Text that is either borrowed from the binary (embedded sets) or owned
/// (folders read at runtime).
pub(crate) type Text = Cow<'static, str>;

/// A list of ids or labels, borrowed or owned like [`Text`].
pub(crate) type TextList = Cow<'static, [Text]>;

/// One SQL section of a migration file (`-- migrate:upgrade` or
/// `-- migrate:downgrade`).
#[derive(Debug, Clone)]
pub struct Section {
    sql: SqlText,
    first_line: u32,
}

/// Where a section's SQL is: in the binary, in the text of a file read at
/// runtime (which both sections of the file share: a big migration is held
/// once, not copied out of its file), or, for a file too large to hold, in
/// the file, read back in pieces when it runs.
#[derive(Debug, Clone)]
enum SqlText {
    Embedded(&'static str),
    InFile {
        file: Arc<String>,
        range: Range<usize>,
    },
    OnDisk(Arc<FilePlace>),
}

impl Section {
    /// The section at `range` of a file's `text`, whose first SQL line is
    /// `first_line` of the file.
    pub(crate) fn in_file(text: &Arc<String>, range: Range<usize>, first_line: u32) -> Self {
        Section {
            sql: SqlText::InFile {
                file: Arc::clone(text),
                range,
            },
            first_line,
        }
    }

    /// A section of a file too large to hold, read back from `place` when
    /// it runs; its first SQL line is `first_line` of the file.
    pub(crate) fn on_disk(place: FilePlace, first_line: u32) -> Self {
        Section {
            sql: SqlText::OnDisk(Arc::new(place)),
            first_line,
        }
    }

    /// The section of an embedded file at `(start, end, first_line)`.
    const fn embedded(file: &'static str, (start, end, first_line): (usize, usize, u32)) -> Self {
        let (_, from_start) = file.split_at(start);
        let (sql, _) = from_start.split_at(end - start);
        Section {
            sql: SqlText::Embedded(sql),
            first_line,
        }
    }

    /// The SQL text, exactly as in the file (between the markers). A
    /// section of a file too large to hold (over 1 MiB, read at runtime)
    /// is read back from the file, which must not have changed since it
    /// was loaded; every other section is borrowed.
    pub fn sql(&self) -> Result<Cow<'_, str>, ReadBackError> {
        if let Some(sql) = self.held() {
            return Ok(Cow::Borrowed(sql));
        }
        let mut pieces = self.pieces();
        let mut sql = String::new();
        while let Some(piece) = pieces.next()? {
            sql.push_str(piece.sql);
        }
        Ok(Cow::Owned(sql))
    }

    /// The SQL in pieces of whole statements: one for a held text, about
    /// [`PIECE_BYTES`] each for a file too large to hold.
    pub(crate) fn pieces(&self) -> Pieces<'_> {
        match (&self.sql, self.held()) {
            (SqlText::OnDisk(place), _) => Pieces::read_back(place, self.first_line, PIECE_BYTES),
            (_, sql) => Pieces::held(sql.unwrap_or_default(), self.first_line),
        }
    }

    /// The SQL text when it is held.
    fn held(&self) -> Option<&str> {
        match &self.sql {
            SqlText::Embedded(sql) => Some(sql),
            // The parser made the range on character boundaries.
            SqlText::InFile { file, range } => Some(file.get(range.clone()).unwrap_or_default()),
            SqlText::OnDisk(_) => None,
        }
    }

    /// Whether the section is read back from its file when it runs (the
    /// file is too large to hold).
    pub fn is_read_back(&self) -> bool {
        matches!(self.sql, SqlText::OnDisk(_))
    }

    /// The 1-based line of the file where [`Section::sql`] starts.
    pub fn first_line(&self) -> u32 {
        self.first_line
    }
}

impl PartialEq for Section {
    /// Sections are equal when their SQL and first line are, wherever the
    /// text is held; a section read back from a file equals one of the
    /// same place.
    fn eq(&self, other: &Self) -> bool {
        if self.first_line != other.first_line {
            return false;
        }
        match (&self.sql, &other.sql) {
            (SqlText::OnDisk(a), SqlText::OnDisk(b)) => a == b,
            _ => self.held().is_some() && self.held() == other.held(),
        }
    }
}

impl Eq for Section {}

/// A parsed migration: everything the graph, the runner and drift detection
/// need, identical whether it was embedded at compile time or read at runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    header: Header,
    path: Text,
    upgrade: Section,
    downgrade: Option<Section>,
    checksum: Checksum,
}

/// The header fields of a migration file (DESIGN §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `revision`: the id.
    pub revision: Text,
    /// `down_revision`: no parent for a base, several for a merge.
    pub down_revisions: TextList,
    /// `message`: one line shown by `history`.
    pub message: Text,
    /// `create_date`: informational.
    pub create_date: Option<Text>,
    /// `branch_labels`: names usable as `label@head`.
    pub branch_labels: TextList,
    /// `depends_on`: revisions that must be applied first without being parents.
    pub depends_on: TextList,
    /// `transactional`: `false` runs the migration outside a transaction.
    pub transactional: bool,
    /// Lint codes this migration acknowledges (`-- allow: drop_column`).
    pub allow: TextList,
    /// For a squashed baseline: `revision=checksum` of each file it replaces.
    pub replaces: TextList,
    /// Where the keys that name other revisions are, for error messages.
    pub lines: HeaderLines,
}

/// The lines of the header keys that graph errors point at (0 when absent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeaderLines {
    /// The `revision` line.
    pub revision: u32,
    /// The `down_revision` line.
    pub down_revision: u32,
    /// The `depends_on` line.
    pub depends_on: u32,
    /// The `branch_labels` line.
    pub branch_labels: u32,
}

impl Migration {
    /// Assembles a migration. `path` is the file's path relative to the
    /// migrations folder, such as `versions/001_initial_schema.sql`.
    pub(crate) const fn new(
        header: Header,
        path: Text,
        upgrade: Section,
        downgrade: Option<Section>,
        checksum: Checksum,
    ) -> Self {
        Migration {
            header,
            path,
            upgrade,
            downgrade,
            checksum,
        }
    }

    /// What `embed_migrations!` emits for each file, with positional
    /// arguments so that the expansion stays small: the file's text (from
    /// `include_str!`, so editing it rebuilds) and its length as the macro
    /// read it, the relative path, `(revision, down_revisions, message,
    /// create_date, transactional)`, `[branch_labels, depends_on, allow,
    /// replaces]`, the [`HeaderLines`] in field order, each section as
    /// `(start, end, first_line)` byte offsets into the file, and the
    /// SHA-256 digest. Not meant to be called by hand.
    ///
    /// # Panics
    ///
    /// At compile time, when the file's length differs from what the macro
    /// read (it was edited during the build) or a section's offsets do not
    /// fall on character boundaries.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    pub const fn embedded(
        file: &'static str,
        len: usize,
        path: &'static str,
        fields: (
            &'static str,
            &'static [Text],
            &'static str,
            Option<&'static str>,
            bool,
        ),
        lists: [&'static [Text]; 4],
        lines: [u32; 4],
        upgrade: (usize, usize, u32),
        downgrade: Option<(usize, usize, u32)>,
        digest: [u8; 32],
    ) -> Self {
        assert!(
            file.len() == len,
            "a migration file changed while it was being embedded: build again"
        );
        let (revision, down_revisions, message, create_date, transactional) = fields;
        let [branch_labels, depends_on, allow, replaces] = lists;
        let [revision_line, down_revision_line, depends_on_line, branch_labels_line] = lines;
        Migration {
            header: Header {
                revision: Cow::Borrowed(revision),
                down_revisions: Cow::Borrowed(down_revisions),
                message: Cow::Borrowed(message),
                create_date: match create_date {
                    Some(date) => Some(Cow::Borrowed(date)),
                    None => None,
                },
                branch_labels: Cow::Borrowed(branch_labels),
                depends_on: Cow::Borrowed(depends_on),
                transactional,
                allow: Cow::Borrowed(allow),
                replaces: Cow::Borrowed(replaces),
                lines: HeaderLines {
                    revision: revision_line,
                    down_revision: down_revision_line,
                    depends_on: depends_on_line,
                    branch_labels: branch_labels_line,
                },
            },
            path: Cow::Borrowed(path),
            upgrade: Section::embedded(file, upgrade),
            downgrade: match downgrade {
                Some(place) => Some(Section::embedded(file, place)),
                None => None,
            },
            checksum: Checksum::from_digest(digest),
        }
    }

    /// The header fields.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The revision id.
    pub fn revision(&self) -> &str {
        &self.header.revision
    }

    /// The parents (`down_revision`); empty for a base, several for a merge.
    pub fn down_revisions(&self) -> impl ExactSizeIterator<Item = &str> {
        self.header.down_revisions.iter().map(|t| t.as_ref())
    }

    /// The one-line message.
    pub fn message(&self) -> &str {
        &self.header.message
    }

    /// The informational creation date, if the header has one.
    pub fn create_date(&self) -> Option<&str> {
        self.header.create_date.as_deref()
    }

    /// The branch labels declared by this file.
    pub fn branch_labels(&self) -> impl ExactSizeIterator<Item = &str> {
        self.header.branch_labels.iter().map(|t| t.as_ref())
    }

    /// Revisions that must be applied before this one without being parents.
    pub fn depends_on(&self) -> impl ExactSizeIterator<Item = &str> {
        self.header.depends_on.iter().map(|t| t.as_ref())
    }

    /// Lint codes this migration acknowledges.
    pub fn allowed(&self) -> impl ExactSizeIterator<Item = &str> {
        self.header.allow.iter().map(|t| t.as_ref())
    }

    /// Whether the header acknowledges findings of `code` (`-- allow:`).
    pub(crate) fn acknowledges(&self, code: crate::files::lint_code::LintCode) -> bool {
        self.allowed().any(|name| name == code.name())
    }

    /// For a squashed baseline: each revision it replaces, with the checksum
    /// that revision's file had.
    pub fn replaces(&self) -> impl Iterator<Item = (&str, Checksum)> {
        self.header.replaces.iter().filter_map(|entry| {
            let (id, sum) = entry.split_once('=')?;
            Some((id, sum.parse().ok()?))
        })
    }

    /// Whether this migration replaces `revision` (a squashed baseline).
    pub(crate) fn replaced_checksum(&self, revision: &str) -> Option<Checksum> {
        self.replaces()
            .find(|(id, _)| *id == revision)
            .map(|(_, sum)| sum)
    }

    /// Whether the migration runs inside the run's transaction.
    pub fn is_transactional(&self) -> bool {
        self.header.transactional
    }

    /// The file's path relative to the migrations folder.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The `-- migrate:upgrade` section.
    pub fn upgrade(&self) -> &Section {
        &self.upgrade
    }

    /// The `-- migrate:downgrade` section; `None` when the migration is irreversible.
    pub fn downgrade(&self) -> Option<&Section> {
        self.downgrade.as_ref()
    }

    /// The file's checksum (DESIGN §4).
    pub fn checksum(&self) -> Checksum {
        self.checksum
    }

    /// Whether this revision has no parent.
    pub(crate) fn is_base(&self) -> bool {
        self.header.down_revisions.is_empty()
    }
}
