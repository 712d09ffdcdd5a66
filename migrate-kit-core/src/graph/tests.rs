use super::plan::{Plan, RowOp};
use super::target::{Target, TargetError};
use super::Graph;
use crate::files::migration::Migration;
use crate::files::parse::parse_migration;
use crate::set::load::order_migrations;

/// A migration from `"rev: parent1 parent2 [label=x] [dep=y]"`.
fn migration(spec: &str) -> Migration {
    let (rev, rest) = spec.split_once(':').unwrap();
    let mut parents = Vec::new();
    let mut extra = String::new();
    for word in rest.split_whitespace() {
        if let Some(label) = word.strip_prefix("label=") {
            extra += &format!("-- branch_labels: {label}\n");
        } else if let Some(dep) = word.strip_prefix("dep=") {
            extra += &format!("-- depends_on: {dep}\n");
        } else {
            parents.push(word);
        }
    }
    let down = if parents.is_empty() {
        "none".to_owned()
    } else {
        parents.join(", ")
    };
    let text = format!(
        "-- revision: {rev}\n-- down_revision: {down}\n-- message: make {rev}\n{extra}\n-- migrate:upgrade\nCREATE TABLE t_{rev} (id INTEGER);\n\n-- migrate:downgrade\nDROP TABLE t_{rev};\n"
    );
    parse_migration(&format!("versions/{rev}.sql"), text.as_bytes()).unwrap()
}

fn graph(specs: &[&str]) -> (Vec<Migration>, Graph) {
    let loaded = order_migrations(specs.iter().map(|s| migration(s)).collect()).unwrap();
    (loaded.migrations, loaded.graph)
}

fn idx(g: &Graph, ids: &[&str]) -> Vec<usize> {
    ids.iter().map(|id| g.find(id).unwrap()).collect()
}

fn t(text: &str) -> Target {
    text.parse().unwrap()
}

/// A plan as `rev: op, op` lines.
fn show(g: &Graph, plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .map(|s| {
            let ops: Vec<String> = s
                .row_ops
                .iter()
                .map(|op| match op {
                    RowOp::Insert(r) => format!("insert {r}"),
                    RowOp::Delete(r) => format!("delete {r}"),
                    RowOp::Update { from, to } => format!("update {from}->{to}"),
                })
                .collect();
            format!("{}: {}", g.id(s.revision), ops.join(", "))
        })
        .collect()
}

const BRANCHED: &[&str] = &["aaa:", "b1:aaa", "c1:aaa", "b2:b1"];
const MERGED: &[&str] = &["aaa:", "b1:aaa", "c1:aaa", "b2:b1", "mmm:b2 c1"];

#[test]
fn a_chain_upgrades_with_one_insert_then_updates() {
    let (_, g) = graph(&["aaa:", "bbb:aaa", "ccc:bbb"]);
    let plan = g.plan_upgrade(&[], &Target::Head).unwrap();
    assert_eq!(
        show(&g, &plan),
        [
            "aaa: insert aaa",
            "bbb: update aaa->bbb",
            "ccc: update bbb->ccc"
        ]
    );
    assert_eq!(plan.heads_after, ["ccc"]);
    let down = g.plan_downgrade(&idx(&g, &["ccc"]), &Target::Base).unwrap();
    assert_eq!(
        show(&g, &down),
        [
            "ccc: update ccc->bbb",
            "bbb: update bbb->aaa",
            "aaa: delete aaa"
        ]
    );
    assert!(down.heads_after.is_empty());
}

#[test]
fn a_branch_point_inserts_a_row_for_the_second_branch() {
    let (_, g) = graph(BRANCHED);
    assert_eq!(g.names(g.heads()).len(), 2);
    assert!(matches!(
        g.plan_upgrade(&[], &Target::Head),
        Err(TargetError::MultipleHeads { .. })
    ));
    let plan = g.plan_upgrade(&[], &Target::Heads).unwrap();
    let lines = show(&g, &plan);
    assert_eq!(lines[0], "aaa: insert aaa");
    // One branch moves the base row; the other branch gets a row of its own.
    let c1 = lines.iter().position(|l| l.starts_with("c1")).unwrap();
    let b1 = lines.iter().position(|l| l.starts_with("b1")).unwrap();
    let b2 = lines.iter().position(|l| l.starts_with("b2")).unwrap();
    assert!(b1 < b2);
    if c1 < b1 {
        assert_eq!(lines[c1], "c1: update aaa->c1");
        assert_eq!(lines[b1], "b1: insert b1");
    } else {
        assert_eq!(lines[b1], "b1: update aaa->b1");
        assert_eq!(lines[c1], "c1: insert c1");
    }
    let mut after = plan.heads_after.clone();
    after.sort();
    assert_eq!(after, ["b2", "c1"]);
}

#[test]
fn upgrading_one_branch_leaves_the_other_alone() {
    let (_, g) = graph(BRANCHED);
    let plan = g.plan_upgrade(&idx(&g, &["c1"]), &t("b2")).unwrap();
    assert_eq!(show(&g, &plan), ["b1: insert b1", "b2: update b1->b2"]);
    assert_eq!(plan.heads_after, ["c1", "b2"]);
}

#[test]
fn a_merge_deletes_one_parent_row_and_updates_the_other() {
    let (_, g) = graph(MERGED);
    let plan = g
        .plan_upgrade(&idx(&g, &["b2", "c1"]), &Target::Head)
        .unwrap();
    assert_eq!(show(&g, &plan), ["mmm: delete b2, update c1->mmm"]);
    assert_eq!(plan.heads_after, ["mmm"]);
}

#[test]
fn a_downgrade_through_a_merge_unmerges() {
    let (_, g) = graph(MERGED);
    let current = idx(&g, &["mmm"]);
    let plan = g.plan_downgrade(&current, &t("b2")).unwrap();
    // Alembic's unmerge inserts the other parents' rows, then moves its own.
    assert_eq!(show(&g, &plan), ["mmm: insert b2, update mmm->c1"]);
    let mut after = plan.heads_after.clone();
    after.sort();
    assert_eq!(after, ["b2", "c1"]);
    // -1 from a merge point is ambiguous, not a guess.
    let error = g.plan_downgrade(&current, &t("-2")).unwrap_err();
    assert!(error.to_string().contains("splits into"), "{error}");
}

#[test]
fn downgrading_a_branch_to_its_branch_point_deletes_its_row() {
    let (_, g) = graph(BRANCHED);
    let current = idx(&g, &["b2", "c1"]);
    let plan = g.plan_downgrade(&current, &t("aaa")).unwrap();
    let lines = show(&g, &plan);
    assert_eq!(lines.len(), 3);
    assert!(lines.contains(&"b2: update b2->b1".to_owned()));
    // Whichever branch goes last moves its row to the branch point; the other is deleted.
    let last = lines.last().unwrap();
    assert!(
        last == "b1: update b1->aaa" || last == "c1: update c1->aaa",
        "{lines:?}"
    );
    assert_eq!(plan.heads_after, ["aaa"]);
    let only_b = g.plan_downgrade(&current, &t("b1")).unwrap();
    assert_eq!(show(&g, &only_b), ["b2: update b2->b1"]);
}

#[test]
fn relative_targets_step_along_unique_paths() {
    let (_, g) = graph(&["aaa:", "bbb:aaa", "ccc:bbb", "ddd:ccc"]);
    let at_b = idx(&g, &["bbb"]);
    assert_eq!(
        g.plan_upgrade(&at_b, &t("+1")).unwrap().heads_after,
        ["ccc"]
    );
    assert_eq!(
        g.plan_upgrade(&at_b, &t("+2")).unwrap().heads_after,
        ["ddd"]
    );
    assert_eq!(g.plan_upgrade(&[], &t("+1")).unwrap().heads_after, ["aaa"]);
    assert_eq!(
        g.plan_downgrade(&at_b, &t("-1")).unwrap().heads_after,
        ["aaa"]
    );
    assert!(g
        .plan_downgrade(&at_b, &t("-2"))
        .unwrap()
        .heads_after
        .is_empty());
    assert!(g.plan_downgrade(&at_b, &t("-3")).is_err());
    assert!(g.plan_upgrade(&at_b, &t("+3")).is_err());
    assert_eq!(
        g.plan_upgrade(&[], &t("aaa+2")).unwrap().heads_after,
        ["ccc"]
    );
    assert_eq!(
        g.plan_downgrade(&idx(&g, &["ddd"]), &t("ddd-2"))
            .unwrap()
            .heads_after,
        ["bbb"]
    );
}

#[test]
fn relative_steps_from_several_heads_are_refused() {
    let (_, g) = graph(BRANCHED);
    let error = g
        .plan_downgrade(&idx(&g, &["b2", "c1"]), &t("-1"))
        .unwrap_err();
    assert!(error.to_string().contains("several heads"), "{error}");
}

#[test]
fn prefixes_resolve_when_unique_and_list_candidates_otherwise() {
    let (_, g) = graph(&["abcd1:", "abcd2:abcd1", "xyzw9:abcd2"]);
    assert_eq!(
        g.resolve_revision("xyzw").map(|i| g.id(i).to_owned()),
        Ok("xyzw9".to_owned())
    );
    assert_eq!(
        g.resolve_revision("abcd"),
        Err(TargetError::Ambiguous {
            prefix: "abcd".into(),
            candidates: vec!["abcd1".into(), "abcd2".into()]
        })
    );
    // Alembic would take `xyz`; a prefix under 4 characters is refused,
    // naming what it matches (docs/cli.md, "Differences from Alembic").
    assert_eq!(
        g.resolve_revision("xyz"),
        Err(TargetError::ShortPrefix {
            prefix: "xyz".into(),
            candidates: vec!["xyzw9".into()]
        })
    );
    assert_eq!(
        g.resolve_revision("qq"),
        Err(TargetError::Unknown("qq".into()))
    );
    assert!(g
        .resolve_revision("nope")
        .unwrap_err()
        .to_string()
        .starts_with("Can't locate revision identified by 'nope'"));
}

#[test]
fn branch_labels_name_heads_and_bases() {
    let (_, g) = graph(&["aaa:", "b1:aaa label=billing", "b2:b1", "c1:aaa label=crm"]);
    let plan = g.plan_upgrade(&[], &t("billing@head")).unwrap();
    assert_eq!(plan.heads_after, ["b2"]);
    let all = g.plan_upgrade(&[], &Target::Heads).unwrap();
    let plan = g
        .plan_downgrade(
            &all.heads_after
                .iter()
                .map(|h| g.find(h).unwrap())
                .collect::<Vec<_>>(),
            &t("billing@base"),
        )
        .unwrap();
    // Alembic reverts the whole lineage the branch stands on, down to its
    // base, and what else stands on that base.
    let reverted: Vec<&str> = plan.steps.iter().map(|s| g.id(s.revision)).collect();
    assert_eq!(reverted, ["b2", "b1", "c1", "aaa"]);
    assert!(plan.heads_after.is_empty());
    let crm = g.plan_upgrade(&idx(&g, &["aaa"]), &t("crm@+1")).unwrap();
    assert_eq!(crm.heads_after, ["c1"]);
    assert!(matches!(t("nope@head"), Target::InBranch { .. }));
    assert!(matches!(
        g.plan_upgrade(&[], &t("nope@head")),
        Err(TargetError::UnknownLabel(_))
    ));
}

#[test]
fn depends_on_orders_across_branches() {
    let (_, g) = graph(&["aaa:", "bbb: label=other", "ccc:aaa dep=bbb"]);
    let plan = g.plan_upgrade(&[], &t("ccc")).unwrap();
    let order: Vec<&str> = plan.steps.iter().map(|s| g.id(s.revision)).collect();
    assert_eq!(order.last(), Some(&"ccc"));
    assert_eq!(plan.steps.len(), 3);
    assert_eq!(plan.heads_after, ["ccc"]);
}

#[test]
fn targets_parse_every_documented_form() {
    assert_eq!(t("head"), Target::Head);
    assert_eq!(t("+2").to_string(), "+2");
    assert_eq!(t("-1").to_string(), "-1");
    assert_eq!(t("ae10+3").to_string(), "ae10+3");
    assert_eq!(t("ae10-1").to_string(), "ae10-1");
    for (text, branch, symbol) in [
        ("crm@head", "crm", "head"),
        ("crm@base", "crm", "base"),
        ("crm@ae10", "crm", "ae10"),
    ] {
        let expected = Target::InBranch {
            branch: branch.into(),
            symbol: symbol.into(),
        };
        assert_eq!(t(text), expected);
        assert_eq!(expected.to_string(), text);
    }
    assert_eq!(t("ae10@-1").to_string(), "ae10@-1");
    assert_eq!(t("crm@ae10+2").to_string(), "crm@ae10+2");
    assert_eq!(t("crm@+1").to_string(), "crm@+1");
    for bad in ["", "a b", "+", "x@", "@head", "1+x", "--1"] {
        assert!(bad.parse::<Target>().is_err(), "{bad:?} parsed");
    }
}

#[test]
fn alembic_upgrade_to_an_applied_revision_does_nothing_and_succeeds() {
    let (_, g) = graph(&["001:", "002:001", "003:002"]);
    let plan = g.plan_upgrade(&idx(&g, &["003"]), &t("002")).unwrap();
    assert!(plan.steps.is_empty());
    assert_eq!(plan.heads_after, ["003"]);
    assert_eq!(plan.already_past, ["002"]);
    let at_head = g.plan_upgrade(&idx(&g, &["003"]), &Target::Head).unwrap();
    assert!(at_head.steps.is_empty() && at_head.already_past.is_empty());
}

#[test]
fn alembic_label_at_revision_resolves_inside_the_branch() {
    let (_, g) = graph(&[
        "aaa:",
        "bbbb1:aaa label=left",
        "cccc1:aaa label=right",
        "bbbb2:bbbb1",
    ]);
    let plan = g.plan_upgrade(&[], &t("left@bbbb2")).unwrap();
    assert_eq!(plan.heads_after, ["bbbb2"]);
    // A prefix is narrowed to the branch: `bbbb` alone would be ambiguous.
    assert!(matches!(
        g.plan_upgrade(&[], &t("bbbb")),
        Err(TargetError::Ambiguous { .. })
    ));
    assert!(matches!(
        g.plan_upgrade(&[], &t("right@bbbb2")),
        Err(TargetError::NotInBranch { .. })
    ));
}

#[test]
fn alembic_rev_at_minus_n_walks_down_the_branch_of_that_revision() {
    let (_, g) = graph(BRANCHED);
    let plan = g
        .plan_downgrade(&idx(&g, &["b2", "c1"]), &t("b2@-1"))
        .unwrap();
    let reverted: Vec<&str> = plan.steps.iter().map(|s| g.id(s.revision)).collect();
    assert_eq!(reverted, ["b2"]);
    assert_eq!(plan.heads_after, ["b1", "c1"]);
}

#[test]
fn alembic_label_at_plus_n_counts_migrations_along_the_path() {
    let (_, g) = graph(&["r:", "x:r label=lab1"]);
    let plan = g.plan_upgrade(&[], &t("lab1@+1")).unwrap();
    let applied: Vec<&str> = plan.steps.iter().map(|s| g.id(s.revision)).collect();
    assert_eq!(applied, ["r"]);
}

#[test]
fn alembic_label_at_base_removes_the_lineage_down_to_its_base() {
    let (_, g) = graph(&["r:", "a:r label=lab0", "b:r label=lab1"]);
    let plan = g.plan_downgrade(&idx(&g, &["a"]), &t("lab0@base")).unwrap();
    let reverted: Vec<&str> = plan.steps.iter().map(|s| g.id(s.revision)).collect();
    assert_eq!(reverted, ["a", "r"]);
    assert!(plan.heads_after.is_empty());
}

#[test]
fn alembic_depends_on_rows_follow_the_head_maintainer() {
    let (_, g) = graph(&["a1:", "a2:a1", "b1:", "b2:b1 dep=a2"]);
    // The merge of b1 and a2 into b2 collapses both rows, as Alembic 1.20 does.
    let plan = g.plan_upgrade(&[], &t("b2")).unwrap();
    assert_eq!(plan.heads_after, ["b2"]);
    // Down to a1: b2 unmerges into b1 and a2, then a2 moves to a1.
    let down = g.plan_downgrade(&idx(&g, &["b2"]), &t("a1")).unwrap();
    let mut rows = down.heads_after.clone();
    rows.sort();
    assert_eq!(rows, ["a1", "b1"]);
    // `heads` resolves to the heads nothing depends on.
    let stamp = g.plan_stamp(&[], &Target::Heads, false).unwrap();
    assert_eq!(g.names(&stamp.1), ["b2"]);
}

#[test]
fn alembic_shows_a_head_that_another_revision_depends_on_as_effective_head() {
    let (_, g) = graph(&["a1:", "a2:a1", "b1:", "b2:b1 dep=a2"]);
    let a2 = g.find("a2").unwrap();
    assert!(g.is_head(a2) && !g.is_real_head(a2));
    assert_eq!(g.names(&g.real_heads()), ["b2"]);
}

#[test]
fn alembic_stamp_minus_n_walks_down_from_every_head() {
    let (_, g) = graph(&["aaa:", "bbb:aaa", "ccc:bbb"]);
    let (_, rows) = g.plan_stamp(&[], &t("-2"), false).unwrap();
    assert_eq!(g.names(&rows), ["aaa"]);
}

#[test]
fn alembic_refuses_an_upgrade_from_rows_that_build_on_each_other() {
    let (_, g) = graph(&["aaa:", "bbb:aaa"]);
    assert!(matches!(
        g.plan_upgrade(&idx(&g, &["aaa", "bbb"]), &Target::Heads),
        Err(TargetError::Overlap { .. })
    ));
}

#[test]
fn alembic_labels_spread_below_a_single_line_down_to_a_branch_point() {
    // Alembic's _add_branches: the label reaches below its revision only
    // when everything above is one line, and stops at a branch point that
    // a dependency makes.
    let (_, g) = graph(&["root:", "mid:root", "lab:mid label=x", "top:lab"]);
    assert_eq!(g.labels(g.find("root").unwrap()), ["x"]);
    let (_, g) = graph(&["root:", "lab:root label=x", "dep:lab", "side:root dep=lab"]);
    assert!(g.labels(g.find("root").unwrap()).is_empty());
    let (_, g) = graph(&["root:", "lab:root label=x", "one:lab", "two:lab"]);
    assert!(g.labels(g.find("root").unwrap()).is_empty());
}

#[test]
fn stamp_moves_related_rows_and_inserts_unrelated_ones() {
    let (_, g) = graph(BRANCHED);
    let (ops, rows) = g.plan_stamp(&idx(&g, &["b1"]), &t("b2"), false).unwrap();
    assert_eq!(
        ops,
        [RowOp::Update {
            from: "b1".into(),
            to: "b2".into()
        }]
    );
    assert_eq!(g.names(&rows), ["b2"]);
    let (ops, _) = g.plan_stamp(&idx(&g, &["b1"]), &t("c1"), false).unwrap();
    assert_eq!(ops, [RowOp::Insert("c1".into())]);
    let (ops, rows) = g
        .plan_stamp(&idx(&g, &["b2", "c1"]), &Target::Base, false)
        .unwrap();
    assert_eq!(ops.len(), 2);
    assert!(rows.is_empty());
}

#[test]
fn a_hundred_thousand_long_chain_needs_no_recursion() {
    let n = 100_000;
    let migrations: Vec<Migration> = (0..n)
        .map(|i| {
            let parent = if i == 0 {
                String::new()
            } else {
                format!("r{}", i - 1)
            };
            migration(&format!("r{i}:{parent}"))
        })
        .collect();
    let loaded = order_migrations(migrations).unwrap();
    let g = &loaded.graph;
    assert_eq!(g.names(g.heads()), [format!("r{}", n - 1)]);
    let plan = g.plan_upgrade(&[], &Target::Head).unwrap();
    assert_eq!(plan.steps.len(), n);
    assert_eq!(g.id(plan.steps[0].revision), "r0");
    let down = g.plan_downgrade(g.heads(), &Target::Base).unwrap();
    assert_eq!(down.steps.len(), n);
    assert_eq!(g.all_current(g.heads()), g.heads());
    let one_down = g.plan_downgrade(g.heads(), &t("-1")).unwrap();
    assert_eq!(one_down.steps.len(), 1);
}

#[test]
fn cycles_are_named_with_their_revisions() {
    let error = order_migrations(vec![
        migration("aaa:"),
        migration("xxx:zzz"),
        migration("yyy:xxx"),
        migration("zzz:yyy"),
    ])
    .unwrap_err();
    let text = error.iter().map(ToString::to_string).collect::<String>();
    for id in ["xxx", "yyy", "zzz"] {
        assert!(text.contains(&format!("`{id}`")), "{text}");
    }
    assert!(!text.contains("`aaa`"));
}

#[test]
fn alembic_keeps_the_row_of_a_redundant_merge_parent_on_downgrade() {
    // n3 merges n0 and n1 although n1 already stands on n0 (a hand-written
    // header; `merge` never writes one). With a second root applied,
    // Alembic 1.20 leaves rows n0 and n1; without it, n1 alone.
    let (_, g) = graph(&["n0:", "n1:n0", "n2:n1", "n3:n0 n1", "n4:"]);
    let plan = g
        .plan_downgrade(&idx(&g, &["n2", "n3", "n4"]), &t("n1"))
        .unwrap();
    let mut rows = plan.heads_after.clone();
    rows.sort();
    assert_eq!(rows, ["n0", "n1", "n4"]);
    let plan = g.plan_downgrade(&idx(&g, &["n2", "n3"]), &t("n1")).unwrap();
    assert_eq!(plan.heads_after, ["n1"]);
}

/// Every target error's message, one value per variant, so that a wording
/// change shows up as a diff here.
#[test]
fn target_error_messages() {
    let heads = vec!["b2".to_owned(), "c1".to_owned()];
    let cases: Vec<(TargetError, &str)> = vec![
        (TargetError::Syntax("a b".into()), "invalid target `a b`; use head, heads, base, a revision or prefix, +N, -N, REV+N, REV-N, LABEL@head, LABEL@base, LABEL@+N, LABEL@-N, LABEL@REV, REV@+N or REV@-N"),
        (TargetError::Unknown("zz9".into()), "Can't locate revision identified by 'zz9'; `migrate history` lists the revisions"),
        (TargetError::Ambiguous { prefix: "abcd".into(), candidates: vec!["abcd1".into(), "abcd2".into()] }, "revision prefix `abcd` is ambiguous; it matches abcd1, abcd2"),
        (TargetError::ShortPrefix { prefix: "ab".into(), candidates: vec!["abcd1".into()] }, "revision prefix `ab` is shorter than 4 characters; write at least 4 (it matches abcd1)"),
        (TargetError::MultipleHeads { argument: "head".into(), heads: heads.clone() }, "Multiple head revisions are present for given argument 'head'; please specify a specific target revision, '<branchname>@head' to narrow to a specific head, or 'heads' for all heads (heads: b2, c1); to join them run `migrate merge heads -m \"merge\"`"),
        (TargetError::Relative { target: "+3".into(), reason: "the walk runs past the head of that path".into() }, "relative target `+3` cannot be reached: the walk runs past the head of that path"),
        (TargetError::UnknownLabel("crm".into()), "no branch is labelled `crm`; `migrate branches` lists the branches"),
        (TargetError::NotInBranch { revision: "b2".into(), branch: "crm".into() }, "Revision b2 is not a member of branch 'crm'"),
        (TargetError::Overlap { revision: "b2".into(), others: "b1".into() }, "Requested revision b2 overlaps with other requested revisions b1"),
        (TargetError::NothingToDrop { target: "c1".into(), current: heads.clone() }, "Destination c1 is not a valid downgrade target from current head(s) (b2, c1): nothing to drop"),
        (TargetError::VersionRows { step: "upgrade b1 -> b2".into(), current: vec![], reason: "b1 is not a row".into() }, "the alembic_version rows (base) cannot record upgrade b1 -> b2: b1 is not a row"),
        (TargetError::WrongDirection { target: "lab@base".into(), direction: "downgrade", current: heads, reason: "it is not on the branch of the current heads".into() }, "`lab@base` is not a valid downgrade target from the current heads (b2, c1): it is not on the branch of the current heads"),
    ];
    for (error, message) in cases {
        assert_eq!(error.to_string(), message);
    }
}
