//! What `key list` prints, page by page, whichever order the keys come in: the streamed
//! listing and the sorted one (`key_sorted`) both print through it.

use std::sync::Arc;

use serde::Serialize;

use crate::api::types::Key;
use crate::emulator::store::Store;
use crate::ui::OutputFormat;
use crate::ui::printer::Printer;
use crate::ui::tables::{KnownDetail, LongKey, StreamedList, key_rows, long_key_rows};

/// On a table, says that the listing was empty.
pub(crate) fn say_none(printer: &Printer, label: &str, prefix: Option<&str>) {
    if printer.format() != OutputFormat::Table {
        return;
    }
    match prefix {
        Some(prefix) => {
            printer.status(&format!(
                "No key in namespace `{label}` starts with `{prefix}`"
            ));
        }
        None => printer.status(&format!("No keys in namespace `{label}`")),
    }
}

/// The output of `key list`, page by page: rows, lines or one JSON array as the pages come;
/// with `--limit` (`paged`), one JSON document with the cursor to continue with at the end.
pub(crate) struct KeyListing<'a> {
    printer: &'a Printer,
    paged: bool,
    long: bool,
    list: StreamedList,
    /// With `--limit` and `--json`, the page's keys, printed as one document at the end.
    page_keys: Vec<serde_json::Value>,
    listed_any: bool,
    /// With `--long` on local state: its store and the namespace's id, to read what a
    /// listing cannot say (time left, content type).
    local: Option<(Arc<Store>, String)>,
}

impl<'a> KeyListing<'a> {
    pub(crate) fn new(printer: &'a Printer, paged: bool, long: bool) -> std::io::Result<Self> {
        // With `--limit` a script pages: the JSON carries the cursor to continue with.
        Ok(Self {
            printer,
            paged,
            long,
            list: StreamedList::new(printer, !paged)?,
            page_keys: Vec::new(),
            listed_any: false,
            local: None,
        })
    }

    /// With `--long`, reads each key's time left and content type from local state's `store`
    /// (namespace `id`), which knows them without reading the values; the service's listing
    /// does not carry them.
    pub(crate) fn knowing(mut self, store: Option<&Arc<Store>>, id: &str) -> Self {
        if self.long {
            self.local = store.map(|store| (Arc::clone(store), id.to_owned()));
        }
        self
    }

    /// What local state knows of `keys`, in their order.
    fn known(&self, keys: &[Key]) -> anyhow::Result<Option<Vec<KnownDetail>>> {
        let Some((store, id)) = &self.local else {
            return Ok(None);
        };
        let now = crate::emulator::now_ms();
        let names: Vec<&str> = keys.iter().map(|k| k.key.as_str()).collect();
        let details = store
            .details(id, &names, now)
            .map_err(|err| anyhow::anyhow!("cannot read local state: {err}"))?;
        let known = details
            .into_iter()
            .map(|detail| match detail {
                Some(detail) => KnownDetail {
                    ttl_secs: detail
                        .expires_ms
                        .map(|at| crate::bulk::sync::secs_left(at, now)),
                    content_type: Some(detail.content_type),
                },
                None => KnownDetail {
                    ttl_secs: None,
                    content_type: None,
                },
            })
            .collect();
        Ok(Some(known))
    }

    pub(crate) fn page(&mut self, keys: Vec<Key>) -> anyhow::Result<()> {
        let printer = self.printer;
        self.listed_any |= !keys.is_empty();
        if keys.is_empty() {
            return Ok(());
        }
        let known = self.known(&keys)?;
        match (printer.format(), known) {
            (OutputFormat::Table, known) if self.long => {
                printer.out(&long_key_rows(&keys, known.as_deref()))?;
            }
            (OutputFormat::Table, _) => printer.out(&key_rows(&keys))?,
            (_, Some(known)) => {
                let long: Vec<LongKey> = keys
                    .iter()
                    .zip(&known)
                    .map(|(key, known)| LongKey { key, known })
                    .collect();
                self.json_page(&long, |k| &k.key.key)?;
            }
            (_, None) => self.json_page(&keys, |k| &k.key)?,
        }
        Ok(())
    }

    /// One page as JSON: kept for the paged document, else streamed.
    fn json_page<T: Serialize>(
        &mut self,
        items: &[T],
        id: impl Fn(&T) -> &str,
    ) -> anyhow::Result<()> {
        if self.paged && self.printer.format() == OutputFormat::Json {
            for item in items {
                self.page_keys.push(serde_json::to_value(item)?);
            }
        } else {
            self.list.page(self.printer, items, id)?;
        }
        Ok(())
    }

    /// Closes the JSON, with `next_cursor` when paged; whether any key was listed.
    pub(crate) fn finish(self, next_cursor: Option<&str>) -> anyhow::Result<bool> {
        self.list.finish()?;
        if self.paged {
            match self.printer.format() {
                OutputFormat::Json => self.printer.json_document(&PagedKeys {
                    keys: &self.page_keys,
                    cursor: next_cursor,
                })?,
                OutputFormat::Ndjson => self.printer.json_line(&NextCursor {
                    cursor: next_cursor,
                })?,
                _ => {}
            }
        }
        Ok(self.listed_any)
    }
}

/// `key list --limit N -o json`: one page and where the next one starts (`null` at the end).
#[derive(Serialize)]
struct PagedKeys<'a> {
    keys: &'a [serde_json::Value],
    cursor: Option<&'a str>,
}

/// The last line of `key list --limit N -o ndjson`.
#[derive(Serialize)]
struct NextCursor<'a> {
    cursor: Option<&'a str>,
}
