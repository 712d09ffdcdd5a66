//! The layers of `migrate-kit-core` (docs/DESIGN.md §2), the command line on
//! top, import only downwards, and no two files import each other through
//! any path. Read from the source: every `crate::...` and `super::...` path
//! outside comments and a file's test module is an import of the file it
//! names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each layer with the layers it may import (besides itself).
const LAYERS: [(&str, &[&str]); 12] = [
    ("hint", &[]),
    ("events", &[]),
    ("message", &[]),
    ("files", &["hint"]),
    ("graph", &["hint", "files"]),
    ("set", &["hint", "message", "files", "graph"]),
    ("model", &["hint", "files", "graph"]),
    (
        "backend",
        &["hint", "events", "files", "graph", "model", "error"],
    ),
    (
        "run",
        &[
            "hint", "events", "message", "files", "graph", "set", "model", "backend", "error",
        ],
    ),
    (
        "tools",
        &[
            "hint", "events", "message", "files", "graph", "set", "model", "backend", "run",
            "error",
        ],
    ),
    (
        "error",
        &["hint", "message", "files", "graph", "set", "model"],
    ),
    (
        "cli",
        &[
            "hint", "events", "files", "graph", "set", "model", "backend", "run", "tools", "error",
        ],
    ),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every source file, as a path relative to `src/` without `.rs`
/// (`backend/sqlite/lock`, `backend/mod`).
fn modules(root: &Path, dir: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            modules(root, &path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).unwrap().with_extension("");
            found.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The code of a file without its comments and its `#[cfg(test)]` module.
fn code_of(root: &Path, module: &str) -> String {
    let text = std::fs::read_to_string(root.join(format!("{module}.rs"))).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => &text[..],
    };
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module path (`["backend", "sqlite", "lock"]`) of a file.
fn module_path(module: &str) -> Vec<String> {
    let mut parts: Vec<String> = module.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The file a module path names: the longest prefix that is a file.
fn file_of(path: &[String], files: &BTreeSet<String>) -> Option<String> {
    (1..=path.len()).rev().find_map(|n| {
        let prefix = path[..n].join("/");
        [prefix.clone(), format!("{prefix}/mod")]
            .into_iter()
            .find(|candidate| files.contains(candidate))
    })
}

/// The files `module` imports, resolved from `crate::` and `super::` paths.
fn imports(root: &Path, module: &str, files: &BTreeSet<String>) -> BTreeSet<String> {
    let code = code_of(root, module);
    let here = module_path(module);
    let mut found = BTreeSet::new();
    let words = |rest: &str| -> Vec<String> {
        rest.split("::")
            .map(|part| {
                part.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|part| !part.is_empty() && part.chars().next().unwrap().is_lowercase())
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        let path = words(&code[at + "crate::".len()..]);
        found.extend(file_of(&path, files));
    }
    for (at, _) in code.match_indices("super::") {
        if code[..at].ends_with("::") {
            continue;
        }
        // `super` of a `mod.rs` is the folder's parent; of another file, its folder.
        let mut path = here.clone();
        path.pop();
        path.extend(words(&code[at + "super::".len()..]));
        found.extend(file_of(&path, files));
    }
    found.remove(module);
    found
}

fn layer_of(module: &str) -> Option<&'static str> {
    let first = module.split('/').next()?;
    LAYERS
        .iter()
        .map(|(layer, _)| *layer)
        .find(|layer| *layer == first)
}

/// Every file of the crate at `root` with the files it imports; the crate
/// root and the test modules (`graph/tests.rs`, `tests/`) sit outside the
/// layers.
fn import_graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut list = Vec::new();
    modules(root, root, &mut list);
    let files: BTreeSet<String> = list.iter().cloned().collect();
    files
        .iter()
        .filter(|m| {
            !["lib", "main"].contains(&m.as_str())
                && !m.ends_with("/tests")
                && !m.starts_with("tests/")
        })
        .map(|m| (m.clone(), imports(root, m, &files)))
        .collect()
}

/// Each cycle a depth-first search meets, as `a -> b -> a`.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        cycles: &mut Vec<String>,
    ) {
        if let Some(at) = stack.iter().position(|n| n == node) {
            cycles.push(format!("{} -> {node}", stack[at..].join(" -> ")));
            return;
        }
        if !done.insert(node.to_owned()) {
            return;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, stack, done, cycles);
        }
        stack.pop();
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        visit(module, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

#[test]
fn each_layer_imports_only_downwards() {
    let mut upward = Vec::new();
    for (module, targets) in &import_graph(&src()) {
        let Some(layer) = layer_of(module) else {
            upward.push(format!("{module}: in no layer"));
            continue;
        };
        let allowed = LAYERS.iter().find(|(l, _)| *l == layer).unwrap().1;
        for target in targets {
            let target_layer = layer_of(target).unwrap_or("?");
            if target_layer != layer && !allowed.contains(&target_layer) {
                upward.push(format!(
                    "{module} ({layer}) imports {target} ({target_layer})"
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports against the layers:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_two_files_import_each_other() {
    let found = cycles(&import_graph(&src()));
    assert!(
        found.is_empty(),
        "files that import each other:\n{}",
        found.join("\n")
    );
}
