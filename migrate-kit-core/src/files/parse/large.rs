//! Parsing a migration file too large to hold, without holding it, in
//! one pass a line at a time: the header, the layout and the hash as
//! [`super::parse_text`] reads them, and each section's statements checked
//! a piece of whole statements at a time as its lines go by. A section of
//! up to one piece is kept in memory; a larger one is left in the file, to
//! be read back when it runs.
//!
//! The findings are those of [`super::parse_text`] on the same file, in the
//! same order.

use super::{
    migration_or_errors, require_upgrade, HeaderFields, LayoutScan, ParseError, ParseErrorKind,
    SectionCheck, DOWNGRADE_MARKER, UPGRADE_MARKER,
};
use crate::files::checksum::{FileHasher, BOM};
use crate::files::migration::{Header, Migration, Section};
use crate::files::pieces::{FilePlace, PieceCutter, ReadBackError};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

/// Parses the file at `path` (named `relative` in errors), checking its
/// sections in pieces of about `piece_bytes`. The outer error is a file
/// that could not be read, the inner one what is wrong with it.
pub(crate) fn parse_large(
    relative: &str,
    path: &Path,
    piece_bytes: usize,
) -> Result<Result<Migration, Vec<ParseError>>, ReadBackError> {
    let io_error = |source| ReadBackError::Io {
        path: relative.to_owned(),
        source,
    };
    let error = |line: u32, kind| ParseError {
        path: relative.to_owned(),
        line,
        kind,
    };
    let mut reader = BufReader::with_capacity(64 * 1024, File::open(path).map_err(io_error)?);
    let mut hasher = FileHasher::default();
    let mut scan = LayoutScan::default();
    let mut header_lines: Vec<(u32, String)> = Vec::new();
    // Found in this order, reported as `parse_text` reports them.
    let (mut nul, mut misplaced_bom) = (None, None);
    let mut layout_errors = Vec::new();
    let mut header: Option<(Option<Header>, Vec<ParseError>)> = None;
    let mut checking: Option<Checking> = None;
    let mut checked: Vec<Checking> = Vec::new();
    let mut bom = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(io_error)? == 0 {
            break;
        }
        hasher.update(&line);
        let mut bytes = &line[..];
        if scan.line_no == 0 {
            if let Some(rest) = bytes.strip_prefix(BOM) {
                bom = BOM.len();
                bytes = rest;
            }
        }
        let line_no = scan.line_no + 1;
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => return Ok(Err(vec![error(line_no, ParseErrorKind::InvalidUtf8)])),
        };
        if nul.is_none() && text.contains('\0') {
            nul = Some(error(line_no, ParseErrorKind::NulByte));
        }
        if misplaced_bom.is_none() && text.contains('\u{feff}') {
            misplaced_bom = Some(error(line_no, ParseErrorKind::MisplacedBom));
        }
        let open_before = scan.open.map(|(_, span)| span.marker_line);
        let report = &mut |line, kind| layout_errors.push(error(line, kind));
        if let Some(header_line) = scan.line(text, report) {
            header_lines.push((line_no, header_line.to_owned()));
        }
        if scan.open.map(|(_, span)| span.marker_line) == open_before {
            if let Some(section) = &mut checking {
                section.push(text, transactional(&header), &error);
            }
            continue;
        }
        // A marker line: the section before it ends, the next starts.
        if let Some(mut section) = checking.take() {
            section.finish(transactional(&header), &error);
            checked.push(section);
        }
        if let Some((marker, span)) = scan.open {
            if header.is_none() {
                // Every header line comes before the first marker.
                header = Some(read_header(&header_lines, &error));
            }
            checking = Some(Checking::new(marker, span.first_line(), piece_bytes));
        }
    }
    if let Some(mut section) = checking.take() {
        section.finish(transactional(&header), &error);
        checked.push(section);
    }
    let layout = scan.finish();
    let (header, header_errors) = header.unwrap_or_else(|| read_header(&header_lines, &error));
    let mut errors: Vec<ParseError> = nul.into_iter().chain(misplaced_bom).collect();
    errors.extend(layout_errors);
    errors.extend(header_errors);
    let checksum = hasher.finish();
    let mut section = |marker: &'static str, errors: &mut Vec<ParseError>| {
        let span = match marker {
            UPGRADE_MARKER => layout.upgrade,
            _ => layout.downgrade,
        }?;
        let checked = checked.iter_mut().find(|c| c.marker == marker)?;
        errors.append(&mut checked.problems);
        if !checked.check.holds_sql {
            return None;
        }
        Some(match checked.kept.take() {
            Some(kept) => {
                let len = kept.len();
                Section::in_file(&Arc::new(kept), 0..len, span.first_line())
            }
            None => Section::on_disk(
                FilePlace {
                    path: path.to_owned(),
                    relative: relative.to_owned(),
                    range: (bom + span.start) as u64..(bom + span.end) as u64,
                    checksum,
                },
                span.first_line(),
            ),
        })
    };
    let made = section(UPGRADE_MARKER, &mut errors);
    let upgrade = require_upgrade(relative, &layout, made, &mut errors);
    let downgrade = section(DOWNGRADE_MARKER, &mut errors);
    Ok(migration_or_errors(
        relative,
        header,
        (upgrade, downgrade),
        checksum,
        errors,
    ))
}

/// The header read from its lines, with the errors found in it.
fn read_header(
    lines: &[(u32, String)],
    error: &dyn Fn(u32, ParseErrorKind) -> ParseError,
) -> (Option<Header>, Vec<ParseError>) {
    let lines: Vec<(u32, &str)> = lines
        .iter()
        .map(|(line_no, line)| (*line_no, line.as_str()))
        .collect();
    let mut errors = Vec::new();
    let header = HeaderFields::read(&lines, &mut |line, kind| errors.push(error(line, kind)));
    (header, errors)
}

/// Whether the migration is transactional, once its header is read.
fn transactional(header: &Option<(Option<Header>, Vec<ParseError>)>) -> Option<bool> {
    header
        .as_ref()
        .and_then(|(header, _)| header.as_ref())
        .map(|h| h.transactional)
}

/// A section being checked as its lines are read.
struct Checking {
    marker: &'static str,
    cutter: PieceCutter,
    check: SectionCheck,
    problems: Vec<ParseError>,
    /// Its text, while it is no longer than a piece.
    kept: Option<String>,
    piece_bytes: usize,
}

impl Checking {
    fn new(marker: &'static str, first_line: u32, piece_bytes: usize) -> Self {
        Checking {
            marker,
            cutter: PieceCutter::new(first_line, piece_bytes),
            check: SectionCheck::default(),
            problems: Vec::new(),
            kept: Some(String::new()),
            piece_bytes,
        }
    }

    /// Takes the section's next line, and checks the pieces it completes.
    fn push(
        &mut self,
        line: &str,
        transactional: Option<bool>,
        error: &dyn Fn(u32, ParseErrorKind) -> ParseError,
    ) {
        self.kept = self
            .kept
            .take()
            .filter(|kept| kept.len() + line.len() <= self.piece_bytes)
            .map(|mut kept| {
                kept.push_str(line);
                kept
            });
        self.cutter.push(line);
        self.check_pieces(false, transactional, error);
    }

    /// Checks what is left, at the section's end.
    fn finish(
        &mut self,
        transactional: Option<bool>,
        error: &dyn Fn(u32, ParseErrorKind) -> ParseError,
    ) {
        self.check_pieces(true, transactional, error);
    }

    fn check_pieces(
        &mut self,
        end: bool,
        transactional: Option<bool>,
        error: &dyn Fn(u32, ParseErrorKind) -> ParseError,
    ) {
        let problems = &mut self.problems;
        while let Some(piece) = self.cutter.cut(end) {
            self.check.piece(&piece, transactional, &mut |line, kind| {
                problems.push(error(line, kind))
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::parse::parse_migration;

    /// What a parse gives, comparable whether the file was held or not:
    /// the migration's fields and each section's text and first line, or
    /// the errors.
    fn outcome(parsed: Result<Migration, Vec<ParseError>>) -> Result<String, Vec<ParseError>> {
        parsed.map(|m| {
            let section = |s: &Section| format!("{}:{:?}", s.first_line(), s.sql().unwrap());
            format!(
                "{:?} {} {:?}",
                m.header(),
                section(m.upgrade()),
                (m.downgrade().map(section), m.checksum()),
            )
        })
    }

    /// Parses `bytes` held and not held (in pieces of `piece_bytes`).
    fn both_ways(bytes: &[u8], piece_bytes: usize) -> [Result<String, Vec<ParseError>>; 2] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sql");
        std::fs::write(&path, bytes).unwrap();
        let large = parse_large("versions/x.sql", &path, piece_bytes).unwrap();
        [
            outcome(parse_migration("versions/x.sql", bytes)),
            outcome(large),
        ]
    }

    #[test]
    fn a_file_parsed_in_pieces_gives_what_the_held_file_gives() {
        let files = [
            "\u{feff}-- revision: a\r\n-- down_revision: None\r\n-- message: m\r\n-- migrate:upgrade\r\nCREATE TABLE t (x);\r\nINSERT INTO t VALUES (';');\r\n-- migrate:downgrade\r\nDROP TABLE t;\r\n",
            "-- revision: a\n-- down_revision: None\n-- message: m\n-- migrate:upgrade\nSAVEPOINT s;\nINSERT INTO t VALUES (1);\nROLLBACK TO s;\nCOMMIT;\n",
            "-- revision: a\n-- mesage: m\nSELECT 1;\n-- migrate:downgrade\n-- migrate:upgrade\n-- only a comment\n-- migrate:other\n",
            "-- revision: a\n-- message: m\n-- migrate:upgrade\nSELECT '\0';\nSELECT '\u{feff}';\n",
            "-- revision: a\n-- down_revision: None\n-- message: m\n-- migrate:upgrade\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET x = 1;\n  UPDATE t SET x = 2;\nEND;\n-- migrate:downgrade\nDROP TRIGGER tr",
        ];
        let mut parsed = 0;
        for file in files {
            for piece_bytes in [1, 7, 40, 1 << 20] {
                let [held, in_pieces] = both_ways(file.as_bytes(), piece_bytes);
                assert_eq!(held, in_pieces, "{file:?} in pieces of {piece_bytes}");
                parsed += usize::from(held.is_ok());
            }
        }
        // The first and the last file are valid, the others not.
        assert_eq!(parsed, 8);
        let [held, in_pieces] = both_ways(b"-- revision: a\n-- message: \xff\n", 8);
        assert_eq!(held, in_pieces);
        assert!(held.is_err());
    }

    proptest::proptest! {
        /// Files made of lines that move the parser and the lexer between
        /// their states parse the same held and in pieces of any size.
        #[test]
        fn any_file_parses_the_same_in_pieces(
            lines in proptest::collection::vec(proptest::sample::select(vec![
                "-- revision: a", "-- down_revision: b", "-- down_revision: None", "-- message: m", "-- transactional: false",
                "-- migrate:upgrade", "-- migrate:downgrade", "-- migrate:x", "",
                "SAVEPOINT s;", "ROLLBACK TO s;", "COMMIT;", "SELECT 'a;", "b';", "/* ; */ SELECT 1;",
                "$$ ; $$;", "CREATE TRIGGER tr AFTER INSERT ON t BEGIN", "SELECT 2; END;",
                "CREATE INDEX CONCURRENTLY i ON t (x);", "-- a comment;", "SELECT 3\r",
            ]), 0..24),
            piece_bytes in 1usize..64,
            valid_start in proptest::bool::ANY,
        ) {
            // Half the files start valid, so that many parse.
            let start = "-- revision: a\n-- down_revision: None\n-- message: m\n-- migrate:upgrade\nSELECT 0;\n";
            let file = format!("{}{}", if valid_start { start } else { "" }, lines.join("\n"));
            let [held, in_pieces] = both_ways(file.as_bytes(), piece_bytes);
            proptest::prop_assert_eq!(held, in_pieces);
        }
    }

    #[test]
    fn a_section_left_in_its_file_is_refused_once_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sql");
        let text = "-- revision: a\n-- down_revision: None\n-- message: m\n-- migrate:upgrade\nCREATE TABLE t (x);\nINSERT INTO t VALUES (1);\n";
        std::fs::write(&path, text).unwrap();
        let m = parse_large("versions/x.sql", &path, 8).unwrap().unwrap();
        assert!(m.upgrade().is_read_back());
        assert_eq!(
            m.upgrade().sql().unwrap(),
            "CREATE TABLE t (x);\nINSERT INTO t VALUES (1);\n"
        );
        std::fs::write(&path, text.replace('1', "2")).unwrap();
        let error = m.upgrade().sql().unwrap_err().to_string();
        assert!(
            error.starts_with("versions/x.sql changed while the command was using it (it no longer has checksum sha256:"),
            "{error}"
        );
        std::fs::remove_file(&path).unwrap();
        let error = m.upgrade().sql().unwrap_err().to_string();
        assert!(error.starts_with("cannot read versions/x.sql: "), "{error}");
    }
}
