//! Targets of `upgrade`, `downgrade` and `stamp` (DESIGN §9), parsed and
//! resolved against the graph and the database's current heads.

use super::Graph;
use std::fmt;
use std::str::FromStr;

/// The shortest revision prefix accepted in place of a full id.
pub const MIN_PREFIX_LEN: usize = 4;

/// A target as the user wrote it.
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
    /// `+N`, `-N`, `REV+N`, `REV-N`, `LABEL@+N`, `LABEL@-N`.
    Relative {
        /// Where counting starts.
        anchor: Anchor,
        /// Steps up (positive) or down (negative).
        steps: i64,
    },
    /// `LABEL@head`: the head of a labelled branch.
    LabelHead(String),
    /// `LABEL@base`: before the first revision of a labelled branch.
    LabelBase(String),
}

/// Where a relative target counts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// The database's current head.
    Current,
    /// A revision.
    Revision(String),
    /// The database's current head on a labelled branch.
    Label(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Head => f.write_str("head"),
            Target::Heads => f.write_str("heads"),
            Target::Base => f.write_str("base"),
            Target::Revision(r) => f.write_str(r),
            Target::Relative { anchor, steps } => match anchor {
                Anchor::Current => write!(f, "{steps:+}"),
                Anchor::Revision(r) => write!(f, "{r}{steps:+}"),
                Anchor::Label(l) => write!(f, "{l}@{steps:+}"),
            },
            Target::LabelHead(l) => write!(f, "{l}@head"),
            Target::LabelBase(l) => write!(f, "{l}@base"),
        }
    }
}

/// A target that cannot be parsed or resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// Not of any target form.
    #[error("invalid target `{0}`; use head, heads, base, a revision, +N, -N, REV+N, REV-N, LABEL@head or LABEL@base")]
    Syntax(String),
    /// No revision, prefix or label matches (Alembic's wording).
    #[error("Can't locate revision identified by '{0}'; `migrate history` lists the revisions")]
    Unknown(String),
    /// A prefix that matches several revisions.
    #[error("revision prefix `{prefix}` is ambiguous; it matches {}", .candidates.join(", "))]
    Ambiguous {
        /// The prefix.
        prefix: String,
        /// Every matching revision.
        candidates: Vec<String>,
    },
    /// `head` with several heads (Alembic's wording).
    #[error("Multiple head revisions are present for given argument 'head'; please specify a specific target revision, '<branchname>@head' to narrow to a specific head, or 'heads' for all heads (heads: {}); to join them run `migrate merge heads -m \"merge\"`", .heads.join(", "))]
    MultipleHeads {
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
    #[error("no branch is labelled `{0}`; `migrate branches` lists the branches")]
    UnknownLabel(String),
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
        let word =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        match text {
            "head" => return Ok(Target::Head),
            "heads" => return Ok(Target::Heads),
            "base" => return Ok(Target::Base),
            _ => {}
        }
        if let Some((label, rest)) = text.split_once('@') {
            if !word(label) {
                return Err(syntax());
            }
            return match rest {
                "head" => Ok(Target::LabelHead(label.to_owned())),
                "base" => Ok(Target::LabelBase(label.to_owned())),
                _ => Ok(Target::Relative {
                    anchor: Anchor::Label(label.to_owned()),
                    steps: parse_steps(rest).ok_or_else(syntax)?,
                }),
            };
        }
        if let Some(sign) = text.rfind(['+', '-']) {
            let steps = parse_steps(&text[sign..]).ok_or_else(syntax)?;
            let anchor = match &text[..sign] {
                "" => Anchor::Current,
                rev if word(rev) => Anchor::Revision(rev.to_owned()),
                _ => return Err(syntax()),
            };
            return Ok(Target::Relative { anchor, steps });
        }
        if word(text) {
            Ok(Target::Revision(text.to_owned()))
        } else {
            Err(syntax())
        }
    }
}

fn parse_steps(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-'])?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    Some(if text.starts_with('-') { -n } else { n })
}

/// Where a resolved target points: before everything, or a set of revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// No revision applied.
    Base,
    /// These revisions (and what they require) applied.
    Revisions(Vec<usize>),
    /// Every revision of a labelled branch removed.
    BranchBase(String),
}

impl Graph {
    /// Resolves a revision id, a branch label, or an id prefix of at least
    /// [`MIN_PREFIX_LEN`] characters.
    pub fn resolve_revision(&self, text: &str) -> Result<usize, TargetError> {
        if let Some(i) = self.find(text).or_else(|| self.label_owner(text)) {
            return Ok(i);
        }
        if text.len() >= MIN_PREFIX_LEN {
            let mut candidates: Vec<&str> = self.ids().filter(|id| id.starts_with(text)).collect();
            match candidates.len() {
                1 => return Ok(self.find(candidates[0]).unwrap_or_default()),
                0 => {}
                _ => {
                    candidates.sort_unstable();
                    return Err(TargetError::Ambiguous {
                        prefix: text.to_owned(),
                        candidates: candidates.into_iter().map(str::to_owned).collect(),
                    });
                }
            }
        }
        Err(TargetError::Unknown(text.to_owned()))
    }

    /// Resolves `target` given the database's current heads.
    pub fn resolve(&self, target: &Target, current: &[usize]) -> Result<Destination, TargetError> {
        match target {
            Target::Base => Ok(Destination::Base),
            Target::Heads => Ok(Destination::Revisions(self.heads.clone())),
            Target::Head => match self.heads[..] {
                [one] => Ok(Destination::Revisions(vec![one])),
                _ => Err(TargetError::MultipleHeads {
                    heads: self.names(&self.heads),
                }),
            },
            Target::Revision(text) => {
                Ok(Destination::Revisions(vec![self.resolve_revision(text)?]))
            }
            Target::LabelHead(label) => Ok(Destination::Revisions(vec![self.label_head(label)?])),
            Target::LabelBase(label) => {
                self.label_owner(label)
                    .ok_or_else(|| TargetError::UnknownLabel(label.clone()))?;
                Ok(Destination::BranchBase(label.clone()))
            }
            Target::Relative { anchor, steps } => {
                let (start, label) = match anchor {
                    Anchor::Revision(text) => (Some(self.resolve_revision(text)?), None),
                    Anchor::Current => (self.single_current(target, current, None)?, None),
                    Anchor::Label(label) => {
                        let owner = self
                            .label_owner(label)
                            .ok_or_else(|| TargetError::UnknownLabel(label.clone()))?;
                        let start = match self.single_current(target, current, Some(label))? {
                            Some(head) => Some(head),
                            None => self.below_branch(owner, label),
                        };
                        (start, Some(label.as_str()))
                    }
                };
                let end = self.step(target, start, *steps, label)?;
                Ok(end.map_or(Destination::Base, |i| Destination::Revisions(vec![i])))
            }
        }
    }

    /// Revision ids of indices.
    pub fn names(&self, revisions: &[usize]) -> Vec<String> {
        revisions.iter().map(|&i| self.ids[i].to_string()).collect()
    }

    fn label_head(&self, label: &str) -> Result<usize, TargetError> {
        self.label_owner(label)
            .ok_or_else(|| TargetError::UnknownLabel(label.to_owned()))?;
        let heads: Vec<usize> = self
            .heads
            .iter()
            .copied()
            .filter(|&h| self.labels[h].iter().any(|l| l == label))
            .collect();
        match heads[..] {
            [one] => Ok(one),
            _ => Err(TargetError::MultipleHeads {
                heads: self.names(&heads),
            }),
        }
    }

    fn single_current(
        &self,
        target: &Target,
        current: &[usize],
        label: Option<&str>,
    ) -> Result<Option<usize>, TargetError> {
        let on_branch: Vec<usize> = current
            .iter()
            .copied()
            .filter(|&h| label.is_none_or(|l| self.labels[h].iter().any(|x| x == l)))
            .collect();
        match on_branch[..] {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            _ => Err(TargetError::Relative {
                target: target.to_string(),
                reason: format!(
                    "the database has several heads ({}); name one as REV+N or REV-N",
                    self.names(&on_branch).join(", ")
                ),
            }),
        }
    }

    /// The revision a labelled branch grows from (`None`: it starts at base).
    fn below_branch(&self, owner: usize, label: &str) -> Option<usize> {
        let mut lowest = owner;
        while let [parent] = self.parents[lowest][..] {
            if !self.labels[parent].iter().any(|l| l == label) {
                return Some(parent);
            }
            lowest = parent;
        }
        None
    }

    /// Walks `steps` up (children) or down (parents) from `start` (`None` is
    /// base), staying on the labelled branch when `label` is given.
    fn step(
        &self,
        target: &Target,
        start: Option<usize>,
        steps: i64,
        label: Option<&str>,
    ) -> Result<Option<usize>, TargetError> {
        let on_branch = |i: &usize| label.is_none_or(|l| self.labels[*i].iter().any(|x| x == l));
        let fail = |reason: String| TargetError::Relative {
            target: target.to_string(),
            reason,
        };
        let mut at = start;
        for taken in 0..steps.unsigned_abs() {
            let options: &[usize] = match (at, steps > 0) {
                (None, true) => &self.bases,
                (Some(i), true) => &self.children[i],
                (None, false) => {
                    return Err(fail(format!(
                        "only {taken} step(s) down are possible before base"
                    )))
                }
                (Some(i), false) if self.parents[i].is_empty() => {
                    at = None;
                    continue;
                }
                (Some(i), false) => &self.parents[i],
            };
            let options: Vec<usize> = if steps > 0 {
                options.iter().copied().filter(on_branch).collect()
            } else {
                options.to_vec()
            };
            at = match options[..] {
                [] => {
                    return Err(fail(format!(
                        "only {taken} step(s) up are possible before the head"
                    )))
                }
                [one] => Some(one),
                ref many => {
                    return Err(fail(format!(
                        "after {taken} step(s) the path splits into {}; name one of them",
                        self.names(many).join(", ")
                    )))
                }
            };
        }
        Ok(at)
    }
}
