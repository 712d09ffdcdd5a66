//! Parsing one migration file (DESIGN §3): the `-- key: value` header and the
//! `-- migrate:upgrade` / `-- migrate:downgrade` sections.
//!
//! Every problem in a file is collected, each with its line, so that one
//! build or one command shows them all.

use crate::files::checksum::Checksum;
use crate::files::migration::{Header, HeaderLines, Migration, Section, Text, TextList};
use crate::files::pieces::Piece;
use crate::files::sql_text::has_sql;
use crate::files::statements::{self, Unfit};
use crate::hint::Cmd;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// The header keys a migration file may use.
pub(crate) const KNOWN_KEYS: [&str; 9] = [
    "revision",
    "down_revision",
    "message",
    "create_date",
    "branch_labels",
    "depends_on",
    "transactional",
    "allow",
    "replaces",
];

/// Words that name targets and so cannot be revision ids.
pub(crate) const RESERVED_IDS: [&str; 4] = ["head", "heads", "base", "current"];

/// The longest revision id, as `alembic_version.version_num` is `VARCHAR(32)`.
pub(crate) const MAX_ID_LEN: usize = 32;

const UPGRADE_MARKER: &str = "-- migrate:upgrade";
const DOWNGRADE_MARKER: &str = "-- migrate:downgrade";
const MARKER_PREFIX: &str = "-- migrate:";

/// A problem in one migration file, with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: {kind}")]
pub struct ParseError {
    /// The file, relative to the migrations folder.
    pub path: String,
    /// The 1-based line.
    pub line: u32,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

/// What is wrong with a migration file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The bytes are not UTF-8.
    #[error("the file is not valid UTF-8; save it as UTF-8")]
    InvalidUtf8,
    /// A NUL byte, which SQLite would silently treat as the end of the SQL.
    #[error("the file contains a NUL byte; remove it")]
    NulByte,
    /// A byte order mark after the start of the file.
    #[error("a byte order mark (U+FEFF) appears inside the file; only a leading one is allowed")]
    MisplacedBom,
    /// A required header key is absent.
    #[error("missing header `-- {0}: ...`")]
    MissingKey(&'static str),
    /// A header key that is not one of the format's (`revision`,
    /// `down_revision`, `message`, `create_date`, `branch_labels`,
    /// `depends_on`, `transactional`, `allow`, `replaces`).
    #[error("unknown header key `{key}`{}", suggestion_text(.suggestion))]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The nearest known key, when one is close.
        suggestion: Option<&'static str>,
    },
    /// A header key given twice.
    #[error("header key `{key}` repeats the one on line {first_line}")]
    DuplicateKey {
        /// The key.
        key: String,
        /// Where it first appeared.
        first_line: u32,
    },
    /// A header key with nothing after the colon.
    #[error("header key `{0}` has no value")]
    EmptyValue(&'static str),
    /// A revision id (in `revision`, `down_revision` or `depends_on`) that breaks the id rule.
    #[error("invalid revision id `{id}` in `{key}`: {reason}")]
    InvalidId {
        /// The key it was found in.
        key: &'static str,
        /// The id as written.
        id: String,
        /// Which rule it breaks.
        reason: IdProblem,
    },
    /// `allow` names a code that no lint finding has.
    #[error(
        "unknown lint code `{code}` in `allow`; codes are {}",
        crate::files::lint_code::LintCode::names()
    )]
    UnknownLintCode {
        /// The code as written.
        code: String,
    },
    /// A `replaces` entry that is not `revision=sha256:...`.
    #[error(
        "`replaces` entry `{entry}` must be `revision=sha256:<64 hex digits>` (written by {})",
        Cmd("squash")
    )]
    InvalidReplaces {
        /// The entry as written.
        entry: String,
    },
    /// `transactional` is neither `true` nor `false`.
    #[error("`transactional` must be `true` or `false`, not `{0}`")]
    InvalidBool(String),
    /// The same id twice in one list.
    #[error("`{key}` lists `{id}` twice")]
    RepeatedItem {
        /// The key.
        key: &'static str,
        /// The repeated id or label.
        id: String,
    },
    /// SQL (or any other text) before the first section marker.
    #[error("SQL before the `-- migrate:upgrade` marker; put it inside a section")]
    SqlBeforeMarker,
    /// No `-- migrate:upgrade` line.
    #[error("missing the `-- migrate:upgrade` marker line")]
    MissingUpgradeMarker,
    /// A `-- migrate:` line that is neither known marker.
    #[error("unknown section marker `{0}`; use `-- migrate:upgrade` or `-- migrate:downgrade`")]
    UnknownMarker(String),
    /// A section marker given twice.
    #[error("section marker `{marker}` repeats the one on line {first_line}")]
    DuplicateMarker {
        /// The marker.
        marker: &'static str,
        /// Where it first appeared.
        first_line: u32,
    },
    /// `-- migrate:downgrade` before `-- migrate:upgrade`.
    #[error("`-- migrate:downgrade` must come after `-- migrate:upgrade`")]
    DowngradeFirst,
    /// The upgrade section holds only comments or blanks.
    #[error("the upgrade section holds no SQL (only comments or blanks); write the migration or delete the file")]
    EmptyUpgrade,
    /// A statement no migration can run: `COPY ... FROM STDIN`, a psql
    /// meta-command, or `CONCURRENTLY` in a transactional migration.
    #[error("{}", unfit_text(*.0))]
    Unfit(Unfit),
}

fn unfit_text(unfit: Unfit) -> String {
    let text = match unfit {
        Unfit::CopyFromStdin => "`COPY ... FROM STDIN` reads rows that follow it in a psql script, which a migration has no way to send; insert the rows with INSERT, or COPY from a file the server can read",
        Unfit::MetaCommand => "a psql meta-command (a backslash command such as \\connect or \\i) is not SQL and cannot run through a migration; write the SQL it stands for",
        Unfit::Concurrently => "`CONCURRENTLY` cannot run inside a transaction, and this migration is transactional; put the statement in its own migration with `-- transactional: false` in the header",
        Unfit::ForeignKeysPragma => "`PRAGMA foreign_keys` cannot change how a run treats foreign keys: the run keeps them off (so a table can be rebuilt), checks them with `PRAGMA foreign_key_check` before it commits and restores the connection's setting afterwards; delete the line (the application turns foreign keys on for its own connections)",
        Unfit::TransactionControl(keyword) => {
            let what = match keyword {
                "BEGIN" | "START TRANSACTION" => "opens a transaction inside the run's own",
                "PREPARE TRANSACTION" => "hands the run's transaction to a later `COMMIT PREPARED`",
                "ROLLBACK" | "ABORT" => "would undo the whole run, ledger included",
                _ => "would commit the run halfway, so a later failure could no longer be rolled back",
            };
            return format!(
                "`{keyword}` {what}: this migration runs inside the run's transaction, which applies every migration of the run or none; delete it (to undo part of a migration, use `SAVEPOINT name` and `ROLLBACK TO SAVEPOINT name`), or give work that needs its own transactions a migration with `-- transactional: false` in the header"
            );
        }
    };
    text.to_owned()
}

fn suggestion_text(suggestion: &Option<&'static str>) -> String {
    match suggestion {
        Some(known) => format!("; did you mean `{known}`?"),
        None => format!("; known keys are {}", KNOWN_KEYS.join(", ")),
    }
}

/// Why a revision id is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdProblem {
    /// No characters.
    Empty,
    /// More than 32 characters (`alembic_version.version_num` is
    /// `VARCHAR(32)`).
    TooLong(usize),
    /// A character outside `[A-Za-z0-9_]`.
    BadChar(char),
    /// One of `head`, `heads`, `base`, `current`.
    Reserved,
}

impl fmt::Display for IdProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdProblem::Empty => f.write_str("it is empty"),
            IdProblem::TooLong(n) => {
                write!(f, "it has {n} characters, the limit is {MAX_ID_LEN}")
            }
            IdProblem::BadChar(c) => write!(
                f,
                "{c:?} is not allowed; use letters A-Z, a-z, digits and `_`"
            ),
            IdProblem::Reserved => f.write_str("it is a reserved target name"),
        }
    }
}

/// Checks a revision id or branch label against the rule of DESIGN §3.
pub(crate) fn check_id(id: &str) -> Result<(), IdProblem> {
    if id.is_empty() {
        return Err(IdProblem::Empty);
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(IdProblem::BadChar(bad));
    }
    if id.len() > MAX_ID_LEN {
        return Err(IdProblem::TooLong(id.len()));
    }
    if RESERVED_IDS.iter().any(|r| r.eq_ignore_ascii_case(id)) {
        return Err(IdProblem::Reserved);
    }
    Ok(())
}

/// Parses one migration file. `path` is how errors name the file.
pub(crate) fn parse_migration(path: &str, bytes: &[u8]) -> Result<Migration, Vec<ParseError>> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_text(path, &Arc::new(text.to_owned())),
        Err(e) => Err(vec![ParseError {
            path: path.to_owned(),
            line: line_at(bytes, e.valid_up_to()),
            kind: ParseErrorKind::InvalidUtf8,
        }]),
    }
}

/// Parses one migration file's text, which its sections go on sharing.
/// `path` is how errors name the file.
pub(crate) fn parse_text(path: &str, file: &Arc<String>) -> Result<Migration, Vec<ParseError>> {
    let error = |line: u32, kind| ParseError {
        path: path.to_owned(),
        line,
        kind,
    };
    let text = file.strip_prefix('\u{feff}').unwrap_or(file);
    // Section ranges are offsets of `text`, which starts after any BOM.
    let bom = file.len() - text.len();
    let mut errors = Vec::new();
    if let Some(at) = text.find('\0') {
        errors.push(error(line_at(text.as_bytes(), at), ParseErrorKind::NulByte));
    }
    if let Some(at) = text.find('\u{feff}') {
        errors.push(error(
            line_at(text.as_bytes(), at),
            ParseErrorKind::MisplacedBom,
        ));
    }
    let mut scan = LayoutScan::default();
    let mut header_lines = Vec::new();
    for raw in text.split_inclusive('\n') {
        if let Some(line) = scan.line(raw, &mut |line, kind| errors.push(error(line, kind))) {
            header_lines.push((scan.line_no, line));
        }
    }
    let layout = scan.finish();
    let header = HeaderFields::read(&header_lines, &mut |line, kind| {
        errors.push(error(line, kind))
    });
    let transactional = header.as_ref().map(|h| h.transactional);
    let section = |span: Span, errors: &mut Vec<ParseError>| {
        let holds_sql = check_held(
            span.text(text),
            span.first_line(),
            transactional,
            &mut |line, kind| errors.push(error(line, kind)),
        );
        holds_sql.then(|| span.section(file, bom))
    };
    let made = layout.upgrade.and_then(|span| section(span, &mut errors));
    let upgrade = require_upgrade(path, &layout, made, &mut errors);
    let downgrade = layout.downgrade.and_then(|span| section(span, &mut errors));
    let checksum = Checksum::of_file(file.as_bytes());
    migration_or_errors(path, header, (upgrade, downgrade), checksum, errors)
}

/// The migration at `path`, when its file has a header and an upgrade
/// section and no error; otherwise the errors.
fn migration_or_errors(
    path: &str,
    header: Option<Header>,
    (upgrade, downgrade): (Option<Section>, Option<Section>),
    checksum: Checksum,
    errors: Vec<ParseError>,
) -> Result<Migration, Vec<ParseError>> {
    match (header, upgrade) {
        (Some(header), Some(upgrade)) if errors.is_empty() => Ok(Migration::new(
            header,
            Cow::Owned(path.to_owned()),
            upgrade,
            downgrade,
            checksum,
        )),
        _ => Err(errors),
    }
}

/// The upgrade section `made` from the layout's upgrade span (`None` when
/// it holds no SQL); a missing marker or an empty section is reported.
fn require_upgrade(
    path: &str,
    layout: &Layout,
    made: Option<Section>,
    errors: &mut Vec<ParseError>,
) -> Option<Section> {
    let (line, kind) = match (layout.upgrade, &made) {
        (_, Some(_)) => return made,
        (None, None) => (layout.last_line, ParseErrorKind::MissingUpgradeMarker),
        (Some(span), None) => (span.marker_line, ParseErrorKind::EmptyUpgrade),
    };
    errors.push(ParseError {
        path: path.to_owned(),
        line,
        kind,
    });
    None
}

/// Checks the statements of a held section (when the header said whether
/// it is `transactional`); tells whether it holds any SQL.
fn check_held(
    sql: &str,
    first_line: u32,
    transactional: Option<bool>,
    report: &mut dyn FnMut(u32, ParseErrorKind),
) -> bool {
    let mut check = SectionCheck::default();
    check.piece(
        &Piece {
            sql,
            first_line,
            last: true,
        },
        transactional,
        report,
    );
    check.holds_sql
}

/// What checking a section's pieces in order has found so far.
#[derive(Default)]
struct SectionCheck {
    /// The savepoints its statements made, which `ROLLBACK TO` may name.
    savepoints: Vec<String>,
    /// Whether it holds any SQL.
    holds_sql: bool,
}

impl SectionCheck {
    /// Checks the next piece's statements (when the header said whether
    /// the migration is `transactional`).
    fn piece(
        &mut self,
        piece: &Piece<'_>,
        transactional: Option<bool>,
        report: &mut dyn FnMut(u32, ParseErrorKind),
    ) {
        self.holds_sql = self.holds_sql || has_sql(piece.sql);
        let Some(transactional) = transactional else {
            return;
        };
        for (statement, unfit) in
            statements::problems(piece.sql, transactional, &mut self.savepoints)
        {
            report(piece.line_of(statement.start), ParseErrorKind::Unfit(unfit));
        }
    }
}

/// The 1-based line that byte `offset` is on.
fn line_at(bytes: &[u8], offset: usize) -> u32 {
    let newlines = bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

/// A section's place in the file.
#[derive(Clone, Copy)]
struct Span {
    marker_line: u32,
    start: usize,
    end: usize,
}

impl Span {
    fn text<'t>(&self, text: &'t str) -> &'t str {
        &text[self.start..self.end]
    }

    /// The file line its SQL starts on.
    fn first_line(&self) -> u32 {
        self.marker_line + 1
    }

    /// The section of `file`, whose text starts `bom` bytes in.
    fn section(&self, file: &Arc<String>, bom: usize) -> Section {
        Section::in_file(file, bom + self.start..bom + self.end, self.first_line())
    }
}

/// Where the sections are.
#[derive(Clone, Copy)]
struct Layout {
    upgrade: Option<Span>,
    downgrade: Option<Span>,
    last_line: u32,
}

/// Reads a file's layout a line at a time: the header lines, the markers
/// and the sections between them.
struct LayoutScan {
    layout: Layout,
    open: Option<(&'static str, Span)>,
    sql_before_marker: bool,
    /// Bytes of text scanned (after any BOM).
    offset: usize,
    /// The line just scanned.
    line_no: u32,
}

impl Default for LayoutScan {
    fn default() -> Self {
        LayoutScan {
            layout: Layout {
                upgrade: None,
                downgrade: None,
                last_line: 1,
            },
            open: None,
            sql_before_marker: false,
            offset: 0,
            line_no: 0,
        }
    }
}

impl LayoutScan {
    /// Scans the next line, `raw` with its newline; returns it, trimmed,
    /// when it is a header line.
    fn line<'l>(
        &mut self,
        raw: &'l str,
        report: &mut dyn FnMut(u32, ParseErrorKind),
    ) -> Option<&'l str> {
        self.line_no = self.line_no.saturating_add(1);
        let line_no = self.line_no;
        let layout = &mut self.layout;
        layout.last_line = line_no;
        let line = raw.trim_end_matches(['\n', '\r']).trim();
        let line_start = self.offset;
        self.offset += raw.len();
        if let Some(rest) = line.strip_prefix(MARKER_PREFIX) {
            let marker = match line {
                UPGRADE_MARKER => UPGRADE_MARKER,
                DOWNGRADE_MARKER => DOWNGRADE_MARKER,
                _ => {
                    report(
                        line_no,
                        ParseErrorKind::UnknownMarker(format!("{MARKER_PREFIX}{rest}")),
                    );
                    return None;
                }
            };
            if let Some((name, mut span)) = self.open.take() {
                span.end = line_start;
                layout.store(name, span);
            }
            let taken = if marker == UPGRADE_MARKER {
                layout.upgrade
            } else {
                layout.downgrade
            };
            if let Some(first) = taken {
                report(
                    line_no,
                    ParseErrorKind::DuplicateMarker {
                        marker,
                        first_line: first.marker_line,
                    },
                );
                return None;
            }
            if marker == DOWNGRADE_MARKER && layout.upgrade.is_none() {
                report(line_no, ParseErrorKind::DowngradeFirst);
            }
            self.open = Some((
                marker,
                Span {
                    marker_line: line_no,
                    start: self.offset,
                    end: self.offset,
                },
            ));
        } else if self.open.is_none() && layout.upgrade.is_none() && layout.downgrade.is_none() {
            if line.starts_with("--") {
                return Some(line);
            } else if !line.is_empty() && !self.sql_before_marker {
                self.sql_before_marker = true;
                report(line_no, ParseErrorKind::SqlBeforeMarker);
            }
        }
        None
    }

    /// The layout, once every line is scanned.
    fn finish(mut self) -> Layout {
        if let Some((name, mut span)) = self.open.take() {
            span.end = self.offset;
            self.layout.store(name, span);
        }
        self.layout
    }
}

impl Layout {
    fn store(&mut self, marker: &'static str, span: Span) {
        if marker == UPGRADE_MARKER {
            self.upgrade = Some(span);
        } else {
            self.downgrade = Some(span);
        }
    }
}

/// Header values as they are read, before the required ones are checked.
#[derive(Default)]
struct HeaderFields {
    seen: Vec<(&'static str, u32)>,
    revision: Option<Text>,
    down_revisions: Option<TextList>,
    message: Option<Text>,
    create_date: Option<Text>,
    branch_labels: Option<TextList>,
    depends_on: Option<TextList>,
    transactional: Option<bool>,
    allow: Option<TextList>,
    replaces: Option<TextList>,
}

impl HeaderFields {
    fn line_of(&self, key: &str) -> u32 {
        self.seen
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(0, |(_, line)| *line)
    }

    fn read(lines: &[(u32, &str)], report: &mut dyn FnMut(u32, ParseErrorKind)) -> Option<Header> {
        let mut fields = HeaderFields::default();
        let first_line = lines.first().map_or(1, |(n, _)| *n);
        for &(line_no, line) in lines {
            let Some((key, value)) = split_header_line(line) else {
                continue;
            };
            let Some(known) = KNOWN_KEYS.iter().copied().find(|k| *k == key) else {
                report(
                    line_no,
                    ParseErrorKind::UnknownKey {
                        key: key.to_owned(),
                        suggestion: nearest_key(key),
                    },
                );
                continue;
            };
            if let Some(&(_, first)) = fields.seen.iter().find(|(k, _)| *k == known) {
                report(
                    line_no,
                    ParseErrorKind::DuplicateKey {
                        key: key.to_owned(),
                        first_line: first,
                    },
                );
                continue;
            }
            fields.seen.push((known, line_no));
            if value.is_empty() && !["branch_labels", "depends_on", "allow"].contains(&known) {
                report(line_no, ParseErrorKind::EmptyValue(known));
                continue;
            }
            let mut report_here = |kind| report(line_no, kind);
            fields.store(known, value, &mut report_here);
        }
        let mut complete = true;
        for key in ["revision", "down_revision", "message"] {
            if !fields.seen.iter().any(|(k, _)| *k == key) {
                report(first_line, ParseErrorKind::MissingKey(key));
                complete = false;
            }
        }
        if !complete {
            return None;
        }
        let lines = HeaderLines {
            revision: fields.line_of("revision"),
            down_revision: fields.line_of("down_revision"),
            depends_on: fields.line_of("depends_on"),
            branch_labels: fields.line_of("branch_labels"),
        };
        Some(Header {
            revision: fields.revision?,
            down_revisions: fields.down_revisions?,
            message: fields.message?,
            create_date: fields.create_date,
            branch_labels: fields.branch_labels.unwrap_or(Cow::Borrowed(&[])),
            depends_on: fields.depends_on.unwrap_or(Cow::Borrowed(&[])),
            transactional: fields.transactional.unwrap_or(true),
            allow: fields.allow.unwrap_or(Cow::Borrowed(&[])),
            replaces: fields.replaces.unwrap_or(Cow::Borrowed(&[])),
            lines,
        })
    }

    fn store(&mut self, key: &'static str, value: &str, report: &mut dyn FnMut(ParseErrorKind)) {
        match key {
            "revision" => match check_id(value) {
                Ok(()) => self.revision = Some(Cow::Owned(value.to_owned())),
                Err(reason) => report(ParseErrorKind::InvalidId {
                    key,
                    id: value.to_owned(),
                    reason,
                }),
            },
            "down_revision" if value.eq_ignore_ascii_case("none") => {
                self.down_revisions = Some(Cow::Borrowed(&[]));
            }
            "down_revision" => self.down_revisions = id_list(key, value, report),
            "depends_on" => self.depends_on = id_list(key, value, report),
            "branch_labels" => self.branch_labels = id_list(key, value, report),
            "message" => self.message = Some(Cow::Owned(value.to_owned())),
            "create_date" => self.create_date = Some(Cow::Owned(value.to_owned())),
            "allow" => {
                let mut codes: Vec<Text> = Vec::new();
                for code in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                    if crate::files::lint_code::LintCode::from_name(code).is_some() {
                        codes.push(Cow::Owned(code.to_owned()));
                    } else {
                        report(ParseErrorKind::UnknownLintCode {
                            code: code.to_owned(),
                        });
                    }
                }
                self.allow = Some(Cow::Owned(codes));
            }
            "replaces" => {
                let mut entries: Vec<Text> = Vec::new();
                for entry in value.split(',').map(str::trim) {
                    let valid = entry.split_once('=').is_some_and(|(id, sum)| {
                        check_id(id).is_ok() && sum.parse::<Checksum>().is_ok()
                    });
                    if valid {
                        entries.push(Cow::Owned(entry.to_owned()));
                    } else {
                        report(ParseErrorKind::InvalidReplaces {
                            entry: entry.to_owned(),
                        });
                    }
                }
                self.replaces = Some(Cow::Owned(entries));
            }
            "transactional" => match value {
                "true" => self.transactional = Some(true),
                "false" => self.transactional = Some(false),
                other => report(ParseErrorKind::InvalidBool(other.to_owned())),
            },
            _ => {}
        }
    }
}

/// Splits `-- key: value`; `None` for a plain comment.
fn split_header_line(line: &str) -> Option<(&str, &str)> {
    let body = line.strip_prefix("--")?.trim_start();
    let (key, value) = body.split_once(':')?;
    let is_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    is_key.then(|| (key, value.trim()))
}

fn id_list(
    key: &'static str,
    value: &str,
    report: &mut dyn FnMut(ParseErrorKind),
) -> Option<TextList> {
    let mut ids: Vec<Text> = Vec::new();
    let mut ok = true;
    for id in value.split(',').map(str::trim) {
        if value.is_empty() {
            break;
        }
        if let Err(reason) = check_id(id) {
            report(ParseErrorKind::InvalidId {
                key,
                id: id.to_owned(),
                reason,
            });
            ok = false;
        } else if ids.iter().any(|seen| seen == id) {
            report(ParseErrorKind::RepeatedItem {
                key,
                id: id.to_owned(),
            });
            ok = false;
        } else {
            ids.push(Cow::Owned(id.to_owned()));
        }
    }
    ok.then_some(Cow::Owned(ids))
}

/// The known key closest to `key` by edit distance, if it is close enough
/// to be a typo.
fn nearest_key(key: &str) -> Option<&'static str> {
    let key = key.to_ascii_lowercase().replace('-', "_");
    KNOWN_KEYS
        .iter()
        .map(|known| (edit_distance(&key, known), *known))
        .filter(|(distance, known)| *distance <= (known.len() / 3).max(2))
        .min()
        .map(|(_, known)| known)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

mod large;
pub(crate) use large::parse_large;

#[cfg(test)]
mod tests;
