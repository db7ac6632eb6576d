//! `--dir DIR`: every file below DIR is an item, its path relative to DIR (with `/`) as the key,
//! its content type guessed from its name or first bytes.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::{Item, Record};
use crate::api::rules::{self, MAX_VALUE_BYTES};

/// `--dir DIR`: every file below DIR, its path relative to DIR (with `/`) as the key.
pub(crate) fn from_dir(dir: &Path) -> Box<dyn Iterator<Item = Record> + Send> {
    Box::new(DirRecords {
        root: dir.to_path_buf(),
        stack: vec![dir.to_path_buf()],
        files: Vec::new(),
    })
}

/// How many files are below `dir`, for a progress bar's total (what cannot be read counts
/// as nothing).
pub(crate) fn count_files(dir: &Path) -> u64 {
    let mut count = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(_) => count += 1,
                Err(_) => {}
            }
        }
    }
    count
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
        let content_type = crate::local::content_type::of_file(path, &value);
        Record::Item(Item {
            key,
            value: Bytes::from(value),
            ttl_secs: None,
            expires_at: None,
            expired: false,
            content_type,
            origin,
        })
    }
}
