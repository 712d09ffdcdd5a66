//! The lint codes: every destructive or data-dependent change a finding can
//! name, in one place. A migration acknowledges one with `-- allow: <code>`
//! in its header, which the parser checks against this list.

use std::fmt;

/// What a lint finding is about. The name (`drop_column`) is stable: it is
/// what headers write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub(crate) enum LintCode {
    /// A table is dropped, with its rows.
    DropTable,
    /// A column is dropped, with its values.
    DropColumn,
    /// A NOT NULL column, which rows without a value refuse.
    NotNullAdded,
    /// A unique index or constraint, which duplicate rows refuse.
    UniqueAdded,
    /// A column's type changes.
    TypeChanged,
    /// A CHECK constraint changes, which existing rows may fail.
    CheckChanged,
    /// PostgreSQL: an index built without `CONCURRENTLY` locks out writes.
    IndexNotConcurrent,
    /// PostgreSQL: `CONCURRENTLY` inside a transaction fails.
    ConcurrentInTransaction,
    /// PostgreSQL: a foreign key checked at once, under a lock, instead of
    /// `NOT VALID` then `VALIDATE`.
    FkNotValid,
    /// PostgreSQL: a CHECK constraint checked at once, under a lock.
    CheckNotValid,
    /// PostgreSQL: `SET NOT NULL` scans the table under a lock.
    SetNotNull,
    /// PostgreSQL: a volatile default rewrites the table.
    VolatileDefault,
    /// PostgreSQL: a type change that rewrites the table.
    TypeRewrite,
    /// PostgreSQL: a unique constraint built under a lock.
    UniqueConstraintAdded,
    /// PostgreSQL: a primary key built under a lock.
    PrimaryKeyAdded,
    /// A column renamed under the running application.
    RenameColumn,
    /// A table renamed under the running application.
    RenameTable,
}

impl LintCode {
    /// Every code: the schema diff's (both backends), then PostgreSQL's
    /// statement hazards.
    pub(crate) const ALL: [LintCode; 17] = [
        LintCode::DropTable,
        LintCode::DropColumn,
        LintCode::NotNullAdded,
        LintCode::UniqueAdded,
        LintCode::TypeChanged,
        LintCode::CheckChanged,
        LintCode::IndexNotConcurrent,
        LintCode::ConcurrentInTransaction,
        LintCode::FkNotValid,
        LintCode::CheckNotValid,
        LintCode::SetNotNull,
        LintCode::VolatileDefault,
        LintCode::TypeRewrite,
        LintCode::UniqueConstraintAdded,
        LintCode::PrimaryKeyAdded,
        LintCode::RenameColumn,
        LintCode::RenameTable,
    ];

    /// The name headers write (`drop_column`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            LintCode::DropTable => "drop_table",
            LintCode::DropColumn => "drop_column",
            LintCode::NotNullAdded => "not_null_added",
            LintCode::UniqueAdded => "unique_added",
            LintCode::TypeChanged => "type_changed",
            LintCode::CheckChanged => "check_changed",
            LintCode::IndexNotConcurrent => "index_not_concurrent",
            LintCode::ConcurrentInTransaction => "concurrent_in_transaction",
            LintCode::FkNotValid => "fk_not_valid",
            LintCode::CheckNotValid => "check_not_valid",
            LintCode::SetNotNull => "set_not_null",
            LintCode::VolatileDefault => "volatile_default",
            LintCode::TypeRewrite => "type_rewrite",
            LintCode::UniqueConstraintAdded => "unique_constraint_added",
            LintCode::PrimaryKeyAdded => "primary_key_added",
            LintCode::RenameColumn => "rename_column",
            LintCode::RenameTable => "rename_table",
        }
    }

    /// The code a header names; `None` for a name no finding has.
    pub(crate) fn from_name(name: &str) -> Option<LintCode> {
        LintCode::ALL.into_iter().find(|code| code.name() == name)
    }

    /// Every name, for a message listing them.
    pub(crate) fn names() -> String {
        LintCode::ALL.map(LintCode::name).join(", ")
    }
}

impl fmt::Display for LintCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_from_its_name() {
        for code in LintCode::ALL {
            assert_eq!(LintCode::from_name(code.name()), Some(code));
        }
        assert_eq!(LintCode::from_name("drop_everything"), None);
    }
}
