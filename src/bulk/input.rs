//! Reading bulk input as a stream, one item at a time: NDJSON lines, a wrangler-style JSON array
//! (parsed element by element), or a directory whose files are the values. Nothing is read
//! whole; a bad item is reported with its line (or array index, or path) and reading goes on.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::Deserialize;

use crate::api::rules::{self, MAX_VALUE_BYTES};

/// Longest line (or array element) read: a 1 MiB value written with JSON escapes fits.
const MAX_RECORD: usize = 8 * 1024 * 1024;

/// One key to write.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub key: String,
    pub value: Bytes,
    pub base64: bool,
    pub ttl_secs: Option<u64>,
    pub content_type: Option<String>,
    /// Where it came from: `line 12`, `index 3`, `file a/b.txt`.
    pub origin: String,
}

/// What reading produced next.
#[derive(Debug)]
pub(crate) enum Record {
    Item(Item),
    /// An item that cannot be written, with where it was and why.
    Bad {
        origin: String,
        error: String,
    },
}

/// The line format (`bulk get`, `export` write it; `bulk put`, `import` read it). Wrangler's
/// `expiration_ttl` is accepted for `ttl_secs`.
#[derive(Debug, Deserialize)]
struct Line {
    key: Option<serde_json::Value>,
    value: Option<serde_json::Value>,
    #[serde(default)]
    base64: Option<bool>,
    ttl_secs: Option<serde_json::Value>,
    expiration_ttl: Option<serde_json::Value>,
    content_type: Option<String>,
}

/// Checks one parsed record and turns it into an item.
fn item(json: &[u8], origin: String) -> Record {
    let bad = |error: String| Record::Bad {
        origin: origin.clone(),
        error,
    };
    let line: Line = match serde_json::from_slice(json) {
        Ok(line) => line,
        Err(err) => return bad(format!("not a JSON object with `key` and `value`: {err}")),
    };
    let key = match line.key {
        Some(serde_json::Value::String(key)) => key,
        Some(_) => return bad("`key` must be a string".into()),
        None => return bad("`key` is missing".into()),
    };
    if let Err(err) = rules::request_key(&key) {
        return bad(err.to_string());
    }
    let text = match line.value {
        Some(serde_json::Value::String(text)) => text,
        Some(_) => return bad(format!("`value` of `{key}` must be a string")),
        None => return bad(format!("`value` of `{key}` is missing")),
    };
    let base64 = line.base64.unwrap_or(false);
    let value = if base64 {
        match STANDARD.decode(text.as_bytes()) {
            Ok(bytes) => bytes,
            Err(err) => return bad(format!("`value` of `{key}` is not valid base64: {err}")),
        }
    } else {
        text.into_bytes()
    };
    if value.len() > MAX_VALUE_BYTES {
        return bad(format!(
            "the value of `{key}` is {} bytes; at most 1048576 bytes (1 MiB) are allowed",
            value.len()
        ));
    }
    let ttl = match line.ttl_secs.or(line.expiration_ttl) {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Number(n)) => {
            match n.as_u64().filter(|s| rules::ttl_secs(*s).is_ok()) {
                Some(secs) => Some(secs),
                None => {
                    return bad(format!(
                        "`ttl_secs` of `{key}` must be a whole number from 1 to 9223372036"
                    ));
                }
            }
        }
        Some(_) => {
            return bad(format!(
                "`ttl_secs` of `{key}` must be a whole number from 1 to 9223372036"
            ));
        }
    };
    if let Some(content_type) = &line.content_type
        && http::HeaderValue::from_str(content_type).is_err()
    {
        return bad(format!(
            "`content_type` of `{key}` is not a valid Content-Type"
        ));
    }
    Record::Item(Item {
        key,
        value: Bytes::from(value),
        base64,
        ttl_secs: ttl,
        content_type: line.content_type,
        origin,
    })
}

/// Reads records from a file or stdin (`-`), telling NDJSON from a JSON array by the first
/// byte that is not white space.
pub(crate) fn from_reader(
    reader: Box<dyn BufRead + Send>,
) -> Box<dyn Iterator<Item = Record> + Send> {
    let mut reader = reader;
    let first = loop {
        match reader.fill_buf() {
            Ok([]) => break None,
            Ok(buf) => {
                if let Some(pos) = buf.iter().position(|b| !b.is_ascii_whitespace()) {
                    let byte = buf[pos];
                    break Some(byte);
                }
                let len = buf.len();
                reader.consume(len);
            }
            Err(err) => {
                return Box::new(std::iter::once(Record::Bad {
                    origin: "input".into(),
                    error: format!("cannot read: {err}"),
                }));
            }
        }
    };
    match first {
        None => Box::new(std::iter::once(Record::Bad {
            origin: "input".into(),
            error: "the input is empty; expected NDJSON lines or a JSON array".into(),
        })),
        Some(b'[') => Box::new(ArrayRecords::new(reader)),
        Some(_) => Box::new(NdjsonRecords { reader, line: 0 }),
    }
}

/// NDJSON: one record per non-blank line.
struct NdjsonRecords {
    reader: Box<dyn BufRead + Send>,
    line: usize,
}

impl Iterator for NdjsonRecords {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            self.line += 1;
            let origin = format!("line {}", self.line);
            let mut buf = Vec::new();
            match (&mut self.reader)
                .take(MAX_RECORD as u64 + 1)
                .read_until(b'\n', &mut buf)
            {
                Ok(0) => return None,
                Ok(_) if buf.len() > MAX_RECORD && !buf.ends_with(b"\n") => {
                    // Skip the rest of the oversized line.
                    let mut rest = Vec::new();
                    let _ = self.reader.read_until(b'\n', &mut rest);
                    return Some(Record::Bad {
                        origin,
                        error: "the line is longer than 8 MiB".into(),
                    });
                }
                Ok(_) => {}
                Err(err) => {
                    return Some(Record::Bad {
                        origin,
                        error: format!("cannot read: {err}"),
                    });
                }
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(item(&buf, origin));
        }
    }
}

/// A JSON array, split into its elements without parsing the whole array.
struct ArrayRecords {
    reader: Box<dyn BufRead + Send>,
    index: usize,
    done: bool,
}

impl ArrayRecords {
    fn new(mut reader: Box<dyn BufRead + Send>) -> Self {
        // Skip up to and including the `[`.
        let mut skipped = Vec::new();
        let _ = reader.read_until(b'[', &mut skipped);
        Self {
            reader,
            index: 0,
            done: false,
        }
    }

    fn byte(&mut self) -> std::io::Result<Option<u8>> {
        let buf = self.reader.fill_buf()?;
        let Some(&byte) = buf.first() else {
            return Ok(None);
        };
        self.reader.consume(1);
        Ok(Some(byte))
    }

    /// The bytes of the next element; `None` at `]`.
    fn element(&mut self) -> Result<Option<Vec<u8>>, String> {
        let io = |err: std::io::Error| format!("cannot read: {err}");
        // Skip white space and the comma before the element.
        let first = loop {
            match self.byte().map_err(io)? {
                None => return Err("the array ends without `]`: the input is truncated".into()),
                Some(b) if b.is_ascii_whitespace() || b == b',' => {}
                Some(b']') => return Ok(None),
                Some(b) => break b,
            }
        };
        let mut bytes = vec![first];
        let (mut depth, mut in_string, mut escaped) = (0i32, first == b'"', false);
        if first == b'{' || first == b'[' {
            depth = 1;
        }
        let scalar = depth == 0 && !in_string;
        loop {
            if depth == 0 && !in_string && !scalar {
                return Ok(Some(bytes));
            }
            let Some(byte) = self.byte().map_err(io)? else {
                return Err("the array ends inside an element: the input is truncated".into());
            };
            if scalar && (byte == b',' || byte == b']' || byte.is_ascii_whitespace()) {
                if byte == b']' {
                    self.done = true;
                }
                return Ok(Some(bytes));
            }
            bytes.push(byte);
            if bytes.len() > MAX_RECORD {
                return Err("an element is longer than 8 MiB".into());
            }
            if in_string {
                match (escaped, byte) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
                if !in_string && depth == 0 {
                    return Ok(Some(bytes));
                }
                continue;
            }
            match byte {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth -= 1,
                _ => {}
            }
        }
    }
}

impl Iterator for ArrayRecords {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.done {
            return None;
        }
        let origin = format!("index {}", self.index);
        self.index += 1;
        match self.element() {
            Ok(Some(bytes)) => Some(item(&bytes, origin)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(error) => {
                self.done = true;
                Some(Record::Bad { origin, error })
            }
        }
    }
}

/// `--dir DIR`: every file below DIR, its path relative to DIR (with `/`) as the key.
pub(crate) fn from_dir(dir: &Path) -> Box<dyn Iterator<Item = Record> + Send> {
    Box::new(DirRecords {
        root: dir.to_path_buf(),
        stack: vec![dir.to_path_buf()],
        files: Vec::new(),
    })
}

struct DirRecords {
    root: PathBuf,
    stack: Vec<PathBuf>,
    files: Vec<PathBuf>,
}

impl Iterator for DirRecords {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            if let Some(path) = self.files.pop() {
                return Some(self.file(&path));
            }
            let dir = self.stack.pop()?;
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(err) => {
                    return Some(Record::Bad {
                        origin: format!("directory {}", dir.display()),
                        error: format!("cannot read: {err}"),
                    });
                }
            };
            let mut files = Vec::new();
            let mut dirs = Vec::new();
            for entry in entries.flatten() {
                let path = entry.path();
                match entry.file_type() {
                    Ok(t) if t.is_dir() => dirs.push(path),
                    Ok(_) => files.push(path),
                    Err(_) => {}
                }
            }
            // Sorted, and reversed for popping: keys come out in order.
            files.sort();
            files.reverse();
            dirs.sort();
            dirs.reverse();
            self.files = files;
            self.stack.extend(dirs);
        }
    }
}

impl DirRecords {
    fn file(&self, path: &Path) -> Record {
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        let key = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let origin = format!("file {key}");
        if let Err(err) = rules::request_key(&key) {
            return Record::Bad {
                origin,
                error: err.to_string(),
            };
        }
        let mut value = Vec::new();
        let read = std::fs::File::open(path)
            .and_then(|f| f.take(MAX_VALUE_BYTES as u64 + 1).read_to_end(&mut value));
        if let Err(err) = read {
            return Record::Bad {
                origin,
                error: format!("cannot read: {err}"),
            };
        }
        if value.len() > MAX_VALUE_BYTES {
            return Record::Bad {
                origin,
                error: "the file is larger than 1048576 bytes (1 MiB)".into(),
            };
        }
        Record::Item(Item {
            key,
            value: Bytes::from(value),
            base64: false,
            ttl_secs: None,
            content_type: None,
            origin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &str) -> Vec<Result<(String, Vec<u8>), String>> {
        from_reader(Box::new(std::io::Cursor::new(input.as_bytes().to_vec())))
            .map(|r| match r {
                Record::Item(item) => Ok((item.key, item.value.to_vec())),
                Record::Bad { origin, error } => Err(format!("{origin}: {error}")),
            })
            .collect()
    }

    #[test]
    fn ndjson_lines_with_their_numbers() {
        let got = records(
            "{\"key\":\"a\",\"value\":\"1\"}\n\n{\"key\":\"b\",\"value\":\"/wA=\",\"base64\":true}\n{\"value\":\"x\"}\n{bad\n{\"key\":\"_x\",\"value\":\"\"}\n{\"key\":\"k\",\"value\":\"!\",\"base64\":true}\n",
        );
        assert_eq!(got[0], Ok(("a".into(), b"1".to_vec())));
        assert_eq!(got[1], Ok(("b".into(), vec![0xff, 0x00])));
        assert_eq!(got[2], Err("line 4: `key` is missing".into()));
        assert!(
            got[3]
                .as_ref()
                .is_err_and(|e| e.starts_with("line 5: not a JSON object"))
        );
        assert!(
            got[4]
                .as_ref()
                .is_err_and(|e| e.starts_with("line 6: key `_x` starts with `_`"))
        );
        assert!(
            got[5]
                .as_ref()
                .is_err_and(|e| e.starts_with("line 7: `value` of `k` is not valid base64"))
        );
        assert_eq!(got.len(), 6);
    }

    #[test]
    fn arrays_element_by_element() {
        let got = records(
            " [ {\"key\":\"a\",\"value\":\"x],{\\\"\"} , {\"key\":\"b\",\"value\":\"y\",\"expiration_ttl\":60}, 5 ]",
        );
        assert_eq!(got[0], Ok(("a".into(), b"x],{\"".to_vec())));
        assert_eq!(got[1], Ok(("b".into(), b"y".to_vec())));
        assert!(
            got[2]
                .as_ref()
                .is_err_and(|e| e.starts_with("index 2: not a JSON object"))
        );
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn truncated_arrays_and_empty_input_are_reported() {
        let got = records("[{\"key\":\"a\",\"value\":\"x\"}, {\"key\":\"b\"");
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[1],
            Err("index 1: the array ends inside an element: the input is truncated".into())
        );
        assert_eq!(
            records("  \n"),
            [Err(
                "input: the input is empty; expected NDJSON lines or a JSON array".into()
            )]
        );
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
}
