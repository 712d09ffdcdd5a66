//! Property tests of the parser and the graph against a deliberately simple
//! reference: random bytes never panic, random mutations of valid files
//! never panic, and on random DAGs the heads, the order and the upgrade and
//! downgrade paths match naive set computations.

use crate::graph::target::Target;
use crate::load::order_migrations;
use crate::parse::parse_migration;
use crate::{Migration, RowOp};
use proptest::prelude::*;
use std::collections::BTreeSet;

/// 256 cases by default; `PROPTEST_CASES=N` runs more.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

const VALID: &str = "-- revision: 002\n-- down_revision: 001\n-- message: add phone_number to users\n\n-- migrate:upgrade\nALTER TABLE users ADD COLUMN phone_number TEXT;\n\n-- migrate:downgrade\nALTER TABLE users DROP COLUMN phone_number;\n";

fn migration(i: usize, parents: &[usize]) -> Migration {
    let down = if parents.is_empty() {
        "none".to_owned()
    } else {
        parents
            .iter()
            .map(|p| format!("n{p}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = format!("-- revision: n{i}\n-- down_revision: {down}\n-- message: m\n-- migrate:upgrade\nSELECT {i};\n-- migrate:downgrade\nSELECT {i};\n");
    parse_migration(&format!("versions/n{i}.sql"), text.as_bytes()).unwrap()
}

/// A random DAG: node i picks up to two distinct parents among 0..i. A
/// parent below another parent is dropped: `merge` never writes one, and
/// Alembic keeps a redundant version row for it on downgrade (pinned in the
/// graph unit tests), which the naive reference here does not model.
fn dag() -> impl Strategy<Value = Vec<Vec<usize>>> {
    raw_dag().prop_map(|mut parents| {
        for i in 0..parents.len() {
            let ps = parents[i].clone();
            parents[i] = ps
                .iter()
                .copied()
                .filter(|&p| {
                    !ps.iter()
                        .any(|&q| q != p && ancestors(&parents, &[q]).contains(&p))
                })
                .collect();
        }
        parents
    })
}

fn raw_dag() -> impl Strategy<Value = Vec<Vec<usize>>> {
    (1..24usize).prop_flat_map(|n| {
        (0..n)
            .map(|i| {
                if i == 0 {
                    Just(Vec::new()).boxed()
                } else {
                    prop::collection::btree_set(0..i, 0..=2)
                        .prop_map(|s| s.into_iter().collect())
                        .boxed()
                }
            })
            .collect::<Vec<_>>()
    })
}

/// Reference: everything reachable through parents, inclusive.
fn ancestors(parents: &[Vec<usize>], from: &[usize]) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<usize> = from.to_vec();
    while let Some(x) = todo.pop() {
        if seen.insert(x) {
            todo.extend(&parents[x]);
        }
    }
    seen
}

fn names(ids: impl IntoIterator<Item = usize>) -> BTreeSet<String> {
    ids.into_iter().map(|i| format!("n{i}")).collect()
}

/// Applies row operations to a set of rows, failing on an impossible one.
fn apply_rows(rows: &mut BTreeSet<String>, ops: &[RowOp]) -> Result<(), String> {
    for op in ops {
        match op {
            RowOp::Insert(r) => {
                if !rows.insert(r.clone()) {
                    return Err(format!("insert of existing row {r}"));
                }
            }
            RowOp::Delete(r) => {
                if !rows.remove(r) {
                    return Err(format!("delete of missing row {r}"));
                }
            }
            RowOp::Update { from, to } => {
                if !rows.remove(from) || !rows.insert(to.clone()) {
                    return Err(format!("update {from} -> {to} on rows {rows:?}"));
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_migration("versions/x.sql", &bytes);
    }

    #[test]
    fn token_soup_never_panics(parts in prop::collection::vec(prop::sample::select(vec![
        "-- revision: a1", "-- down_revision: none", "-- down_revision: a1, b2", "-- message: m", "-- migrate:upgrade",
        "-- migrate:downgrade", "-- migrate:", "SELECT 1;", "--", "-- x: y", "\r\n", "\n", "\u{feff}", "\0", "é", "/* ", "*/",
        "-- transactional: false", "-- branch_labels: ,", "-- allow: drop_column", "-- replaces: a1=sha256:00",
    ]), 0..40)) {
        let text: String = parts.join("\n");
        if let Err(errors) = parse_migration("versions/x.sql", text.as_bytes()) {
            let lines = text.split('\n').count() as u32 + 1;
            for e in errors {
                prop_assert!(e.line >= 1 && e.line <= lines, "line {} of {}", e.line, lines);
            }
        }
    }

    #[test]
    fn mutated_valid_files_never_panic(edits in prop::collection::vec((0..4u8, any::<prop::sample::Index>(), any::<char>()), 1..6)) {
        let mut lines: Vec<String> = VALID.lines().map(str::to_owned).collect();
        for (kind, at, c) in edits {
            let i = at.index(lines.len().max(1));
            match kind {
                0 if !lines.is_empty() => { lines.remove(i); }
                1 if !lines.is_empty() => { let l = lines[i].clone(); lines.insert(i, l); }
                2 if !lines.is_empty() => { let pos = lines[i].chars().count() / 2; let mut s: Vec<char> = lines[i].chars().collect(); s.insert(pos, c); lines[i] = s.into_iter().collect(); }
                _ => lines.insert(i.min(lines.len()), c.to_string()),
            }
        }
        let _ = parse_migration("versions/x.sql", lines.join("\n").as_bytes());
    }

    #[test]
    fn graph_matches_a_naive_reference(parents in dag(), target in any::<prop::sample::Index>(), shuffle in any::<u64>()) {
        let n = parents.len();
        let mut files: Vec<Migration> = (0..n).map(|i| migration(i, &parents[i])).collect();
        // File order must not matter.
        let mut seed = shuffle | 1;
        for i in (1..files.len()).rev() {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
            files.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        let loaded = order_migrations(files).unwrap();
        let g = &loaded.graph;
        let position = |id: &str| loaded.migrations.iter().position(|m| m.revision() == id).unwrap();
        // Order: every revision after its parents.
        for (i, ps) in parents.iter().enumerate() {
            for p in ps {
                let (parent, child) = (position(&format!("n{p}")), position(&format!("n{i}")));
                prop_assert!(parent < child, "a parent after its child");
            }
        }
        // Heads: revisions nothing names as a parent.
        let reference_heads: BTreeSet<usize> = (0..n).filter(|i| !parents.iter().any(|ps| ps.contains(i))).collect();
        prop_assert_eq!(g.names(g.heads()).into_iter().collect::<BTreeSet<_>>(), names(reference_heads.clone()));
        // Upgrade to every head from empty applies everything, rows end as the heads.
        let up = g.plan_upgrade(&[], &Target::Heads).unwrap();
        prop_assert_eq!(up.steps.len(), n);
        let mut rows = BTreeSet::new();
        let mut done = BTreeSet::new();
        for step in &up.steps {
            let id: usize = g.id(step.revision)[1..].parse().unwrap();
            prop_assert!(parents[id].iter().all(|p| done.contains(p)), "n{} before its parents", id);
            done.insert(id);
            apply_rows(&mut rows, &step.row_ops).map_err(TestCaseError::fail)?;
        }
        prop_assert_eq!(&rows, &names(reference_heads.clone()));
        // Upgrade to one revision applies exactly its ancestors.
        let t = target.index(n);
        let to_t = g.plan_upgrade(&[], &Target::Revision(format!("n{t}"))).unwrap();
        let applied: BTreeSet<usize> = to_t.steps.iter().map(|s| g.id(s.revision)[1..].parse().unwrap()).collect();
        prop_assert_eq!(&applied, &ancestors(&parents, &[t]));
        // Downgrade from all heads to that revision removes exactly what lies above it.
        let all: Vec<usize> = g.heads().to_vec();
        let down = g.plan_downgrade(&all, &Target::Revision(format!("n{t}"))).unwrap();
        let children: Vec<usize> = (0..n).filter(|c| parents[*c].contains(&t)).collect();
        let above: BTreeSet<usize> = (0..n).filter(|x| children.iter().any(|c| ancestors(&parents, &[*x]).contains(c))).collect();
        let removed: BTreeSet<usize> = down.steps.iter().map(|s| g.id(s.revision)[1..].parse().unwrap()).collect();
        prop_assert_eq!(&removed, &above.iter().copied().filter(|x| !ancestors(&parents, &[t]).contains(x)).collect::<BTreeSet<_>>());
        let mut rows = names(reference_heads);
        let mut gone = BTreeSet::new();
        for step in &down.steps {
            let id: usize = g.id(step.revision)[1..].parse().unwrap();
            prop_assert!((0..n).filter(|c| parents[*c].contains(&id)).all(|c| gone.contains(&c) || !removed.contains(&c)), "n{} reverted before its children", id);
            gone.insert(id);
            apply_rows(&mut rows, &step.row_ops).map_err(TestCaseError::fail)?;
        }
        let remaining: Vec<usize> = (0..n).filter(|x| !removed.contains(x)).collect();
        let reference_rows: BTreeSet<usize> = remaining.iter().copied().filter(|x| !remaining.iter().any(|y| parents[*y].contains(x))).collect();
        prop_assert_eq!(rows, names(reference_rows));
        // Downgrade to base empties the table.
        let base = g.plan_downgrade(&all, &Target::Base).unwrap();
        let mut rows = names(g.heads().iter().map(|&h| g.id(h)[1..].parse::<usize>().unwrap()));
        for step in &base.steps {
            apply_rows(&mut rows, &step.row_ops).map_err(TestCaseError::fail)?;
        }
        prop_assert!(rows.is_empty());
    }
}

/// One piece of a statement: a word, or something whose `;` must not end
/// the statement (a quoted string, an `E''` string, a quoted identifier, a
/// dollar-quoted body with or without a tag, a nested block comment).
fn fragment() -> impl Strategy<Value = String> {
    let text = "[a-z;'\\\\$ \n\u{e9}\u{416}]{0,12}";
    prop_oneof![
        "[a-z_][a-z0-9_]{0,8}".prop_map(|w| w),
        "[0-9]{1,4}".prop_map(|n| n),
        text.prop_map(|t| format!("'{}'", t.replace('\'', "''"))),
        text.prop_map(|t| format!("E'{}'", t.replace('\\', "\\\\").replace('\'', "\\'"))),
        text.prop_map(|t| format!("\"{}\"", t.replace('"', "\"\""))),
        (text, prop::sample::select(vec!["", "fn", "body_1"])).prop_map(|(t, tag)| {
            let t = t.replace('$', "");
            format!("${tag}${t}${tag}$")
        }),
        text.prop_map(|t| format!(
            "/* {} /* {} */ */",
            t.replace("*/", ""),
            t.replace("*/", "").replace("/*", "")
        )),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just(",".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn the_postgres_splitter_finds_exactly_the_statements_written(
        statements in prop::collection::vec(prop::collection::vec(fragment(), 1..8), 1..6),
        separators in prop::collection::vec(prop::sample::select(vec![";", ";\n", ";\n-- note; here\n", "; /* ; */ ", ";\n\n  "]), 6),
    ) {
        // Every statement starts with a word, as real SQL does.
        let written: Vec<String> = statements
            .iter()
            .map(|parts| format!("select {}", parts.join(" ")))
            .collect();
        let mut sql = String::new();
        for (i, statement) in written.iter().enumerate() {
            sql += statement;
            sql += separators[i];
        }
        let found: Vec<_> = crate::files::statements::split(&sql).collect();
        let texts: Vec<&str> = found.iter().map(|s| s.text).collect();
        prop_assert_eq!(&texts, &written.iter().map(|s| s.trim_end()).collect::<Vec<_>>());
        for statement in &found {
            prop_assert_eq!(&sql[statement.start..statement.start + statement.text.len()], statement.text);
            prop_assert!(statement.end <= sql.len() && statement.start + statement.text.len() <= statement.end);
        }
    }

    #[test]
    fn the_postgres_splitter_never_panics_and_stays_on_char_boundaries(text in "\\PC{0,200}") {
        for statement in crate::files::statements::split(&text) {
            prop_assert!(text.is_char_boundary(statement.start));
            prop_assert!(text[statement.start..].starts_with(statement.text));
        }
    }
}
