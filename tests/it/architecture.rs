//! The layering of `src/` (docs/architecture.md): each top-level folder is one layer, and a
//! module may only import the layers below its own. This reads every source file and fails
//! on an import against the arrows, naming the file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layer → the layers it may import. Imports within a layer are always allowed.
const ALLOWED: &[(&str, &[&str])] = &[
    ("cli", &["ui", "local", "api", "env", "text"]),
    (
        "commands",
        &[
            "cli", "bulk", "client", "local", "ui", "emulator", "explorer", "api", "error", "env",
            "signals", "text",
        ],
    ),
    (
        "bulk",
        &[
            "client", "local", "ui", "api", "error", "env", "signals", "text",
        ],
    ),
    ("explorer", &["client", "api"]),
    ("client", &["api", "error", "env", "text"]),
    ("local", &["api", "error", "env", "text"]),
    ("ui", &["api", "error", "env", "text"]),
    ("emulator", &["api", "env", "text"]),
    ("api", &[]),
    ("error", &[]),
    ("env", &[]),
    ("signals", &[]),
    ("text", &[]),
];

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The layer of a file: its folder under `src/`, or its stem for a file directly in `src/`.
/// `None` for the crate root (`lib.rs`, `main.rs`), which may use everything.
fn layer_of(relative: &Path) -> Option<String> {
    let mut parts = relative.components();
    let first = parts.next()?.as_os_str().to_string_lossy().into_owned();
    if parts.next().is_some() {
        return Some(first);
    }
    let stem = first.trim_end_matches(".rs").to_owned();
    (stem != "lib" && stem != "main").then_some(stem)
}

/// Every top-level module named after `crate::` in `line`, including the heads of a
/// `crate::{a::b, c}` group.
fn crate_paths(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        // `telnyx_edge_crate::` or `mycrate::` are other paths.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.push(head(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            found.push(head(&item));
        } else {
            found.push(head(rest));
        }
    }
    found.retain(|name| !name.is_empty());
    found
}

fn head(path: &str) -> String {
    path.trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

#[test]
fn imports_point_only_down_the_layers() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, BTreeSet<&str>> = ALLOWED
        .iter()
        .map(|(layer, deps)| (*layer, deps.iter().copied().collect()))
        .collect();
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    let mut violations = Vec::new();
    let mut layers_seen = BTreeSet::new();
    for file in &files {
        let relative = file.strip_prefix(&root).expect("under src");
        let Some(layer) = layer_of(relative) else {
            continue;
        };
        layers_seen.insert(layer.clone());
        let Some(may) = allowed.get(layer.as_str()) else {
            violations.push(format!(
                "src/{}: layer `{layer}` is not in docs/architecture.md (and ALLOWED here)",
                relative.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read");
        for (index, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("super::super") {
                violations.push(format!(
                    "src/{}:{}: `super::super` hides which layer is used; name it with `crate::`",
                    relative.display(),
                    index + 1
                ));
            }
            for target in crate_paths(code) {
                if target != layer && !may.contains(target.as_str()) {
                    violations.push(format!(
                        "src/{}:{}: `{layer}` imports `{target}`, against the arrows",
                        relative.display(),
                        index + 1
                    ));
                }
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    let declared: BTreeSet<String> = ALLOWED.iter().map(|(l, _)| (*l).to_owned()).collect();
    assert_eq!(
        layers_seen, declared,
        "every declared layer exists, and only those"
    );
}

#[test]
fn the_checker_sees_grouped_and_nested_imports() {
    assert_eq!(
        crate_paths("use crate::client::{ApiError, Client};"),
        ["client"]
    );
    assert_eq!(
        crate_paths("use crate::{ui::Printer, local::{atomic, project}};"),
        ["ui", "local"]
    );
    assert_eq!(
        crate_paths("let x = crate::api::rules::key(k) && crate::env::NO_COLOR;"),
        ["api", "env"]
    );
    assert_eq!(crate_paths("other_crate::thing"), Vec::<String>::new());
}

#[test]
fn architecture_md_lists_every_layer() {
    let doc = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md"),
    )
    .expect("docs/architecture.md");
    for (layer, deps) in ALLOWED {
        let row = doc
            .lines()
            .find(|line| {
                line.starts_with(&format!("| `{layer}/`"))
                    || line.starts_with(&format!("| `{layer}.rs`"))
            })
            .unwrap_or_else(|| panic!("docs/architecture.md has no row for `{layer}`"));
        let listed = row.rsplit('|').nth(1).unwrap_or("").trim();
        let expected = if deps.is_empty() {
            "nothing".to_owned()
        } else {
            deps.iter()
                .map(|d| format!("`{d}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        assert_eq!(
            listed, expected,
            "the arrows of `{layer}` in docs/architecture.md"
        );
    }
}

#[test]
fn only_main_ends_the_process_and_only_signals_listens_for_signals() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut found = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&root).expect("under src");
        let text = std::fs::read_to_string(file).expect("read");
        for (index, line) in text.lines().enumerate() {
            let ends = line.contains("process::exit") && relative != Path::new("main.rs");
            let listens = line.contains("tokio::signal") && relative != Path::new("signals.rs");
            if ends || listens {
                found.push(format!(
                    "src/{}:{}: {}",
                    relative.display(),
                    index + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
