//! A section's SQL handed out in pieces of whole statements: all at once
//! when its text is held, or about [`PIECE_BYTES`] at a time when it is
//! read back from a file too large to hold, so that memory stays bounded by
//! the largest statement rather than by the file.
//!
//! Reading back hashes the whole file as it goes and refuses a file whose
//! checksum is no longer the one it had when it was loaded: what runs is
//! what was checked and what the ledger records.

use crate::files::checksum::{Checksum, FileHasher};
use crate::files::statements::whole_statements_len;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::ops::Range;
use std::path::PathBuf;

/// The size a piece read back from a file grows to before it is handed out
/// (a longer statement makes a longer piece).
pub(crate) const PIECE_BYTES: usize = 1 << 20;

/// Whole statements of a section, in order.
#[derive(Debug)]
pub(crate) struct Piece<'a> {
    /// The text: whole statements, each with its `;` (the section's last
    /// may have none).
    pub sql: &'a str,
    /// The file line `sql` starts on.
    pub first_line: u32,
    /// Whether the section ends with this piece.
    pub last: bool,
}

impl Piece<'_> {
    /// The file line of byte `offset` of [`Piece::sql`].
    pub(crate) fn line_of(&self, offset: usize) -> u32 {
        self.first_line
            .saturating_add(newlines(&self.sql[..offset.min(self.sql.len())]))
    }
}

fn newlines(text: &str) -> u32 {
    let count = text.bytes().filter(|&b| b == b'\n').count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// The pieces of one section; [`Pieces::next`] hands them out in order.
pub(crate) struct Pieces<'a> {
    source: Source<'a>,
}

enum Source<'a> {
    /// A held text, handed out as one piece.
    Held {
        sql: &'a str,
        first_line: u32,
        handed: bool,
    },
    /// A section read back from its file.
    File(Box<FileSection<'a>>),
}

/// Where a section is in its file, and what the file must still hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilePlace {
    /// The file.
    pub path: PathBuf,
    /// How errors name it (relative to the migrations folder).
    pub relative: String,
    /// The section's bytes.
    pub range: Range<u64>,
    /// The checksum the file had when it was loaded.
    pub checksum: Checksum,
}

/// A migration file could not be read back, or no longer holds what was
/// loaded from it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadBackError {
    /// Reading failed.
    #[error("cannot read {path}: {source}; check that it is there and readable, then run the command again")]
    Io {
        /// The file, relative to the migrations folder.
        path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file changed since it was loaded.
    #[error("{path} changed while the command was using it (it no longer has checksum {loaded}); run the command again once the file is saved")]
    Changed {
        /// The file, relative to the migrations folder.
        path: String,
        /// The checksum it had when it was loaded.
        loaded: Checksum,
    },
}

impl<'a> Pieces<'a> {
    /// A held section text, as one piece starting on `first_line`.
    pub(crate) fn held(sql: &'a str, first_line: u32) -> Self {
        Pieces {
            source: Source::Held {
                sql,
                first_line,
                handed: false,
            },
        }
    }

    /// The section at `place`, starting on `first_line`, read back in
    /// pieces of about `piece_bytes`; the whole file is hashed on the way
    /// and must still have the checksum it had when it was loaded.
    pub(crate) fn read_back(place: &'a FilePlace, first_line: u32, piece_bytes: usize) -> Self {
        Pieces {
            source: Source::File(Box::new(FileSection {
                place,
                reader: None,
                hasher: FileHasher::default(),
                at: 0,
                line: Vec::new(),
                cutter: PieceCutter::new(first_line, piece_bytes),
                section_read: false,
            })),
        }
    }

    /// The next piece, or `None` after the last.
    pub(crate) fn next(&mut self) -> Result<Option<Piece<'_>>, ReadBackError> {
        match &mut self.source {
            Source::Held {
                sql,
                first_line,
                handed,
            } => Ok((!std::mem::replace(handed, true)).then_some(Piece {
                sql,
                first_line: *first_line,
                last: true,
            })),
            Source::File(section) => section.next(),
        }
    }

    /// Makes the next piece start at byte `at` of the one just handed out,
    /// which was not the section's last, with more of the section after
    /// it: for a statement that continues past the piece (SQLite delimits
    /// some statements differently from the splitter).
    pub(crate) fn keep_from(&mut self, at: usize) {
        // A held text is one piece, the last.
        if let Source::File(section) = &mut self.source {
            section.cutter.keep_from(at);
        }
    }
}

/// Cuts a section's text, fed a line at a time, into pieces of whole
/// statements of about `piece_bytes` (a longer statement makes a longer
/// piece).
pub(crate) struct PieceCutter {
    piece_bytes: usize,
    /// Text fed and not yet dropped; its first `handed` bytes were handed
    /// out in the last piece.
    buffer: String,
    handed: usize,
    /// The file line `buffer` starts on.
    first_line: u32,
    /// The size the buffer grows to before it is cut.
    want: usize,
}

impl PieceCutter {
    /// A cutter for a section whose text starts on `first_line`.
    pub(crate) fn new(first_line: u32, piece_bytes: usize) -> Self {
        PieceCutter {
            piece_bytes,
            buffer: String::new(),
            handed: 0,
            first_line,
            want: piece_bytes,
        }
    }

    /// Feeds the next line of the section, with its newline.
    pub(crate) fn push(&mut self, line: &str) {
        self.drop_handed();
        self.buffer.push_str(line);
    }

    /// The next piece, when the text fed holds one: whole statements of
    /// about `piece_bytes`, or, at the section's `end`, all that is left.
    pub(crate) fn cut(&mut self, end: bool) -> Option<Piece<'_>> {
        let len = self.ready(end)?;
        Some(self.take(len, end))
    }

    /// The length of the piece [`PieceCutter::cut`] would hand out.
    fn ready(&mut self, end: bool) -> Option<usize> {
        self.drop_handed();
        let len = match end {
            true => self.buffer.len(),
            false if self.buffer.len() < self.want => 0,
            false => match whole_statements_len(&self.buffer) {
                // A statement longer than the piece: wait for twice as
                // much, so that a long statement is lexed a few times only.
                0 => {
                    self.want = self.buffer.len() * 2;
                    0
                }
                len => len,
            },
        };
        (len > 0).then_some(len)
    }

    /// Hands out the first `len` bytes, as [`PieceCutter::ready`] found them.
    fn take(&mut self, len: usize, end: bool) -> Piece<'_> {
        self.handed = len;
        self.want = self.piece_bytes;
        Piece {
            sql: &self.buffer[..len],
            first_line: self.first_line,
            last: end && len == self.buffer.len(),
        }
    }

    /// Makes the next piece start at byte `at` of the one just cut, and
    /// hold more text after it.
    fn keep_from(&mut self, at: usize) {
        self.want = (self.buffer.len() - at) * 2 + self.piece_bytes;
        self.handed = at;
    }

    fn drop_handed(&mut self) {
        let handed = std::mem::take(&mut self.handed);
        self.first_line = self
            .first_line
            .saturating_add(newlines(&self.buffer[..handed]));
        self.buffer.drain(..handed);
    }
}

/// The state of reading one section back from its file.
struct FileSection<'a> {
    place: &'a FilePlace,
    /// Opened at the first piece.
    reader: Option<BufReader<File>>,
    hasher: FileHasher,
    /// Bytes of the file read so far.
    at: u64,
    /// The line being read.
    line: Vec<u8>,
    cutter: PieceCutter,
    /// Whether the whole section was read (and the file checked).
    section_read: bool,
}

impl FileSection<'_> {
    fn next(&mut self) -> Result<Option<Piece<'_>>, ReadBackError> {
        let len = loop {
            if let Some(len) = self.cutter.ready(self.section_read) {
                break len;
            }
            if self.section_read {
                return Ok(None);
            }
            self.read_line()?;
        };
        Ok(Some(self.cutter.take(len, self.section_read)))
    }

    /// Reads the next line of the file, into the buffer when it is in the
    /// section; at the section's end, checks the file.
    fn read_line(&mut self) -> Result<(), ReadBackError> {
        let reader = match &mut self.reader {
            Some(reader) => reader,
            None => {
                let file = File::open(&self.place.path).map_err(|e| self.io_error(e))?;
                self.reader
                    .insert(BufReader::with_capacity(64 * 1024, file))
            }
        };
        self.line.clear();
        let read = match reader.read_until(b'\n', &mut self.line) {
            Ok(0) => return Err(self.changed()),
            Ok(read) => read,
            Err(error) => return Err(self.io_error(error)),
        };
        self.hasher.update(&self.line);
        let start = self.at;
        self.at += read as u64;
        // Sections start and end at line starts: a line is in or out (a
        // file edited since it was loaded fails the check at the end).
        if start >= self.place.range.start && self.at <= self.place.range.end {
            match std::str::from_utf8(&self.line) {
                Ok(text) => self.cutter.push(text),
                Err(_) => return Err(self.changed()),
            }
        }
        if self.at >= self.place.range.end {
            self.finish_section()?;
        }
        Ok(())
    }

    /// Ends the section: hashes the rest of the file and compares.
    fn finish_section(&mut self) -> Result<(), ReadBackError> {
        self.section_read = true;
        if let Some(reader) = &mut self.reader {
            loop {
                let part = match reader.fill_buf() {
                    Ok([]) => break,
                    Ok(part) => part,
                    Err(error) => return Err(self.io_error(error)),
                };
                self.hasher.update(part);
                let used = part.len();
                reader.consume(used);
            }
        }
        if std::mem::take(&mut self.hasher).finish() == self.place.checksum {
            Ok(())
        } else {
            Err(self.changed())
        }
    }

    fn io_error(&self, source: io::Error) -> ReadBackError {
        ReadBackError::Io {
            path: self.place.relative.clone(),
            source,
        }
    }

    fn changed(&self) -> ReadBackError {
        ReadBackError::Changed {
            path: self.place.relative.clone(),
            loaded: self.place.checksum,
        }
    }
}
