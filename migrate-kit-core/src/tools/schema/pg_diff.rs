//! The difference between two PostgreSQL schemas as `ALTER` statements,
//! both ways, for `revision --autogenerate`: no table rebuilds; renames
//! only when asked; the safe patterns where a plain statement would lock a
//! live table (`CREATE INDEX CONCURRENTLY`, a constraint added `NOT VALID`
//! then validated).

use crate::backend::postgres::introspect::{PgColumn, PgSchema};
use crate::tools::schema::diff::{Diff, Renames};
use crate::tools::schema::lint::{Finding, LintCode};

fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// The objects of one kind in `schema`: `(name, definition)`.
fn entries<'a>(schema: &'a PgSchema, kind: &str) -> Vec<(&'a str, &'a str)> {
    let prefix = format!("{kind} ");
    schema
        .objects
        .iter()
        .filter_map(|(key, def)| key.strip_prefix(&prefix).map(|name| (name, def.as_str())))
        .collect()
}

/// `schema` with the renames applied to table and column names, so that a
/// renamed object compares equal to its new self.
fn renamed(schema: &PgSchema, renames: &Renames) -> PgSchema {
    let table_name = |name: &str| {
        renames
            .tables
            .iter()
            .find(|(old, _)| old == name)
            .map_or_else(|| name.to_owned(), |(_, new)| new.clone())
    };
    let mut out = PgSchema::default();
    for (table, columns) in &schema.columns {
        let table = table_name(table);
        let columns: Vec<PgColumn> = columns
            .iter()
            .map(|c| {
                let name = renames
                    .columns
                    .iter()
                    .find(|(t, old, _)| *t == table && *old == c.name)
                    .map_or_else(|| c.name.clone(), |(_, _, new)| new.clone());
                PgColumn { name, ..c.clone() }
            })
            .collect();
        for c in &columns {
            out.objects
                .insert(format!("column {table}.{}", c.name), c.definition());
        }
        out.columns.insert(table, columns);
    }
    for (key, def) in &schema.objects {
        if key.starts_with("column ") {
            continue;
        }
        let (kind, name) = key.split_once(' ').unwrap_or((key, ""));
        let name = match name.split_once('.') {
            Some((table, rest)) if kind != "function" => format!("{}.{rest}", table_name(table)),
            _ if kind == "table" => table_name(name),
            _ => name.to_owned(),
        };
        out.objects.insert(format!("{kind} {name}"), def.clone());
    }
    out
}

/// The statements that turn `from` into `to`, and back.
pub(crate) fn diff(from: &PgSchema, to: &PgSchema, renames: &Renames) -> Diff {
    let mut d = Diff::default();
    // Renames first, so that what follows compares renamed objects.
    for (old, new) in &renames.tables {
        d.upgrade.push(format!(
            "ALTER TABLE {} RENAME TO {}",
            ident(old),
            ident(new)
        ));
        d.downgrade.push(format!(
            "ALTER TABLE {} RENAME TO {}",
            ident(new),
            ident(old)
        ));
        d.summary.push(format!("renamed table {old} to {new}"));
        d.findings.push(Finding::new(
            LintCode::RenameTable,
            old,
            "the running bot still uses the old name",
        ));
    }
    for (table, old, new) in &renames.columns {
        d.upgrade.push(format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {}",
            ident(table),
            ident(old),
            ident(new)
        ));
        d.downgrade.push(format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {}",
            ident(table),
            ident(new),
            ident(old)
        ));
        d.summary
            .push(format!("renamed column {table}.{old} to {new}"));
        d.findings.push(Finding::new(
            LintCode::RenameColumn,
            table,
            "the running bot still uses the old name",
        ));
    }
    let from = renamed(from, renames);
    let mut ends = Ends::default();
    enums(&from, to, &mut d, &mut ends);
    sequences(&from, to, &mut d, &mut ends);
    // What depends on columns goes before they change and comes back after.
    drop_replaced(&from, to, "view", &mut d);
    drop_replaced(&from, to, "trigger", &mut d);
    drop_constraints(&from, to, &mut d);
    drop_indexes(&from, to, &mut d);
    create_replaced(&from, to, "function", &mut d);
    tables(&from, to, &mut d, &mut ends);
    add_constraints(&from, to, &mut d);
    add_indexes(&from, to, &mut d);
    create_replaced(&from, to, "view", &mut d);
    create_replaced(&from, to, "trigger", &mut d);
    drop_replaced(&from, to, "function", &mut d);
    for (name, _) in entries(to, "policy") {
        if from.objects.get(&format!("policy {name}")) != to.objects.get(&format!("policy {name}"))
        {
            d.summary.push(format!(
                "policy {name} differs: write its CREATE POLICY by hand (not generated)"
            ));
        }
    }
    d.upgrade.extend(ends.upgrade_last);
    d.downgrade.reverse();
    let mut downgrade = ends.downgrade_first;
    downgrade.append(&mut d.downgrade);
    downgrade.extend(ends.downgrade_last);
    d.downgrade = downgrade;
    d
}

/// Statements that must run after everything else of the upgrade (drops of
/// tables, types and sequences others still use), or first or last in the
/// downgrade (recreating them, dropping new types after their tables).
#[derive(Debug, Default)]
struct Ends {
    upgrade_last: Vec<String>,
    downgrade_first: Vec<String>,
    downgrade_last: Vec<String>,
}

/// Enum types: created, values added (`ALTER TYPE ... ADD VALUE`), values
/// dropped (the type rebuilt and its columns cast through text).
fn enums(from: &PgSchema, to: &PgSchema, d: &mut Diff, ends: &mut Ends) {
    let labels = |def: &str| def.split(", ").map(str::to_owned).collect::<Vec<_>>();
    for (name, def) in entries(to, "enum") {
        match from.objects.get(&format!("enum {name}")) {
            None => {
                d.upgrade
                    .push(format!("CREATE TYPE {} AS ENUM ({def})", ident(name)));
                ends.downgrade_last
                    .push(format!("DROP TYPE {}", ident(name)));
                d.summary.push(format!("added enum {name}"));
            }
            Some(old) if old != def => {
                let (old_labels, new_labels) = (labels(old), labels(def));
                if old_labels.iter().all(|l| new_labels.contains(l)) {
                    for label in new_labels.iter().filter(|l| !old_labels.contains(l)) {
                        d.upgrade.push(format!(
                            "ALTER TYPE {} ADD VALUE IF NOT EXISTS {label}",
                            ident(name)
                        ));
                    }
                    d.summary.push(format!("enum {name}: values added"));
                    // PostgreSQL cannot drop an enum value; the downgrade rebuilds the type.
                    rebuild_enum_back(from, name, old, d);
                } else {
                    rebuild_enum(from, name, def, &mut d.upgrade);
                    rebuild_enum_back(from, name, old, d);
                    d.summary
                        .push(format!("enum {name}: values dropped (the type is rebuilt)"));
                    d.findings.push(Finding::new(LintCode::TypeRewrite, name, "dropping an enum value rebuilds the type and rewrites every column that uses it"));
                }
            }
            Some(_) => {}
        }
    }
    for (name, def) in entries(from, "enum") {
        if !to.objects.contains_key(&format!("enum {name}")) {
            ends.downgrade_first
                .push(format!("CREATE TYPE {} AS ENUM ({def})", ident(name)));
            ends.upgrade_last.push(format!("DROP TYPE {}", ident(name)));
            d.summary.push(format!("dropped enum {name}"));
        }
    }
}

/// The downgrade's rebuild of enum `name`, kept in order although the
/// downgrade list is reversed at the end.
fn rebuild_enum_back(columns_of: &PgSchema, name: &str, labels: &str, d: &mut Diff) {
    let mut statements = Vec::new();
    rebuild_enum(columns_of, name, labels, &mut statements);
    statements.reverse();
    d.downgrade.extend(statements);
}

/// Statements that rebuild enum `name` with `labels`, casting the columns
/// of `columns_of` that use it.
fn rebuild_enum(columns_of: &PgSchema, name: &str, labels: &str, out: &mut Vec<String>) {
    let old = format!("{name}_old");
    out.push(format!(
        "ALTER TYPE {} RENAME TO {}",
        ident(name),
        ident(&old)
    ));
    out.push(format!("CREATE TYPE {} AS ENUM ({labels})", ident(name)));
    for (table, columns) in &columns_of.columns {
        for c in columns.iter().filter(|c| c.data_type == name) {
            if c.default.is_some() {
                out.push(format!(
                    "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT",
                    ident(table),
                    ident(&c.name)
                ));
            }
            out.push(format!(
                "ALTER TABLE {} ALTER COLUMN {} TYPE {} USING {}::text::{}",
                ident(table),
                ident(&c.name),
                ident(name),
                ident(&c.name),
                ident(name)
            ));
            if let Some(default) = &c.default {
                out.push(format!(
                    "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {default}",
                    ident(table),
                    ident(&c.name)
                ));
            }
        }
    }
    out.push(format!("DROP TYPE {}", ident(&old)));
}

fn sequences(from: &PgSchema, to: &PgSchema, d: &mut Diff, ends: &mut Ends) {
    let create = |name: &str, def: &str| {
        let (data_type, rest) = def.split_once(' ').unwrap_or((def, ""));
        format!("CREATE SEQUENCE {} AS {data_type} {rest}", ident(name))
    };
    for (name, def) in entries(to, "sequence") {
        match from.objects.get(&format!("sequence {name}")) {
            None => {
                d.upgrade.push(create(name, def));
                ends.downgrade_last
                    .push(format!("DROP SEQUENCE {}", ident(name)));
                d.summary.push(format!("added sequence {name}"));
            }
            Some(old) if old != def => {
                let (_, rest) = def.split_once(' ').unwrap_or((def, ""));
                let (_, old_rest) = old.split_once(' ').unwrap_or((old, ""));
                d.upgrade.push(format!(
                    "ALTER SEQUENCE {} {}",
                    ident(name),
                    rest.replace("START", "START WITH")
                ));
                d.downgrade.push(format!(
                    "ALTER SEQUENCE {} {}",
                    ident(name),
                    old_rest.replace("START", "START WITH")
                ));
                d.summary.push(format!("sequence {name} changed"));
            }
            Some(_) => {}
        }
    }
    for (name, def) in entries(from, "sequence") {
        if !to.objects.contains_key(&format!("sequence {name}")) {
            ends.upgrade_last
                .push(format!("DROP SEQUENCE {}", ident(name)));
            ends.downgrade_first.push(create(name, def));
            d.summary.push(format!("dropped sequence {name}"));
        }
    }
}

fn tables(from: &PgSchema, to: &PgSchema, d: &mut Diff, ends: &mut Ends) {
    let create = |table: &str, columns: &[PgColumn]| {
        let list: Vec<String> = columns
            .iter()
            .map(|c| format!("    {} {}", ident(&c.name), c.definition()))
            .collect();
        format!("CREATE TABLE {} (\n{}\n)", ident(table), list.join(",\n"))
    };
    for (table, columns) in &to.columns {
        let Some(old_columns) = from.columns.get(table) else {
            d.upgrade.push(create(table, columns));
            d.downgrade.push(format!("DROP TABLE {}", ident(table)));
            d.summary.push(format!("added table {table}"));
            continue;
        };
        for c in columns {
            match old_columns.iter().find(|o| o.name == c.name) {
                None => {
                    if c.not_null
                        && c.default.is_none()
                        && c.identity.is_none()
                        && c.generated.is_none()
                    {
                        d.findings.push(Finding::new(LintCode::NotNullAdded, &format!("{table}.{}", c.name), "a NOT NULL column without a default cannot be added to a table with rows; give it a default, or add it nullable, backfill, then SET NOT NULL"));
                    }
                    d.upgrade.push(format!(
                        "ALTER TABLE {} ADD COLUMN {} {}",
                        ident(table),
                        ident(&c.name),
                        c.definition()
                    ));
                    d.downgrade.push(format!(
                        "ALTER TABLE {} DROP COLUMN {}",
                        ident(table),
                        ident(&c.name)
                    ));
                    d.summary.push(format!("added column {table}.{}", c.name));
                }
                Some(old) if old != c => alter_column(table, old, c, d),
                Some(_) => {}
            }
        }
        for old in old_columns
            .iter()
            .filter(|o| !columns.iter().any(|c| c.name == o.name))
        {
            d.upgrade.push(format!(
                "ALTER TABLE {} DROP COLUMN {}",
                ident(table),
                ident(&old.name)
            ));
            d.downgrade.push(format!(
                "ALTER TABLE {} ADD COLUMN {} {}",
                ident(table),
                ident(&old.name),
                old.definition()
            ));
            d.summary
                .push(format!("dropped column {table}.{}", old.name));
            d.findings.push(Finding::new(
                LintCode::DropColumn,
                &format!("{table}.{}", old.name),
                "its values are gone",
            ));
        }
    }
    for (table, columns) in &from.columns {
        if !to.columns.contains_key(table) {
            // Dropped last, after the constraints that name it.
            ends.upgrade_last
                .push(format!("DROP TABLE {}", ident(table)));
            ends.downgrade_first.push(create(table, columns));
            d.summary.push(format!("dropped table {table}"));
            d.findings.push(Finding::new(
                LintCode::DropTable,
                table,
                "the table and its rows are gone",
            ));
        }
    }
}

fn alter_column(table: &str, old: &PgColumn, new: &PgColumn, d: &mut Diff) {
    let at = format!(
        "ALTER TABLE {} ALTER COLUMN {}",
        ident(table),
        ident(&new.name)
    );
    let mut up = Vec::new();
    let mut down = Vec::new();
    let retyped = old.data_type != new.data_type || old.collation != new.collation;
    if retyped {
        let with = |c: &PgColumn| match &c.collation {
            Some(collation) => format!("{} COLLATE {collation}", c.data_type),
            None => c.data_type.clone(),
        };
        // A default of the old type may not cast: it goes first, and the
        // new one is set after.
        if old.default.is_some() {
            up.push(format!("{at} DROP DEFAULT"));
        }
        up.push(format!(
            "{at} TYPE {} USING {}::{}",
            with(new),
            ident(&new.name),
            new.data_type
        ));
        if let Some(default) = &new.default {
            up.push(format!("{at} SET DEFAULT {default}"));
        }
        // Undone in reverse: the new default goes, the type comes back,
        // then the old default.
        if let Some(default) = &old.default {
            down.push(format!("{at} SET DEFAULT {default}"));
        }
        down.push(format!(
            "{at} TYPE {} USING {}::{}",
            with(old),
            ident(&old.name),
            old.data_type
        ));
        if new.default.is_some() {
            down.push(format!("{at} DROP DEFAULT"));
        }
    } else if old.default != new.default {
        up.push(match &new.default {
            Some(default) => format!("{at} SET DEFAULT {default}"),
            None => format!("{at} DROP DEFAULT"),
        });
        down.push(match &old.default {
            Some(default) => format!("{at} SET DEFAULT {default}"),
            None => format!("{at} DROP DEFAULT"),
        });
    }
    if old.not_null != new.not_null {
        up.push(format!(
            "{at} {} NOT NULL",
            if new.not_null { "SET" } else { "DROP" }
        ));
        down.push(format!(
            "{at} {} NOT NULL",
            if old.not_null { "SET" } else { "DROP" }
        ));
    }
    if old.identity != new.identity {
        up.push(match &new.identity {
            Some(kind) => format!("{at} ADD GENERATED {kind} AS IDENTITY"),
            None => format!("{at} DROP IDENTITY"),
        });
        down.push(match &old.identity {
            Some(kind) => format!("{at} ADD GENERATED {kind} AS IDENTITY"),
            None => format!("{at} DROP IDENTITY"),
        });
    }
    d.upgrade.extend(up);
    // The downgrade list is reversed at the end: undone last change first.
    d.downgrade.extend(down);
    d.summary.push(format!(
        "changed column {table}.{}: {} -> {}",
        new.name,
        old.definition(),
        new.definition()
    ));
}

fn split_key(key: &str) -> (String, String) {
    key.split_once('.')
        .map(|(t, n)| (t.to_owned(), n.to_owned()))
        .unwrap_or_default()
}

/// Constraints dropped or changed, before the columns change (those of a
/// dropped table too: its foreign keys go before any table they reference
/// is dropped). `IF EXISTS`: dropping a column drops its constraints.
fn drop_constraints(from: &PgSchema, to: &PgSchema, d: &mut Diff) {
    for (key, def) in entries(from, "constraint") {
        if to
            .objects
            .get(&format!("constraint {key}"))
            .map(String::as_str)
            != Some(def)
        {
            let (table, name) = split_key(key);
            d.upgrade.push(format!(
                "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
                ident(&table),
                ident(&name)
            ));
            d.downgrade.push(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {def}",
                ident(&table),
                ident(&name)
            ));
        }
    }
}

/// Constraints added or changed, after the columns: a foreign key or check
/// on an existing table `NOT VALID`, then validated.
fn add_constraints(from: &PgSchema, to: &PgSchema, d: &mut Diff) {
    for (key, def) in entries(to, "constraint") {
        if from
            .objects
            .get(&format!("constraint {key}"))
            .map(String::as_str)
            == Some(def)
        {
            continue;
        }
        let (table, name) = split_key(key);
        let existing = from.columns.contains_key(&table);
        let validate_later = existing
            && (def.starts_with("FOREIGN KEY") || def.starts_with("CHECK"))
            && !def.ends_with("NOT VALID");
        let add = format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {def}",
            ident(&table),
            ident(&name)
        );
        if validate_later {
            d.upgrade.push(format!("{add} NOT VALID"));
            d.upgrade.push(format!(
                "ALTER TABLE {} VALIDATE CONSTRAINT {}",
                ident(&table),
                ident(&name)
            ));
        } else {
            d.upgrade.push(add);
        }
        d.downgrade.push(format!(
            "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
            ident(&table),
            ident(&name)
        ));
        d.summary.push(format!("constraint {table}.{name}: {def}"));
    }
}

/// Indexes dropped or changed, before the columns change.
fn drop_indexes(from: &PgSchema, to: &PgSchema, d: &mut Diff) {
    for (name, def) in entries(from, "index") {
        if to.objects.get(&format!("index {name}")).map(String::as_str) != Some(def) {
            d.upgrade
                .push(format!("DROP INDEX IF EXISTS {}", ident(name)));
            d.downgrade.push(def.to_owned());
        }
    }
}

/// Indexes added or changed: on an existing table built `CONCURRENTLY`.
fn add_indexes(from: &PgSchema, to: &PgSchema, d: &mut Diff) {
    for (name, def) in entries(to, "index") {
        if from
            .objects
            .get(&format!("index {name}"))
            .map(String::as_str)
            == Some(def)
        {
            continue;
        }
        let table = def
            .split(" ON ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(|t| {
                t.rsplit('.')
                    .next()
                    .unwrap_or(t)
                    .trim_matches('"')
                    .to_owned()
            })
            .unwrap_or_default();
        let statement = if from.columns.contains_key(&table) {
            d.concurrent = true;
            def.replacen("INDEX ", "INDEX CONCURRENTLY ", 1)
        } else {
            def.to_owned()
        };
        d.upgrade.push(statement);
        d.downgrade
            .push(format!("DROP INDEX IF EXISTS {}", ident(name)));
        d.summary.push(format!("index {name}"));
    }
}

/// The statement that creates a view, function or trigger from its
/// rendering.
fn create_statement(kind: &str, name: &str, def: &str) -> String {
    match kind {
        "view" => {
            let (materialized, body) = match def.strip_prefix("MATERIALIZED VIEW AS ") {
                Some(body) => ("MATERIALIZED ", body),
                None => ("", def.strip_prefix("VIEW AS ").unwrap_or(def)),
            };
            format!(
                "CREATE {materialized}VIEW {} AS {}",
                ident(name),
                body.trim_end().trim_end_matches(';')
            )
        }
        _ => def.trim_end().trim_end_matches(';').to_owned(),
    }
}

/// The statement that drops a view, function or trigger.
fn drop_statement(kind: &str, name: &str, def: &str) -> String {
    match kind {
        "view" if def.starts_with("MATERIALIZED") => {
            format!("DROP MATERIALIZED VIEW IF EXISTS {}", ident(name))
        }
        "view" => format!("DROP VIEW IF EXISTS {}", ident(name)),
        "function" => format!("DROP FUNCTION IF EXISTS {name}"),
        _ => {
            let (table, trigger) = name.split_once('.').unwrap_or(("", name));
            format!(
                "DROP TRIGGER IF EXISTS {} ON {}",
                ident(trigger),
                ident(table)
            )
        }
    }
}

/// Views, functions or triggers that `to` lacks or defines differently,
/// dropped (and recreated by the downgrade).
fn drop_replaced(from: &PgSchema, to: &PgSchema, kind: &str, d: &mut Diff) {
    for (name, def) in entries(from, kind) {
        let now = to.objects.get(&format!("{kind} {name}"));
        // A function's rendering replaces it in place (CREATE OR REPLACE).
        let replaced_in_place = kind == "function" && now.is_some();
        if now.map(String::as_str) != Some(def) && !replaced_in_place {
            d.upgrade.push(drop_statement(kind, name, def));
            d.downgrade.push(create_statement(kind, name, def));
        }
    }
}

/// Views, functions or triggers that `from` lacks or defines differently,
/// created (and dropped by the downgrade).
fn create_replaced(from: &PgSchema, to: &PgSchema, kind: &str, d: &mut Diff) {
    for (name, def) in entries(to, kind) {
        let before = from.objects.get(&format!("{kind} {name}"));
        if before.map(String::as_str) != Some(def) {
            d.upgrade.push(create_statement(kind, name, def));
            d.downgrade.push(match before {
                Some(old) if kind == "function" => create_statement(kind, name, old),
                _ => drop_statement(kind, name, def),
            });
            d.summary.push(format!("{kind} {name}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(table: &str, columns: &[&str]) -> PgSchema {
        let columns: Vec<PgColumn> = columns
            .iter()
            .map(|name| PgColumn {
                name: (*name).to_owned(),
                data_type: "text".to_owned(),
                ..PgColumn::default()
            })
            .collect();
        let mut out = PgSchema::default();
        for c in &columns {
            out.objects
                .insert(format!("column {table}.{}", c.name), c.definition());
        }
        out.objects
            .insert(format!("table {table}"), "table".to_owned());
        out.columns.insert(table.to_owned(), columns);
        out
    }

    #[test]
    fn renames_happen_only_when_asked() {
        let (from, to) = (
            schema("users", &["id", "phone_number"]),
            schema("users", &["id", "phone"]),
        );
        let guessed = diff(&from, &to, &Renames::default());
        assert_eq!(
            guessed.upgrade,
            [
                "ALTER TABLE users ADD COLUMN phone text",
                "ALTER TABLE users DROP COLUMN phone_number"
            ]
        );
        let asked = Renames {
            tables: Vec::new(),
            columns: vec![("users".into(), "phone_number".into(), "phone".into())],
        };
        let renamed = diff(&from, &to, &asked);
        assert_eq!(
            renamed.upgrade,
            ["ALTER TABLE users RENAME COLUMN phone_number TO phone"]
        );
        assert_eq!(
            renamed.downgrade,
            ["ALTER TABLE users RENAME COLUMN phone TO phone_number"]
        );
        let (from, to) = (schema("users", &["id"]), schema("customers", &["id"]));
        let tables = Renames {
            tables: vec![("users".into(), "customers".into())],
            columns: Vec::new(),
        };
        assert_eq!(
            diff(&from, &to, &tables).upgrade,
            ["ALTER TABLE users RENAME TO customers"]
        );
    }
}
