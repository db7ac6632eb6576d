//! `storage kv du` and `key list --tree`: keys and bytes per `/` level of a namespace, and its
//! largest keys, added up from the key listing (`GET /storage/kvs/{id}/keys`, every page); no
//! value is read. Memory follows the prefixes shown and `--top`, never the number of keys.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use anyhow::Context as _;
use serde::Serialize;

use crate::api::types::Key;
use crate::cli::DuArgs;
use crate::client::KeyPages;
use crate::commands::backend::Backend;
use crate::commands::target;
use crate::text::thousands;
use crate::ui::OutputFormat;
use crate::ui::printer::Printer;
use crate::ui::tables::table;

/// Keys and bytes under one prefix (or in the whole listing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Count {
    pub keys: u64,
    pub bytes: u64,
}

impl Count {
    fn add(&mut self, bytes: u64) {
        self.keys += 1;
        self.bytes = self.bytes.saturating_add(bytes);
    }
}

/// The running totals of a listing: per prefix down to `depth` levels after `prefix`, the
/// whole, and the `top` largest keys (a bounded heap: the smallest of them on top).
pub(crate) struct Totals {
    prefix_len: usize,
    depth: usize,
    top: usize,
    pub levels: BTreeMap<String, Count>,
    pub all: Count,
    largest: BinaryHeap<Reverse<(u64, Reverse<String>, String)>>,
}

impl Totals {
    pub(crate) fn new(prefix: Option<&str>, depth: usize, top: usize) -> Self {
        Self {
            prefix_len: prefix.map_or(0, str::len),
            depth,
            top,
            levels: BTreeMap::new(),
            all: Count::default(),
            largest: BinaryHeap::new(),
        }
    }

    /// Counts one listed key.
    pub(crate) fn add(&mut self, key: &Key) {
        self.all.add(key.size_bytes);
        let rest = key.key.get(self.prefix_len..).unwrap_or_default();
        let cuts = rest.match_indices('/').take(self.depth);
        for (at, _) in cuts {
            let level = &key.key[..self.prefix_len + at + 1];
            match self.levels.get_mut(level) {
                Some(count) => count.add(key.size_bytes),
                None => {
                    let mut count = Count::default();
                    count.add(key.size_bytes);
                    self.levels.insert(level.to_owned(), count);
                }
            }
        }
        if self.top == 0 {
            return;
        }
        let entry = (
            key.size_bytes,
            Reverse(key.key.clone()),
            key.updated_at.clone(),
        );
        if self.largest.len() < self.top {
            self.largest.push(Reverse(entry));
        } else if self
            .largest
            .peek()
            .is_some_and(|Reverse(least)| entry > *least)
        {
            self.largest.pop();
            self.largest.push(Reverse(entry));
        }
    }

    /// The largest keys, largest first (equal sizes in key order).
    pub(crate) fn largest(&self) -> Vec<Key> {
        let mut keys: Vec<_> = self.largest.iter().map(|Reverse(e)| e.clone()).collect();
        keys.sort_by(|a, b| b.cmp(a));
        keys.into_iter()
            .map(|(size_bytes, Reverse(key), updated_at)| Key {
                key,
                size_bytes,
                updated_at,
            })
            .collect()
    }
}

/// Adds up every page of the listing of `ns` under `prefix`.
pub(crate) async fn tally(
    backend: &Backend,
    id: &str,
    label: &str,
    mut totals: Totals,
    prefix: Option<&str>,
) -> anyhow::Result<Totals> {
    let mut pages = KeyPages::new(&backend.client, id, prefix, None);
    let failed = || format!("failed to list keys of KV namespace `{label}`");
    while let Some(keys) = pages.next().await.with_context(failed)? {
        keys.iter().for_each(|key| totals.add(key));
    }
    Ok(totals)
}

/// `storage kv du --json`: the whole answer as one document.
#[derive(Serialize)]
struct DuJson<'a> {
    namespace: &'a str,
    prefix: &'a str,
    keys: u64,
    bytes: u64,
    prefixes: Vec<Level<'a>>,
    largest: Vec<Key>,
}

/// One prefix of `du --json`, and a line of `du -o ndjson` (`"type": "prefix"`).
#[derive(Serialize)]
struct Level<'a> {
    prefix: &'a str,
    depth: usize,
    keys: u64,
    bytes: u64,
}

/// A line of `du -o ndjson`: what it is (`prefix`, `key` or `total`), then its fields.
#[derive(Serialize)]
struct Line<T: Serialize> {
    r#type: &'static str,
    #[serde(flatten)]
    item: T,
}

/// `storage kv du`: `GET /storage/kvs/{id}/keys`, every page, added up.
pub(crate) async fn du(backend: &Backend, args: DuArgs, printer: &Printer) -> anyhow::Result<()> {
    let levels = (args.depth.into(), args.top.into());
    added_up(
        backend,
        &args.namespace.spec,
        args.prefix.as_deref(),
        levels,
        printer,
    )
    .await
}

/// `key list --tree`: the same listing added up at every level, printed as a tree.
pub(crate) async fn tree(
    backend: &Backend,
    args: &crate::cli::KeyListArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let prefix = args.prefix.as_deref();
    added_up(
        backend,
        &args.namespace.spec,
        prefix,
        (usize::MAX, 0),
        printer,
    )
    .await
}

/// The namespace `spec` names, listed under `prefix` and added up to `depth` levels with the
/// `top` largest keys; a tree when every level is asked for.
async fn added_up(
    backend: &Backend,
    spec: &str,
    prefix: Option<&str>,
    (depth, top): (usize, usize),
    printer: &Printer,
) -> anyhow::Result<()> {
    let target = target::id(backend, spec).await?;
    let totals = Totals::new(prefix, depth, top);
    let totals = tally(backend, &target.id, &target.label, totals, prefix).await?;
    let as_tree = depth == usize::MAX;
    print(
        printer,
        &target.label,
        prefix.unwrap_or_default(),
        &totals,
        as_tree,
    )
}

fn print(
    printer: &Printer,
    label: &str,
    prefix: &str,
    totals: &Totals,
    as_tree: bool,
) -> anyhow::Result<()> {
    let levels: Vec<Level<'_>> = totals
        .levels
        .iter()
        .map(|(name, count)| Level {
            prefix: name,
            depth: name[prefix.len()..].matches('/').count(),
            keys: count.keys,
            bytes: count.bytes,
        })
        .collect();
    let largest = totals.largest();
    match printer.format() {
        OutputFormat::Json => printer.json_document(&DuJson {
            namespace: label,
            prefix,
            keys: totals.all.keys,
            bytes: totals.all.bytes,
            prefixes: levels,
            largest,
        })?,
        OutputFormat::Ndjson => {
            for level in levels {
                printer.json_line(&Line {
                    r#type: "prefix",
                    item: level,
                })?;
            }
            for key in largest {
                printer.json_line(&Line {
                    r#type: "key",
                    item: key,
                })?;
            }
            printer.json_line(&Line {
                r#type: "total",
                item: totals.all,
            })?;
        }
        OutputFormat::Ids => {
            let text: String = levels.iter().map(|l| format!("{}\n", l.prefix)).collect();
            printer.out(&text)?;
        }
        OutputFormat::Table if as_tree => printer.out(&tree_text(totals, prefix))?,
        OutputFormat::Table => print_table(printer, &levels, &largest, totals.all, prefix)?,
    }
    Ok(())
}

/// The prefixes with a total row, then the largest keys.
fn print_table(
    printer: &Printer,
    levels: &[Level<'_>],
    largest: &[Key],
    all: Count,
    prefix: &str,
) -> std::io::Result<()> {
    let mut rows: Vec<Vec<String>> = levels
        .iter()
        .map(|l| vec![l.prefix.to_owned(), thousands(l.keys), thousands(l.bytes)])
        .collect();
    let whole = if prefix.is_empty() {
        "(all)".to_owned()
    } else {
        format!("{prefix} (all)")
    };
    rows.push(vec![whole, thousands(all.keys), thousands(all.bytes)]);
    let mut text = table(&["PREFIX", "KEYS", "BYTES"], rows, &[1, 2]);
    if !largest.is_empty() {
        let rows = largest
            .iter()
            .map(|k| vec![k.key.clone(), thousands(k.size_bytes), k.updated_at.clone()])
            .collect();
        text.push('\n');
        text.push_str(&table(&["LARGEST", "BYTES", "UPDATED_AT"], rows, &[1]));
    }
    printer.out(&text)
}

/// `key list --tree`: each level indented under its parent, with its keys and bytes.
fn tree_text(totals: &Totals, prefix: &str) -> String {
    let mut rows = Vec::with_capacity(totals.levels.len() + 1);
    let whole = if prefix.is_empty() {
        ".".to_owned()
    } else {
        prefix.to_owned()
    };
    rows.push(vec![
        whole,
        thousands(totals.all.keys),
        thousands(totals.all.bytes),
    ]);
    for (name, count) in &totals.levels {
        let inner = &name[prefix.len()..name.len() - 1];
        let depth = inner.matches('/').count();
        let last = inner.rsplit('/').next().unwrap_or(inner);
        let label = format!("{}{last}/", "  ".repeat(depth + 1));
        rows.push(vec![label, thousands(count.keys), thousands(count.bytes)]);
    }
    table(&["LEVEL", "KEYS", "BYTES"], rows, &[1, 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, size: u64) -> Key {
        Key {
            key: name.to_owned(),
            size_bytes: size,
            updated_at: "t".to_owned(),
        }
    }

    #[test]
    fn levels_stop_at_the_depth_and_start_after_the_prefix() {
        let mut totals = Totals::new(Some("a/"), 2, 2);
        for (name, size) in [("a/b/c/d", 5), ("a/b/e", 3), ("a/f", 1), ("a/b/c/g", 7)] {
            totals.add(&key(name, size));
        }
        let levels: Vec<_> = totals
            .levels
            .iter()
            .map(|(k, c)| (k.as_str(), c.keys, c.bytes))
            .collect();
        assert_eq!(levels, [("a/b/", 3, 15), ("a/b/c/", 2, 12)]);
        assert_eq!(totals.all, Count { keys: 4, bytes: 16 });
        let top: Vec<_> = totals.largest().into_iter().map(|k| k.key).collect();
        assert_eq!(top, ["a/b/c/g", "a/b/c/d"]);
    }

    #[test]
    fn equal_sizes_keep_the_first_keys_in_key_order() {
        let mut totals = Totals::new(None, 1, 2);
        for name in ["c", "a", "b"] {
            totals.add(&key(name, 1));
        }
        let top: Vec<_> = totals.largest().into_iter().map(|k| k.key).collect();
        assert_eq!(top, ["a", "b"]);
    }
}
