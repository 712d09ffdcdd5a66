//! The little SQL lexing this crate needs without a database: skipping
//! whitespace, comments and empty statements. Statement boundaries are never
//! found here; SQLite's own parser finds them when a migration runs.

/// Whether `sql` holds anything besides whitespace, comments and `;`.
pub(crate) fn has_sql(sql: &str) -> bool {
    skip_trivia(sql) < sql.len()
}

/// The byte offset of the first character of `sql` that is not whitespace,
/// a comment or a `;`. Equals `sql.len()` when there is none.
pub(crate) fn skip_trivia(sql: &str) -> usize {
    let bytes = sql.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b';' => at += 1,
            b'-' if bytes.get(at + 1) == Some(&b'-') => {
                at = bytes[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |n| at + n + 1);
            }
            b'/' if bytes.get(at + 1) == Some(&b'*') => {
                at = sql[at + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| at + 2 + n + 2);
            }
            _ => return at,
        }
    }
    bytes.len()
}

/// The longest statement text an error message quotes.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
const QUOTE_LIMIT: usize = 400;

/// A statement as an error message quotes it: trimmed, and cut after
/// [`QUOTE_LIMIT`] bytes (on a character boundary).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn abridge(statement: &str) -> String {
    let statement = statement.trim();
    if statement.len() <= QUOTE_LIMIT {
        return statement.to_owned();
    }
    let mut end = QUOTE_LIMIT;
    while !statement.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} ...", &statement[..end])
}

/// Quotes a value as an SQL string literal (the same in every dialect).
pub(crate) fn string_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_blanks_and_semicolons_are_not_sql() {
        assert!(!has_sql(""));
        assert!(!has_sql("  \n\t-- just a note\n/* block\n comment */ ;\n"));
        assert!(!has_sql("/* unterminated"));
        assert!(has_sql("-- note\nSELECT 1"));
        assert!(has_sql("/* a */ x"));
    }

    #[test]
    fn finds_the_first_token() {
        assert_eq!(skip_trivia("-- a\n  CREATE"), 7);
        assert_eq!(skip_trivia("/**/;X"), 5);
        assert_eq!(skip_trivia("- 1"), 0);
    }
}
