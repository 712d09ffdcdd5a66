//! Lint findings: destructive or data-dependent changes, each with a
//! stable code that a migration acknowledges with `-- allow: <code>`.

pub(crate) use crate::files::lint_code::LintCode;
use std::fmt;

/// One destructive or data-dependent change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// What the change is.
    pub code: LintCode,
    /// The table or `table.column` concerned.
    pub object: String,
    /// A one-line explanation.
    pub message: String,
}

impl Finding {
    /// A finding.
    pub(crate) fn new(code: LintCode, object: &str, message: &str) -> Self {
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
