//! Reading bulk input as a stream, one item at a time: NDJSON lines, a wrangler-style JSON array
//! (parsed element by element), or a directory whose files are the values. Nothing is read
//! whole, not even an oversized line; a bad item is reported with its line (or array index, or
//! path) and its original text, and reading goes on.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::Deserialize;

use crate::api::rules::{self, MAX_TTL_SECS, MAX_VALUE_BYTES};

/// Longest line (or array element) read: a 1 MiB value written with JSON escapes fits.
const MAX_RECORD: usize = 8 * 1024 * 1024;
/// Most of a bad line's text kept for the failed file.
const MAX_KEPT_INPUT: usize = 64 * 1024;
/// A UTF-8 byte order mark, which some editors put at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One key to write.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub key: String,
    pub value: Bytes,
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
    /// An item that cannot be written, with where it was, why, its text when there is one,
    /// and its key when it has a valid one (so that it keeps its place among the key's items).
    Bad {
        origin: String,
        error: String,
        input: Option<String>,
        key: Option<String>,
    },
    /// Something the user should know that does not stop the item (a dropped field).
    Warning {
        origin: String,
        message: String,
    },
}

impl Record {
    fn bad(origin: String, error: impl Into<String>, input: Option<&[u8]>) -> Self {
        Self::Bad {
            origin,
            error: error.into(),
            input: input.map(kept_text),
            key: None,
        }
    }
}

/// A bad record's text as kept for the failed file: UTF-8 (lossy), shortened when huge.
fn kept_text(bytes: &[u8]) -> String {
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

/// The line format (`bulk get`, `export` write it; `bulk put`, `import` read it), and
/// wrangler's bulk format: `expiration_ttl` (seconds) and `expiration` (epoch seconds) become
/// `ttl_secs`; `metadata` has no place in Telnyx KV and is dropped with a warning.
#[derive(Debug, Deserialize)]
struct Line {
    key: Option<serde_json::Value>,
    value: Option<serde_json::Value>,
    #[serde(default)]
    base64: Option<bool>,
    ttl_secs: Option<serde_json::Value>,
    expiration_ttl: Option<serde_json::Value>,
    expiration: Option<serde_json::Value>,
    content_type: Option<String>,
    metadata: Option<serde_json::Value>,
    /// Fields the failed file adds, accepted so that it can be fed back as input.
    #[serde(rename = "origin")]
    _origin: Option<serde::de::IgnoredAny>,
    error: Option<serde::de::IgnoredAny>,
    /// A bad line's text, in a failed file.
    input: Option<serde_json::Value>,
    #[serde(flatten)]
    unknown: BTreeMap<String, serde_json::Value>,
}

/// Turns parsed records into items, warning once per run about each dropped field.
struct Interpreter {
    reading: Reading,
    warned: HashSet<String>,
}

impl Interpreter {
    fn new(reading: Reading) -> Self {
        Self {
            reading,
            warned: HashSet::new(),
        }
    }

    /// Checks one record; warnings (first use of a dropped field) go to `out` before it.
    fn record(&mut self, json: &[u8], origin: String, out: &mut VecDeque<Record>) {
        let line: Line = match serde_json::from_slice(json) {
            Ok(line) => line,
            Err(err) => {
                out.push_back(Record::bad(
                    origin,
                    format!("not a JSON object with `key` and `value`: {err}"),
                    Some(json),
                ));
                return;
            }
        };
        // A bad line of a failed file, fed back: what matters is the text it kept, read again
        // as it was first given (so its `input` is not wrapped once more on each turn).
        if let (None, Some(_), Some(serde_json::Value::String(text))) =
            (&line.value, &line.error, &line.input)
        {
            let text = text.clone();
            return self.record(text.as_bytes(), origin, out);
        }
        // A valid key keeps a bad item in its place among the key's items (see `Record::Bad`).
        let key = match &line.key {
            Some(serde_json::Value::String(key)) if rules::request_key(key).is_ok() => {
                Some(key.clone())
            }
            _ => None,
        };
        let bad = |error: String| Record::Bad {
            origin: origin.clone(),
            error,
            input: Some(kept_text(json)),
            key: key.clone(),
        };
        if let Some(field) = line.unknown.keys().next()
            && self.reading.strict
        {
            out.push_back(bad(format!(
                "unknown field `{field}`; the fields are key, value, base64, ttl_secs (or expiration_ttl, expiration) and content_type"
            )));
            return;
        }
        for field in line.unknown.keys() {
            if self.warned.insert(field.clone()) {
                out.push_back(Record::Warning {
                    origin: origin.clone(),
                    message: format!(
                        "unknown field `{field}` is ignored (here and on later lines); pass `--strict` to refuse such items"
                    ),
                });
            }
        }
        if line.metadata.is_some() && self.warned.insert("metadata".into()) {
            out.push_back(Record::Warning {
                origin: origin.clone(),
                message: "`metadata` is dropped (here and on later lines): Telnyx KV has no per-key metadata".into(),
            });
        }
        out.push_back(match self.item(line, &origin) {
            Ok(item) => Record::Item(item),
            Err(error) => bad(error),
        });
    }

    fn item(&self, line: Line, origin: &str) -> Result<Item, String> {
        let key = match line.key {
            Some(serde_json::Value::String(key)) => key,
            Some(_) => return Err("`key` must be a string".into()),
            None => return Err("`key` is missing".into()),
        };
        rules::request_key(&key).map_err(|err| err.to_string())?;
        let text = match line.value {
            Some(serde_json::Value::String(text)) => text,
            Some(_) => return Err(format!("`value` of `{key}` must be a string")),
            None => return Err(format!("`value` of `{key}` is missing")),
        };
        let base64 = line.base64.unwrap_or(false);
        let value = if base64 {
            STANDARD
                .decode(text.as_bytes())
                .map_err(|err| format!("`value` of `{key}` is not valid base64: {err}"))?
        } else {
            text.into_bytes()
        };
        if value.len() > MAX_VALUE_BYTES {
            return Err(format!(
                "the value of `{key}` is {} bytes; at most 1048576 bytes (1 MiB) are allowed",
                value.len()
            ));
        }
        let from_failed_file = line.error.is_some();
        let (ttl_secs, expires_at, expired) =
            match self.ttl(&key, line.ttl_secs, line.expiration_ttl, line.expiration) {
                Ok((ttl_secs, expires_at)) => (ttl_secs, expires_at, false),
                // Fed back after its moment passed: the key a run without faults left is gone.
                Err(Expiry::Past { at, .. }) if from_failed_file => (None, Some(at), true),
                Err(err) => return Err(err.to_string()),
            };
        if let Some(content_type) = &line.content_type
            && http::HeaderValue::from_str(content_type).is_err()
        {
            return Err(format!(
                "`content_type` of `{key}` is not a valid Content-Type"
            ));
        }
        Ok(Item {
            key,
            value: Bytes::from(value),
            ttl_secs,
            expires_at,
            expired,
            content_type: line.content_type,
            origin: origin.to_owned(),
        })
    }

    /// `ttl_secs`, else `expiration_ttl`, else `expiration` made relative to now (and kept as
    /// the absolute expiry too).
    fn ttl(
        &self,
        key: &str,
        ttl_secs: Option<serde_json::Value>,
        expiration_ttl: Option<serde_json::Value>,
        expiration: Option<serde_json::Value>,
    ) -> Result<(Option<u64>, Option<u64>), Expiry> {
        let whole = |value: &serde_json::Value| value.as_u64();
        let relative = ttl_secs
            .filter(|v| !v.is_null())
            .map(|v| ("ttl_secs", v))
            .or_else(|| {
                expiration_ttl
                    .filter(|v| !v.is_null())
                    .map(|v| ("expiration_ttl", v))
            });
        if let Some((field, value)) = relative {
            return match whole(&value).filter(|s| rules::ttl_secs(*s).is_ok()) {
                Some(secs) => Ok((Some(secs), None)),
                None => Err(Expiry::Invalid(format!(
                    "`{field}` of `{key}` must be a whole number from 1 to {MAX_TTL_SECS}"
                ))),
            };
        }
        let Some(expiration) = expiration.filter(|v| !v.is_null()) else {
            return Ok((None, None));
        };
        let Some(at) = whole(&expiration) else {
            return Err(Expiry::Invalid(format!(
                "`expiration` of `{key}` must be whole seconds since 1970 (UTC)"
            )));
        };
        if at <= self.reading.now_secs {
            return Err(Expiry::Past {
                key: key.to_owned(),
                at,
            });
        }
        let secs = at - self.reading.now_secs;
        rules::ttl_secs(secs).map_err(|_| {
            Expiry::Invalid(format!(
                "`expiration` of `{key}` is more than {MAX_TTL_SECS} seconds away"
            ))
        })?;
        Ok((Some(secs), Some(at)))
    }
}

/// Why a line's TTL fields make no TTL.
enum Expiry {
    Invalid(String),
    /// `expiration` names a moment already past.
    Past {
        key: String,
        at: u64,
    },
}

impl std::fmt::Display for Expiry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(message) => f.write_str(message),
            Self::Past { key, at } => write!(
                f,
                "`expiration` of `{key}` ({at}) is in the past; the key would expire at once"
            ),
        }
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
    #[cfg(unix)]
    {
        use std::os::fd::AsFd as _;
        std::io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .map(std::fs::File::from)
            .and_then(|file| file.metadata())
            .is_ok_and(|meta| meta.is_file())
    }
    #[cfg(not(unix))]
    {
        false
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
        // An empty remainder fed back (a retry loop's last turn) is nothing left to do.
        None => Box::new(std::iter::once(Record::Warning {
            origin: "input".into(),
            message: "the input is empty: nothing to write".into(),
        })),
        Some(b'[') => Box::new(ArrayRecords::new(reader, interpreter, lines)),
        Some(_) => Box::new(NdjsonRecords {
            reader,
            line: lines,
            interpreter,
            pending: VecDeque::new(),
        }),
    }
}

/// Skips white space and byte order marks (one opens each file of `cat a.json b.json`); the
/// next other byte, left unread (`None` at the end), and the line breaks skipped, so that lines
/// are numbered as in the input.
fn skip_blank(reader: &mut dyn BufRead) -> std::io::Result<(Option<u8>, usize)> {
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

/// Where a JSON text is: inside a string (and after a backslash), and how deep in brackets.
#[derive(Debug, Default, Clone, Copy)]
struct Scanner {
    depth: i32,
    in_string: bool,
    escaped: bool,
}

impl Scanner {
    fn feed(&mut self, byte: u8) {
        if self.in_string {
            match (self.escaped, byte) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => {}
            }
            return;
        }
        match byte {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => self.depth -= 1,
            _ => {}
        }
    }
}

/// NDJSON: one record per non-blank line.
struct NdjsonRecords {
    reader: Box<dyn BufRead + Send>,
    line: usize,
    interpreter: Interpreter,
    pending: VecDeque<Record>,
}

impl NdjsonRecords {
    /// Consumes the rest of a line without keeping it.
    fn skip_line(&mut self) -> std::io::Result<()> {
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            if let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                self.reader.consume(pos + 1);
                return Ok(());
            }
            let len = buf.len();
            self.reader.consume(len);
        }
    }
}

impl Iterator for NdjsonRecords {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            if let Some(record) = self.pending.pop_front() {
                return Some(record);
            }
            self.line += 1;
            let origin = format!("line {}", self.line);
            let mut buf = Vec::new();
            match (&mut self.reader)
                .take(MAX_RECORD as u64 + 1)
                .read_until(b'\n', &mut buf)
            {
                Ok(0) => return None,
                Ok(_) if buf.len() > MAX_RECORD && !buf.ends_with(b"\n") => {
                    // The rest of the line is skipped, never held in memory.
                    if let Err(err) = self.skip_line() {
                        return Some(Record::bad(origin, format!("cannot read: {err}"), None));
                    }
                    return Some(Record::bad(
                        origin,
                        "the line is longer than 8 MiB",
                        Some(&buf[..MAX_KEPT_INPUT.min(buf.len())]),
                    ));
                }
                Ok(_) => {}
                Err(err) => {
                    return Some(Record::bad(origin, format!("cannot read: {err}"), None));
                }
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            self.interpreter.record(&buf, origin, &mut self.pending);
        }
    }
}

/// A JSON array, split into its elements without parsing the whole array.
struct ArrayRecords {
    reader: Box<dyn BufRead + Send>,
    index: usize,
    /// Line breaks read so far, so that NDJSON lines after the arrays are numbered truly.
    lines: usize,
    /// NDJSON lines that follow the arrays (`[…]` then `{…}` lines, as a mixed pipe gives).
    then: Option<Box<NdjsonRecords>>,
    done: bool,
    /// The last element read ended its array (`5]`).
    closed: bool,
    interpreter: Interpreter,
    pending: VecDeque<Record>,
}

/// The next element of an array, as read.
enum Element {
    Bytes(Vec<u8>),
    /// Longer than [`MAX_RECORD`]: skipped, its first bytes kept.
    TooLong(Vec<u8>),
    End,
}

impl ArrayRecords {
    fn new(mut reader: Box<dyn BufRead + Send>, interpreter: Interpreter, lines: usize) -> Self {
        // The reader stands at the `[`.
        reader.consume(1);
        Self {
            reader,
            index: 0,
            lines,
            then: None,
            done: false,
            closed: false,
            interpreter,
            pending: VecDeque::new(),
        }
    }

    fn byte(&mut self) -> std::io::Result<Option<u8>> {
        let buf = self.reader.fill_buf()?;
        let Some(&byte) = buf.first() else {
            return Ok(None);
        };
        self.reader.consume(1);
        if byte == b'\n' {
            self.lines += 1;
        }
        Ok(Some(byte))
    }

    /// The bytes of the next element; [`Element::End`] at `]`.
    fn element(&mut self) -> Result<Element, String> {
        let io = |err: std::io::Error| format!("cannot read: {err}");
        // Skip white space and the comma before the element.
        let first = loop {
            match self.byte().map_err(io)? {
                None => return Err("the array ends without `]`: the input is truncated".into()),
                Some(b) if b.is_ascii_whitespace() || b == b',' => {}
                Some(b']') => return Ok(Element::End),
                Some(b) => break b,
            }
        };
        let mut bytes = vec![first];
        let mut too_long = false;
        let mut scanner = Scanner::default();
        scanner.feed(first);
        let scalar = scanner.depth == 0 && !scanner.in_string;
        loop {
            if !scalar && scanner.depth == 0 && !scanner.in_string {
                break;
            }
            let Some(byte) = self.byte().map_err(io)? else {
                return Err("the array ends inside an element: the input is truncated".into());
            };
            if scalar && (byte == b',' || byte == b']' || byte.is_ascii_whitespace()) {
                self.closed = byte == b']';
                break;
            }
            scanner.feed(byte);
            if bytes.len() < MAX_RECORD {
                bytes.push(byte);
            } else {
                too_long = true;
            }
        }
        Ok(if too_long {
            bytes.truncate(MAX_KEPT_INPUT);
            Element::TooLong(bytes)
        } else {
            Element::Bytes(bytes)
        })
    }

    /// After a closing `]`: another array goes on the input (`cat a.json b.json`, a byte order
    /// mark at the second file's start allowed), or NDJSON lines do.
    fn trailing(&mut self) -> Trail {
        match skip_blank(&mut *self.reader) {
            Err(err) => Trail::Bad(Record::bad(
                "input".into(),
                format!("cannot read: {err}"),
                None,
            )),
            Ok((next, lines)) => {
                self.lines += lines;
                match next {
                    None => Trail::End,
                    Some(b'[') => {
                        self.reader.consume(1);
                        Trail::More
                    }
                    Some(_) => Trail::Lines,
                }
            }
        }
    }

    /// What follows the end of an array, as the next record (if any).
    fn after_array(&mut self) -> Option<Record> {
        self.closed = false;
        match self.trailing() {
            Trail::More => None,
            Trail::End => {
                self.done = true;
                None
            }
            Trail::Lines => {
                self.done = true;
                let reader = std::mem::replace(&mut self.reader, Box::new(std::io::empty()));
                // The same interpreter: a field warned about once is not warned about again.
                let reading = self.interpreter.reading;
                let interpreter =
                    std::mem::replace(&mut self.interpreter, Interpreter::new(reading));
                self.then = Some(Box::new(NdjsonRecords {
                    reader,
                    line: self.lines,
                    interpreter,
                    pending: VecDeque::new(),
                }));
                None
            }
            Trail::Bad(record) => {
                self.done = true;
                Some(record)
            }
        }
    }
}

/// What comes after an array's `]`.
enum Trail {
    /// Another array.
    More,
    /// Something else: NDJSON lines, read as such.
    Lines,
    /// The end of the input.
    End,
    Bad(Record),
}

impl Iterator for ArrayRecords {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            if let Some(record) = self.pending.pop_front() {
                return Some(record);
            }
            if self.done {
                return self.then.as_mut().and_then(|lines| lines.next());
            }
            let origin = format!("index {}", self.index);
            self.index += 1;
            match self.element() {
                Ok(Element::Bytes(bytes)) => {
                    self.interpreter.record(&bytes, origin, &mut self.pending);
                    if self.closed
                        && let Some(record) = self.after_array()
                    {
                        self.pending.push_back(record);
                    }
                }
                Ok(Element::TooLong(start)) => {
                    let record =
                        Record::bad(origin, "the element is longer than 8 MiB", Some(&start));
                    if self.closed
                        && let Some(after) = self.after_array()
                    {
                        self.pending.push_back(after);
                    }
                    return Some(record);
                }
                Ok(Element::End) => {
                    self.index -= 1;
                    if let Some(record) = self.after_array() {
                        return Some(record);
                    }
                }
                Err(error) => {
                    self.done = true;
                    return Some(Record::bad(origin, error, None));
                }
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
                    return Some(Record::bad(
                        format!("directory {}", dir.display()),
                        format!("cannot read: {err}"),
                        None,
                    ));
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
            return Record::bad(origin, err.to_string(), None);
        }
        let mut value = Vec::new();
        let read = std::fs::File::open(path)
            .and_then(|f| f.take(MAX_VALUE_BYTES as u64 + 1).read_to_end(&mut value));
        if let Err(err) = read {
            return Record::bad(origin, format!("cannot read: {err}"), None);
        }
        if value.len() > MAX_VALUE_BYTES {
            return Record::bad(
                origin,
                "the file is larger than 1048576 bytes (1 MiB)",
                None,
            );
        }
        Record::Item(Item {
            key,
            value: Bytes::from(value),
            ttl_secs: None,
            expires_at: None,
            expired: false,
            content_type: None,
            origin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                Record::Bad { origin, error, .. } => Some(Err(format!("{origin}: {error}"))),
                Record::Warning { .. } => None,
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
                Record::Bad { error, .. } => Err(error),
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
        assert!(matches!(items(past).remove(0), Record::Bad { key: Some(k), .. } if k == "a"));
        let fed_back =
            br#"{"key":"a","value":"1","expiration":1799999999,"origin":"line 1","error":"x"}"#;
        let Record::Item(item) = items(fed_back).remove(0) else {
            panic!("an item");
        };
        assert!(item.expired);
        // A bad line, then the same line as a failed file keeps it, fed back twice.
        let bad = br#"{"key":"k""#;
        let Record::Bad { input, .. } = items(bad).remove(0) else {
            panic!("bad");
        };
        let mut line = serde_json::json!({"origin": "line 1", "error": "x", "input": input})
            .to_string()
            .into_bytes();
        for _ in 0..2 {
            let Record::Bad { input, .. } = items(&line).remove(0) else {
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
            "x".repeat(MAX_RECORD + 10),
            r#"{"key":"next","value":"1"}"#
        );
        let got = records(&input);
        assert_eq!(got[0], Err("line 1: the line is longer than 8 MiB".into()));
        assert_eq!(got[1], Ok(("next".into(), b"1".to_vec())));
    }

    #[test]
    fn a_bad_line_keeps_its_text_for_the_failed_file() {
        let got = read(b"{not json\n", false);
        match &got[..] {
            [Record::Bad { input, .. }] => assert_eq!(input.as_deref(), Some("{not json")),
            other => panic!("{other:?}"),
        }
    }
}
