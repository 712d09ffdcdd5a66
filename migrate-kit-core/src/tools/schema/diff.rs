//! The difference between two schemas as SQL, in both directions.
//!
//! `ALTER TABLE` is used where SQLite allows it (add a column, drop a
//! column, renames the user asked for); every other table change is a
//! rebuild following SQLite's documented procedure: create the new table,
//! copy the rows of the columns that persist, drop the old one, rename,
//! then recreate indexes, triggers and the views that depend on it.

use super::lint::{Finding, LintCode};
use crate::model::lexer::{quote_ident, tokenize, Kind};
use crate::model::schema::{Object, Schema, Table};
use std::collections::{BTreeMap, BTreeSet};

/// Renames chosen by the user; nothing is guessed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Renames {
    /// `(old, new)` table names.
    pub tables: Vec<(String, String)>,
    /// `(table, old, new)` column names; `table` is the table's new name.
    pub columns: Vec<(String, String, String)>,
}

impl Renames {
    /// The renames that undo these. Table renames run first, so a column
    /// rename names its table by the name it has after them.
    pub(crate) fn inverted(&self) -> Renames {
        let old_name = |name: &str| {
            self.tables
                .iter()
                .find(|(_, new)| new.eq_ignore_ascii_case(name))
                .map_or_else(|| name.to_owned(), |(old, _)| old.clone())
        };
        Renames {
            tables: self
                .tables
                .iter()
                .map(|(old, new)| (new.clone(), old.clone()))
                .collect(),
            columns: self
                .columns
                .iter()
                .map(|(table, old, new)| (old_name(table), new.clone(), old.clone()))
                .collect(),
        }
    }
}

/// Upgrade and downgrade SQL between two schemas, with lint findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Diff {
    /// Statements from the old schema to the new one.
    pub upgrade: Vec<String>,
    /// Statements back from the new schema to the old one.
    pub downgrade: Vec<String>,
    /// Destructive or data-dependent changes of the upgrade.
    pub findings: Vec<Finding>,
    /// One line per change, for people.
    pub summary: Vec<String>,
    /// Whether the upgrade builds an index `CONCURRENTLY`, so that its
    /// revision must be `transactional: false` (PostgreSQL only).
    pub concurrent: bool,
}

impl Diff {
    /// Whether the schemas are equal.
    pub(crate) fn is_empty(&self) -> bool {
        self.upgrade.is_empty() && self.summary.is_empty()
    }

    /// A difference that is only described: one line per change, no SQL
    /// (a backend whose schema the diff cannot yet write SQL for).
    #[cfg(feature = "postgres")]
    pub(crate) fn described(summary: Vec<String>) -> Diff {
        Diff {
            summary,
            ..Diff::default()
        }
    }
}

/// Computes the SQL that turns `from` into `to`, and back.
pub(crate) fn diff(from: &Schema, to: &Schema, renames: &Renames) -> Diff {
    let up = Planner::plan(from, to, renames);
    let down = Planner::plan(to, from, &renames.inverted());
    Diff {
        upgrade: up.statements,
        downgrade: down.statements,
        findings: up.findings,
        summary: up.summary,
        concurrent: false,
    }
}

/// How a table that exists on both sides changes.
enum TableChange {
    Same,
    AddColumns(Vec<String>),
    DropColumns(Vec<String>),
    Rebuild,
}

#[derive(Default)]
struct Planner {
    statements: Vec<String>,
    findings: Vec<Finding>,
    summary: Vec<String>,
}

/// Replaces the identifier `old` with `new` in `sql`.
fn rename_word(sql: &str, old: &str, new: &str) -> String {
    let mut out = String::new();
    let mut last = 0;
    for token in tokenize(sql) {
        if token.kind == Kind::Word && token.text.eq_ignore_ascii_case(old) {
            out.push_str(&sql[last..token.start]);
            out.push_str(&quote_ident(new));
            last = token.end;
        }
    }
    out.push_str(&sql[last..]);
    out
}

fn rebuilt_object(o: &Object, old: &str, new: &str) -> Object {
    let table = if o.table.eq_ignore_ascii_case(old) {
        new.to_owned()
    } else {
        o.table.clone()
    };
    Object::new(&o.name, &table, &rename_word(&o.sql, old, new))
}

fn key(name: &str) -> String {
    name.to_lowercase()
}

impl Planner {
    fn plan(from: &Schema, to: &Schema, renames: &Renames) -> Planner {
        let mut p = Planner::default();
        let mut a = from.clone();
        let mut rename_sql = Vec::new();
        for (old, new) in &renames.tables {
            if let Some(mut table) = a.tables.remove(&key(old)) {
                rename_sql.push(format!(
                    "ALTER TABLE {} RENAME TO {}",
                    quote_ident(&table.name),
                    quote_ident(new)
                ));
                p.summary
                    .push(format!("rename table {} to {new}", table.name));
                table.name = new.clone();
                a.tables.insert(key(new), table);
                for objects in [&mut a.indexes, &mut a.views, &mut a.triggers] {
                    for o in objects.values_mut() {
                        *o = rebuilt_object(o, old, new);
                    }
                }
            }
        }
        for (table_name, old, new) in &renames.columns {
            if let Some(table) = a.tables.get_mut(&key(table_name)) {
                if let Some(column) = table
                    .columns
                    .iter_mut()
                    .find(|c| c.name.eq_ignore_ascii_case(old))
                {
                    rename_sql.push(format!(
                        "ALTER TABLE {} RENAME COLUMN {} TO {}",
                        quote_ident(&table.name),
                        quote_ident(old),
                        quote_ident(new)
                    ));
                    p.summary
                        .push(format!("rename column {}.{old} to {new}", table.name));
                    column.name = new.clone();
                    column.definition = rename_word(&column.definition, old, new);
                    table.body = rename_word(&table.body, old, new);
                    table.constraints = table
                        .constraints
                        .iter()
                        .map(|c| rename_word(c, old, new))
                        .collect();
                    for objects in [&mut a.indexes, &mut a.triggers] {
                        for o in objects
                            .values_mut()
                            .filter(|o| o.table.eq_ignore_ascii_case(table_name))
                        {
                            *o = Object::new(&o.name, &o.table, &rename_word(&o.sql, old, new));
                        }
                    }
                }
            }
        }
        p.plan_tables(&a, to, rename_sql);
        p
    }

    fn plan_tables(&mut self, a: &Schema, b: &Schema, rename_sql: Vec<String>) {
        let names: BTreeSet<&String> = a.tables.keys().chain(b.tables.keys()).collect();
        let mut create = Vec::new();
        let mut alter = Vec::new();
        let mut drop = Vec::new();
        let mut rebuilt: Vec<String> = Vec::new();
        let mut dropped: Vec<String> = Vec::new();
        for name in names {
            match (a.tables.get(name), b.tables.get(name)) {
                (None, Some(t)) => {
                    create.push(t.create_sql(&t.name));
                    self.summary.push(format!("add table {}", t.name));
                }
                (Some(t), None) => {
                    drop.push(format!("DROP TABLE {}", quote_ident(&t.name)));
                    self.summary.push(format!("drop table {}", t.name));
                    self.findings.push(Finding::new(
                        LintCode::DropTable,
                        &t.name,
                        "drops the table and every row in it",
                    ));
                    dropped.push(name.clone());
                }
                (Some(old), Some(new)) => match self.table_change(a, b, old, new) {
                    TableChange::Same => {}
                    TableChange::AddColumns(sql) | TableChange::DropColumns(sql) => {
                        alter.extend(sql)
                    }
                    TableChange::Rebuild => {
                        alter.extend(rebuild(old, new));
                        self.summary.push(format!(
                            "rebuild table {} (SQLite cannot ALTER this change)",
                            new.name
                        ));
                        rebuilt.push(name.clone());
                    }
                },
                (None, None) => {}
            }
        }
        let touched = |o: &Object| {
            rebuilt
                .iter()
                .chain(&dropped)
                .any(|t| o.mentions(t) || key(&o.table) == *t)
        };
        let changed =
            |x: &BTreeMap<String, Object>, y: &BTreeMap<String, Object>, name: &String| {
                y.get(name).is_none_or(|other| other != &x[name])
            };
        // Drop what changes or depends on a table that is rebuilt or dropped.
        let mut recreate_triggers = BTreeSet::new();
        let mut recreate_views = BTreeSet::new();
        let mut statements = Vec::new();
        for (name, t) in &a.triggers {
            if changed(&a.triggers, &b.triggers, name) || touched(t) {
                if !dropped.contains(&key(&t.table)) || changed(&a.triggers, &b.triggers, name) {
                    statements.push(format!("DROP TRIGGER IF EXISTS {}", quote_ident(&t.name)));
                }
                recreate_triggers.insert(name.clone());
                if !b.triggers.contains_key(name) {
                    self.summary.push(format!("drop trigger {}", t.name));
                }
            }
        }
        for (name, v) in &a.views {
            if changed(&a.views, &b.views, name) || touched(v) {
                statements.push(format!("DROP VIEW {}", quote_ident(&v.name)));
                recreate_views.insert(name.clone());
                if !b.views.contains_key(name) {
                    self.summary.push(format!("drop view {}", v.name));
                }
            }
        }
        for (name, i) in &a.indexes {
            let on_gone_table =
                rebuilt.contains(&key(&i.table)) || dropped.contains(&key(&i.table));
            if changed(&a.indexes, &b.indexes, name) && !on_gone_table {
                statements.push(format!("DROP INDEX {}", quote_ident(&i.name)));
                if !b.indexes.contains_key(name) {
                    self.summary.push(format!("drop index {}", i.name));
                }
            }
        }
        statements.extend(rename_sql);
        statements.extend(create);
        statements.extend(alter);
        statements.extend(drop);
        for (name, i) in &b.indexes {
            let table_rebuilt = rebuilt.contains(&key(&i.table));
            if table_rebuilt || changed(&b.indexes, &a.indexes, name) {
                statements.push(i.sql.clone());
                if !a.indexes.contains_key(name) {
                    self.summary.push(format!("add index {}", i.name));
                    if i.is_unique_index() && a.tables.contains_key(&key(&i.table)) {
                        self.findings.push(Finding::new(
                            LintCode::UniqueAdded,
                            &i.name,
                            "a UNIQUE index fails if existing rows hold duplicates",
                        ));
                    }
                } else if !table_rebuilt {
                    self.summary.push(format!("change index {}", i.name));
                }
            }
        }
        for (name, v) in &b.views {
            if recreate_views.contains(name) || changed(&b.views, &a.views, name) {
                statements.push(v.sql.clone());
                if !recreate_views.contains(name) || a.views.get(name) != Some(v) {
                    self.summary.push(format!(
                        "{} view {}",
                        if a.views.contains_key(name) {
                            "change"
                        } else {
                            "add"
                        },
                        v.name
                    ));
                }
            }
        }
        for (name, t) in &b.triggers {
            let table_rebuilt = rebuilt.contains(&key(&t.table));
            if recreate_triggers.contains(name)
                || table_rebuilt
                || changed(&b.triggers, &a.triggers, name)
            {
                statements.push(t.sql.clone());
                if a.triggers.get(name) != Some(t) {
                    self.summary.push(format!(
                        "{} trigger {}",
                        if a.triggers.contains_key(name) {
                            "change"
                        } else {
                            "add"
                        },
                        t.name
                    ));
                }
            }
        }
        self.statements = statements;
    }

    fn table_change(&mut self, a: &Schema, b: &Schema, old: &Table, new: &Table) -> TableChange {
        if old == new {
            return TableChange::Same;
        }
        let same_shape = old.constraints == new.constraints
            && old.without_rowid == new.without_rowid
            && old.strict == new.strict;
        let equal =
            |x: &crate::model::schema::Column, y: &crate::model::schema::Column| x.same_as(y);
        let table = quote_ident(&new.name);
        // Columns appended at the end, each one ALTER TABLE can add.
        if same_shape
            && new.columns.len() > old.columns.len()
            && old
                .columns
                .iter()
                .zip(&new.columns)
                .all(|(x, y)| equal(x, y))
            && new.columns[old.columns.len()..]
                .iter()
                .all(|c| c.can_be_added())
        {
            let added = &new.columns[old.columns.len()..];
            for c in added {
                self.summary
                    .push(format!("add column {}.{}", new.name, c.name));
            }
            return TableChange::AddColumns(
                added
                    .iter()
                    .map(|c| format!("ALTER TABLE {table} ADD COLUMN {}", c.definition))
                    .collect(),
            );
        }
        // Columns removed, the rest unchanged and in order, each one droppable.
        if same_shape && new.columns.len() < old.columns.len() {
            let mut kept = new.columns.iter().peekable();
            let mut removed = Vec::new();
            for c in &old.columns {
                match kept.peek() {
                    Some(k) if k.name.eq_ignore_ascii_case(&c.name) && equal(c, k) => {
                        kept.next();
                    }
                    _ => removed.push(c),
                }
            }
            if kept.peek().is_none() && removed.iter().all(|c| droppable(a, b, old, c)) {
                for c in &removed {
                    self.summary
                        .push(format!("drop column {}.{}", old.name, c.name));
                    self.findings.push(Finding::new(
                        LintCode::DropColumn,
                        &format!("{}.{}", old.name, c.name),
                        "drops the column and its data",
                    ));
                }
                return TableChange::DropColumns(
                    removed
                        .iter()
                        .map(|c| {
                            format!("ALTER TABLE {table} DROP COLUMN {}", quote_ident(&c.name))
                        })
                        .collect(),
                );
            }
        }
        self.rebuild_findings(old, new);
        TableChange::Rebuild
    }

    fn rebuild_findings(&mut self, old: &Table, new: &Table) {
        for c in &old.columns {
            match new.column(&c.name) {
                None => self.findings.push(Finding::new(
                    LintCode::DropColumn,
                    &format!("{}.{}", old.name, c.name),
                    "drops the column and its data (table rebuild)",
                )),
                Some(n) => {
                    let what = format!("{}.{}", new.name, n.name);
                    if n.not_null && !c.not_null {
                        self.findings.push(Finding::new(
                            LintCode::NotNullAdded,
                            &what,
                            "NOT NULL fails if existing rows hold NULL",
                        ));
                    }
                    if n.unique && !c.unique {
                        self.findings.push(Finding::new(
                            LintCode::UniqueAdded,
                            &what,
                            "UNIQUE fails if existing rows hold duplicates",
                        ));
                    }
                    if n.decl_type != c.decl_type {
                        self.findings.push(Finding::new(
                            LintCode::TypeChanged,
                            &what,
                            &format!(
                                "type {} -> {} converts or narrows existing values (table rebuild)",
                                show_type(&c.decl_type),
                                show_type(&n.decl_type)
                            ),
                        ));
                    }
                    if n.checks != c.checks {
                        self.findings.push(Finding::new(
                            LintCode::CheckChanged,
                            &what,
                            "a new CHECK fails if existing rows violate it",
                        ));
                    }
                }
            }
        }
        for c in &new.columns {
            if old.column(&c.name).is_none()
                && c.not_null
                && c.default.is_none()
                && c.generated.is_none()
            {
                self.findings.push(Finding::new(
                    LintCode::NotNullAdded,
                    &format!("{}.{}", new.name, c.name),
                    "a NOT NULL column without DEFAULT fails if the table holds rows",
                ));
            }
        }
        for constraint in &new.constraints {
            if !old.constraints.contains(constraint)
                && (constraint.starts_with("unique") || constraint.starts_with("primary"))
            {
                self.findings.push(Finding::new(
                    LintCode::UniqueAdded,
                    &new.name,
                    &format!("`{constraint}` fails if existing rows hold duplicates"),
                ));
            } else if !old.constraints.contains(constraint) && constraint.starts_with("check") {
                self.findings.push(Finding::new(
                    LintCode::CheckChanged,
                    &new.name,
                    &format!("`{constraint}` fails if existing rows violate it"),
                ));
            }
        }
    }
}

fn show_type(t: &str) -> &str {
    if t.is_empty() {
        "(none)"
    } else {
        t
    }
}

/// Whether SQLite's `ALTER TABLE DROP COLUMN` accepts dropping `c`.
fn droppable(a: &Schema, b: &Schema, table: &Table, c: &crate::model::schema::Column) -> bool {
    let name = c.name.to_lowercase();
    let mentioned_by_objects = [
        &a.indexes,
        &a.views,
        &a.triggers,
        &b.indexes,
        &b.views,
        &b.triggers,
    ]
    .iter()
    .any(|objects| {
        objects.values().any(|o| {
            (key(&o.table) == key(&table.name) || o.mentions(&table.name)) && o.mentions(&name)
        })
    });
    let mentioned_by_table = table
        .constraints
        .iter()
        .any(|k| tokenize(k).iter().any(|t| t.text == name))
        || table.columns.iter().any(|other| {
            other
                .checks
                .iter()
                .chain(other.generated.as_ref().map(|(g, _)| g))
                .any(|e| tokenize(e).iter().any(|t| t.text == name))
        });
    c.primary_key == 0
        && !c.unique
        && c.references.is_none()
        && !mentioned_by_objects
        && !mentioned_by_table
}

/// SQLite's create-copy-drop-rename procedure for one table.
fn rebuild(old: &Table, new: &Table) -> Vec<String> {
    let temp = format!("_migrate_new_{}", new.name);
    let common: Vec<String> = new
        .columns
        .iter()
        .filter(|c| {
            c.generated.is_none() && old.column(&c.name).is_some_and(|o| o.generated.is_none())
        })
        .map(|c| quote_ident(&c.name))
        .collect();
    let mut sql = vec![new.create_sql(&temp)];
    if !common.is_empty() {
        let list = common.join(", ");
        sql.push(format!(
            "INSERT INTO {} ({list}) SELECT {list} FROM {}",
            quote_ident(&temp),
            quote_ident(&old.name)
        ));
    }
    sql.push(format!("DROP TABLE {}", quote_ident(&old.name)));
    sql.push(format!(
        "ALTER TABLE {} RENAME TO {}",
        quote_ident(&temp),
        quote_ident(&new.name)
    ));
    sql
}
