//! What `key list` prints, page by page, whichever order the keys come in: the streamed
//! listing and the sorted one (`key_sorted`) both print through it.

use std::sync::Arc;

use serde::Serialize;

use crate::api::types::Key;
use crate::emulator::store::Store;
use crate::ui::OutputFormat;
use crate::ui::printer::Printer;
use crate::ui::tables::{KnownDetail, StreamedList, key_rows, long_key_rows};

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
    page_keys: Vec<Key>,
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
                    ttl: detail.expires_ms.map_or("-".into(), |at| {
                        let left = crate::bulk::sync::secs_left(at, now);
                        crate::text::duration(std::time::Duration::from_secs(left))
                    }),
                    content_type: detail.content_type,
                },
                None => KnownDetail {
                    ttl: "-".into(),
                    content_type: "-".into(),
                },
            })
            .collect();
        Ok(Some(known))
    }

    pub(crate) fn page(&mut self, keys: Vec<Key>) -> anyhow::Result<()> {
        let printer = self.printer;
        self.listed_any |= !keys.is_empty();
        match printer.format() {
            OutputFormat::Table if keys.is_empty() => {}
            OutputFormat::Table if self.long => {
                let known = self.known(&keys)?;
                printer.out(&long_key_rows(&keys, known.as_deref()))?;
            }
            OutputFormat::Table => printer.out(&key_rows(&keys))?,
            OutputFormat::Json if self.paged => self.page_keys.extend(keys),
            _ => self.list.page(printer, &keys, |k| &k.key)?,
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
    keys: &'a [Key],
    cursor: Option<&'a str>,
}

/// The last line of `key list --limit N -o ndjson`.
#[derive(Serialize)]
struct NextCursor<'a> {
    cursor: Option<&'a str>,
}
