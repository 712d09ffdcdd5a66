//! PostgreSQL hazards in a migration's statements: changes that take the
//! bot down on a live server (a write-blocking index build, a validating
//! scan under an exclusive lock, a table rewrite) or break the running
//! version of the bot (a rename, a drop). Each finding names the safe
//! pattern. Read from the statements themselves (as PostgreSQL lexes
//! them), so no server is needed; a table the same migration creates is
//! empty and exempt from the locking hazards.

use super::lint::{Finding, LintCode};
use crate::files::migration::Migration;
use crate::files::pieces::ReadBackError;
use crate::files::statements;

/// Functions whose value differs per row: a column added with one as its
/// default rewrites the whole table.
const VOLATILE: [&str; 7] = [
    "random",
    "clock_timestamp",
    "timeofday",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v4",
    "nextval",
];

/// Target types a column can change to without a rewrite whatever its old
/// type was among the common ones (`varchar` to `text`, `varchar(n)` to an
/// unbounded `varchar`, `numeric(p,s)` to `numeric`).
const BINARY_COERCIBLE_TARGETS: [&str; 3] = ["text", "varchar", "numeric"];

/// The unacknowledged findings of `m`'s upgrade, with the hazard codes of
/// PostgreSQL (see [`LintCode`](crate::files::lint_code::LintCode)).
pub(crate) fn findings(m: &Migration) -> Result<Vec<Finding>, ReadBackError> {
    Ok(sql_findings(&m.upgrade().sql()?, m.is_transactional())
        .into_iter()
        .filter(|f| !m.acknowledges(f.code))
        .collect())
}

/// Every finding of the upgrade SQL `sql`, of a migration that is
/// `transactional` or not.
pub(crate) fn sql_findings(sql: &str, transactional: bool) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut created: Vec<String> = Vec::new();
    for statement in statements::split(sql) {
        let words: Vec<String> = statements::code_words(statement.text)
            .iter()
            .map(|w| w.to_ascii_lowercase())
            .collect();
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        statement_findings(&w, &mut created, transactional, &mut found);
    }
    found
}

/// The word after the first occurrence of `word` (skipping `if not exists`
/// / `if exists` and `only`).
fn name_after(w: &[&str], word: &str) -> String {
    let Some(at) = w.iter().position(|x| *x == word) else {
        return String::new();
    };
    w[at + 1..]
        .iter()
        .find(|x| {
            !matches!(
                **x,
                "if" | "not" | "exists" | "only" | "concurrently" | "unique" | "index"
            )
        })
        .map_or_else(String::new, |x| (*x).to_owned())
}

fn contains_seq(w: &[&str], seq: &[&str]) -> bool {
    w.windows(seq.len()).any(|window| window == seq)
}

fn statement_findings(
    w: &[&str],
    created: &mut Vec<String>,
    transactional: bool,
    found: &mut Vec<Finding>,
) {
    let mut push = |code: LintCode, object: &str, message: &str| {
        found.push(Finding::new(code, object, message));
    };
    match w {
        ["create", "table", ..] | ["create", "unlogged", "table", ..] => {
            created.push(name_after(w, "table"));
        }
        ["create", "index", ..] | ["create", "unique", "index", ..] => {
            let table = name_after(w, "on");
            if !w.contains(&"concurrently") && !created.contains(&table) {
                push(LintCode::IndexNotConcurrent, &table, "CREATE INDEX without CONCURRENTLY blocks every write to the table for the whole build; write CREATE INDEX CONCURRENTLY in a migration of its own with `-- transactional: false`");
            }
        }
        ["drop", "table", ..] => push(
            LintCode::DropTable,
            &name_after(w, "table"),
            "the table and its rows are gone; a running bot that still reads it fails",
        ),
        ["drop", "index", ..] if !w.contains(&"concurrently") => {
            push(LintCode::IndexNotConcurrent, &name_after(w, "index"), "DROP INDEX without CONCURRENTLY takes an exclusive lock on the table; write DROP INDEX CONCURRENTLY in a migration with `-- transactional: false`");
        }
        ["alter", "table", ..] => {
            let table = name_after(w, "table");
            let fresh = created.contains(&table);
            alter_table_findings(w, &table, fresh, &mut push);
        }
        _ => {}
    }
    if transactional && w.contains(&"concurrently") {
        push(LintCode::ConcurrentInTransaction, "", "CONCURRENTLY cannot run inside a transaction; give the migration `-- transactional: false`");
    }
}

fn alter_table_findings(
    w: &[&str],
    table: &str,
    fresh: bool,
    push: &mut dyn FnMut(LintCode, &str, &str),
) {
    if let Some(at) = w.iter().position(|x| *x == "rename") {
        match w.get(at + 1) {
            Some(&"to") => {
                push(LintCode::RenameTable, table, "the running bot still uses the old name and fails until it is redeployed; add the new table (or a view with the new name) first, move the code, then drop the old name");
                return;
            }
            Some(&"constraint") => {}
            _ => push(LintCode::RenameColumn, table, "the running bot still uses the old column name and fails until it is redeployed; add the new column, write both from the code, backfill, then drop the old one"),
        }
    }
    if contains_seq(w, &["drop", "column"]) {
        push(
            LintCode::DropColumn,
            table,
            "the column and its values are gone; a running bot that still reads it fails",
        );
    }
    if fresh {
        return;
    }
    let not_valid = contains_seq(w, &["not", "valid"]);
    if w.contains(&"foreign") && w.contains(&"references") && !not_valid {
        push(LintCode::FkNotValid, table, "adding a foreign key scans the table under a lock that blocks writes; add it with NOT VALID, then VALIDATE CONSTRAINT in a later migration");
    }
    if w.contains(&"add") && w.contains(&"check") && !not_valid {
        push(LintCode::CheckNotValid, table, "adding a CHECK scans the table under an exclusive lock; add it with NOT VALID, then VALIDATE CONSTRAINT in a later migration");
    }
    if contains_seq(w, &["set", "not", "null"]) {
        push(LintCode::SetNotNull, table, "SET NOT NULL scans the whole table under an exclusive lock; add CHECK (column IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL (which then skips the scan) and drop the check");
    }
    if w.contains(&"add") && w.contains(&"default") && w.iter().any(|x| VOLATILE.contains(x)) {
        push(LintCode::VolatileDefault, table, "a column added with a volatile default (random(), clock_timestamp(), gen_random_uuid(), nextval()) rewrites the whole table under an exclusive lock; add the column without a default, SET DEFAULT, then backfill in batches");
    }
    if let Some(at) = w
        .windows(2)
        .position(|p| p[0] == "type" && w.contains(&"alter"))
    {
        let target = w.get(at + 1).copied().unwrap_or_default();
        let bounded = w
            .get(at + 2)
            .is_some_and(|x| x.chars().all(|c| c.is_ascii_digit()));
        if !BINARY_COERCIBLE_TARGETS.contains(&target) || bounded {
            push(LintCode::TypeRewrite, table, "changing a column's type rewrites the table under an exclusive lock (except to text, an unbounded varchar or an unconstrained numeric); add a new column, backfill it, and switch the code over");
        }
    }
    let adds = |kind: &[&str]| {
        w.contains(&"add") && contains_seq(w, kind) && !contains_seq(w, &["using", "index"])
    };
    if adds(&["unique"]) {
        push(LintCode::UniqueConstraintAdded, table, "adding a UNIQUE constraint builds its index while blocking writes; CREATE UNIQUE INDEX CONCURRENTLY first (non-transactional), then ADD CONSTRAINT ... UNIQUE USING INDEX");
    }
    if adds(&["primary", "key"]) {
        push(LintCode::PrimaryKeyAdded, table, "adding a PRIMARY KEY builds its index while blocking writes (and sets NOT NULL with a scan); CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... PRIMARY KEY USING INDEX");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::parse::parse_migration;

    fn codes(upgrade: &str, header: &str) -> Vec<&'static str> {
        let text = format!("-- revision: 002\n-- down_revision: 001\n-- message: m\n{header}\n-- migrate:upgrade\n{upgrade}\n");
        let m = parse_migration("versions/002.sql", text.as_bytes()).unwrap();
        findings(&m)
            .unwrap()
            .iter()
            .map(|f| f.code.name())
            .collect()
    }

    #[test]
    fn each_hazard_is_found_and_each_can_be_acknowledged() {
        let cases = [
            ("CREATE INDEX ix ON users (name);", "index_not_concurrent"),
            ("ALTER TABLE requests ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);", "fk_not_valid"),
            ("ALTER TABLE users ADD CONSTRAINT named CHECK (full_name <> '');", "check_not_valid"),
            ("ALTER TABLE users ALTER COLUMN phone SET NOT NULL;", "set_not_null"),
            ("ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();", "volatile_default"),
            ("ALTER TABLE users ALTER COLUMN telegram_id TYPE bigint;", "type_rewrite"),
            ("ALTER TABLE users ADD CONSTRAINT one_phone UNIQUE (phone);", "unique_constraint_added"),
            ("ALTER TABLE settings ADD PRIMARY KEY (key);", "primary_key_added"),
            ("ALTER TABLE users RENAME COLUMN phone TO phone_number;", "rename_column"),
            ("ALTER TABLE users RENAME TO customers;", "rename_table"),
            ("ALTER TABLE users DROP COLUMN phone;", "drop_column"),
            ("DROP TABLE settings;", "drop_table"),
        ];
        for (sql, code) in cases {
            assert_eq!(codes(sql, ""), [code], "{sql}");
            assert!(codes(sql, &format!("-- allow: {code}")).is_empty(), "{sql}");
        }
    }

    #[test]
    fn the_safe_patterns_and_new_tables_pass() {
        for sql in [
            "ALTER TABLE requests ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
            "ALTER TABLE requests VALIDATE CONSTRAINT fk;",
            "ALTER TABLE users ADD CONSTRAINT c CHECK (full_name <> '') NOT VALID;",
            "ALTER TABLE users ADD COLUMN seen timestamptz DEFAULT now();",
            "ALTER TABLE users ALTER COLUMN username TYPE text;",
            "ALTER TABLE users ADD CONSTRAINT one_phone UNIQUE USING INDEX ix_phone;",
            "CREATE TABLE notes (id int PRIMARY KEY, user_id int);\nCREATE INDEX ix_notes_user ON notes (user_id);\nALTER TABLE notes ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);",
            "SELECT 'CREATE INDEX ix ON users (name)';",
        ] {
            assert!(codes(sql, "").is_empty(), "{sql}: {:?}", codes(sql, ""));
        }
        assert!(codes(
            "CREATE INDEX CONCURRENTLY ix ON users (name);",
            "-- transactional: false"
        )
        .is_empty());
    }
}
