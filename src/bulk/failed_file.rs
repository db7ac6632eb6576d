//! The failed file (`--failed-file`): one line per key not done, each the item as it was given
//! (so the file can be fed back as input) and why it was not done.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::input::Item;
use crate::local::atomic::AtomicFile;

/// A line of the failed file: the item as it was given (so the file can be fed back) and
/// why it was not written.
#[derive(Serialize)]
pub(crate) struct FailedLine<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base64: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<u64>,
    /// An absolute expiry stays absolute (wrangler's field), so a retry does not move it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<&'a str>,
    pub origin: &'a str,
    pub error: &'a str,
    /// The text of an input line that could not be read as an item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<&'a str>,
}

impl<'a> FailedLine<'a> {
    /// A key to read or delete, or a bad line: nothing to write back but the key.
    pub(super) fn about(key: Option<&'a str>, origin: &'a str, error: &'a str) -> Self {
        Self {
            key,
            value: None,
            base64: None,
            ttl_secs: None,
            expiration: None,
            content_type: None,
            origin,
            error,
            input: None,
        }
    }

    /// An item to write, exactly as it would be read back: text stays text, anything that is
    /// not UTF-8 goes as base64.
    pub(super) fn item(item: &'a Item, error: &'a str) -> Self {
        let (value, base64) = crate::ui::text_or_base64(&item.value);
        Self {
            key: Some(&item.key),
            value: Some(value),
            base64: Some(base64),
            ttl_secs: item.ttl_secs.filter(|_| item.expires_at.is_none()),
            expiration: item.expires_at,
            content_type: item.content_type.as_deref(),
            origin: &item.origin,
            error,
            input: None,
        }
    }
}

/// The failed file: at most one line per key, the latest item of that key not written.
///
/// Lines go to a scratch file as they come (a stopped run's failed file can be most of a large
/// input); a line that a later line of its key replaces, or whose key a later item wrote, is
/// only noted. At the end the lines that still matter are copied, in their order, to a
/// temporary file beside the target and renamed into place, so the file is complete or absent
/// (never a torn line), and it may name the input file itself ("retry in place") without
/// truncating what is still being read.
pub(super) struct FailedFile {
    /// The target and its temporary file, opened at once; `None` without `--failed-file`.
    out: Option<(PathBuf, AtomicFile)>,
    scratch: Option<std::io::BufWriter<std::fs::File>>,
    /// Lines written to the scratch file.
    lines: u64,
    /// The path named a file before the run.
    existed: bool,
    /// The line of each key's latest item not written, by a 128-bit hash of the key (so that
    /// the table stays small when a stopped run's failed file holds millions of keys).
    latest: HashMap<u128, u64>,
    /// The bad lines of a key (input that cannot be written) still in the failed file. A bad
    /// line replaces nothing: the key's earlier item would be lost with it.
    bad: HashMap<u128, Vec<u64>>,
    /// Lines replaced by a later line or a later write of their key.
    dropped: HashSet<u64>,
}

impl FailedFile {
    /// Opens the temporary file at once, so that a failed file that cannot be written (a
    /// read-only directory, a directory's name) stops the run before any request.
    pub(super) fn new(path: Option<PathBuf>) -> anyhow::Result<Self> {
        let mut file = Self {
            out: None,
            scratch: None,
            lines: 0,
            existed: false,
            latest: HashMap::new(),
            bad: HashMap::new(),
            dropped: HashSet::new(),
        };
        let Some(path) = path else {
            return Ok(file);
        };
        if path.is_dir() {
            anyhow::bail!(
                "cannot write the failed items to `{}`: it is a directory",
                path.display()
            );
        }
        file.existed = path.exists();
        let out = AtomicFile::new(&path).map_err(|err| cannot_write(&path, &err))?;
        let scratch = tempfile::tempfile_in(crate::local::atomic::parent_dir(&path))
            .map_err(|err| cannot_write(&path, &err))?;
        file.scratch = Some(std::io::BufWriter::new(scratch));
        file.out = Some((path, out));
        Ok(file)
    }

    /// Adds a line. An item's line replaces the earlier lines of its key; a bad line
    /// (`invalid`) replaces none. Returns how many lines it replaced.
    pub(super) fn write(&mut self, line: &FailedLine<'_>, invalid: bool) -> anyhow::Result<u64> {
        let number = self.lines;
        self.lines += 1;
        let replaced = match line.key.map(key_id) {
            Some(id) if invalid => {
                self.bad.entry(id).or_default().push(number);
                0
            }
            Some(id) => {
                let replaced = self.forget(id);
                self.latest.insert(id, number);
                replaced
            }
            None => 0,
        };
        if let (Some((path, _)), Some(scratch)) = (&self.out, self.scratch.as_mut()) {
            let mut text = serde_json::to_vec(line)?;
            text.push(b'\n');
            scratch
                .write_all(&text)
                .map_err(|err| cannot_write(path, &err))?;
        }
        Ok(replaced)
    }

    /// A later item of `key` was written: its earlier lines leave the failed file. Returns how
    /// many there were.
    pub(super) fn written(&mut self, key: &str) -> u64 {
        if self.latest.is_empty() && self.bad.is_empty() {
            return 0;
        }
        self.forget(key_id(key))
    }

    /// Drops every line of the key `id` from the failed file; how many there were.
    fn forget(&mut self, id: u128) -> u64 {
        let lines = self
            .latest
            .remove(&id)
            .into_iter()
            .chain(self.bad.remove(&id).unwrap_or_default());
        lines.filter(|&line| self.dropped.insert(line)).count() as u64
    }

    /// Puts the file in place with the lines that still matter. With none, an existing file
    /// is emptied (it would describe an earlier run) and none is created.
    pub(super) fn finish(mut self) -> anyhow::Result<()> {
        let (Some((path, out)), Some(scratch)) = (self.out.take(), self.scratch.take()) else {
            return Ok(());
        };
        let kept = self.lines - self.dropped.len() as u64;
        if kept == 0 && !self.existed {
            return Ok(());
        }
        let fail = |err: &std::io::Error| cannot_write(&path, err);
        let mut scratch = scratch.into_inner().map_err(|err| fail(err.error()))?;
        let mut out = std::io::BufWriter::new(out);
        if kept > 0 {
            use std::io::{BufRead as _, Seek as _};
            scratch
                .seek(std::io::SeekFrom::Start(0))
                .map_err(|err| fail(&err))?;
            let mut reader = std::io::BufReader::new(scratch);
            let mut line = Vec::new();
            for number in 0..self.lines {
                line.clear();
                reader
                    .read_until(b'\n', &mut line)
                    .map_err(|err| fail(&err))?;
                if !self.dropped.contains(&number) {
                    out.write_all(&line).map_err(|err| fail(&err))?;
                }
            }
        }
        let out = out.into_inner().map_err(|err| fail(err.error()))?;
        out.commit().map_err(|err| fail(&err))
    }
}

/// A key's identity in the failed file's bookkeeping: two independent 64-bit hashes, so that
/// two keys of one run never share one.
fn key_id(key: &str) -> u128 {
    let mut low = std::collections::hash_map::DefaultHasher::new();
    (0xA5u8, key).hash(&mut low);
    (u128::from(key_hash(key)) << 64) | u128::from(low.finish())
}

fn cannot_write(path: &Path, err: &std::io::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot write the failed items to `{}`: {err}",
        path.display()
    )
}

/// A key's 64-bit hash: its place among the keys of one run.
pub(super) fn key_hash(key: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_values_go_to_the_failed_file_as_base64() {
        let item = Item {
            key: "logo.png".into(),
            value: bytes::Bytes::from_static(b"\x89PNG\r\n\x1a\n\x00\xff"),
            ttl_secs: Some(60),
            expires_at: None,
            expired: false,
            content_type: Some("image/png".into()),
            origin: "file logo.png".into(),
        };
        let line = serde_json::to_string(&FailedLine::item(&item, "boom")).expect("JSON");
        assert_eq!(
            line,
            r#"{"key":"logo.png","value":"iVBORw0KGgoA/w==","base64":true,"ttl_secs":60,"content_type":"image/png","origin":"file logo.png","error":"boom"}"#
        );
    }
}
