//! The sync record: for each key, what the service and local state both held when a `pull` or
//! `push` last left them equal. It is the *base* of the three-way comparison (`bulk::merge`):
//! a side whose value still has the base's digest did not change since, so a difference is the
//! other side's change; both changed is a conflict.
//!
//! One record per (service, namespace): the service is its API root as normalised
//! ([`origin`]), so `localhost` and `127.0.0.1` keep records of their own instead of replacing
//! each other's. The record is a small SQLite database, `<state dir>/sync.sqlite3`, changed only
//! in transactions that touch the keys a run decided about: two runs at once (two prefixes, two
//! terminals) merge their changes; a run that stops leaves the rows it did not reach as they
//! were; a run that changes nothing writes nothing.
//!
//! Runs that write the record take [`Record::lock`] for their namespace, from planning until
//! their notes are written: a second `pull` or `push` of the namespace waits, so a run never
//! writes notes that another run's newer ones have overtaken.
//!
//! A row also says how the service listed the key then (`updated_at`, size), so that a key the
//! service still lists the same need not be read. `updated_at` has whole seconds, so a write in
//! the same second as the listing, of the same size, would list the same: a row vouches for the
//! service's value without a read only when its `updated_at` was at least [`SETTLE_SECS`] older
//! than the listing by the service's own clock (its `Date`). Others are read again and judged by
//! digest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension as _, params};

use crate::api::digest::Digest;

/// How much older than its listing (by the service's clock) an `updated_at` must be for a row
/// to vouch for the service's value.
pub(crate) const SETTLE_SECS: i64 = 2;

/// How long a run waits for another one to finish writing the record.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// One key's base: the value both sides held, and how the service listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Base {
    /// As the service listed it; empty when not listed since (after a push).
    pub updated_at: String,
    pub size: u64,
    pub digest: Digest,
    /// Old enough, when listed, to vouch for the digest without a read (see above).
    pub settled: bool,
    /// The expiry this tool gave the key on the service (a push), when it did: `Some(None)` is
    /// "no expiry", `None` unknown (the API cannot be asked).
    pub expires_ms: Option<Option<i64>>,
}

impl Base {
    /// Whether the service, listing the key with `updated_at` and `size`, still holds this
    /// value: known without reading it.
    pub(crate) fn vouches(&self, updated_at: &str, size: u64) -> bool {
        self.settled && self.size == size && self.updated_at == updated_at
    }
}

/// Whether an `updated_at` listed in a page the service sent at `listed_at` (Unix seconds, its
/// `Date`) is old enough to vouch for the value read (see the module notes).
pub(crate) fn settled(updated_at: &str, listed_at: Option<i64>) -> bool {
    let Some(listed_at) = listed_at else {
        return false;
    };
    humantime::parse_rfc3339_weak(updated_at)
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|since| i64::try_from(since.as_secs()).ok())
        .is_some_and(|secs| secs.saturating_add(SETTLE_SECS) <= listed_at)
}

/// The service as the record names it: scheme, host, port and path of its API root, as the
/// URL parser normalises them (lowercase host, no default port), without a trailing `/`.
pub(crate) fn origin(base_url: &str) -> String {
    let parsed = reqwest::Url::parse(base_url).ok();
    let text = parsed.as_ref().map_or(base_url, reqwest::Url::as_str);
    text.trim_end_matches('/').to_owned()
}

/// One chunk of a record read in key order: the rows kept, how many were read, the last key.
type Chunk = (Vec<(String, Base)>, i64, Option<String>);

/// A namespace's sync lock, held until dropped.
#[derive(Debug)]
pub(crate) struct RunLock {
    _file: std::fs::File,
}

/// A change to one key's base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Note {
    Set(String, Base),
    Forget(String),
}

/// The record of one namespace on one service.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    path: PathBuf,
    origin: String,
    ns: String,
}

impl Record {
    pub(crate) fn new(state_dir: &Path, base_url: &str, ns: &str) -> Self {
        Self {
            path: state_dir.join("sync.sqlite3"),
            origin: origin(base_url),
            ns: ns.to_owned(),
        }
    }

    fn lock_file(&self) -> anyhow::Result<std::fs::File> {
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir).map_err(|err| self.error("cannot create", &err))?;
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(format!("sync-{}.lock", self.ns)))
            .map_err(|err| self.error("cannot lock", &err))
    }

    /// The namespace's sync lock, held until dropped; `None` while another run holds it. The
    /// lock is the operating system's: a run that dies lets go of it.
    pub(crate) fn try_lock(&self) -> anyhow::Result<Option<RunLock>> {
        let file = self.lock_file()?;
        match file.try_lock() {
            Ok(()) => Ok(Some(RunLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(err)) => Err(self.error("cannot lock", &err)),
        }
    }

    /// The namespace's sync lock, waiting (blocking the thread) for the run that holds it.
    pub(crate) fn wait_lock(&self) -> anyhow::Result<RunLock> {
        let file = self.lock_file()?;
        file.lock().map_err(|err| self.error("cannot lock", &err))?;
        Ok(RunLock { _file: file })
    }

    /// Opens the record (read-write, so that a transaction a killed run left behind is rolled
    /// back); `None` when it does not exist and `create` is false.
    fn open(&self, create: bool) -> rusqlite::Result<Option<Connection>> {
        if !create && !self.path.exists() {
            return Ok(None);
        }
        let flags = if create {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = match Connection::open_with_flags(&self.path, flags) {
            // A record this user may read but not write (a read-only checkout): still read.
            Err(_) if !create => Connection::open_with_flags(
                &self.path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?,
            opened => opened?,
        };
        conn.busy_timeout(BUSY_TIMEOUT)?;
        if create {
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS base (
                    origin TEXT NOT NULL,
                    ns TEXT NOT NULL,
                    key TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    digest BLOB NOT NULL,
                    settled INTEGER NOT NULL,
                    ttl_known INTEGER NOT NULL,
                    expires_ms INTEGER,
                    PRIMARY KEY (origin, ns, key)
                 ) WITHOUT ROWID;",
            )?;
        } else {
            let exists: Option<i64> = conn
                .query_row(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'base'",
                    [],
                    |row| row.get(0),
                )
                .optional()?;
            if exists.is_none() {
                return Ok(None);
            }
        }
        Ok(Some(conn))
    }

    /// Takes over an earlier version's record, if there is one, unless `read_only` (a dry run
    /// or `diff`, which write nothing): see [`Record::each`].
    pub(crate) fn prepare(&self, read_only: bool) -> anyhow::Result<()> {
        if !read_only {
            self.migrate()?;
        }
        // Opened once read-write, so a journal a killed run left is rolled back now.
        self.open(false)
            .map_err(|err| self.error("cannot read", &err))?;
        Ok(())
    }

    /// The bases of every key that starts with `prefix`, in key order, handed to `each` one at
    /// a time (it returns `false` to stop), none kept: blocks, for a thread of its own. Read a
    /// chunk at a time, each chunk its own short read, so that a slow `each` never keeps other
    /// runs from writing the record. A record that does not exist is empty; one that cannot be
    /// read is an error (treating it as empty would only cost conflicts, but a broken file
    /// deserves a word).
    pub(crate) fn each(
        &self,
        prefix: &str,
        each: &mut dyn FnMut(String, Base) -> anyhow::Result<bool>,
    ) -> anyhow::Result<()> {
        const CHUNK: i64 = 1024;
        let Some(conn) = self
            .open(false)
            .map_err(|err| self.error("cannot read", &err))?
        else {
            return Ok(());
        };
        let mut after: Option<String> = None;
        loop {
            let read = || -> rusqlite::Result<Chunk> {
                let mut statement = conn.prepare_cached(
                    "SELECT key, updated_at, size, digest, settled, ttl_known, expires_ms FROM base
                     WHERE origin = ?1 AND ns = ?2 AND substr(key, 1, length(?3)) = ?3
                       AND (?4 IS NULL OR key > ?4)
                     ORDER BY key LIMIT ?5",
                )?;
                let mut rows =
                    statement.query(params![self.origin, self.ns, prefix, after, CHUNK])?;
                let (mut chunk, mut seen, mut last) = (Vec::new(), 0, None);
                while let Some(row) = rows.next()? {
                    seen += 1;
                    let key: String = row.get(0)?;
                    last = Some(key.clone());
                    let digest: Vec<u8> = row.get(3)?;
                    let Ok(digest) = <[u8; 32]>::try_from(digest.as_slice()).map(Digest) else {
                        continue;
                    };
                    let ttl_known: bool = row.get(5)?;
                    let expires_ms: Option<i64> = row.get(6)?;
                    let base = Base {
                        updated_at: row.get(1)?,
                        size: u64::try_from(row.get::<_, i64>(2)?).unwrap_or_default(),
                        digest,
                        settled: row.get(4)?,
                        expires_ms: ttl_known.then_some(expires_ms),
                    };
                    chunk.push((key, base));
                }
                Ok((chunk, seen, last))
            };
            let (chunk, seen, last) = read().map_err(|err| self.error("cannot read", &err))?;
            let full = seen == CHUNK;
            after = last;
            for (key, base) in chunk {
                if !each(key, base)? {
                    return Ok(());
                }
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// The bases of every key that starts with `prefix`, in memory (for tests).
    #[cfg(test)]
    fn load(&self, prefix: &str) -> anyhow::Result<BTreeMap<String, Base>> {
        self.prepare(false)?;
        let mut bases = BTreeMap::new();
        self.each(prefix, &mut |key, base| {
            bases.insert(key, base);
            Ok(true)
        })?;
        Ok(bases)
    }

    /// Applies `notes` in one transaction, creating the record when needed; nothing at all is
    /// written when there are none.
    pub(crate) fn apply(&self, notes: &[Note]) -> anyhow::Result<()> {
        if notes.is_empty() {
            return Ok(());
        }
        let write = || -> rusqlite::Result<()> {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))?;
            }
            let Some(mut conn) = self.open(true)? else {
                return Ok(());
            };
            let transaction =
                conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            {
                let mut set = transaction.prepare(
                    "INSERT OR REPLACE INTO base
                     (origin, ns, key, updated_at, size, digest, settled, ttl_known, expires_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?;
                let mut forget = transaction
                    .prepare("DELETE FROM base WHERE origin = ?1 AND ns = ?2 AND key = ?3")?;
                for note in notes {
                    match note {
                        Note::Set(key, base) => {
                            set.execute(params![
                                self.origin,
                                self.ns,
                                key,
                                base.updated_at,
                                i64::try_from(base.size).unwrap_or(i64::MAX),
                                base.digest.0.as_slice(),
                                base.settled,
                                base.expires_ms.is_some(),
                                base.expires_ms.flatten(),
                            ])?;
                        }
                        Note::Forget(key) => {
                            forget.execute(params![self.origin, self.ns, key])?;
                        }
                    }
                }
            }
            transaction.commit()
        };
        write().map_err(|err| self.error("cannot write", &err))
    }

    /// Forgets every base of namespace `ns` (at every service): local state deleted its copy,
    /// so the next pull starts over, as the first did. A record that does not exist has none.
    pub(crate) fn forget_namespace(state_dir: &Path, ns: &str) -> anyhow::Result<()> {
        let record = Self::new(state_dir, "", ns);
        let forget = || -> rusqlite::Result<()> {
            if let Some(conn) = record.open(false)? {
                conn.execute("DELETE FROM base WHERE ns = ?1", params![ns])?;
            }
            Ok(())
        };
        forget().map_err(|err| record.error("cannot write", &err))
    }

    /// Throws the whole record away, for when it cannot be trusted to be up to date (a run
    /// could not write its notes): later runs then judge every difference without a base,
    /// which costs conflicts, never a lost write.
    pub(crate) fn reset(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        }
    }

    /// Takes over what an earlier version kept in `<state dir>/seen/<namespace>.json` for the
    /// same service (what the service held when last pulled or pushed: the same base), once,
    /// and removes the file.
    fn migrate(&self) -> anyhow::Result<()> {
        #[derive(serde::Deserialize)]
        struct OldEntry {
            updated_at: String,
            size: u64,
            digest: String,
            #[serde(default)]
            settled: bool,
        }
        #[derive(serde::Deserialize)]
        struct OldFile {
            base_url: String,
            keys: BTreeMap<String, OldEntry>,
        }
        let Some(dir) = self.path.parent() else {
            return Ok(());
        };
        let old = dir.join("seen").join(format!("{}.json", self.ns));
        let Ok(bytes) = std::fs::read(&old) else {
            return Ok(());
        };
        let Ok(file) = serde_json::from_slice::<OldFile>(&bytes) else {
            return Ok(());
        };
        if origin(&file.base_url) != self.origin {
            return Ok(());
        }
        let notes: Vec<Note> = file
            .keys
            .into_iter()
            .filter_map(|(key, entry)| {
                Some(Note::Set(
                    key,
                    Base {
                        digest: Digest::from_hex(&entry.digest)?,
                        updated_at: entry.updated_at,
                        size: entry.size,
                        settled: entry.settled,
                        expires_ms: None,
                    },
                ))
            })
            .collect();
        self.apply(&notes)?;
        let _ = std::fs::remove_file(&old);
        Ok(())
    }

    fn error(&self, what: &str, err: &dyn std::fmt::Display) -> anyhow::Error {
        anyhow::anyhow!(
            "{what} the sync record `{}` ({err})",
            crate::local::project::display_path(&self.path)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(updated_at: &str, value: &[u8], settled: bool) -> Base {
        Base {
            updated_at: updated_at.to_owned(),
            size: value.len() as u64,
            digest: Digest::of(None, value),
            settled,
            expires_ms: None,
        }
    }

    #[test]
    fn a_row_vouches_only_for_the_same_listing_and_when_settled() {
        let row = base("2026-01-01T00:00:00Z", b"v", true);
        assert!(row.vouches("2026-01-01T00:00:00Z", 1));
        assert!(!row.vouches("2026-01-01T00:00:01Z", 1));
        assert!(!row.vouches("2026-01-01T00:00:00Z", 2));
        assert!(!base("2026-01-01T00:00:00Z", b"v", false).vouches("2026-01-01T00:00:00Z", 1));
    }

    #[test]
    fn settling_is_judged_by_the_services_date() {
        // 2026-01-01T00:00:00Z is 1767225600.
        assert!(settled("2026-01-01T00:00:00Z", Some(1_767_225_602)));
        assert!(!settled("2026-01-01T00:00:00Z", Some(1_767_225_601)));
        assert!(!settled("2026-01-01T00:00:00Z", None));
        assert!(!settled("not a time", Some(i64::MAX)));
    }

    #[test]
    fn records_are_kept_per_service_and_namespace_and_merged_not_replaced() {
        let dir = tempfile::tempdir().expect("dir");
        let a = Record::new(dir.path(), "http://127.0.0.1:9/v2/", "ns");
        let b = Record::new(dir.path(), "http://LOCALHOST:9/v2", "ns");
        let other_ns = Record::new(dir.path(), "http://127.0.0.1:9/v2", "ns2");
        assert!(a.load("").expect("empty").is_empty());
        // Nothing to write creates nothing.
        a.apply(&[]).expect("nothing");
        assert!(!dir.path().join("sync.sqlite3").exists());
        let one = base("2026-01-01T00:00:00Z", b"1", true);
        let two = base("2026-01-01T00:00:00Z", b"22", false);
        a.apply(&[Note::Set("p/1".into(), one.clone())]).expect("a");
        b.apply(&[Note::Set("p/1".into(), two.clone())]).expect("b");
        // A second run under another prefix adds to the record instead of replacing it.
        a.apply(&[Note::Set("q/1".into(), two.clone())])
            .expect("a again");
        let loaded = a.load("").expect("load");
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded.get("p/1"), Some(&one));
        assert_eq!(a.load("q/").expect("prefix").len(), 1);
        assert_eq!(b.load("").expect("b").get("p/1"), Some(&two));
        assert_eq!(
            Record::new(dir.path(), "http://localhost:9/v2", "ns")
                .load("")
                .expect("same origin")
                .len(),
            1
        );
        assert!(other_ns.load("").expect("other").is_empty());
        a.apply(&[Note::Forget("p/1".into())]).expect("forget");
        assert_eq!(a.load("").expect("load").len(), 1);
        let with_expiry = Base {
            expires_ms: Some(Some(5)),
            ..one
        };
        a.apply(&[Note::Set("t".into(), with_expiry.clone())])
            .expect("ttl");
        assert_eq!(a.load("t").expect("load").get("t"), Some(&with_expiry));
    }

    #[test]
    fn a_slow_reader_never_keeps_another_run_from_writing() {
        let dir = tempfile::tempdir().expect("dir");
        let record = Record::new(dir.path(), "http://127.0.0.1:9/v2", "ns");
        let notes: Vec<Note> = (0..3000)
            .map(|i| Note::Set(format!("k{i:05}"), base("2026-01-01T00:00:00Z", b"v", true)))
            .collect();
        record.apply(&notes).expect("fill");
        let (paused, resume) = std::sync::mpsc::channel::<()>();
        let (reading, read) = std::sync::mpsc::channel::<()>();
        let reader = record.clone();
        let thread = std::thread::spawn(move || {
            let mut count = 0;
            reader
                .each("", &mut |_, _| {
                    count += 1;
                    if count == 1 {
                        // Stops mid-read, as a merge waiting on another stream does.
                        let _ = reading.send(());
                        let _ = resume.recv();
                    }
                    Ok(true)
                })
                .map(|()| count)
        });
        read.recv().expect("the reader started");
        // Another run writes meanwhile: with a read held open this would wait, then fail.
        record
            .apply(&[Note::Forget("k02999".into())])
            .expect("written while the reader waits");
        paused.send(()).expect("resume");
        let count = thread.join().expect("joins").expect("reads");
        assert!((2999..=3000).contains(&count), "{count}");
    }
}
