//! Foreign key violations. A Python bot's `sqlite3` leaves foreign keys off,
//! so its database may hold orphan rows long before any migration runs.
//! A run is refused only for the violations it introduced; those that were
//! there before are counted and reported, never a reason to refuse. A
//! backend that enforces foreign keys itself reports none.

use std::collections::HashMap;
use std::fmt;

/// One row that references a missing parent row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The table holding the row.
    pub table: String,
    /// The row's rowid (`None` for a `WITHOUT ROWID` table).
    pub rowid: Option<i64>,
    /// The table whose row is missing.
    pub parent: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rowid {
            Some(rowid) => write!(
                f,
                "{} row {rowid} references a missing row of {}",
                self.table, self.parent
            ),
            None => write!(
                f,
                "a {} row references a missing row of {}",
                self.table, self.parent
            ),
        }
    }
}

/// The violations of `after` that `before` did not have. A table rebuilt by
/// a migration may renumber its rows, so a (table, parent) pair counts as
/// introduced only when it has more violations than before.
pub(crate) fn introduced<'a>(before: &[Violation], after: &'a [Violation]) -> Vec<&'a Violation> {
    let (old, new) = (pair_counts(before), pair_counts(after));
    after
        .iter()
        .filter(|v| {
            let key = (v.table.as_str(), v.parent.as_str());
            new[&key] > old.get(&key).copied().unwrap_or(0) && !before.contains(v)
        })
        .collect()
}

fn pair_counts(list: &[Violation]) -> HashMap<(&str, &str), usize> {
    let mut counts = HashMap::new();
    for v in list {
        *counts
            .entry((v.table.as_str(), v.parent.as_str()))
            .or_default() += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(table: &str, rowid: i64) -> Violation {
        Violation {
            table: table.into(),
            rowid: Some(rowid),
            parent: "users".into(),
        }
    }

    #[test]
    fn only_new_violations_count_and_renumbered_rows_do_not() {
        let before = [v("requests", 1)];
        assert!(introduced(&before, &[v("requests", 1)]).is_empty());
        // A rebuild renumbered the orphan: still one violation, not a new one.
        assert!(introduced(&before, &[v("requests", 7)]).is_empty());
        let after = [v("requests", 1), v("requests", 2)];
        assert_eq!(introduced(&before, &after), [&after[1]]);
        assert_eq!(introduced(&[], &before), [&before[0]]);
    }
}
