//! Resolving what a target names, step for step as Alembic 1.20's
//! `RevisionMap` does (`_resolve_revision_number`, `_revision_for_ident`,
//! `get_revisions`, `_walk`, `_parse_upgrade_target`,
//! `_parse_downgrade_target`). The contract is Alembic's observable
//! behaviour, so the structure follows it closely; where Alembic's choice
//! would be arbitrary this code refuses instead (docs/cli.md, "Differences from
//! Alembic").

use super::lineage::Edges;
use super::target::{relative, TargetError, MIN_PREFIX_LEN};
use super::Graph;

/// A position of a relative walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Point {
    /// Before any revision (Alembic's `None`): walking up starts at the bases.
    Start,
    /// A revision.
    At(usize),
    /// Below a base, reached by walking down (Alembic's `"base"` marker).
    Base,
}

/// What the part of a target after `@` names.
enum Number<'t> {
    /// Already resolved (`head`, `heads`, `base`).
    Revisions(Vec<usize>),
    /// A revision id, a prefix of one, or a branch label.
    Ident(&'t str),
}

fn failed(target: &str, reason: impl Into<String>) -> TargetError {
    TargetError::Relative {
        target: target.to_owned(),
        reason: reason.into(),
    }
}

impl Graph {
    /// `_resolve_revision_number`: splits `BRANCH@` off and resolves the
    /// symbolic names.
    fn number<'t>(&self, text: &'t str) -> Result<(Number<'t>, Option<&'t str>), TargetError> {
        let (branch, id) = match text.split_once('@') {
            Some((b, i)) => (Some(b), i),
            None => (None, text),
        };
        let number = match id {
            "heads" => Number::Revisions(match branch {
                Some(b) => self.in_lineage(&self.heads, &self.branch_lineage(b)?, Edges::Versioned),
                None => self.real_heads(),
            }),
            "head" => Number::Revisions(self.current_head(branch)?.into_iter().collect()),
            "base" => Number::Revisions(Vec::new()),
            _ => Number::Ident(id),
        };
        Ok((number, branch))
    }

    /// The revisions a lineage check compares against (`filter_for_lineage`).
    pub(super) fn lineage_of(&self, text: &str) -> Result<Vec<usize>, TargetError> {
        let (number, branch) = self.number(text)?;
        let mut against = Vec::new();
        if let Some(b) = branch {
            against.push(self.ident(b, None)?);
        }
        match number {
            Number::Revisions(revs) => against.extend(revs),
            Number::Ident(id) => against.push(self.ident(id, None)?),
        }
        Ok(against)
    }

    /// [`Graph::lineage_of`] a branch named before `@`.
    fn branch_lineage(&self, branch: &str) -> Result<Vec<usize>, TargetError> {
        self.lineage_of(branch).map_err(|e| match e {
            TargetError::Unknown(_) => TargetError::UnknownLabel(branch.to_owned()),
            e => e,
        })
    }

    /// `get_current_head`: the one head, on a branch when one is named.
    fn current_head(&self, branch: Option<&str>) -> Result<Option<usize>, TargetError> {
        let heads = match branch {
            Some(b) => self.in_lineage(&self.heads, &self.branch_lineage(b)?, Edges::Versioned),
            None => self.heads.clone(),
        };
        match heads[..] {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            _ => Err(TargetError::MultipleHeads {
                argument: branch.map_or("head".to_owned(), |b| format!("{b}@head")),
                heads: self.names(&heads),
            }),
        }
    }

    /// `_resolve_branch`: a label, or a revision standing for its branch.
    pub(super) fn branch(&self, label: &str) -> Result<usize, TargetError> {
        match self.label_owner(label).or_else(|| self.find(label)) {
            Some(i) => Ok(i),
            None => self
                .ident(label, None)
                .map_err(|_| TargetError::UnknownLabel(label.to_owned())),
        }
    }

    /// `_revision_for_ident`: an id, a label or a unique prefix, which must
    /// share the lineage of `branch` when one is given.
    fn ident(&self, id: &str, branch: Option<&str>) -> Result<usize, TargetError> {
        let branch_rev = branch.map(|b| self.branch(b)).transpose()?;
        let revision = match self.find(id).or_else(|| self.label_owner(id)) {
            Some(i) => i,
            None => {
                let mut keys: Vec<(&str, usize)> = self
                    .ids()
                    .enumerate()
                    .map(|(i, key)| (key, i))
                    .chain(self.label_owner.iter().map(|(l, &i)| (l.as_ref(), i)))
                    .filter(|(key, _)| key.len() > 3 && key.starts_with(id))
                    .collect();
                if let Some(b) = branch {
                    let against = self.lineage_of(b)?;
                    keys.retain(|&(_, i)| self.shares_lineage(i, &against, Edges::Versioned));
                }
                if id.len() < MIN_PREFIX_LEN {
                    // Alembic takes a unique prefix of any length; one or
                    // two characters name a revision by accident too easily.
                    return Err(match keys.is_empty() {
                        true => TargetError::Unknown(id.to_owned()),
                        false => TargetError::ShortPrefix {
                            prefix: id.to_owned(),
                            candidates: keys.iter().map(|(k, _)| k.to_string()).collect(),
                        },
                    });
                }
                match keys[..] {
                    [] => return Err(TargetError::Unknown(id.to_owned())),
                    [(_, one)] => one,
                    _ => {
                        let mut candidates: Vec<String> =
                            keys.iter().map(|(k, _)| k.to_string()).collect();
                        candidates.sort_unstable();
                        return Err(TargetError::Ambiguous {
                            prefix: id.to_owned(),
                            candidates,
                        });
                    }
                }
            }
        };
        if let (Some(b), Some(branch_rev)) = (branch, branch_rev) {
            if !self.shares_lineage(revision, &[branch_rev], Edges::Versioned) {
                return Err(TargetError::NotInBranch {
                    revision: self.id(revision).to_owned(),
                    branch: b.to_owned(),
                });
            }
        }
        Ok(revision)
    }

    /// `get_revisions`: every revision a target names (none for `base`).
    pub(super) fn revisions(&self, text: &str) -> Result<Vec<usize>, TargetError> {
        let (number, branch) = self.number(text)?;
        match number {
            Number::Revisions(revs) => revs
                .into_iter()
                .map(|r| self.ident(self.id(r), branch))
                .collect(),
            Number::Ident(id) => Ok(vec![self.ident(id, branch)?]),
        }
    }

    /// What `stamp` marks: [`Graph::revisions`], except that `-N` and
    /// `BRANCH@-N` walk N steps down from each head (of the branch), as
    /// Alembic's `get_revisions` does; a walk that runs off the graph gives
    /// `None` (base). Empty for `base`.
    pub(super) fn stamp_destinations(&self, text: &str) -> Result<Vec<Option<usize>>, TargetError> {
        let (branch, id) = match text.split_once('@') {
            Some((b, i)) => (Some(b), i),
            None => (None, text),
        };
        let steps = match id.strip_prefix('-').map(str::parse::<i64>) {
            Some(Ok(n)) if n > 0 => -n,
            _ => return Ok(self.revisions(text)?.into_iter().map(Some).collect()),
        };
        self.number(text)?;
        let mut heads = self.real_heads();
        if let Some(b) = branch {
            heads.retain(|&h| self.labels(h).iter().any(|l| l == b));
        }
        let mut out = Vec::new();
        for h in heads {
            match self.walk_steps(text, Point::At(h), steps, None)? {
                None => out.push(None),
                Some(Point::At(i)) => out.push(Some(i)),
                Some(_) => {
                    return Err(failed(
                        text,
                        "the walk ends below base, which is not a revision to stamp",
                    ))
                }
            }
        }
        Ok(out)
    }

    /// `get_revision`: at most one revision (`None` for `base`).
    pub(super) fn revision(&self, text: &str) -> Result<Option<usize>, TargetError> {
        let (number, branch) = self.number(text)?;
        match number {
            Number::Revisions(revs) => match revs[..] {
                [] => {
                    if let Some(b) = branch {
                        self.branch(b)?;
                    }
                    Ok(None)
                }
                [one] => Ok(Some(self.ident(self.id(one), branch)?)),
                _ => Err(TargetError::MultipleHeads {
                    argument: text.to_owned(),
                    heads: self.names(&revs),
                }),
            },
            Number::Ident(id) => Ok(Some(self.ident(id, branch)?)),
        }
    }

    fn point(&self, text: &str) -> Result<Point, TargetError> {
        Ok(self.revision(text)?.map_or(Point::Start, Point::At))
    }

    /// `_walk`: `steps` up (children, on `branch` when given) or down
    /// (parents). `None` when the walk runs off the graph.
    fn walk_steps(
        &self,
        target: &str,
        start: Point,
        steps: i64,
        branch: Option<&str>,
    ) -> Result<Option<Point>, TargetError> {
        let mut at = start;
        for _ in 0..steps.unsigned_abs() {
            let next: Vec<Point> = if steps > 0 {
                let up = match at {
                    Point::Base => {
                        return Err(failed(target, "there is nothing above base to walk to"))
                    }
                    Point::Start => self.bases.clone(),
                    Point::At(i) => self.children[i].to_vec(),
                };
                let up = match branch {
                    Some(b) => self.in_lineage(&up, &self.lineage_of(b)?, Edges::Versioned),
                    None => up,
                };
                up.into_iter().map(Point::At).collect()
            } else {
                match at {
                    Point::Base => Vec::new(),
                    Point::Start => self.heads.iter().map(|&h| Point::At(h)).collect(),
                    Point::At(i) if self.parents[i].is_empty() => vec![Point::Base],
                    Point::At(i) => self.parents[i].iter().map(|&p| Point::At(p)).collect(),
                }
            };
            at = match next[..] {
                [] => return Ok(None),
                [one] => one,
                _ => {
                    let names: Vec<String> = next
                        .iter()
                        .filter_map(|p| match p {
                            Point::At(i) => Some(self.id(*i).to_owned()),
                            _ => None,
                        })
                        .collect();
                    return Err(failed(
                        target,
                        format!(
                            "the path splits into {}; name one of them",
                            names.join(", ")
                        ),
                    ));
                }
            };
        }
        Ok(Some(at))
    }

    /// What `current` lists for the version rows `current` (Alembic's
    /// `_get_all_current`): the applied revisions that no other applied
    /// revision builds on through `down_revision`, in graph order.
    pub(crate) fn all_current(&self, current: &[usize]) -> Vec<usize> {
        // The applied set is closed under parents, so a revision with an
        // applied descendant has an applied child: checking children is enough.
        let applied = self.ancestors(current);
        (0..self.len())
            .filter(|&r| applied[r] && !self.children[r].iter().any(|&c| applied[c]))
            .collect()
    }

    /// `_parse_upgrade_target`: the revisions an upgrade aims at.
    pub(super) fn upgrade_targets(
        &self,
        current: &[usize],
        target: &str,
    ) -> Result<Vec<usize>, TargetError> {
        let Some(rel) = relative(target) else {
            return self.revisions(target);
        };
        let end = if rel.steps > 0 {
            match rel.symbol {
                None => {
                    let mut starts: Vec<Point> = current.iter().map(|&c| Point::At(c)).collect();
                    if let Some(b) = rel.branch {
                        let against = self.lineage_of(b)?;
                        starts = self
                            .in_lineage(current, &against, Edges::Versioned)
                            .into_iter()
                            .map(Point::At)
                            .collect();
                        if starts.is_empty() {
                            // Not on the branch yet: start from the tips of
                            // what is applied of its lineage.
                            let applied = self.ancestors(current);
                            let active: Vec<usize> =
                                (0..self.len()).filter(|&i| applied[i]).collect();
                            let active = self.in_lineage(&active, &against, Edges::Versioned);
                            starts = active
                                .iter()
                                .copied()
                                .filter(|&a| {
                                    !active.iter().any(|&o| self.requirements(o).any(|r| r == a))
                                })
                                .map(Point::At)
                                .collect();
                        }
                    }
                    let start = match starts[..] {
                        [] => Point::Start,
                        [one] => one,
                        _ => return Err(self.several_heads(target, current)),
                    };
                    self.walk_steps(target, start, rel.steps, rel.branch)?
                        .ok_or_else(|| failed(target, "the walk runs past the head of that path"))?
                }
                Some(symbol) => {
                    let start = self.point(symbol)?;
                    self.walk_steps(target, start, rel.steps, rel.branch)?
                        .ok_or_else(|| failed(target, "the walk runs past the head"))?
                }
            }
        } else {
            let Some(symbol) = rel.symbol else {
                return Err(failed(target, "an upgrade cannot go down; use `downgrade`"));
            };
            let start = match rel.branch {
                None => self.point(symbol)?,
                Some(b) => self.point(&format!("{b}@{symbol}"))?,
            };
            self.walk_steps(target, start, rel.steps, None)?
                .ok_or_else(|| failed(target, "the walk runs past base"))?
        };
        match end {
            Point::At(i) => Ok(vec![i]),
            _ => Err(failed(
                target,
                "the walk ends below base, which is not a revision to upgrade to",
            )),
        }
    }

    /// `_parse_downgrade_target`: the branch the downgrade is confined to and
    /// the revision it goes down to (`None`: base).
    pub(super) fn downgrade_target(
        &self,
        current: &[usize],
        target: &str,
    ) -> Result<(Option<String>, Option<usize>), TargetError> {
        let Some(rel) = relative(target) else {
            let (branch, symbol) = match target.rsplit_once('@') {
                Some((b, s)) if !b.is_empty() => (Some(b.to_owned()), s),
                Some((_, s)) => (None, s),
                None => (None, target),
            };
            return Ok((branch, self.revision(symbol)?));
        };
        let mut branch = rel.branch.map(str::to_owned);
        let end = if rel.steps >= 0 {
            let Some(symbol) = rel.symbol else {
                return Err(failed(target, "a downgrade cannot go up; use `upgrade`"));
            };
            let start = self.point(symbol)?;
            self.walk_steps(target, start, rel.steps, rel.branch)?
                .ok_or_else(|| failed(target, "the walk runs past the head"))?
        } else {
            let symbol = match rel.symbol {
                Some(symbol) => symbol.to_owned(),
                None => {
                    let on_branch = match rel.branch {
                        Some(b) => {
                            let against = self.lineage_of(b)?;
                            let mut found = self.in_lineage(current, &against, Edges::Versioned);
                            if found.is_empty() {
                                found = self.in_lineage(
                                    &self.all_current(current),
                                    &against,
                                    Edges::Versioned,
                                );
                            }
                            found
                        }
                        None => current.to_vec(),
                    };
                    match on_branch[..] {
                        [] => return Err(failed(target, "no applied revision is on that path")),
                        [one] => {
                            if rel.branch.is_none() {
                                // Alembic confines the walk to the head's own branch.
                                branch = Some(self.id(one).to_owned());
                            }
                            self.id(one).to_owned()
                        }
                        _ => return Err(self.several_heads(target, &on_branch)),
                    }
                }
            };
            let start = match &branch {
                None => self.point(&symbol)?,
                Some(b) => self.point(&format!("{b}@{symbol}"))?,
            };
            self.walk_steps(target, start, rel.steps, None)?
                .ok_or_else(|| failed(target, "the walk runs past base"))?
        };
        Ok((
            branch,
            match end {
                Point::At(i) => Some(i),
                Point::Start | Point::Base => None,
            },
        ))
    }

    fn several_heads(&self, target: &str, heads: &[usize]) -> TargetError {
        failed(
            target,
            format!(
                "the database has several heads ({}); name one as REV+N, REV-N or LABEL@-N",
                self.names(heads).join(", ")
            ),
        )
    }
}
