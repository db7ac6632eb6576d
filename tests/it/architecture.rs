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

/// The lines of a source file before its unit tests (`#[cfg(test)]` at the left margin).
fn code_lines(text: &str) -> Vec<&str> {
    text.lines()
        .take_while(|line| !line.starts_with("#[cfg(test)]"))
        .collect()
}

const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 80;

#[test]
fn every_source_file_does_one_job_in_under_600_lines() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    let long: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let text = std::fs::read_to_string(file).expect("read");
            let lines = code_lines(&text).len();
            (lines > MAX_FILE_LINES).then(|| {
                format!(
                    "src/{}: {lines} lines before its tests (at most {MAX_FILE_LINES})",
                    file.strip_prefix(&root).expect("under src").display()
                )
            })
        })
        .collect();
    assert!(long.is_empty(), "{}", long.join("\n"));
}

/// Every function in `lines` as (name, first line index, length in lines), counted from its
/// `fn` line to the closing brace at the same indentation (rustfmt's layout).
fn functions(lines: &[&str]) -> Vec<(String, usize, usize)> {
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let mut words = trimmed.split_whitespace().peekable();
        while words.peek().is_some_and(|w| {
            w.starts_with("pub") || ["async", "const", "unsafe", "extern", "\"C\""].contains(w)
        }) {
            words.next();
        }
        if words.next() != Some("fn") {
            continue;
        }
        let name: String = words
            .next()
            .unwrap_or("")
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // A declaration without a body (a trait's) ends in `;` before any `{`.
        let Some(open) = (start..lines.len()).find(|&i| {
            let l = lines[i].trim_end();
            l.ends_with('{') || l.ends_with(';') || l.ends_with('}')
        }) else {
            continue;
        };
        if lines[open].trim_end().ends_with(';') {
            continue;
        }
        let close = if lines[open].trim_end().ends_with('}') {
            Some(open)
        } else {
            (open..lines.len()).find(|&i| lines[i] == format!("{indent}}}"))
        };
        if let Some(close) = close {
            found.push((name, start, close - start + 1));
        }
    }
    found
}

#[test]
fn no_function_runs_over_80_lines() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    let mut long = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        for (name, start, length) in functions(&code_lines(&text)) {
            if length > MAX_FN_LINES {
                long.push(format!(
                    "src/{}:{}: `{name}` is {length} lines (at most {MAX_FN_LINES})",
                    file.strip_prefix(&root).expect("under src").display(),
                    start + 1
                ));
            }
        }
    }
    assert!(long.is_empty(), "{}", long.join("\n"));
}

#[test]
fn the_function_counter_finds_bodies_and_skips_declarations() {
    let source = [
        "trait T {",
        "    fn declared(&self);",
        "}",
        "pub(crate) async fn two(",
        "    a: u8,",
        ") -> u8 {",
        "    a",
        "}",
        "impl T for () {",
        "    fn declared(&self) {}",
        "}",
    ];
    assert_eq!(
        functions(&source),
        [("two".to_owned(), 3, 5), ("declared".to_owned(), 9, 1)]
    );
}

/// Every module path a file names: `crate::a::b::{c, d::e}` gives `a::b::c` and `a::b::d::e`;
/// `super::x` is resolved against `module`, the file's own path.
fn module_paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    fn segments(rest: &str) -> (Vec<String>, &str) {
        let mut path = Vec::new();
        let mut rest = rest;
        loop {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if word.is_empty() {
                return (path, rest);
            }
            rest = &rest[word.len()..];
            path.push(word);
            match rest.trim_start().strip_prefix("::") {
                Some(after) => rest = after.trim_start(),
                None => return (path, rest),
            }
        }
    }
    fn expand(rest: &str, prefix: Vec<String>, found: &mut Vec<Vec<String>>) {
        let (path, after) = segments(rest);
        let mut full = prefix;
        full.extend(path);
        if let Some(group) = after.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            for (at, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        expand(group[start..at].trim(), full.clone(), found);
                        return;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(group[start..at].trim(), full.clone(), found);
                        start = at + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.push(full);
        }
    }
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        if code[..at]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        expand(&code[at + "crate::".len()..], Vec::new(), &mut found);
    }
    for (at, _) in code.match_indices("super::") {
        if code[..at]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
        {
            continue;
        }
        let parent = module[..module.len().saturating_sub(1)].to_vec();
        expand(&code[at + "super::".len()..], parent, &mut found);
    }
    found
}

#[test]
fn no_two_modules_import_each_other() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    // Each file as its module path: src/commands/sync/mod.rs is `commands::sync`.
    let module_of = |file: &Path| -> Vec<String> {
        let relative = file.strip_prefix(&root).expect("under src");
        let mut parts: Vec<String> = relative
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts
            .last()
            .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
        {
            parts.pop();
        }
        parts
    };
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(f)).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for file in &files {
        let from = module_of(file);
        let text = std::fs::read_to_string(file).expect("read");
        let code: String = code_lines(&text)
            .iter()
            .map(|line| line.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        for path in module_paths(&code, &from) {
            // The longest prefix of the path that is a module file.
            let Some(to) = (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p))
            else {
                continue;
            };
            // A parent and its child (`mod.rs` and what it declares) belong together.
            if to.starts_with(&from) || from.starts_with(&to) {
                continue;
            }
            edges.entry(from.clone()).or_default().insert(to);
        }
    }
    // Any module that can reach itself along the edges is in a circle.
    let mut circles = BTreeSet::new();
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&Vec<String>> = edges[start].iter().collect();
        while let Some(next) = stack.pop() {
            if next == start {
                circles.insert(start.join("::"));
                break;
            }
            if seen.insert(next.clone()) {
                stack.extend(edges.get(next).into_iter().flatten());
            }
        }
    }
    assert!(
        circles.is_empty(),
        "modules in an import circle: {}",
        circles.into_iter().collect::<Vec<_>>().join(", ")
    );
}

#[test]
fn the_circle_finder_reads_groups_and_super() {
    let here = vec!["commands".to_owned(), "backend".to_owned()];
    let names = |paths: Vec<Vec<String>>| -> Vec<String> {
        paths.into_iter().map(|p| p.join("::")).collect()
    };
    assert_eq!(
        names(module_paths(
            "use crate::{ui::Printer, local::{atomic, project::Found}};",
            &here
        )),
        ["ui::Printer", "local::atomic", "local::project::Found"]
    );
    assert_eq!(
        names(module_paths("use super::target::{self, Target};", &here)),
        ["commands::target::self", "commands::target::Target"]
    );
}
