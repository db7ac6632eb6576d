//! What `pull` last saw on the service, per namespace: for each key, the `updated_at` and size the
//! key list gave and the digest of the value read then. A later pull (or `push`, or `diff`) that
//! lists the same `updated_at` and size knows the value without reading it, which is what makes
//! a pull with nothing new cost a key list.
//!
//! The service writes `updated_at` to the second, so a second write within the same second as the
//! one read, of the same size, would list the same. An entry is trusted only when its
//! `updated_at` was at least [`SETTLE_SECS`] older than the listing that saw it (by this machine's
//! clock, which allows for some skew); newer ones are read again next time.
//!
//! The file is `<state dir>/seen/<namespace id>.json`, written atomically. It is a cache: a
//! missing, unreadable or foreign one (another `--base-url`) costs reads, never correctness of
//! what is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::api::digest::Digest;

/// How much older than its listing an `updated_at` must be for the entry to be trusted.
pub(crate) const SETTLE_SECS: i64 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    updated_at: String,
    size: u64,
    digest: String,
    /// Old enough, when listed, to vouch for the digest (see above). An entry that is not still
    /// says what the service held, for `push` to tell whose change a difference is.
    #[serde(default)]
    settled: bool,
}

/// What the service held for a key when a pull (or push) last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Last {
    pub updated_at: String,
    pub size: u64,
    pub digest: Option<Digest>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    /// The API root the entries came from.
    base_url: String,
    keys: BTreeMap<String, Entry>,
}

/// The service's values as a pull last saw them, for one namespace.
#[derive(Debug)]
pub(crate) struct Seen {
    path: PathBuf,
    file: File,
}

impl Seen {
    /// The entries for namespace `ns` at `base_url`; none when there is no file, or it is for
    /// another service, or it cannot be read.
    pub(crate) fn load(state_dir: &Path, base_url: &str, ns: &str) -> Self {
        let path = state_dir.join("seen").join(format!("{ns}.json"));
        let file = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<File>(&bytes).ok())
            .filter(|file| file.base_url == base_url)
            .unwrap_or_else(|| File {
                base_url: base_url.to_owned(),
                keys: BTreeMap::new(),
            });
        Self { path, file }
    }

    /// The digest of `key`'s value, when the service lists it as it was when last read.
    pub(crate) fn digest(&self, key: &str, updated_at: &str, size: u64) -> Option<Digest> {
        let entry = self.file.keys.get(key)?;
        (entry.settled && entry.updated_at == updated_at && entry.size == size)
            .then(|| Digest::from_hex(&entry.digest))
            .flatten()
    }

    /// What the service held for `key` when last seen, settled or not.
    pub(crate) fn last(&self, key: &str) -> Option<Last> {
        let entry = self.file.keys.get(key)?;
        Some(Last {
            updated_at: entry.updated_at.clone(),
            size: entry.size,
            digest: Digest::from_hex(&entry.digest),
        })
    }

    /// Notes that `key`, listed with `updated_at` and `size` by a listing that started at
    /// `listed_at` (Unix seconds), holds the value with `digest`. An `updated_at` too close to the
    /// listing does not vouch for the digest: the next run reads the value again.
    pub(crate) fn note(
        &mut self,
        key: &str,
        updated_at: &str,
        size: u64,
        digest: Digest,
        listed_at: i64,
    ) {
        let settled = humantime::parse_rfc3339_weak(updated_at)
            .ok()
            .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|since| i64::try_from(since.as_secs()).ok())
            .is_some_and(|secs| secs + SETTLE_SECS <= listed_at);
        self.file.keys.insert(
            key.to_owned(),
            Entry {
                updated_at: updated_at.to_owned(),
                size,
                digest: digest.to_hex(),
                settled,
            },
        );
    }

    /// Drops `key`: the service no longer has it, or it changed in a way not seen.
    pub(crate) fn forget(&mut self, key: &str) {
        self.file.keys.remove(key);
    }

    /// The keys with an entry that start with `prefix`.
    pub(crate) fn keys_with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> {
        self.file
            .keys
            .range(prefix.to_owned()..)
            .map(|(key, _)| key.as_str())
            .take_while(move |key| key.starts_with(prefix))
    }

    /// Writes the file (atomically), creating its folder.
    pub(crate) fn save(&self) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut text = serde_json::to_vec(&self.file)?;
        text.push(b'\n');
        let mut file = super::atomic::AtomicFile::new(&self.path)?;
        std::io::Write::write_all(&mut file, &text)?;
        file.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_trusted_only_for_the_same_listing_and_when_settled() {
        let dir = tempfile::tempdir().expect("dir");
        let mut seen = Seen::load(dir.path(), "http://a/v2", "ns");
        let digest = Digest::of(None, b"v");
        // 2026-01-01T00:00:00Z is 1767225600.
        seen.note("old", "2026-01-01T00:00:00Z", 1, digest, 1_767_225_602);
        seen.note("new", "2026-01-01T00:00:00Z", 1, digest, 1_767_225_601);
        assert_eq!(seen.digest("old", "2026-01-01T00:00:00Z", 1), Some(digest));
        assert_eq!(seen.digest("old", "2026-01-01T00:00:01Z", 1), None);
        assert_eq!(seen.digest("old", "2026-01-01T00:00:00Z", 2), None);
        assert_eq!(seen.digest("new", "2026-01-01T00:00:00Z", 1), None);
        // Not vouched for, but still what the service held.
        assert_eq!(
            seen.last("new").map(|last| (last.size, last.digest)),
            Some((1, Some(digest)))
        );
        seen.save().expect("save");
        let again = Seen::load(dir.path(), "http://a/v2", "ns");
        assert_eq!(again.digest("old", "2026-01-01T00:00:00Z", 1), Some(digest));
        let other = Seen::load(dir.path(), "http://b/v2", "ns");
        assert_eq!(other.digest("old", "2026-01-01T00:00:00Z", 1), None);
    }
}
