//! The typed schema model: tables, columns, constraints, indexes, views and
//! triggers, built from the SQL SQLite stores and compared structurally.

use super::lexer::{closing_paren, normalize, split_top_level, tokenize, Kind, Token};
use std::collections::BTreeMap;

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    /// The name as declared.
    pub name: String,
    /// The declared type, normalized (empty when none).
    pub decl_type: String,
    /// `NOT NULL`.
    pub not_null: bool,
    /// The `DEFAULT` value, normalized.
    pub default: Option<String>,
    /// Position in the primary key (1-based), 0 when not part of it.
    pub primary_key: u32,
    /// A column-level `UNIQUE`.
    pub unique: bool,
    /// Column-level `CHECK` expressions, normalized.
    pub checks: Vec<String>,
    /// `COLLATE` name.
    pub collation: Option<String>,
    /// A column-level `REFERENCES` clause, normalized (actions, deferrable).
    pub references: Option<String>,
    /// `GENERATED ALWAYS AS (expr)`: the expression and whether it is STORED.
    pub generated: Option<(String, bool)>,
    /// The column definition exactly as written, for generated SQL.
    pub definition: String,
}

impl Column {
    /// Whether `ALTER TABLE ADD COLUMN` can add this column to a table.
    pub(crate) fn can_be_added(&self) -> bool {
        let constant_default = self.default.as_deref().is_none_or(|d| {
            !d.starts_with('(')
                && !matches!(d, "current_time" | "current_date" | "current_timestamp")
        });
        self.primary_key == 0
            && !self.unique
            && !(self.not_null && self.default.is_none() && self.generated.is_none())
            && constant_default
            && !self.generated.as_ref().is_some_and(|(_, stored)| *stored)
            && !(self.references.is_some() && self.default.as_deref().is_some_and(|d| d != "null"))
    }

    /// Whether two columns are declared the same way (names compared
    /// case-insensitively, formatting ignored).
    pub(crate) fn same_as(&self, other: &Column) -> bool {
        self.name.eq_ignore_ascii_case(&other.name)
            && self.decl_type == other.decl_type
            && self.not_null == other.not_null
            && self.default == other.default
            && self.primary_key == other.primary_key
            && self.unique == other.unique
            && self.checks == other.checks
            && self.collation == other.collation
            && self.references == other.references
            && self.generated == other.generated
    }
}

/// A table.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// The name as declared.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Table-level constraints (PRIMARY KEY, UNIQUE, CHECK, FOREIGN KEY), normalized and sorted.
    pub constraints: Vec<String>,
    /// `WITHOUT ROWID`.
    pub without_rowid: bool,
    /// `STRICT`.
    pub strict: bool,
    /// The text between the outer parentheses, as written.
    pub body: String,
    /// What follows the closing parenthesis, as written (`WITHOUT ROWID`, `STRICT`).
    pub options: String,
}

impl PartialEq for Table {
    fn eq(&self, other: &Self) -> bool {
        self.name.eq_ignore_ascii_case(&other.name)
            && self.columns.len() == other.columns.len()
            && self
                .columns
                .iter()
                .zip(&other.columns)
                .all(|(a, b)| a.same_as(b))
            && self.constraints == other.constraints
            && self.without_rowid == other.without_rowid
            && self.strict == other.strict
    }
}

impl Table {
    /// The column named `name` (case-insensitive).
    pub(crate) fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// `CREATE TABLE <name> (<body>)<options>`.
    pub(crate) fn create_sql(&self, name: &str) -> String {
        format!(
            "CREATE TABLE {} ({}){}",
            super::lexer::quote_ident(name),
            self.body,
            self.options
        )
    }
}

/// An index, view or trigger: compared by its normalized SQL.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    /// Its name.
    pub name: String,
    /// The table it belongs to (for views: the view itself).
    pub table: String,
    /// The SQL as stored.
    pub sql: String,
    /// The normalized SQL.
    pub normalized: String,
    /// Lowercase words of the SQL, to find what it depends on.
    pub words: Vec<String>,
}

impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        self.normalized == other.normalized
    }
}

impl Object {
    /// Builds an object from stored SQL.
    pub(crate) fn new(name: &str, table: &str, sql: &str) -> Self {
        let tokens = tokenize(sql);
        Object {
            name: name.to_owned(),
            table: table.to_owned(),
            sql: sql.trim().trim_end_matches(';').to_owned(),
            normalized: normalize(&tokens),
            words: tokens
                .into_iter()
                .filter(|t| t.kind == Kind::Word)
                .map(|t| t.text)
                .collect(),
        }
    }

    /// Whether the SQL mentions `name` as a word.
    pub(crate) fn mentions(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        self.words.contains(&name)
    }

    /// Whether this is a UNIQUE index.
    pub(crate) fn is_unique_index(&self) -> bool {
        self.normalized.starts_with("create unique index")
    }
}

/// A whole schema. Keys are lowercase names.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Schema {
    /// Tables.
    pub tables: BTreeMap<String, Table>,
    /// Explicit indexes (not those SQLite makes for constraints).
    pub indexes: BTreeMap<String, Object>,
    /// Views.
    pub views: BTreeMap<String, Object>,
    /// Triggers.
    pub triggers: BTreeMap<String, Object>,
}

/// A `CREATE TABLE` statement that this model cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read the definition of table `{table}`: {reason}")]
pub(crate) struct TableSqlError {
    /// The table.
    pub table: String,
    /// Why.
    pub reason: String,
}

/// The words that start a column constraint: where a column's type, or a
/// `REFERENCES` clause, ends.
const COLUMN_CONSTRAINT_WORDS: [&str; 11] = [
    "constraint",
    "primary",
    "not",
    "null",
    "unique",
    "check",
    "default",
    "collate",
    "references",
    "generated",
    "as",
];

/// Parses a stored `CREATE TABLE` statement. `pk_order` gives each column's
/// position in the primary key as SQLite reports it.
pub(crate) fn parse_table(
    name: &str,
    sql: &str,
    pk_order: &dyn Fn(&str) -> u32,
) -> Result<Table, TableSqlError> {
    let fail = |reason: &str| TableSqlError {
        table: name.to_owned(),
        reason: reason.to_owned(),
    };
    let tokens = tokenize(sql);
    let open = tokens
        .iter()
        .position(|t| t.is_punct("("))
        .ok_or_else(|| fail("no column list"))?;
    let close = closing_paren(&tokens, open).ok_or_else(|| fail("unbalanced parentheses"))?;
    let inner = &tokens[open + 1..close];
    let body_start = tokens[open].end;
    let body_end = tokens[close].start;
    let tail = &tokens[close + 1..];
    let options = sql[tokens[close].end..]
        .trim_end()
        .trim_end_matches(';')
        .to_owned();
    let tail_words: Vec<&str> = tail
        .iter()
        .filter(|t| t.kind == Kind::Word)
        .map(|t| t.text.as_str())
        .collect();
    let mut table = Table {
        name: name.to_owned(),
        columns: Vec::new(),
        constraints: Vec::new(),
        without_rowid: tail_words.windows(2).any(|w| w == ["without", "rowid"]),
        strict: tail_words.contains(&"strict"),
        body: sql[body_start..body_end].to_owned(),
        options,
    };
    for item in split_top_level(inner) {
        let Some(first) = item.first() else { continue };
        let quoted = sql[first.start..].starts_with(['"', '`', '[']);
        let is_constraint = first.kind == Kind::Word
            && !quoted
            && ["constraint", "primary", "unique", "check", "foreign"]
                .contains(&first.text.as_str());
        if is_constraint {
            table
                .constraints
                .push(normalize(strip_constraint_name(item)));
        } else {
            table.columns.push(parse_column(sql, item, pk_order));
        }
    }
    table.constraints.sort();
    Ok(table)
}

fn strip_constraint_name(item: &[Token]) -> &[Token] {
    if item.first().is_some_and(|t| t.is("constraint")) && item.len() > 2 {
        &item[2..]
    } else {
        item
    }
}

/// A default that needs no parentheses: a literal, or a constant such as
/// `CURRENT_TIMESTAMP`.
fn is_constant(token: &Token) -> bool {
    matches!(token.kind, Kind::Str | Kind::Literal)
        || [
            "current_timestamp",
            "current_date",
            "current_time",
            "null",
            "true",
            "false",
        ]
        .iter()
        .any(|word| token.is(word))
}

fn parse_column(sql: &str, item: &[Token], pk_order: &dyn Fn(&str) -> u32) -> Column {
    let name = item[0].text.clone();
    let original_name = {
        let raw = &sql[item[0].start..item[0].end];
        raw.trim_matches(['"', '`', '[', ']']).to_owned()
    };
    let mut i = 1;
    let type_start = i;
    while i < item.len()
        && !(item[i].kind == Kind::Word && COLUMN_CONSTRAINT_WORDS.contains(&item[i].text.as_str()))
    {
        if item[i].is_punct("(") {
            i = closing_paren(item, i).map_or(item.len(), |c| c + 1);
        } else {
            i += 1;
        }
    }
    let mut column = Column {
        name: original_name,
        decl_type: normalize(&item[type_start..i]),
        not_null: false,
        default: None,
        primary_key: pk_order(&name),
        unique: false,
        checks: Vec::new(),
        collation: None,
        references: None,
        generated: None,
        definition: sql[item[0].start..item[item.len() - 1].end].to_owned(),
    };
    while i < item.len() {
        let word = item[i].text.as_str();
        match word {
            "constraint" => i += 2,
            "not" if item.get(i + 1).is_some_and(|t| t.is("null")) => {
                column.not_null = true;
                i += 2;
            }
            "null" | "asc" | "desc" | "autoincrement" => i += 1,
            "primary" => i += 2,
            "unique" => {
                column.unique = true;
                i += 1;
            }
            "on" => i += 3, // ON CONFLICT <resolution>
            "check" | "as" => {
                let open = i + 1;
                let close = closing_paren(item, open).unwrap_or(item.len() - 1);
                let expr = normalize(&item[open..=close.min(item.len() - 1)]);
                if word == "check" {
                    column.checks.push(expr);
                } else {
                    let stored = item.get(close + 1).is_some_and(|t| t.is("stored"));
                    column.generated = Some((expr, stored));
                }
                i = close + 1;
            }
            "generated" => i += 2, // GENERATED ALWAYS, then AS (...)
            "stored" | "virtual" => i += 1,
            "default" => {
                let mut start = i + 1;
                let end = if item.get(start).is_some_and(|t| t.is_punct("(")) {
                    let end = closing_paren(item, start).map_or(item.len(), |c| c + 1);
                    // `DEFAULT (CURRENT_TIMESTAMP)` is `DEFAULT
                    // CURRENT_TIMESTAMP`: SQLAlchemy's reflection (an Alembic
                    // batch rebuild) writes the parentheses the original
                    // left out.
                    if end == start + 3 && is_constant(&item[start + 1]) {
                        start += 1;
                        end - 1
                    } else {
                        end
                    }
                } else if item
                    .get(start)
                    .is_some_and(|t| t.is_punct("-") || t.is_punct("+"))
                {
                    (start + 2).min(item.len())
                } else {
                    (start + 1).min(item.len())
                };
                // A signed number is one value: `-1`, and `+1` is `1`.
                let text = normalize(&item[start..end]);
                column.default = Some(match text.strip_prefix("- ") {
                    Some(number) => format!("-{number}"),
                    None => text.strip_prefix("+ ").unwrap_or(&text).to_owned(),
                });
                i = end;
            }
            "collate" => {
                column.collation = item.get(i + 1).map(|t| t.text.clone());
                i += 2;
            }
            "references" => {
                let start = i;
                i += 1;
                while i < item.len()
                    && !(item[i].kind == Kind::Word
                        && COLUMN_CONSTRAINT_WORDS.contains(&item[i].text.as_str()))
                {
                    if item[i].is_punct("(") {
                        i = closing_paren(item, i).map_or(item.len(), |c| c + 1);
                    } else {
                        i += 1;
                    }
                }
                column.references = Some(normalize(&item[start..i]));
            }
            _ => i += 1,
        }
    }
    column
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(sql: &str) -> Table {
        parse_table("t", sql, &|name| u32::from(name == "id")).unwrap()
    }

    #[test]
    fn reads_every_column_property() {
        let t = table(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL DEFAULT 'x' COLLATE NOCASE CHECK (length(name) > 0) UNIQUE,
             parent INTEGER REFERENCES t (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
             total REAL GENERATED ALWAYS AS (id * 2) STORED, n INTEGER DEFAULT -1,
             CONSTRAINT u UNIQUE (name, parent), CHECK (id > 0)) WITHOUT ROWID, STRICT",
        );
        assert_eq!(t.columns.len(), 5);
        let name = &t.columns[1];
        assert_eq!(name.decl_type, "varchar ( 20 )");
        assert!(name.not_null && name.unique);
        assert_eq!(name.default.as_deref(), Some("'x'"));
        assert_eq!(name.collation.as_deref(), Some("nocase"));
        assert_eq!(name.checks, ["( length ( name ) > 0 )"]);
        assert_eq!(
            t.columns[2].references.as_deref(),
            Some("references t ( id ) on delete cascade deferrable initially deferred")
        );
        assert_eq!(
            t.columns[3].generated,
            Some(("( id * 2 )".to_owned(), true))
        );
        assert_eq!(t.columns[4].default.as_deref(), Some("-1"));
        // A constant in parentheses is the same default.
        let wrapped = table("CREATE TABLE u (a DATETIME DEFAULT (CURRENT_TIMESTAMP), b TEXT DEFAULT ('x'), c INTEGER DEFAULT (1 + 1))");
        let bare = table("CREATE TABLE u (a DATETIME DEFAULT CURRENT_TIMESTAMP, b TEXT DEFAULT 'x', c INTEGER DEFAULT (1 + 1))");
        let defaults = |t: &Table| -> Vec<Option<String>> {
            t.columns.iter().map(|c| c.default.clone()).collect()
        };
        assert_eq!(defaults(&wrapped), defaults(&bare));
        assert_eq!(wrapped.columns[2].default.as_deref(), Some("( 1 + 1 )"));
        assert_eq!(t.columns[0].primary_key, 1);
        assert_eq!(
            t.constraints,
            ["check ( id > 0 )", "unique ( name , parent )"]
        );
        assert!(t.without_rowid && t.strict);
        assert!(!t.columns[0].can_be_added());
        assert!(t.columns[4].can_be_added());
    }

    #[test]
    fn equal_tables_ignore_formatting() {
        assert_eq!(
            table("CREATE TABLE t (id INTEGER, \"Name\" TEXT)"),
            table("create table [t](\n id integer,\n name text\n)")
        );
        assert_ne!(
            table("CREATE TABLE t (id INTEGER, name TEXT)"),
            table("CREATE TABLE t (name TEXT, id INTEGER)")
        );
    }
}
