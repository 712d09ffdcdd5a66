//! Lint findings: destructive or data-dependent changes, each with a
//! stable code that a migration acknowledges with `-- allow: <code>`.

use std::fmt;

/// The codes a finding can have: the schema diff's (both backends), then
/// PostgreSQL's hazards (see [`super::pg_lint`]).
pub const CODES: [&str; 17] = [
    "drop_table",
    "drop_column",
    "not_null_added",
    "unique_added",
    "type_changed",
    "check_changed",
    "index_not_concurrent",
    "concurrent_in_transaction",
    "fk_not_valid",
    "check_not_valid",
    "set_not_null",
    "volatile_default",
    "type_rewrite",
    "unique_constraint_added",
    "primary_key_added",
    "rename_column",
    "rename_table",
];

/// One destructive or data-dependent change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable code, one of [`CODES`].
    pub code: &'static str,
    /// The table or `table.column` concerned.
    pub object: String,
    /// A one-line explanation.
    pub message: String,
}

impl Finding {
    /// A finding.
    pub fn new(code: &'static str, object: &str, message: &str) -> Self {
        Finding {
            code,
            object: object.to_owned(),
            message: message.to_owned(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.code, self.object, self.message)
    }
}
