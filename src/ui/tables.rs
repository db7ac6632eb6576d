//! How results look: aligned tables for people, the API's JSON shapes for scripts.

use std::io::{self, Write};

use comfy_table::{CellAlignment, ColumnConstraint, Table, presets};
use serde::Serialize;

use crate::api::types::{Key, Namespace};
use crate::ui::{OutputFormat, Printer};

/// Columns separated by two spaces, no borders, no trailing blanks.
pub(crate) fn table(headers: &[&str], rows: Vec<Vec<String>>, right_aligned: &[usize]) -> String {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.force_no_tty();
    table.set_header(headers.iter().copied());
    for row in rows {
        table.add_row(row);
    }
    let last = headers.len().saturating_sub(1);
    for (index, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if index == last { 0 } else { 2 }));
        column.set_constraint(ColumnConstraint::ContentWidth);
        if right_aligned.contains(&index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut text: String = table
        .lines()
        .map(|line| line.trim_end().to_owned() + "\n")
        .collect();
    if text.is_empty() {
        text.push('\n');
    }
    text
}

pub(crate) fn namespace_rows(namespaces: &[Namespace]) -> String {
    table(
        &["ID", "NAME", "STATUS", "CREATED_AT"],
        namespaces
            .iter()
            .map(|ns| {
                vec![
                    ns.id.clone(),
                    ns.name.clone(),
                    ns.status.to_string(),
                    ns.created_at.clone(),
                ]
            })
            .collect(),
        &[],
    )
}

pub(crate) fn key_rows(keys: &[Key]) -> String {
    table(
        &["KEY", "SIZE", "UPDATED_AT"],
        keys.iter()
            .map(|k| {
                vec![
                    k.key.clone(),
                    k.size_bytes.to_string(),
                    k.updated_at.clone(),
                ]
            })
            .collect(),
        &[1],
    )
}

/// `key list --long`: the size for people beside the exact bytes.
///
/// With `known` (local state, which can tell), two more columns: the time left and the content
/// type of each key, in the order of `keys`.
pub(crate) fn long_key_rows(keys: &[Key], known: Option<&[KnownDetail]>) -> String {
    let mut headers = vec!["KEY", "SIZE", "BYTES", "UPDATED_AT"];
    if known.is_some() {
        headers.extend(["TTL", "CONTENT_TYPE"]);
    }
    table(
        &headers,
        keys.iter()
            .enumerate()
            .map(|(index, k)| {
                let mut row = vec![
                    k.key.clone(),
                    crate::text::bytes(k.size_bytes),
                    k.size_bytes.to_string(),
                    k.updated_at.clone(),
                ];
                if let Some(known) = known {
                    let detail = known.get(index);
                    row.push(
                        detail
                            .and_then(KnownDetail::time_left)
                            .unwrap_or("-".into()),
                    );
                    row.push(
                        detail
                            .and_then(|d| d.content_type.clone())
                            .unwrap_or("-".into()),
                    );
                }
                row
            })
            .collect(),
        &[1, 2],
    )
}

/// What local state knows of a key beyond its listing: the seconds it has left (`None`: no
/// expiry) and its content type (`None`: the key went between the listing and this look).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct KnownDetail {
    pub ttl_secs: Option<u64>,
    pub content_type: Option<String>,
}

impl KnownDetail {
    /// The time left for people (`59m 58s`), or `None` without an expiry.
    fn time_left(&self) -> Option<String> {
        self.ttl_secs
            .map(|secs| crate::text::duration(std::time::Duration::from_secs(secs)))
    }
}

/// A key of `key list --long` on local state, as JSON: the API's key object and what local
/// state knows beside it.
#[derive(Serialize)]
pub(crate) struct LongKey<'a> {
    #[serde(flatten)]
    pub key: &'a Key,
    #[serde(flatten)]
    pub known: &'a KnownDetail,
}

/// A JSON array written element by element, so a list never has to be held whole.
pub(crate) struct JsonArray<W: Write> {
    out: W,
    empty: bool,
}

impl<W: Write> JsonArray<W> {
    pub(crate) fn new(mut out: W) -> io::Result<Self> {
        out.write_all(b"[")?;
        Ok(Self { out, empty: true })
    }

    pub(crate) fn push<T: Serialize>(&mut self, item: &T) -> io::Result<()> {
        self.out
            .write_all(if self.empty { b"\n  " } else { b",\n  " })?;
        serde_json::to_writer(&mut self.out, item).map_err(io::Error::other)?;
        self.empty = false;
        Ok(())
    }

    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.out
            .write_all(if self.empty { b"]\n" } else { b"\n]\n" })?;
        self.out.flush()
    }
}

/// A listing written page by page as it arrives, in the formats that stream: into one JSON
/// array (when one was opened), one JSON document a line, or one id a line. Tables are the
/// caller's: they are laid out from whole pages.
///
/// With `--jq` the array is collected instead, so that the expression sees every page at once
/// (ndjson lines are still filtered one by one as they come).
pub(crate) struct StreamedList {
    array: Option<JsonArray<io::StdoutLock<'static>>>,
    /// With `--jq`: the printer, and the items so far as the text of a JSON array (without its
    /// closing bracket), which keeps each object's field order.
    collected: Option<(Printer, Vec<u8>)>,
}

impl StreamedList {
    /// A listing in `printer`'s format; with `array`, JSON output is one array of every item.
    pub(crate) fn new(printer: &Printer, array: bool) -> io::Result<Self> {
        let json_array = array && printer.format() == OutputFormat::Json;
        if json_array && printer.jq().is_some() {
            return Ok(Self {
                array: None,
                collected: Some((*printer, b"[".to_vec())),
            });
        }
        let array = match json_array {
            true => Some(JsonArray::new(io::stdout().lock())?),
            false => None,
        };
        Ok(Self {
            array,
            collected: None,
        })
    }

    /// Writes one page's items; `id` is what the `ids` format prints of an item.
    pub(crate) fn page<T: Serialize>(
        &mut self,
        printer: &Printer,
        items: &[T],
        id: impl Fn(&T) -> &str,
    ) -> io::Result<()> {
        match printer.format() {
            OutputFormat::Table => {}
            OutputFormat::Json => {
                if let Some(array) = self.array.as_mut() {
                    for item in items {
                        array.push(item)?;
                    }
                }
                if let Some((_, collected)) = self.collected.as_mut() {
                    for item in items {
                        if collected.len() > 1 {
                            collected.push(b',');
                        }
                        serde_json::to_writer(&mut *collected, item).map_err(io::Error::other)?;
                    }
                }
            }
            OutputFormat::Ndjson => {
                for item in items {
                    printer.json_line(item)?;
                }
            }
            OutputFormat::Ids => {
                let ids: String = items.iter().map(|item| format!("{}\n", id(item))).collect();
                printer.out(&ids)?;
            }
        }
        Ok(())
    }

    /// Closes the JSON array, if one was opened, or writes what `--jq` makes of the items
    /// collected.
    pub(crate) fn finish(self) -> io::Result<()> {
        if let Some((printer, mut collected)) = self.collected {
            collected.push(b']');
            return printer.json_text(&collected);
        }
        match self.array {
            Some(array) => array.finish(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_without_trailing_blanks() {
        let text = table(
            &["KEY", "SIZE", "UPDATED_AT"],
            vec![
                vec!["a".into(), "5".into(), "2026-01-01T00:00:00Z".into()],
                vec![
                    "longer/key".into(),
                    "12345".into(),
                    "2026-01-01T00:00:00Z".into(),
                ],
            ],
            &[1],
        );
        assert_eq!(
            text,
            "KEY          SIZE  UPDATED_AT\na               5  2026-01-01T00:00:00Z\nlonger/key  12345  2026-01-01T00:00:00Z\n"
        );
    }

    #[test]
    fn json_arrays_are_valid_when_empty_or_not() {
        let mut out = Vec::new();
        JsonArray::new(&mut out)
            .expect("starts")
            .finish()
            .expect("ends");
        assert_eq!(out, b"[]\n");
        let mut out = Vec::new();
        let mut array = JsonArray::new(&mut out).expect("starts");
        array.push(&1).expect("pushes");
        array.push(&"two").expect("pushes");
        array.finish().expect("ends");
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            "[\n  1,\n  \"two\"\n]\n"
        );
    }
}
