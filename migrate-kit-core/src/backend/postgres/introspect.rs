//! Reading a PostgreSQL schema from `pg_catalog`, in the server's own
//! rendering (`format_type`, `pg_get_expr`, `pg_get_constraintdef`,
//! `pg_get_indexdef`, `pg_get_viewdef`, `pg_get_triggerdef`,
//! `pg_get_functiondef`): every object of the managed schema but the ledger
//! tables and what extensions own, keyed by kind and name, so that two
//! schemas compare object by object.

use super::text::{literal, simple_rows};
use crate::backend::ledger::LEDGER_TABLES;
use crate::backend::ready;
use crate::error::RunError;
use postgres::Client;
use std::collections::BTreeMap;
use std::fmt;

/// A schema as the server renders it: `"table users"`, `"column
/// users.phone"`, `"index ix_users_name"`, ... each with its definition;
/// with each table's columns in order, for writing SQL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PgSchema {
    /// Every object, by key.
    pub objects: BTreeMap<String, String>,
    /// Each table's columns, in order.
    pub columns: BTreeMap<String, Vec<PgColumn>>,
}

/// A column, part by part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PgColumn {
    /// Its name.
    pub name: String,
    /// `format_type`, such as `character varying(40)`.
    pub data_type: String,
    /// A collation other than the type's, quoted.
    pub collation: Option<String>,
    /// `NOT NULL`.
    pub not_null: bool,
    /// `ALWAYS` or `BY DEFAULT` for an identity column.
    pub identity: Option<String>,
    /// The expression of a generated column.
    pub generated: Option<String>,
    /// The default expression.
    pub default: Option<String>,
}

impl PgColumn {
    /// The column's definition after its name, as `ADD COLUMN` takes it.
    pub(crate) fn definition(&self) -> String {
        let mut text = self.data_type.clone();
        if let Some(collation) = &self.collation {
            text += &format!(" COLLATE {collation}");
        }
        if let Some(expression) = &self.generated {
            text += &format!(" GENERATED ALWAYS AS ({expression}) STORED");
        } else if let Some(default) = &self.default {
            text += &format!(" DEFAULT {default}");
        }
        if self.not_null {
            text += " NOT NULL";
        }
        if let Some(kind) = &self.identity {
            text += &format!(" GENERATED {kind} AS IDENTITY");
        }
        text
    }
}

/// One difference between two schemas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// In the second schema only.
    Added {
        /// The object's key.
        key: String,
        /// Its definition.
        definition: String,
    },
    /// In the first schema only.
    Removed {
        /// The object's key.
        key: String,
        /// Its definition.
        definition: String,
    },
    /// In both, defined differently.
    Changed {
        /// The object's key.
        key: String,
        /// Its definition in the first schema.
        from: String,
        /// Its definition in the second.
        to: String,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Added { key, definition } => write!(f, "{key} is extra: {definition}"),
            Change::Removed { key, definition } => write!(f, "{key} is missing: {definition}"),
            Change::Changed { key, from, to } => write!(f, "{key} differs: {from} -> {to}"),
        }
    }
}

impl PgSchema {
    /// What `other` has that this schema lacks, lacks that it has, or
    /// defines differently, in key order.
    pub(crate) fn changes_to(&self, other: &PgSchema) -> Vec<Change> {
        let mut changes = Vec::new();
        for (key, definition) in &self.objects {
            match other.objects.get(key) {
                None => changes.push(Change::Removed {
                    key: key.clone(),
                    definition: definition.clone(),
                }),
                Some(to) if to != definition => changes.push(Change::Changed {
                    key: key.clone(),
                    from: definition.clone(),
                    to: to.clone(),
                }),
                Some(_) => {}
            }
        }
        for (key, definition) in &other.objects {
            if !self.objects.contains_key(key) {
                changes.push(Change::Added {
                    key: key.clone(),
                    definition: definition.clone(),
                });
            }
        }
        changes
    }
}

/// `pg_depend` says an extension owns the object `oid` of catalog `catalog`.
fn not_from_extension(oid: &str, catalog: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{catalog}'::regclass AND d.objid = {oid} AND d.deptype = 'e')"
    )
}

/// Reads the schema `schema` (an SQL expression yielding its name, such as
/// `current_schema()`).
pub(crate) fn read_schema(client: &mut Client, schema: &str) -> Result<PgSchema, RunError> {
    let ledger = LEDGER_TABLES
        .iter()
        .map(|t| literal(t))
        .collect::<Vec<_>>()
        .join(", ");
    let in_schema = format!("n.nspname = {schema}");
    let relation = format!(
        "{in_schema} AND c.relname NOT IN ({ledger}) AND {}",
        not_from_extension("c.oid", "pg_class")
    );
    let queries: Vec<(&str, String)> = vec![
        (
            "table",
            format!(
                "SELECT c.relname, CASE c.relkind WHEN 'p' THEN 'partitioned table' ELSE 'table' END || \
                 CASE WHEN c.relrowsecurity THEN ', row level security' ELSE '' END \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind IN ('r', 'p') AND {relation}"
            ),
        ),
        (
            "constraint",
            format!(
                "SELECT c.relname || '.' || con.conname, pg_get_constraintdef(con.oid) \
                 FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE con.contype IN ('p', 'u', 'c', 'f', 'x') AND {relation}"
            ),
        ),
        (
            "index",
            format!(
                "SELECT c.relname, pg_get_indexdef(c.oid) || CASE WHEN x.indisvalid THEN '' ELSE ' (INVALID: a failed concurrent build)' END \
                 FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_class tab ON tab.oid = x.indrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u', 'x')) \
                 AND tab.relname NOT IN ({ledger}) AND {in_schema} AND {}",
                not_from_extension("c.oid", "pg_class")
            ),
        ),
        (
            "view",
            format!(
                "SELECT c.relname, CASE c.relkind WHEN 'm' THEN 'MATERIALIZED VIEW AS ' ELSE 'VIEW AS ' END || pg_get_viewdef(c.oid) \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm') AND {relation}"
            ),
        ),
        (
            "enum",
            format!(
                "SELECT t.typname, string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) \
                 FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace \
                 WHERE {in_schema} AND {} GROUP BY t.typname",
                not_from_extension("t.oid", "pg_type")
            ),
        ),
        (
            "sequence",
            format!(
                "SELECT c.relname, format_type(s.seqtypid, NULL) || ' START ' || s.seqstart || ' INCREMENT ' || s.seqincrement \
                 || ' MINVALUE ' || s.seqmin || ' MAXVALUE ' || s.seqmax || CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END \
                 FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE {relation} AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'i')"
            ),
        ),
        (
            "function",
            format!(
                "SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', pg_get_functiondef(p.oid) \
                 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                 WHERE p.prokind IN ('f', 'p') AND {in_schema} AND {}",
                not_from_extension("p.oid", "pg_proc")
            ),
        ),
        (
            "trigger",
            format!(
                "SELECT c.relname || '.' || tg.tgname, pg_get_triggerdef(tg.oid) \
                 FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE NOT tg.tgisinternal AND {relation}"
            ),
        ),
        (
            "policy",
            format!(
                "SELECT c.relname || '.' || pol.polname, pg_get_expr(pol.polqual, pol.polrelid) \
                 FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE {relation}"
            ),
        ),
    ];
    let mut schema_out = PgSchema::default();
    let columns = format!(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), \
         CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN quote_ident(co.collname) END, \
         a.attnotnull, CASE a.attidentity WHEN 'a' THEN 'ALWAYS' WHEN 'd' THEN 'BY DEFAULT' END, \
         CASE WHEN a.attgenerated = 's' THEN pg_get_expr(ad.adbin, ad.adrelid) END, \
         CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum \
         LEFT JOIN pg_collation co ON co.oid = a.attcollation \
         WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND {relation} \
         ORDER BY c.relname, a.attnum"
    );
    for row in ready(simple_rows(client, &columns, "reading columns"))? {
        let text = |i: usize| row.get(i).cloned().flatten();
        let table = text(0).unwrap_or_default();
        let column = PgColumn {
            name: text(1).unwrap_or_default(),
            data_type: text(2).unwrap_or_default(),
            collation: text(3),
            not_null: text(4).as_deref() == Some("t"),
            identity: text(5),
            generated: text(6),
            default: text(7),
        };
        schema_out.objects.insert(
            format!("column {table}.{}", column.name),
            column.definition(),
        );
        schema_out.columns.entry(table).or_default().push(column);
    }
    for (kind, sql) in queries {
        for row in ready(simple_rows(client, &sql, "reading the schema"))? {
            let name = row.first().cloned().flatten().unwrap_or_default();
            let definition = row.get(1).cloned().flatten().unwrap_or_default();
            schema_out
                .objects
                .insert(format!("{kind} {name}"), definition);
        }
    }
    Ok(schema_out)
}
