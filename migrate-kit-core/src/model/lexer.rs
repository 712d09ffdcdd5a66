//! A small SQLite tokenizer, enough to compare schema SQL independently of
//! whitespace, comments, identifier quoting and keyword case, and to find
//! the parts of CREATE statements. It never executes or splits statements.

/// One token with its byte range in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// What it is.
    pub kind: Kind,
    /// Normalized text: words lowercased, identifier quotes removed.
    pub text: String,
    /// Start byte in the source.
    pub start: usize,
    /// End byte in the source.
    pub end: usize,
}

/// Token kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A keyword or identifier (quoted or not).
    Word,
    /// A string literal, kept as written.
    Str,
    /// A number or blob literal, kept as written.
    Literal,
    /// Punctuation and operators.
    Punct,
}

impl Token {
    /// Whether this is the word `w` (lowercase).
    pub(crate) fn is(&self, w: &str) -> bool {
        self.kind == Kind::Word && self.text == w
    }

    /// Whether this is the punctuation `p`.
    pub(crate) fn is_punct(&self, p: &str) -> bool {
        self.kind == Kind::Punct && self.text == p
    }
}

/// Splits `sql` into tokens, skipping whitespace and comments.
pub(crate) fn tokenize(sql: &str) -> Vec<Token> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let (kind, text) = match c {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                i += 1;
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + 2 + n + 2);
                continue;
            }
            b'\'' => {
                i = quoted_end(bytes, i, b'\'');
                (Kind::Str, sql[start..i].to_owned())
            }
            b'"' | b'`' => {
                i = quoted_end(bytes, i, c);
                let inner = &sql[start + 1..i.saturating_sub(1).max(start + 1)];
                let doubled = [c as char, c as char].iter().collect::<String>();
                (
                    Kind::Word,
                    inner
                        .replace(&doubled, &(c as char).to_string())
                        .to_lowercase(),
                )
            }
            b'[' => {
                i = sql[i..].find(']').map_or(bytes.len(), |n| i + n + 1);
                (
                    Kind::Word,
                    sql[start + 1..i.saturating_sub(1).max(start + 1)].to_lowercase(),
                )
            }
            b'x' | b'X' if bytes.get(i + 1) == Some(&b'\'') => {
                i = quoted_end(bytes, i + 1, b'\'');
                (Kind::Literal, sql[start..i].to_lowercase())
            }
            b'0'..=b'9' | b'.' if c != b'.' || bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'.'
                        || ((bytes[i] == b'+' || bytes[i] == b'-')
                            && matches!(bytes[i - 1], b'e' | b'E')))
                {
                    i += 1;
                }
                (Kind::Literal, sql[start..i].to_lowercase())
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'_'
                        || bytes[i] == b'$'
                        || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                (Kind::Word, sql[start..i].to_lowercase())
            }
            _ => {
                let two = sql.get(i..i + 2).unwrap_or("");
                let len = if ["||", "<=", ">=", "<>", "!=", "==", "<<", ">>", "->"].contains(&two) {
                    2
                } else {
                    1
                };
                i += len;
                (Kind::Punct, sql[start..i].to_owned())
            }
        };
        tokens.push(Token {
            kind,
            text,
            start,
            end: i,
        });
    }
    tokens
}

fn quoted_end(bytes: &[u8], open: usize, quote: u8) -> usize {
    let mut i = open + 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// The normalized text of tokens: comparable across whitespace, comments,
/// quoting and case.
pub(crate) fn normalize(tokens: &[Token]) -> String {
    let mut out = String::new();
    for t in tokens {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&t.text);
    }
    out
}

/// Splits tokens at top-level commas (outside parentheses).
pub(crate) fn split_top_level(tokens: &[Token]) -> Vec<&[Token]> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut from = 0;
    for (i, t) in tokens.iter().enumerate() {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth -= 1;
        } else if t.is_punct(",") && depth == 0 {
            parts.push(&tokens[from..i]);
            from = i + 1;
        }
    }
    if from < tokens.len() {
        parts.push(&tokens[from..]);
    }
    parts
}

/// The index of the `)` that closes the `(` at `open`.
pub(crate) fn closing_paren(tokens: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// Quotes an identifier when it needs quoting.
pub(crate) fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !is_keyword(name);
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn is_keyword(word: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "abort",
        "action",
        "add",
        "after",
        "all",
        "alter",
        "always",
        "analyze",
        "and",
        "as",
        "asc",
        "attach",
        "autoincrement",
        "before",
        "begin",
        "between",
        "by",
        "cascade",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "commit",
        "conflict",
        "constraint",
        "create",
        "cross",
        "current",
        "current_date",
        "current_time",
        "current_timestamp",
        "database",
        "default",
        "deferrable",
        "deferred",
        "delete",
        "desc",
        "detach",
        "distinct",
        "do",
        "drop",
        "each",
        "else",
        "end",
        "escape",
        "except",
        "exclude",
        "exclusive",
        "exists",
        "explain",
        "fail",
        "filter",
        "first",
        "following",
        "for",
        "foreign",
        "from",
        "full",
        "generated",
        "glob",
        "group",
        "groups",
        "having",
        "if",
        "ignore",
        "immediate",
        "in",
        "index",
        "indexed",
        "initially",
        "inner",
        "insert",
        "instead",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "key",
        "last",
        "left",
        "like",
        "limit",
        "match",
        "materialized",
        "natural",
        "no",
        "not",
        "nothing",
        "notnull",
        "null",
        "nulls",
        "of",
        "offset",
        "on",
        "or",
        "order",
        "others",
        "outer",
        "over",
        "partition",
        "plan",
        "pragma",
        "preceding",
        "primary",
        "query",
        "raise",
        "range",
        "recursive",
        "references",
        "regexp",
        "reindex",
        "release",
        "rename",
        "replace",
        "restrict",
        "returning",
        "right",
        "rollback",
        "row",
        "rows",
        "savepoint",
        "select",
        "set",
        "table",
        "temp",
        "temporary",
        "then",
        "ties",
        "to",
        "transaction",
        "trigger",
        "unbounded",
        "union",
        "unique",
        "update",
        "using",
        "vacuum",
        "values",
        "view",
        "virtual",
        "when",
        "where",
        "window",
        "with",
        "without",
    ];
    KEYWORDS.contains(&word.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_case_whitespace_and_comments_do_not_matter() {
        let a = normalize(&tokenize(
            "CREATE TABLE \"Users\" (id INTEGER, -- note\n name TEXT DEFAULT 'A b')",
        ));
        let b = normalize(&tokenize(
            "create table [users](\n  `id` integer,/* x */name text default 'A b'\n)",
        ));
        assert_eq!(a, b);
        assert_ne!(
            a,
            normalize(&tokenize(
                "CREATE TABLE users (id INTEGER, name TEXT DEFAULT 'a b')"
            ))
        );
    }

    #[test]
    fn literals_and_operators() {
        let t = tokenize("x'00ff' 1.5e-3 a||b <= 'it''s'");
        let texts: Vec<&str> = t.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(
            texts,
            ["x'00ff'", "1.5e-3", "a", "||", "b", "<=", "'it''s'"]
        );
    }

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(quote_ident("users"), "users");
        assert_eq!(quote_ident("order"), "\"order\"");
        assert_eq!(quote_ident("my col"), "\"my col\"");
    }
}
