//! Targets of `upgrade`, `downgrade` and `stamp` (DESIGN §9), parsed and
//! resolved against the graph and the database's current heads.

use super::Graph;
use crate::hint::Cmd;
use std::fmt;
use std::str::FromStr;

/// The shortest revision prefix accepted in place of a full id.
pub(crate) const MIN_PREFIX_LEN: usize = 4;

/// A target as the user wrote it (Alembic's grammar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `head`: the one head (an error when there are several).
    Head,
    /// `heads`: every head.
    Heads,
    /// `base`: before the first revision.
    Base,
    /// A revision id, an id prefix of at least 4 characters, or a branch label.
    Revision(String),
    /// `BRANCH@SYMBOL`: `LABEL@head`, `LABEL@heads`, `LABEL@base`,
    /// `LABEL@REV` (a revision or prefix inside the branch), `REV@head`. The
    /// branch is a label or a revision standing for its line of descent.
    InBranch {
        /// The label or revision before `@`.
        branch: String,
        /// `head`, `heads`, `base`, or a revision or prefix.
        symbol: String,
    },
    /// `+N`, `-N`, `REV+N`, `REV-N`, `LABEL@+N`, `LABEL@-N`, `REV@+N`,
    /// `REV@-N`, `LABEL@REV+N`.
    Relative {
        /// The branch the walk keeps to (a label or a revision).
        branch: Option<String>,
        /// Where the walk starts; `None`: the database's current revision.
        symbol: Option<String>,
        /// Steps up (positive) or down (negative).
        steps: i64,
    },
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Head => f.write_str("head"),
            Target::Heads => f.write_str("heads"),
            Target::Base => f.write_str("base"),
            Target::Revision(r) => f.write_str(r),
            Target::InBranch { branch, symbol } => write!(f, "{branch}@{symbol}"),
            Target::Relative {
                branch,
                symbol,
                steps,
            } => {
                if let Some(b) = branch {
                    write!(f, "{b}@")?;
                }
                if let Some(s) = symbol {
                    f.write_str(s)?;
                }
                write!(f, "{steps:+}")
            }
        }
    }
}

/// A target that cannot be parsed or resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// Not of any target form.
    #[error("invalid target `{0}`; use head, heads, base, a revision or prefix, +N, -N, REV+N, REV-N, LABEL@head, LABEL@base, LABEL@+N, LABEL@-N, LABEL@REV, REV@+N or REV@-N")]
    Syntax(String),
    /// No revision, prefix or label matches (Alembic's wording).
    #[error("Can't locate revision identified by '{0}'; {history} lists the revisions", history = Cmd("history"))]
    Unknown(String),
    /// A prefix that matches several revisions.
    #[error("revision prefix `{prefix}` is ambiguous; it matches {}", .candidates.join(", "))]
    Ambiguous {
        /// The prefix.
        prefix: String,
        /// Every matching revision.
        candidates: Vec<String>,
    },
    /// A prefix shorter than 4 characters (Alembic would take it).
    #[error("revision prefix `{prefix}` is shorter than 4 characters; write at least 4 (it matches {})", .candidates.join(", "))]
    ShortPrefix {
        /// The prefix.
        prefix: String,
        /// What it matches.
        candidates: Vec<String>,
    },
    /// `head` with several heads (Alembic's wording).
    #[error("Multiple head revisions are present for given argument '{argument}'; please specify a specific target revision, '<branchname>@head' to narrow to a specific head, or 'heads' for all heads (heads: {}); to join them run {}", .heads.join(", "), Cmd("merge heads -m \"merge\""))]
    MultipleHeads {
        /// The target that needed one head.
        argument: String,
        /// The heads.
        heads: Vec<String>,
    },
    /// A relative step that cannot be taken.
    #[error("relative target `{target}` cannot be reached: {reason}")]
    Relative {
        /// The target as written.
        target: String,
        /// Why.
        reason: String,
    },
    /// A branch label that no revision declares.
    #[error("no branch is labelled `{0}`; {branches} lists the branches", branches = Cmd("branches"))]
    UnknownLabel(String),
    /// `LABEL@REV` where REV is not on the labelled branch (Alembic's wording).
    #[error("Revision {revision} is not a member of branch '{branch}'")]
    NotInBranch {
        /// The revision.
        revision: String,
        /// The branch as written.
        branch: String,
    },
    /// Several targets where one builds on another (Alembic's wording).
    #[error("Requested revision {revision} overlaps with other requested revisions {others}")]
    Overlap {
        /// The revision.
        revision: String,
        /// The requested revisions it builds on or that build on it.
        others: String,
    },
    /// A downgrade target with nothing applied above it.
    #[error("Destination {target} is not a valid downgrade target from current head(s) ({}): nothing to drop", display_heads(.current))]
    NothingToDrop {
        /// The target as written.
        target: String,
        /// The database's version rows.
        current: Vec<String>,
    },
    /// The version rows cannot be moved the way the run requires; Alembic
    /// stops with an internal error at the same point.
    #[error("the alembic_version rows ({}) cannot record {step}: {reason}", display_heads(.current))]
    VersionRows {
        /// The step, as `upgrade a -> b`.
        step: String,
        /// The rows before it.
        current: Vec<String>,
        /// What does not fit.
        reason: String,
    },
    /// A target that goes the wrong way for the command.
    #[error("`{target}` is not a valid {direction} target from the current heads ({}): {reason}", display_heads(.current))]
    WrongDirection {
        /// The target as written.
        target: String,
        /// `upgrade` or `downgrade`.
        direction: &'static str,
        /// The database's heads.
        current: Vec<String>,
        /// Why.
        reason: String,
    },
}

fn display_heads(heads: &[String]) -> String {
    if heads.is_empty() {
        "base".to_owned()
    } else {
        heads.join(", ")
    }
}

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = || TargetError::Syntax(text.to_owned());
        let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
        match text {
            "head" => return Ok(Target::Head),
            "heads" => return Ok(Target::Heads),
            "base" => return Ok(Target::Base),
            _ => {}
        }
        if let Some(rel) = relative(text) {
            if rel.branch.is_some_and(|b| !word(b)) {
                return Err(syntax());
            }
            return Ok(Target::Relative {
                branch: rel.branch.map(str::to_owned),
                symbol: rel.symbol.map(str::to_owned),
                steps: rel.steps,
            });
        }
        match text.split_once('@') {
            Some((branch, symbol)) if word(branch) && word(symbol) => Ok(Target::InBranch {
                branch: branch.to_owned(),
                symbol: symbol.to_owned(),
            }),
            Some(_) => Err(syntax()),
            None if word(text) => Ok(Target::Revision(text.to_owned())),
            None => Err(syntax()),
        }
    }
}

/// Where a resolved target points: before everything, or a set of revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    /// No revision applied.
    Base,
    /// These revisions (and what they require) applied.
    Revisions(Vec<usize>),
}

impl Graph {
    /// Resolves a revision id, a branch label, or an id prefix of at least
    /// [`MIN_PREFIX_LEN`] characters.
    pub(crate) fn resolve_revision(&self, text: &str) -> Result<usize, TargetError> {
        self.revision(text)?
            .ok_or_else(|| TargetError::Unknown(text.to_owned()))
    }

    /// What `target` names given the database's current heads: for a
    /// relative target, where the walk ends (upwards as an upgrade walks,
    /// downwards as a downgrade does).
    pub(crate) fn resolve(
        &self,
        target: &Target,
        current: &[usize],
    ) -> Result<Destination, TargetError> {
        let text = target.to_string();
        let revisions = match target {
            Target::Relative { steps, .. } if *steps > 0 => self.upgrade_targets(current, &text)?,
            Target::Relative { .. } => self
                .downgrade_target(current, &text)?
                .1
                .into_iter()
                .collect(),
            _ => self.revisions(&text)?,
        };
        Ok(if revisions.is_empty() {
            Destination::Base
        } else {
            Destination::Revisions(revisions)
        })
    }

    /// Revision ids of indices.
    pub(crate) fn names(&self, revisions: &[usize]) -> Vec<String> {
        revisions.iter().map(|&i| self.ids[i].to_string()).collect()
    }
}

/// A relative target, `[BRANCH@][SYMBOL]+N` or `-N`.
pub(super) struct Relative<'t> {
    pub branch: Option<&'t str>,
    pub symbol: Option<&'t str>,
    pub steps: i64,
}

/// Splits a relative target; `None` when `text` is not one.
pub(super) fn relative(text: &str) -> Option<Relative<'_>> {
    let word = |s: &str| s.chars().all(|c| c.is_alphanumeric() || c == '_');
    let (branch, rest) = match text.split_once('@') {
        Some((b, r)) if !b.is_empty() => (Some(b), r),
        _ => (None, text),
    };
    let sign = rest.rfind(['+', '-'])?;
    let (symbol, number) = rest.split_at(sign);
    let digits = &number[1..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || !word(symbol) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    Some(Relative {
        branch,
        symbol: (!symbol.is_empty()).then_some(symbol),
        steps: if number.starts_with('-') { -n } else { n },
    })
}
