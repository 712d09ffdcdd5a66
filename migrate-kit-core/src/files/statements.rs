//! Splitting a section into statements as PostgreSQL's own lexer delimits
//! them: `;` inside a string (`'...'`, `E'...'` with backslash escapes), a
//! quoted identifier, a dollar-quoted body (`$$...$$`, `$fn$...$fn$`), a
//! comment (`--`, nested `/* */`), a `BEGIN ATOMIC ... END` function
//! body or a SQLite trigger's `BEGIN ... END` body never ends a statement. The PostgreSQL backend runs the statements
//! one at a time, and loading a folder checks them for what cannot run
//! through a migration (see [`Statement::problem`]).

/// One statement of a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Statement<'a> {
    /// Byte offset of its first character (after leading comments and
    /// blanks) in the text that was split.
    pub start: usize,
    /// Its text, without the closing `;` and trailing blanks.
    pub text: &'a str,
    /// Byte offset just past its closing `;` (the end of the text, for the
    /// last statement without one).
    pub end: usize,
}

/// Lexer state between two characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    /// `'...'`; `backslash` for `E'...'`.
    Quote {
        backslash: bool,
    },
    /// `"..."`.
    Identifier,
    /// `-- ...` to the end of the line.
    LineComment,
    /// `/* ... */`, nested to this depth.
    BlockComment(u32),
    /// `$tag$ ... $tag$`, the tag's span in the text.
    Dollar {
        tag_start: usize,
        tag_end: usize,
    },
}

/// Splits `sql` into statements, one at a time, in a single pass over the
/// text (a migration of a million statements is never held as a list).
/// Text after the last `;` is a statement when it holds anything besides
/// blanks and comments; an unterminated string or comment runs to the end.
pub(crate) fn split(sql: &str) -> Statements<'_> {
    Statements {
        sql,
        lexer: Lexer::new(sql),
        start: 0,
    }
}

/// The statements of a text, as [`split`] finds them.
pub(crate) struct Statements<'a> {
    sql: &'a str,
    lexer: Lexer<'a>,
    /// Where the next statement's text begins (after the previous `;`).
    start: usize,
}

impl<'a> Iterator for Statements<'a> {
    type Item = Statement<'a>;

    fn next(&mut self) -> Option<Statement<'a>> {
        while self.start <= self.sql.len() {
            let (to, end) = loop {
                match self.lexer.advance() {
                    Some(Event::End(at)) => break (at, at + 1),
                    Some(_) => {}
                    None => break (self.sql.len(), self.sql.len()),
                }
            };
            let from = std::mem::replace(&mut self.start, end.max(to + 1));
            if let Some(statement) = statement_in(self.sql, from, to, end) {
                return Some(statement);
            }
        }
        None
    }
}

/// The statement between `from` and the `;` at `to`, if that text holds
/// any code.
fn statement_in(sql: &str, from: usize, to: usize, end: usize) -> Option<Statement<'_>> {
    let body = &sql[from..to];
    let lead = first_code(body)?;
    Some(Statement {
        start: from + lead,
        text: body[lead..].trim_end(),
        end,
    })
}

/// The offset of the first character of `body` that is neither blank nor
/// inside a comment (comments nest, as in PostgreSQL).
fn first_code(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut lexer = Lexer::new(body);
    loop {
        let at = lexer.at;
        let b = *bytes.get(at)?;
        let opens_comment = matches!(
            (b, bytes.get(at + 1)),
            (b'-', Some(b'-')) | (b'/', Some(b'*'))
        );
        if lexer.state == State::Code && !b.is_ascii_whitespace() && b != b';' && !opens_comment {
            return Some(at);
        }
        lexer.advance()?;
    }
}

/// What one step of the lexer met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// A `;` that ends a statement, at this offset.
    End(usize),
    /// A keyword or identifier outside quotes and comments.
    Word(usize, usize),
    /// A backslash outside quotes and comments (a psql meta-command).
    Backslash(usize),
    /// Anything else.
    Other,
}

impl Event {
    /// The word this event met in `sql` (a backslash counts as one), if any.
    fn word(self, sql: &str) -> Option<&str> {
        match self {
            Event::Word(start, end) => Some(&sql[start..end]),
            Event::Backslash(at) => Some(&sql[at..=at]),
            Event::End(_) | Event::Other => None,
        }
    }
}

/// Walks the text one token at a time.
struct Lexer<'a> {
    sql: &'a str,
    at: usize,
    state: State,
    /// Whether the statement so far is `CREATE ... FUNCTION|PROCEDURE`.
    routine: bool,
    /// Whether the statement so far is `CREATE ... TRIGGER` (SQLite's
    /// trigger body is `BEGIN ... END`).
    trigger: bool,
    /// The first word of the statement.
    first: &'a str,
    /// Depth of `BEGIN ATOMIC` / `CASE` blocks in a function body.
    depth: u32,
    /// The previous word.
    previous: &'a str,
}

impl<'a> Lexer<'a> {
    fn new(sql: &'a str) -> Self {
        Lexer {
            sql,
            at: 0,
            state: State::Code,
            routine: false,
            trigger: false,
            first: "",
            depth: 0,
            previous: "",
        }
    }

    /// One step; `None` at the end of the text.
    fn advance(&mut self) -> Option<Event> {
        let bytes = self.sql.as_bytes();
        let here = self.at;
        let b = *bytes.get(here)?;
        let next = bytes.get(here + 1).copied();
        let mut event = Event::Other;
        match self.state {
            State::Code => match b {
                b';' if self.depth == 0 => {
                    self.at += 1;
                    self.routine = false;
                    self.trigger = false;
                    self.first = "";
                    self.previous = "";
                    event = Event::End(here);
                }
                b'\'' => {
                    let backslash = here > 0
                        && matches!(bytes[here - 1], b'e' | b'E')
                        && !(here > 1 && is_word_byte(Some(bytes[here - 2])));
                    self.state = State::Quote { backslash };
                    self.at += 1;
                }
                b'"' => {
                    self.state = State::Identifier;
                    self.at += 1;
                }
                b'-' if next == Some(b'-') => {
                    self.state = State::LineComment;
                    self.at += 2;
                }
                b'/' if next == Some(b'*') => {
                    self.state = State::BlockComment(1);
                    self.at += 2;
                }
                b'$' => self.dollar(here),
                b'\\' => {
                    self.at += 1;
                    event = Event::Backslash(here);
                }
                _ if is_word_start(b) => event = self.word(here),
                _ => self.at += 1,
            },
            State::Quote { backslash } => {
                // A backslash escape (in `E'...'`) or a doubled quote.
                let escaped = (backslash && b == b'\\') || (b == b'\'' && next == Some(b'\''));
                if escaped {
                    self.at += 2;
                } else {
                    if b == b'\'' {
                        self.state = State::Code;
                    }
                    self.at += 1;
                }
            }
            State::Identifier => {
                if b == b'"' && next == Some(b'"') {
                    self.at += 2;
                } else {
                    if b == b'"' {
                        self.state = State::Code;
                    }
                    self.at += 1;
                }
            }
            State::LineComment => {
                if b == b'\n' {
                    self.state = State::Code;
                }
                self.at += 1;
            }
            State::BlockComment(depth) => {
                if b == b'/' && next == Some(b'*') {
                    self.state = State::BlockComment(depth + 1);
                    self.at += 2;
                } else if b == b'*' && next == Some(b'/') {
                    self.state = match depth {
                        1 => State::Code,
                        _ => State::BlockComment(depth - 1),
                    };
                    self.at += 2;
                } else {
                    self.at += 1;
                }
            }
            State::Dollar { tag_start, tag_end } => {
                let tag = &self.sql[tag_start..tag_end];
                if self.sql.as_bytes()[here..].starts_with(tag.as_bytes()) {
                    self.state = State::Code;
                    self.at += tag.len();
                } else {
                    self.at += 1;
                }
            }
        }
        self.at = self.at.min(bytes.len());
        Some(event)
    }

    /// `$tag$` opens a dollar-quoted string; `$1` (a parameter) does not.
    fn dollar(&mut self, here: usize) {
        let bytes = self.sql.as_bytes();
        // A `$` inside an identifier (`a$b`) is part of it.
        if here > 0 && is_word_byte(Some(bytes[here - 1])) {
            self.at += 1;
            return;
        }
        let mut end = here + 1;
        while end < bytes.len() && is_tag_byte(bytes[end]) {
            end += 1;
        }
        let opens =
            bytes.get(end) == Some(&b'$') && !bytes.get(here + 1).is_some_and(u8::is_ascii_digit);
        if opens {
            self.state = State::Dollar {
                tag_start: here,
                tag_end: end + 1,
            };
            self.at = end + 1;
        } else {
            self.at += 1;
        }
    }

    /// A keyword or identifier: tracks `CREATE ... FUNCTION` and the
    /// `BEGIN ATOMIC`, `CASE` and `END` of its body.
    fn word(&mut self, here: usize) -> Event {
        let bytes = self.sql.as_bytes();
        let mut end = here;
        while end < bytes.len() && is_word_byte(Some(bytes[end])) {
            end += 1;
        }
        // Words are compared in place, ignoring case: a migration of a
        // million statements allocates nothing per word.
        let word = &self.sql[here..end];
        let is = |keyword: &str| word.eq_ignore_ascii_case(keyword);
        self.at = end;
        let creates = self.first.eq_ignore_ascii_case("CREATE");
        if self.first.is_empty() {
            self.first = word;
        } else if creates && (is("FUNCTION") || is("PROCEDURE")) {
            self.routine = true;
        } else if creates && is("TRIGGER") && !self.routine {
            self.trigger = true;
        }
        if self.routine || self.trigger {
            let opens =
                (is("ATOMIC") && self.routine && self.previous.eq_ignore_ascii_case("BEGIN"))
                    || (is("BEGIN") && self.trigger && self.depth == 0)
                    || (is("CASE") && self.depth > 0);
            if opens {
                self.depth += 1;
            } else if is("END") && self.depth > 0 {
                self.depth -= 1;
            }
        }
        self.previous = word;
        Event::Word(here, end)
    }
}

fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_tag_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

fn is_word_byte(b: Option<u8>) -> bool {
    b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80)
}

/// What makes a statement unfit for a migration file, whatever the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfit {
    /// `COPY ... FROM STDIN` reads rows that follow in a psql script.
    CopyFromStdin,
    /// A psql meta-command (`\connect`, `\i`, ...).
    MetaCommand,
    /// `CONCURRENTLY`, which cannot run inside a transaction.
    Concurrently,
    /// A statement that opens or ends a transaction (`BEGIN`, `COMMIT`,
    /// `END`, `ROLLBACK` other than to the migration's own savepoint,
    /// `PREPARE TRANSACTION`) in a migration that runs inside the run's
    /// transaction. Holds the statement's keyword.
    TransactionControl(&'static str),
    /// `PRAGMA foreign_keys = ...`: the run keeps foreign keys off and
    /// checks them before it commits, whatever a migration sets.
    ForeignKeysPragma,
}

impl Statement<'_> {
    /// The first thing in this statement that a migration cannot run:
    /// `COPY ... FROM STDIN`, a psql meta-command, `PRAGMA foreign_keys =`,
    /// or (when the migration is transactional) `CONCURRENTLY` or
    /// transaction control. Words inside strings, quoted identifiers and
    /// comments do not count. `savepoints` are the savepoints the section
    /// made before this statement, which `ROLLBACK TO` may name.
    fn problem_among<S: AsRef<str>>(
        &self,
        words: &[&str],
        transactional: bool,
        savepoints: &[S],
    ) -> Option<Unfit> {
        if words.iter().any(|w| w.starts_with('\\')) {
            return Some(Unfit::MetaCommand);
        }
        let is = |word: &str, keyword: &str| word.eq_ignore_ascii_case(keyword);
        let first = words.first().copied().unwrap_or_default();
        if is(first, "COPY")
            && words
                .windows(2)
                .any(|p| is(p[0], "FROM") && is(p[1], "STDIN"))
        {
            return Some(Unfit::CopyFromStdin);
        }
        if is(first, "PRAGMA") && self.sets_foreign_keys() {
            return Some(Unfit::ForeignKeysPragma);
        }
        if !transactional {
            return None;
        }
        if words.iter().any(|w| is(w, "CONCURRENTLY")) {
            return Some(Unfit::Concurrently);
        }
        transaction_control(words, savepoints).map(Unfit::TransactionControl)
    }

    /// The first thing in this statement that a migration cannot run, with
    /// no savepoint made before it (see [`problems`] for a whole section).
    pub(crate) fn problem(&self, transactional: bool) -> Option<Unfit> {
        self.problem_among::<&str>(&code_words(self.text), transactional, &[])
    }

    /// Whether this `PRAGMA` statement assigns `foreign_keys`
    /// (`PRAGMA [schema.]foreign_keys = v` or `(v)`, the name perhaps
    /// quoted), as opposed to reading it.
    fn sets_foreign_keys(&self) -> bool {
        let Some((name, _)) = self.text.split_once(['=', '(']) else {
            return false;
        };
        let name: String = name
            .chars()
            .filter(|c| !matches!(c, '"' | '`' | '[' | ']'))
            .collect();
        name.trim_end()
            .to_ascii_lowercase()
            .ends_with("foreign_keys")
    }
}

/// The keyword of a statement that opens or ends a transaction, given its
/// words; `ROLLBACK TO` one of `savepoints` is allowed. Keywords and
/// savepoint names are compared ignoring case, as SQL does.
fn transaction_control<S: AsRef<str>>(words: &[&str], savepoints: &[S]) -> Option<&'static str> {
    let is = |i: usize, keyword: &str| {
        words
            .get(i)
            .is_some_and(|w| w.eq_ignore_ascii_case(keyword))
    };
    if is(0, "BEGIN") {
        Some("BEGIN")
    } else if is(0, "START") && is(1, "TRANSACTION") {
        Some("START TRANSACTION")
    } else if is(0, "COMMIT") {
        Some("COMMIT")
    } else if is(0, "END") {
        Some("END")
    } else if is(0, "PREPARE") && is(1, "TRANSACTION") {
        Some("PREPARE TRANSACTION")
    } else if is(0, "ROLLBACK") || is(0, "ABORT") {
        let to = (0..words.len()).find(|&i| is(i, "TO"));
        let target = to.and_then(|at| (at + 1..words.len()).find(|&i| !is(i, "SAVEPOINT")));
        let own = match (to, target) {
            (Some(_), Some(name)) => savepoints
                .iter()
                .any(|s| s.as_ref().eq_ignore_ascii_case(words[name])),
            // A quoted name: the lexer does not read it as a word.
            (Some(_), None) => !savepoints.is_empty(),
            (None, _) => false,
        };
        match (own, is(0, "ABORT")) {
            (true, _) => None,
            (false, true) => Some("ABORT"),
            (false, false) => Some("ROLLBACK"),
        }
    } else {
        None
    }
}

/// Every statement of `sql` that a migration cannot run, with the reason
/// (see [`Statement::problem`]). `sql` is a section, or a piece of whole
/// statements of one: `savepoints` holds the savepoints made by the pieces
/// before it and gains those this one makes, so that `ROLLBACK TO` them is
/// allowed. One pass of the lexer splits the text and collects each
/// statement's words.
pub(crate) fn problems<'s>(
    sql: &'s str,
    transactional: bool,
    savepoints: &mut Vec<String>,
) -> Vec<(Statement<'s>, Unfit)> {
    let mut found = Vec::new();
    let mut words = Vec::new();
    let mut lexer = Lexer::new(sql);
    let mut from = 0;
    loop {
        let (to, end) = match lexer.advance() {
            Some(Event::End(at)) => (at, at + 1),
            Some(event) => {
                words.extend(event.word(sql));
                continue;
            }
            None => (sql.len(), sql.len()),
        };
        if let Some(statement) = statement_in(sql, from, to, end) {
            if let Some(unfit) = statement.problem_among(&words, transactional, savepoints) {
                found.push((statement, unfit));
            }
            if words
                .first()
                .is_some_and(|w| w.eq_ignore_ascii_case("SAVEPOINT"))
            {
                // A quoted name is no word: it is kept as an empty one.
                savepoints.push(words.get(1).copied().unwrap_or_default().to_owned());
            }
        }
        if to == sql.len() {
            return found;
        }
        words.clear();
        from = end;
    }
}

/// The length of the longest start of `sql` made of whole statements: the
/// offset just past the last `;` that ends a statement (0 when none does).
/// Text after it may be a statement cut short, to be completed by what
/// follows it in the file.
pub(crate) fn whole_statements_len(sql: &str) -> usize {
    let mut lexer = Lexer::new(sql);
    let mut len = 0;
    while let Some(event) = lexer.advance() {
        if let Event::End(at) = event {
            len = at + 1;
        }
    }
    len
}

/// The words of `text` outside strings, quoted identifiers, dollar quotes
/// and comments, in order; a backslash counts as a word of its own.
pub(crate) fn code_words(text: &str) -> Vec<&str> {
    CodeWords(Lexer::new(text)).collect()
}

/// The words a lexer meets, as [`code_words`] lists them.
struct CodeWords<'a>(Lexer<'a>);

impl<'a> Iterator for CodeWords<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        loop {
            if let Some(word) = self.0.advance()?.word(self.0.sql) {
                return Some(word);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split(sql).map(|s| s.text).collect()
    }

    #[test]
    fn semicolons_inside_quotes_comments_and_bodies_do_not_split() {
        assert_eq!(
            texts("CREATE TABLE a (x text DEFAULT ';'); -- ; here\nINSERT INTO a VALUES (E'\\';'); /* ; /* ; */ ; */ SELECT \"a;b\" FROM a"),
            [
                "CREATE TABLE a (x text DEFAULT ';')",
                "INSERT INTO a VALUES (E'\\';')",
                "SELECT \"a;b\" FROM a"
            ]
        );
        let function = "CREATE FUNCTION f() RETURNS trigger AS $body$\nBEGIN\n  NEW.x := 'a;b'; RETURN NEW;\nEND;\n$body$ LANGUAGE plpgsql";
        assert_eq!(
            texts(&format!("{function};\nSELECT 1;")),
            [function, "SELECT 1"]
        );
        assert_eq!(
            texts("SELECT $$a;$$, $1; SELECT 2"),
            ["SELECT $$a;$$, $1", "SELECT 2"]
        );
    }

    #[test]
    fn begin_atomic_bodies_hold_their_semicolons() {
        let body = "CREATE FUNCTION g(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC\n  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;\n  SELECT x;\nEND";
        assert_eq!(texts(&format!("{body};\nSELECT 3;")), [body, "SELECT 3"]);
        // A transaction's BEGIN is no body.
        assert_eq!(texts("BEGIN; SELECT 1; END;"), ["BEGIN", "SELECT 1", "END"]);
    }

    #[test]
    fn statements_start_after_leading_comments_and_report_their_offset() {
        let sql = "-- first\nSELECT 1;\n\n  /* c */ SELECT 2";
        let parts: Vec<_> = split(sql).collect();
        assert_eq!(parts[0].start, 9);
        assert_eq!(parts[0].end, sql.find(';').unwrap() + 1);
        assert_eq!(parts[1].start, sql.find("SELECT 2").unwrap());
        assert_eq!(parts[1].end, sql.len());
        assert_eq!(split("-- only a comment;\n ; ;").count(), 0);
    }

    #[test]
    fn what_a_migration_cannot_run_is_found_outside_strings() {
        let one = |sql: &str, transactional| split(sql).next().unwrap().problem(transactional);
        assert_eq!(
            one("COPY users FROM STDIN", true),
            Some(Unfit::CopyFromStdin)
        );
        assert_eq!(one("COPY users TO STDOUT", true), None);
        assert_eq!(one("\\connect other", true), Some(Unfit::MetaCommand));
        assert_eq!(one("SELECT '\\x'", true), None);
        assert_eq!(
            one("CREATE INDEX CONCURRENTLY i ON t (x)", true),
            Some(Unfit::Concurrently)
        );
        assert_eq!(one("CREATE INDEX CONCURRENTLY i ON t (x)", false), None);
        assert_eq!(one("SELECT 'concurrently' -- concurrently", true), None);
    }

    #[test]
    fn transaction_control_is_unfit_only_inside_the_run_transaction() {
        let found = |sql: &str, transactional| -> Vec<Unfit> {
            problems(sql, transactional, &mut Vec::new())
                .into_iter()
                .map(|(_, u)| u)
                .collect()
        };
        for (sql, keyword) in [
            ("COMMIT", "COMMIT"),
            ("commit and chain", "COMMIT"),
            ("END TRANSACTION", "END"),
            ("BEGIN IMMEDIATE", "BEGIN"),
            ("start transaction", "START TRANSACTION"),
            ("ROLLBACK", "ROLLBACK"),
            ("ABORT", "ABORT"),
            ("ROLLBACK TO SAVEPOINT nobody_made_it", "ROLLBACK"),
            ("PREPARE TRANSACTION 'x'", "PREPARE TRANSACTION"),
        ] {
            assert_eq!(
                found(sql, true),
                [Unfit::TransactionControl(keyword)],
                "{sql}"
            );
            assert_eq!(found(sql, false), [], "{sql}");
        }
        // A migration's own savepoints, prepared statements, bodies and
        // SQLite trigger bodies are no transaction control.
        assert_eq!(
            found(
                "SAVEPOINT s; UPDATE t SET x = 1; ROLLBACK TO s; RELEASE s",
                true
            ),
            []
        );
        assert_eq!(
            found(
                "SAVEPOINT \"odd name\"; ROLLBACK TRANSACTION TO SAVEPOINT \"odd name\"",
                true
            ),
            []
        );
        assert_eq!(found("PREPARE q AS SELECT 1", true), []);
        assert_eq!(found("CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET x = CASE WHEN 1 THEN 2 END; DELETE FROM u; END; SELECT 'COMMIT'", true), []);
        assert_eq!(
            texts("CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET x = 1; END; SELECT 1"),
            [
                "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET x = 1; END",
                "SELECT 1"
            ]
        );
    }

    #[test]
    fn only_setting_foreign_keys_is_unfit() {
        let one = |sql: &str| split(sql).next().unwrap().problem(false);
        for sql in [
            "PRAGMA foreign_keys = ON",
            "pragma main.foreign_keys=1",
            "PRAGMA \"foreign_keys\" = on",
            "PRAGMA foreign_keys(0)",
        ] {
            assert_eq!(one(sql), Some(Unfit::ForeignKeysPragma), "{sql}");
        }
        assert_eq!(one("PRAGMA foreign_keys"), None);
        assert_eq!(one("PRAGMA foreign_key_check(c)"), None);
        assert_eq!(one("PRAGMA journal_mode = WAL"), None);
    }

    proptest::proptest! {
        /// The one-pass check of a section finds what checking each
        /// statement [`split`] cuts finds, in sections made of pieces that
        /// move the lexer between its states.
        #[test]
        fn a_section_is_checked_as_its_statements_are(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "SAVEPOINT s", "savepoint \"q\"", "ROLLBACK TO s", "rollback to savepoint S",
                "ROLLBACK", "COMMIT", "begin", "E'\\';'", "'a;b'", "$$;$$", "$t$ x; $t$",
                "-- c;\n", "/* ; /* ; */ */", "\"a;b\"", "CREATE TRIGGER tr AFTER INSERT ON t BEGIN",
                "END", "CASE", "CREATE FUNCTION f() BEGIN ATOMIC", "COPY t FROM STDIN",
                "CONCURRENTLY", "PRAGMA foreign_keys = 0", "\\connect x", "SELECT 1", ";", " ", "\n",
            ]), 0..24),
            transactional in proptest::bool::ANY,
            cut in 0usize..200,
        ) {
            let sql = pieces.concat();
            let mut savepoints: Vec<&str> = Vec::new();
            let mut expected = Vec::new();
            for statement in split(&sql) {
                let words = code_words(statement.text);
                if let Some(unfit) = statement.problem_among(&words, transactional, &savepoints) {
                    expected.push((statement, unfit));
                }
                if words.first().is_some_and(|w| w.eq_ignore_ascii_case("SAVEPOINT")) {
                    savepoints.push(words.get(1).copied().unwrap_or_default());
                }
            }
            proptest::prop_assert_eq!(&problems(&sql, transactional, &mut Vec::new()), &expected);
            // Checked in two pieces cut after whole statements, as a file
            // too large to hold is: the same findings, the savepoints of
            // the first piece carried into the second.
            let mut cut = cut.min(sql.len());
            while !sql.is_char_boundary(cut) {
                cut -= 1;
            }
            let first = whole_statements_len(&sql[..cut]);
            proptest::prop_assert!(first == 0 || sql.as_bytes()[first - 1] == b';');
            let mut carried = Vec::new();
            let mut in_pieces: Vec<(usize, Unfit)> = problems(&sql[..first], transactional, &mut carried)
                .into_iter()
                .map(|(statement, unfit)| (statement.start, unfit))
                .collect();
            in_pieces.extend(
                problems(&sql[first..], transactional, &mut carried)
                    .into_iter()
                    .map(|(statement, unfit)| (first + statement.start, unfit)),
            );
            let whole: Vec<(usize, Unfit)> = expected.iter().map(|(s, u)| (s.start, *u)).collect();
            proptest::prop_assert_eq!(in_pieces, whole);
        }
    }
}
