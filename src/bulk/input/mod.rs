//! Reading bulk input as a stream, one item at a time: NDJSON lines (`ndjson`), a wrangler-style
//! JSON array parsed element by element (`array`), or a directory whose files are the values
//! (`dir`); `interpret` turns one JSON object into an item. Nothing is read whole, not even an
//! oversized line; a bad item is reported with its line (or array index, or path) and its
//! original text, and reading goes on.
//!
//! To add a format: a module with an iterator of [`Record`]s, chosen in [`from_reader`] (by the
//! input's first byte) or by a flag of its own, like `--dir`.

mod array;
mod dir;
mod interpret;
mod ndjson;

use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use array::ArrayRecords;
pub(crate) use dir::{count_files, from_dir};
use interpret::Interpreter;
use ndjson::NdjsonRecords;

/// Most of a bad line's text kept for the failed file.
const MAX_KEPT_INPUT: usize = 64 * 1024;
/// A UTF-8 byte order mark, which some editors put at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One key to write.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub key: String,
    /// The bytes to write (decoded when the input gave base64).
    pub value: Bytes,
    /// Seconds until the key expires, as given or worked out from `expires_at`.
    pub ttl_secs: Option<u64>,
    /// The absolute expiry (seconds since 1970) when the input gave one (wrangler's
    /// `expiration`): the TTL is worked out from it when the item is sent, and a failed file
    /// keeps it absolute, so a retry does not move the expiry.
    pub expires_at: Option<u64>,
    /// A failed file's item whose absolute expiry passed before it could be written: a run
    /// without faults would have written it and seen it expire, so the key is deleted instead.
    pub expired: bool,
    pub content_type: Option<String>,
    /// Where it came from: `line 12`, `index 3`, `file a/b.txt`.
    pub origin: String,
}

/// What reading produced next.
#[derive(Debug)]
pub(crate) enum Record {
    Item(Item),
    Bad(BadRecord),
    /// Something the user should know that does not stop the item (a dropped field).
    Warning {
        origin: String,
        message: String,
    },
}

/// An item that cannot be written, with where it was, why, its text when there is one, and
/// its key when it has a valid one (so that it keeps its place among the key's items).
#[derive(Debug)]
pub(crate) struct BadRecord {
    pub origin: String,
    pub error: String,
    pub input: Option<String>,
    pub key: Option<String>,
}

impl Record {
    pub(super) fn bad(origin: String, error: impl Into<String>, input: Option<&[u8]>) -> Self {
        Self::Bad(BadRecord {
            origin,
            error: error.into(),
            input: input.map(kept_text),
            key: None,
        })
    }
}

/// A bad record's text as kept for the failed file: UTF-8 (lossy), shortened when huge.
pub(super) fn kept_text(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(MAX_KEPT_INPUT)];
    let mut text = String::from_utf8_lossy(shown).trim_end().to_owned();
    if bytes.len() > MAX_KEPT_INPUT {
        text.push('…');
    }
    text
}

/// How records are read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reading {
    /// Unknown fields make an item fail instead of a warning.
    pub strict: bool,
    /// Seconds since the epoch, for wrangler's absolute `expiration`.
    pub now_secs: u64,
}

impl Reading {
    pub(crate) fn now(strict: bool) -> Self {
        let now_secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self { strict, now_secs }
    }
}

impl Item {
    /// The TTL to send now: the seconds left until an absolute expiry (at least 1), or the
    /// relative one as given.
    pub(crate) fn ttl_now(&self) -> Option<u64> {
        let Some(at) = self.expires_at else {
            return self.ttl_secs;
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Some(at.saturating_sub(now).max(1))
    }
}

/// Whether the input `path` names (stdin for `-`) may stop sending without ending: a pipe, a
/// FIFO, a terminal. A regular file (`< file` on stdin too) never does.
pub(crate) fn may_stall(path: &Path) -> bool {
    if path.as_os_str() == "-" {
        return !stdin_is_regular();
    }
    !std::fs::metadata(path).is_ok_and(|meta| meta.is_file())
}

/// Whether stdin is a regular file (`< file`), rather than a pipe, FIFO or terminal.
fn stdin_is_regular() -> bool {
    stdin_size().is_some()
}

/// The size of stdin when it is a regular file (`< file`).
pub(crate) fn stdin_size() -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd as _;
        std::io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .map(std::fs::File::from)
            .and_then(|file| file.metadata())
            .ok()
            .filter(std::fs::Metadata::is_file)
            .map(|meta| meta.len())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// How many items an input holds, as far as can be told without reading it first: progress
/// shows a total, and an ETA, from it.
#[derive(Debug, Clone, Default)]
pub(crate) enum Extent {
    /// Nothing can be told (a pipe).
    #[default]
    Unknown,
    /// A file of `size` bytes, `read` of them consumed so far: the items it holds are about
    /// the items read so far, scaled to the whole.
    Bytes { size: u64, read: Arc<AtomicU64> },
    /// Exactly this many (the files of a directory, counted first).
    Items(u64),
}

impl Extent {
    /// The items expected once `items` were read, and whether that is an estimate; `done`: the
    /// input was read to its end, so `items` is all there is.
    pub(crate) fn expected(&self, items: u64, done: bool) -> Option<(u64, bool)> {
        match self {
            _ if done => Some((items, false)),
            Self::Unknown => None,
            Self::Items(total) => Some((*total, false)),
            Self::Bytes { size, read } => {
                let read = read.load(Ordering::Relaxed);
                (read > 0 && items > 0).then(|| {
                    let scaled = u128::from(items) * u128::from(*size) / u128::from(read);
                    (u64::try_from(scaled).unwrap_or(u64::MAX).max(items), true)
                })
            }
        }
    }
}

/// `reader`, counting the bytes consumed from it in an [`Extent::Bytes`] of `size`.
pub(crate) fn measured(
    reader: Box<dyn BufRead + Send>,
    size: u64,
) -> (Box<dyn BufRead + Send>, Extent) {
    let read = Arc::new(AtomicU64::new(0));
    let extent = Extent::Bytes {
        size,
        read: Arc::clone(&read),
    };
    (
        Box::new(Measured {
            inner: reader,
            read,
        }),
        extent,
    )
}

/// A reader that counts the bytes consumed from it.
struct Measured {
    inner: Box<dyn BufRead + Send>,
    read: Arc<AtomicU64>,
}

impl std::io::Read for Measured {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl BufRead for Measured {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.read.fetch_add(amount as u64, Ordering::Relaxed);
        self.inner.consume(amount);
    }
}

/// Reads records from a file or stdin, telling NDJSON from a JSON array by the first byte that
/// is not white space (after a byte order mark, which is skipped).
pub(crate) fn from_reader(
    reader: Box<dyn BufRead + Send>,
    reading: Reading,
) -> Box<dyn Iterator<Item = Record> + Send> {
    let mut reader = reader;
    let (first, lines) = match skip_blank(&mut *reader) {
        Ok(first) => first,
        Err(err) => {
            return Box::new(std::iter::once(Record::bad(
                "input".into(),
                format!("cannot read: {err}"),
                None,
            )));
        }
    };
    let interpreter = Interpreter::new(reading);
    match first {
        // An empty failed file fed back (a retry loop's last turn) is nothing left to do.
        None => Box::new(std::iter::once(Record::Warning {
            origin: "input".into(),
            message: "the input is empty: nothing to write".into(),
        })),
        Some(b'[') => Box::new(ArrayRecords::new(reader, interpreter, lines)),
        Some(_) => Box::new(NdjsonRecords::new(reader, lines, interpreter)),
    }
}

/// Skips white space and byte order marks (one opens each file of `cat a.json b.json`); the
/// next other byte, left unread (`None` at the end), and the line breaks skipped, so that lines
/// are numbered as in the input.
pub(super) fn skip_blank(reader: &mut dyn BufRead) -> std::io::Result<(Option<u8>, usize)> {
    let mut lines = 0;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok((None, lines));
        }
        if buf.starts_with(BOM) {
            reader.consume(BOM.len());
            continue;
        }
        let blank = buf
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(buf.len());
        if blank == 0 {
            return Ok((Some(buf[0]), lines));
        }
        lines += buf[..blank].iter().filter(|&&b| b == b'\n').count();
        reader.consume(blank);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::rules::MAX_VALUE_BYTES;

    const NOW: u64 = 1_800_000_000;

    fn read(input: &[u8], strict: bool) -> Vec<Record> {
        let reading = Reading {
            strict,
            now_secs: NOW,
        };
        from_reader(Box::new(std::io::Cursor::new(input.to_vec())), reading).collect()
    }

    fn records(input: &str) -> Vec<Result<(String, Vec<u8>), String>> {
        read(input.as_bytes(), false)
            .into_iter()
            .filter_map(|r| match r {
                Record::Item(item) => Some(Ok((item.key, item.value.to_vec()))),
                Record::Bad(BadRecord { origin, error, .. }) => {
                    Some(Err(format!("{origin}: {error}")))
                }
                Record::Warning { .. } => None,
            })
            .collect()
    }

    /// Asserts that `got` is an error that starts with `start`.
    fn assert_error_starts(got: &Result<(String, Vec<u8>), String>, start: &str) {
        assert!(got.as_ref().is_err_and(|e| e.starts_with(start)), "{got:?}");
    }

    #[test]
    fn ndjson_lines_with_their_numbers() {
        let got = records(
            "{\"key\":\"a\",\"value\":\"1\"}\n\n{\"key\":\"b\",\"value\":\"/wA=\",\"base64\":true}\n{\"value\":\"x\"}\n{bad\n{\"key\":\"_x\",\"value\":\"\"}\n{\"key\":\"k\",\"value\":\"!\",\"base64\":true}\n",
        );
        assert_eq!(got[0], Ok(("a".into(), b"1".to_vec())));
        assert_eq!(got[1], Ok(("b".into(), vec![0xff, 0x00])));
        assert_eq!(got[2], Err("line 4: `key` is missing".into()));
        assert_error_starts(&got[3], "line 5: not a JSON object");
        assert_error_starts(&got[4], "line 6: key `_x` starts with `_`");
        assert_error_starts(&got[5], "line 7: `value` of `k` is not valid base64");
        assert_eq!(got.len(), 6);
    }

    #[test]
    fn arrays_element_by_element() {
        let got = records(
            " [ {\"key\":\"a\",\"value\":\"x],{\\\"\"} , {\"key\":\"b\",\"value\":\"y\",\"expiration_ttl\":60}, 5 ]",
        );
        assert_eq!(got[0], Ok(("a".into(), b"x],{\"".to_vec())));
        assert_eq!(got[1], Ok(("b".into(), b"y".to_vec())));
        assert_error_starts(&got[2], "index 2: not a JSON object");
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn truncated_arrays_are_reported_and_empty_input_is_nothing_to_do() {
        let got = records("[{\"key\":\"a\",\"value\":\"x\"}, {\"key\":\"b\"");
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[1],
            Err("index 1: the array ends inside an element: the input is truncated".into())
        );
        assert!(records("  \n").is_empty());
        assert!(matches!(
            read(b"", false).as_slice(),
            [Record::Warning { message, .. }] if message == "the input is empty: nothing to write"
        ));
        assert_eq!(
            records("[{\"key\":\"a\",\"value\":\"x\"}"),
            [
                Ok(("a".into(), b"x".to_vec())),
                Err("index 1: the array ends without `]`: the input is truncated".into())
            ]
        );
    }

    #[test]
    fn oversize_values_are_bad_items() {
        let big = "x".repeat(MAX_VALUE_BYTES + 1);
        let got = records(&format!("{{\"key\":\"k\",\"value\":\"{big}\"}}\n"));
        assert_eq!(
            got,
            [Err("line 1: the value of `k` is 1048577 bytes; at most 1048576 bytes (1 MiB) are allowed".into())]
        );
    }

    #[test]
    fn wrangler_expirations_become_ttls() {
        let input = format!(
            "{}\n{}\n{}\n",
            r#"{"key":"a","value":"1","expiration":1800000060}"#,
            r#"{"key":"b","value":"2","expiration":1799999999}"#,
            r#"{"key":"c","value":"3","expiration_ttl":30,"expiration":1800000060}"#,
        );
        let ttls: Vec<Result<Option<u64>, String>> = read(input.as_bytes(), false)
            .into_iter()
            .map(|r| match r {
                Record::Item(item) => Ok(item.ttl_secs),
                Record::Bad(BadRecord { error, .. }) => Err(error),
                Record::Warning { message, .. } => Err(message),
            })
            .collect();
        assert_eq!(ttls[0], Ok(Some(60)));
        assert_eq!(
            ttls[1],
            Err(
                "`expiration` of `b` (1799999999) is in the past; the key would expire at once"
                    .into()
            )
        );
        assert_eq!(ttls[2], Ok(Some(30)), "a relative TTL wins");
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_arrays_may_follow_each_other_or_ndjson_lines() {
        let mut input = BOM.to_vec();
        input.extend_from_slice(br#"{"key":"a","value":"1"}"#);
        assert_eq!(
            records(std::str::from_utf8(&input).expect("UTF-8")),
            [Ok(("a".into(), b"1".to_vec()))]
        );
        // `cat a.json b.json | import NS`: both arrays are read, scalars closing them too.
        assert_eq!(
            records(r#"[{"key":"a","value":"1"}] [{"key":"b","value":"2"}][5][]"#),
            [
                Ok(("a".into(), b"1".to_vec())),
                Ok(("b".into(), b"2".to_vec())),
                Err("index 2: not a JSON object with `key` and `value`: invalid type: integer `5`, expected struct Line at line 1 column 1".into()),
            ]
        );
        // An array then NDJSON lines (a mixed pipe), numbered as lines of the whole input.
        assert_eq!(
            records("[{\"key\":\"a\",\"value\":\"1\"}]\n{\"key\":\"b\",\"value\":\"2\"}\n{bad\n"),
            [
                Ok(("a".into(), b"1".to_vec())),
                Ok(("b".into(), b"2".to_vec())),
                Err("line 3: not a JSON object with `key` and `value`: key must be a string at line 1 column 2".into()),
            ]
        );
        // The second file of `cat a.json b.json` may start with a byte order mark.
        let mut joined = b"[{\"key\":\"a\",\"value\":\"1\"}]\n".to_vec();
        joined.extend_from_slice(BOM);
        joined.extend_from_slice(br#"[{"key":"b","value":"2"}]"#);
        assert_eq!(
            records(std::str::from_utf8(&joined).expect("UTF-8")),
            [
                Ok(("a".into(), b"1".to_vec())),
                Ok(("b".into(), b"2".to_vec()))
            ]
        );
    }

    #[test]
    fn lines_are_numbered_as_in_the_file_after_leading_blank_lines() {
        assert_eq!(
            records("\n\n{bad\n{\"key\":\"a\",\"value\":\"1\"}\n")[0],
            Err("line 3: not a JSON object with `key` and `value`: key must be a string at line 1 column 2".into())
        );
        assert_eq!(
            records("\n\n[{\"key\":\"a\",\"value\":\"1\"}]\n{bad\n")[1],
            Err("line 4: not a JSON object with `key` and `value`: key must be a string at line 1 column 2".into())
        );
    }

    #[test]
    fn an_absolute_expiry_stays_absolute_and_a_fed_back_bad_line_is_not_wrapped_again() {
        let reading = Reading {
            strict: false,
            now_secs: 1_800_000_000,
        };
        let items = |input: &[u8]| -> Vec<Record> {
            from_reader(Box::new(std::io::Cursor::new(input.to_vec())), reading).collect()
        };
        let Record::Item(item) =
            items(br#"{"key":"a","value":"1","expiration":1800000060}"#).remove(0)
        else {
            panic!("an item");
        };
        assert_eq!(
            (item.ttl_secs, item.expires_at),
            (Some(60), Some(1_800_000_060))
        );
        assert!(!item.expired);
        // Past its moment: an error in fresh input, a deletion when a failed file feeds it back.
        let past = br#"{"key":"a","value":"1","expiration":1799999999}"#;
        assert!(
            matches!(items(past).remove(0), Record::Bad(BadRecord { key: Some(k), .. }) if k == "a")
        );
        let fed_back =
            br#"{"key":"a","value":"1","expiration":1799999999,"origin":"line 1","error":"x"}"#;
        let Record::Item(item) = items(fed_back).remove(0) else {
            panic!("an item");
        };
        assert!(item.expired);
        // A bad line, then the same line as a failed file keeps it, fed back twice.
        let bad = br#"{"key":"k""#;
        let Record::Bad(BadRecord { input, .. }) = items(bad).remove(0) else {
            panic!("bad");
        };
        let mut line = serde_json::json!({"origin": "line 1", "error": "x", "input": input})
            .to_string()
            .into_bytes();
        for _ in 0..2 {
            let Record::Bad(BadRecord { input, .. }) = items(&line).remove(0) else {
                panic!("bad");
            };
            assert_eq!(input.as_deref(), Some(r#"{"key":"k""#));
            line = serde_json::json!({"origin": "line 1", "error": "x", "input": input})
                .to_string()
                .into_bytes();
        }
    }

    #[test]
    fn an_oversized_line_is_skipped_and_reading_goes_on() {
        let input = format!(
            "{}\n{}\n",
            "x".repeat(crate::bulk::line::MAX_LINE + 10),
            r#"{"key":"next","value":"1"}"#
        );
        let got = records(&input);
        assert_eq!(got[0], Err("line 1: the line is longer than 8 MiB".into()));
        assert_eq!(got[1], Ok(("next".into(), b"1".to_vec())));
    }

    #[test]
    fn the_items_of_a_file_are_estimated_from_the_bytes_read_until_its_end() {
        let input = "{\"key\":\"a\",\"value\":\"1\"}\n".repeat(10);
        let size = input.len() as u64;
        let (reader, extent) = measured(Box::new(std::io::Cursor::new(input)), size);
        assert_eq!(extent.expected(0, false), None);
        let mut records = from_reader(reader, Reading::now(false));
        assert!(matches!(records.next(), Some(Record::Item(_))));
        // One line read of ten (and the reader looked no further than the line).
        assert_eq!(extent.expected(1, false), Some((10, true)));
        assert_eq!(records.count(), 9);
        assert_eq!(extent.expected(10, true), Some((10, false)));
        assert_eq!(Extent::Items(3).expected(1, false), Some((3, false)));
        assert_eq!(Extent::Unknown.expected(5, false), None);
        assert_eq!(Extent::Unknown.expected(5, true), Some((5, false)));
    }

    #[test]
    fn a_bad_line_keeps_its_text_for_the_failed_file() {
        let got = read(b"{not json\n", false);
        match &got[..] {
            [Record::Bad(BadRecord { input, .. })] => {
                assert_eq!(input.as_deref(), Some("{not json"))
            }
            other => panic!("{other:?}"),
        }
    }
}
