//! Executing a migration section one statement at a time, as SQLite's own
//! parser delimits statements (triggers, string literals and comments with
//! `;` inside are never split), and locating a failure in the file.
//!
//! SQLite copies the text it is handed to prepare, up to the length given,
//! so handing it the rest of a big section for each statement would cost
//! time quadratic in the section's size. It is handed one statement at a
//! time instead, as [`crate::files::statements`] splits them. Where SQLite
//! cannot parse such a piece alone (the splitter, which knows PostgreSQL,
//! cut a backtick or bracket identifier holding a `;`), SQLite delimits
//! that one statement in the rest of the text, and the split resumes after
//! it. A section read back from its file comes in pieces of whole
//! statements as the splitter cuts them; a statement that SQLite finds
//! running past the end of a piece waits for the next piece, which starts
//! with it.

use crate::backend::Origin;
use crate::error::{RunError, StatementError};
use crate::files::pieces::Pieces;
use crate::files::sql_text::{abridge, skip_trivia};
use crate::files::statements;
// rusqlite 0.33 and later step a `Batch` through this trait; 0.32 has an
// inherent `next` of the same shape, which wins, so there it is unused.
#[allow(unused_imports)]
use fallible_iterator::FallibleIterator as _;
use rusqlite::{Batch, Connection};

/// Runs every statement of `pieces`, a piece at a time.
pub(crate) fn run_sql(
    conn: &Connection,
    pieces: &mut Pieces<'_>,
    origin: &Origin<'_>,
) -> Result<(), RunError> {
    while let Some(piece) = pieces.next()? {
        let more = match run_piece(conn, piece.sql, piece.last) {
            Ok(()) => None,
            Err(Stop::Incomplete(at)) => Some(at),
            Err(Stop::Failed(failure)) => {
                return Err(RunError::Statement(Box::new(StatementError {
                    direction: origin.direction,
                    revision: origin.revision.to_owned(),
                    path: origin.path.to_owned(),
                    line: piece.line_of(failure.start),
                    column: None,
                    statement: abridge(failure.statement),
                    message: failure.message,
                    code: None,
                    schema_matches: None,
                })))
            }
        };
        if let Some(at) = more {
            pieces.keep_from(at);
        }
    }
    Ok(())
}

/// Why a piece stopped before its end.
enum Stop<'s> {
    /// A statement failed.
    Failed(Failure<'s>),
    /// The statement at this offset continues in the next piece (only
    /// when the piece is not the section's last).
    Incomplete(usize),
}

/// Runs the statements of `sql`, a piece of a section (the `last` one, or
/// not).
fn run_piece<'s>(conn: &Connection, sql: &'s str, last: bool) -> Result<(), Stop<'s>> {
    let mut from = 0;
    while from < sql.len() {
        from = run_from(conn, sql, from, last)?;
    }
    Ok(())
}

/// Runs the statements of `sql` from byte `from`, piece by piece as the
/// splitter cuts them, to the end; or, at a piece SQLite cannot parse
/// alone, runs the one statement SQLite finds there in the rest of the
/// text. Returns where it stopped. A statement that SQLite cannot parse
/// in the rest of a piece that is not the `last` may continue in the next.
fn run_from<'s>(
    conn: &Connection,
    sql: &'s str,
    from: usize,
    last: bool,
) -> Result<usize, Stop<'s>> {
    let mut at = from;
    for statement in statements::split(&sql[from..]) {
        let end = from + statement.end;
        match run_statements(conn, sql, at..end, Limit::All) {
            Ok(_) => at = end,
            Err(failure) if failure.parse => {
                let whole = match end < sql.len() {
                    true => run_statements(conn, sql, at..sql.len(), Limit::One),
                    false => Err(failure),
                };
                return match whole {
                    Err(failure) if failure.parse && !last => Err(Stop::Incomplete(at)),
                    other => other.map_err(Stop::Failed),
                };
            }
            Err(failure) => return Err(Stop::Failed(failure)),
        }
    }
    // Comments after the last statement.
    run_statements(conn, sql, at..sql.len(), Limit::All).map_err(Stop::Failed)
}

/// How many statements [`run_statements`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    All,
    One,
}

/// A statement that failed.
struct Failure<'a> {
    /// Where it starts.
    start: usize,
    /// Its text.
    statement: &'a str,
    /// SQLite's message.
    message: String,
    /// Whether SQLite could not parse it (rather than run it).
    parse: bool,
}

/// Runs the statements SQLite finds in `sql[range]` (all, or the first);
/// returns the offset after the last one run.
fn run_statements<'s>(
    conn: &Connection,
    sql: &'s str,
    range: std::ops::Range<usize>,
    limit: Limit,
) -> Result<usize, Failure<'s>> {
    let (from, to) = (range.start, range.end);
    let piece = &sql[range];
    let mut batch = Batch::new(conn, piece);
    let mut cursor = 0usize;
    loop {
        let mut stmt = match batch.next() {
            Ok(Some(stmt)) => stmt,
            Ok(None) => return Ok(to),
            Err(error) => {
                // SQLite refused to parse: point at the offending token when it says where.
                let start = cursor + skip_trivia(&piece[cursor..]);
                let at = match &error {
                    rusqlite::Error::SqlInputError { offset, .. } => {
                        cursor + usize::try_from(*offset).unwrap_or(0)
                    }
                    _ => start,
                };
                let end = piece[at..].find('\n').map_or(piece.len(), |n| at + n);
                let line_start = piece[..at].rfind('\n').map_or(0, |n| n + 1);
                return Err(Failure {
                    start: from + at.max(line_start),
                    statement: &piece[line_start..end],
                    message: sqlite_message(&error),
                    parse: true,
                });
            }
        };
        // The statement's text runs from the end of the previous one.
        let text = stmt.expanded_sql().unwrap_or_default();
        let begin = piece[cursor..]
            .find(text.as_str())
            .map_or(cursor, |n| cursor + n);
        let start = begin + skip_trivia(&piece[begin..]);
        cursor = (begin + text.len()).min(piece.len());
        let mut rows = stmt.raw_query();
        loop {
            match rows.next() {
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(error) => {
                    return Err(Failure {
                        start: from + start,
                        statement: piece[start..cursor].trim_end(),
                        message: sqlite_message(&error),
                        parse: false,
                    });
                }
            }
        }
        if limit == Limit::One {
            return Ok(from + cursor.max(1));
        }
    }
}

fn sqlite_message(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(_, Some(message)) => message.clone(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin<'static> {
        Origin {
            revision: "r1",
            path: "versions/r1.sql",
            direction: "upgrade",
        }
    }

    /// Runs `sql` on a fresh in-memory database; the error's line and
    /// statement, if it fails.
    fn run(conn: &Connection, sql: &str) -> Result<(), (u32, String)> {
        run_sql(conn, &mut Pieces::held(sql, 1), &origin()).map_err(|error| match error {
            RunError::Statement(e) => (e.line, e.statement),
            other => panic!("{other:?}"),
        })
    }

    #[test]
    fn triggers_cases_and_strings_run_whole_and_failures_name_their_line() {
        let conn = Connection::open_in_memory().unwrap();
        let sql = "CREATE TABLE t (x INTEGER, note TEXT);\n\
                   CREATE TABLE log (y);\n\
                   CREATE TRIGGER t_in AFTER INSERT ON t BEGIN\n\
                     INSERT INTO log VALUES (CASE WHEN NEW.x > 0 THEN 'up;' ELSE 'down' END);\n\
                     UPDATE log SET y = y || ';';\n\
                   END;\n\
                   INSERT INTO t VALUES (1, 'a;b'); -- a comment; with a semicolon\n\
                   INSERT INTO t VALUES (-1, NULL);\n";
        run(&conn, sql).unwrap();
        let logged: Vec<String> = conn
            .prepare("SELECT y FROM log ORDER BY rowid")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(logged, ["up;;;", "down;"]);
        let failing = "INSERT INTO t VALUES (2, 'x');\nINSERT INTO missing VALUES (1);\nSELECT 1;";
        assert_eq!(
            run(&conn, failing),
            Err((2, "INSERT INTO missing VALUES (1);".to_owned()))
        );
        assert_eq!(
            run(&conn, "SELECT 1;\nSELECT (1;\n"),
            Err((2, "SELECT (1;".to_owned()))
        );
    }

    #[test]
    fn a_statement_the_splitter_cuts_is_delimited_by_sqlite() {
        let conn = Connection::open_in_memory().unwrap();
        // The splitter knows PostgreSQL, where backticks and brackets quote
        // nothing: it cuts these statements at their identifiers' `;`.
        let sql = "CREATE TABLE `a;b` (x);\nCREATE TABLE [c;d] (y);\nINSERT INTO `a;b` VALUES (1);\nINSERT INTO [c;d] VALUES (2), (3);\nINSERT INTO `a;b` SELECT y FROM [c;d];";
        assert!(statements::split(sql).count() > 5);
        run(&conn, sql).unwrap();
        let count: i64 = conn
            .query_row("SELECT count(*) FROM `a;b`", [], |row| row.get(0))
            .unwrap();
        assert_eq!(count, 3);
        assert_eq!(
            run(&conn, "SELECT 1;\nINSERT INTO `a;b` VALUES (1, 2);"),
            Err((2, "INSERT INTO `a;b` VALUES (1, 2);".to_owned()))
        );
        // A trigger cut off at the end of the section is an error, not skipped.
        let cut = "CREATE TRIGGER t_cut AFTER INSERT ON t BEGIN INSERT INTO log VALUES (3);";
        let (line, _) = run(&conn, cut).unwrap_err();
        assert_eq!(line, 1);
    }

    /// Runs the upgrade of a migration file holding `sql`, read back from
    /// the file in pieces of `piece_bytes`.
    fn run_read_back(
        conn: &Connection,
        sql: &str,
        piece_bytes: usize,
    ) -> Result<(), (u32, String)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r1.sql");
        let header = "-- revision: r1\n-- down_revision: None\n-- message: m\n-- migrate:upgrade\n";
        std::fs::write(&path, format!("{header}{sql}")).unwrap();
        let m = crate::files::parse::parse_large("versions/r1.sql", &path, piece_bytes)
            .unwrap()
            .unwrap();
        assert_eq!(m.upgrade().is_read_back(), sql.len() > piece_bytes);
        run_sql(conn, &mut m.upgrade().pieces(), &origin()).map_err(|error| match error {
            RunError::Statement(e) => (e.line, e.statement),
            other => panic!("{other:?}"),
        })
    }

    #[test]
    fn a_section_read_back_in_pieces_runs_whole_statements_and_names_the_file_line() {
        let sql = "CREATE TABLE `a;b` (x);\nCREATE TABLE log (y);\nCREATE TABLE t (z);\nCREATE TRIGGER t_in AFTER INSERT ON t BEGIN\n  INSERT INTO log VALUES (1);\n  INSERT INTO log VALUES (2);\nEND;\nINSERT INTO `a;b` VALUES ('x;y');\nINSERT INTO [a;b] VALUES (2), (3);\nINSERT INTO t VALUES (1), (2), (3);\n";
        for piece_bytes in [1, 10, 30, 100] {
            let conn = Connection::open_in_memory().unwrap();
            run_read_back(&conn, sql, piece_bytes).unwrap();
            let counts: (i64, i64) = conn
                .query_row(
                    "SELECT (SELECT count(*) FROM `a;b`), (SELECT count(*) FROM log)",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .unwrap();
            assert_eq!(counts, (3, 6), "in pieces of {piece_bytes}");
            // The header takes 4 lines: the failing statement is on line 7.
            let failing = "SELECT 1;\nSELECT 2;\nINSERT INTO missing VALUES (1);\nSELECT 3;\n";
            assert_eq!(
                run_read_back(&conn, failing, piece_bytes),
                Err((7, "INSERT INTO missing VALUES (1);".to_owned()))
            );
            let cut = "SELECT 1;\nCREATE TABLE `c;d (x);\n";
            assert_eq!(run_read_back(&conn, cut, piece_bytes).unwrap_err().0, 6);
        }
    }
}
