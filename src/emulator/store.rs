//! The emulator's embedded store: SQLite in WAL mode, one writer connection and a pool of
//! readers, so reads run concurrently with the single writer.
//!
//! Durability: every acknowledged write is a committed transaction in the WAL, so it survives the
//! process being killed (SIGKILL). With `synchronous=NORMAL` the last transactions may be lost on
//! power failure, which is the right trade for a development emulator.
//!
//! Namespace lifecycle is derived from timestamps rather than stored as a status, so results do
//! not depend on when a background task last ran: a namespace is `pending` until `ready_ms`,
//! then `provision_ok` (or `provision_failed` when `fail` is set); once deleted it is `deleting`
//! until `gone_ms` and absent afterwards. The sweeper only reclaims space.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::api::types::NamespaceStatus;

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS namespaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_ms  INTEGER NOT NULL,
    ready_ms    INTEGER NOT NULL,
    fail        INTEGER NOT NULL,
    deleted_ms  INTEGER,
    gone_ms     INTEGER
);
CREATE TABLE IF NOT EXISTS kv (
    ns           TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        BLOB NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    updated_ms   INTEGER NOT NULL,
    expires_ms   INTEGER,
    PRIMARY KEY (ns, key)
);
CREATE INDEX IF NOT EXISTS kv_expiry ON kv (expires_ms) WHERE expires_ms IS NOT NULL;
";

/// Sorts above every key: keys are ASCII, and this is U+10FFFF in UTF-8.
const AFTER_ALL_KEYS: &str = "\u{10FFFF}";

/// WAL pages (4 KiB) after which the writer checkpoints by itself.
const WRITER_CHECKPOINT_PAGES: i64 = 10_000;

/// How many expired keys one sweep step deletes, so that the writer is never held for long.
const SWEEP_BATCH: i64 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the state directory `{path}`")]
    StateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the emulator database `{path}`")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the emulator database `{path}` was written by a newer version (schema {found})")]
    NewerSchema { path: PathBuf, found: i64 },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// A namespace row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceRow {
    pub id: String,
    pub name: String,
    pub created_ms: i64,
    pub ready_ms: i64,
    pub fail: bool,
    pub deleted_ms: Option<i64>,
    pub gone_ms: Option<i64>,
}

impl NamespaceRow {
    /// The status and `updated_at` (ms) the namespace has at `now`, or `None` once it is gone.
    pub fn state_at(&self, now: i64) -> Option<(NamespaceStatus, i64)> {
        match (self.deleted_ms, self.gone_ms) {
            (_, Some(gone)) if now >= gone => None,
            (Some(deleted), _) => Some((NamespaceStatus::Deleting, deleted)),
            _ if now < self.ready_ms => Some((NamespaceStatus::Pending, self.created_ms)),
            _ if self.fail => Some((NamespaceStatus::ProvisionFailed, self.ready_ms)),
            _ => Some((NamespaceStatus::ProvisionOk, self.ready_ms)),
        }
    }

    fn from_sql(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            name: row.get(1)?,
            created_ms: row.get(2)?,
            ready_ms: row.get(3)?,
            fail: row.get(4)?,
            deleted_ms: row.get(5)?,
            gone_ms: row.get(6)?,
        })
    }
}

const NAMESPACE_COLUMNS: &str = "id, name, created_ms, ready_ms, fail, deleted_ms, gone_ms";

/// A key as listed: never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    pub key: String,
    pub size: u64,
    pub updated_ms: i64,
}

/// A key, its value's size, the digest of its value and content type, and when it expires
/// (Unix ms; `None`: never).
pub(crate) type KeyDigest = (String, u64, crate::api::digest::Digest, Option<i64>);

/// A stored value and its content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

/// Why a key operation could not run against its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    Missing,
    NotReady(NamespaceStatus),
}

/// What deleting a namespace did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteOutcome {
    Missing,
    AlreadyDeleting,
    Deleting(NamespaceRow),
}

pub struct Store {
    writer: Mutex<Connection>,
    /// A connection of its own for WAL checkpoints, so that copying the log into the database
    /// (and the fsyncs that go with it) never stalls a write; `None` in memory.
    checkpointer: Option<Mutex<Connection>>,
    /// Read-only connections for a file database; `None` in memory, where reads share the writer.
    readers: Option<ReaderPool>,
    /// A file of reserved space beside the database, given up when the disk is full so that
    /// a DELETE (which SQLite must log too) can still free space; `None` in memory.
    reserve: Option<PathBuf>,
}

/// Bytes held in reserve for deletes on a full disk.
const RESERVE_BYTES: usize = 1024 * 1024;

struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Store {
    /// Opens (creating if needed) `kv.sqlite3` in `dir`.
    pub fn open_dir(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::StateDir {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join("kv.sqlite3");
        let open = |path: &Path| -> Result<Connection, StoreError> {
            let conn = Connection::open(path).map_err(|source| StoreError::Open {
                path: path.to_owned(),
                source,
            })?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            Ok(conn)
        };
        let writer = open(&path)?;
        migrate(&writer, &path)?;
        // Checkpoints run from `checkpoint()`; the writer only does one itself if they fall far
        // behind (40 MB of log).
        writer.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
        let checkpointer = open(&path)?;
        let reserve = dir.join("reserve.bin");
        if !reserve.exists() {
            // Best effort: on a disk already full there is nothing to reserve.
            if std::fs::write(&reserve, vec![0u8; RESERVE_BYTES]).is_err() {
                let _ = std::fs::remove_file(&reserve);
            }
        }
        Ok(Self {
            reserve: Some(reserve),
            writer: Mutex::new(writer),
            checkpointer: Some(Mutex::new(checkpointer)),
            readers: Some(ReaderPool {
                path,
                idle: Mutex::new(Vec::new()),
            }),
        })
    }

    /// A store that lives only as long as the process: for tests and `serve --in-memory`.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory()?;
        migrate(&conn, Path::new(":memory:"))?;
        Ok(Self {
            writer: Mutex::new(conn),
            checkpointer: None,
            readers: None,
            reserve: None,
        })
    }

    fn write(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (an open transaction
        // rolls back when its guard drops), so a poisoned lock is safe to reuse.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let Some(pool) = &self.readers else {
            return f(&self.write());
        };
        let idle = pool.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = Connection::open_with_flags(
                    &pool.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(|source| StoreError::Open {
                    path: pool.path.clone(),
                    source,
                })?;
                conn.busy_timeout(std::time::Duration::from_secs(5))?;
                conn
            }
        };
        let result = f(&conn);
        let mut idle = pool.idle.lock().unwrap_or_else(|e| e.into_inner());
        // After a burst the pool shrinks back: connections beyond a few are closed.
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }

    /// Inserts a namespace, or returns `None` when the name is taken by one that still exists.
    pub fn create_namespace(
        &self,
        row: &NamespaceRow,
        now: i64,
    ) -> Result<Option<NamespaceRow>, StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing = tx
            .query_row(
                &format!("SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE name = ?1"),
                [&row.name],
                NamespaceRow::from_sql,
            )
            .optional()?;
        if let Some(existing) = existing {
            if existing.state_at(now).is_some() {
                return Ok(None);
            }
            purge_namespace(&tx, &existing.id)?;
        }
        insert_namespace(&tx, row, &row.name)?;
        tx.commit()?;
        Ok(Some(row.clone()))
    }

    /// Makes sure a namespace with this id exists, inserting `row` when it does not: how the
    /// emulator mirrors namespaces bound in `func.toml`. When another namespace has the name,
    /// the mirror's name gets the start of its id appended. Returns the name it was inserted
    /// under, or `None` when the id already existed.
    pub fn ensure_namespace(
        &self,
        row: &NamespaceRow,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(existing) = tx
            .query_row(
                &format!("SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE id = ?1"),
                [&row.id],
                NamespaceRow::from_sql,
            )
            .optional()?
        {
            if existing.state_at(now).is_some() {
                return Ok(None);
            }
            purge_namespace(&tx, &existing.id)?;
        }
        let mut name = row.name.clone();
        let taken = tx
            .query_row(
                &format!("SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE name = ?1"),
                [&name],
                NamespaceRow::from_sql,
            )
            .optional()?;
        if let Some(taken) = taken {
            if taken.state_at(now).is_some() {
                name = format!("{name}-{}", &row.id[..8.min(row.id.len())]);
            } else {
                purge_namespace(&tx, &taken.id)?;
            }
        }
        insert_namespace(&tx, row, &name)?;
        tx.commit()?;
        Ok(Some(name))
    }

    /// The namespace with `id` if it still exists at `now`.
    pub fn namespace(&self, id: &str, now: i64) -> Result<Option<NamespaceRow>, StoreError> {
        self.read(|conn| namespace_at(conn, id, now))
    }

    /// One page of the namespaces that exist at `now`, ordered by creation second then id, and
    /// the total count.
    pub fn list_namespaces(
        &self,
        now: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<NamespaceRow>, u64), StoreError> {
        self.read(|conn| {
            let total: i64 = conn
                .prepare_cached(
                    "SELECT count(*) FROM namespaces WHERE gone_ms IS NULL OR gone_ms > ?1",
                )?
                .query_row([now], |r| r.get(0))?;
            let offset = i64::try_from(offset).unwrap_or(i64::MAX);
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = conn
                .prepare_cached(&format!(
                    "SELECT {NAMESPACE_COLUMNS} FROM namespaces
                     WHERE gone_ms IS NULL OR gone_ms > ?1
                     ORDER BY created_ms / 1000, id LIMIT ?2 OFFSET ?3"
                ))?
                .query_map(params![now, limit, offset], NamespaceRow::from_sql)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok((rows, u64::try_from(total).unwrap_or(0)))
        })
    }

    /// Starts deleting a namespace; it disappears at `gone_ms`.
    pub fn delete_namespace(
        &self,
        id: &str,
        now: i64,
        gone_ms: i64,
    ) -> Result<DeleteOutcome, StoreError> {
        self.even_when_full(|| self.try_delete_namespace(id, now, gone_ms))
    }

    fn try_delete_namespace(
        &self,
        id: &str,
        now: i64,
        gone_ms: i64,
    ) -> Result<DeleteOutcome, StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(mut row) = namespace_at(&tx, id, now)? else {
            return Ok(DeleteOutcome::Missing);
        };
        if row.deleted_ms.is_some() {
            return Ok(DeleteOutcome::AlreadyDeleting);
        }
        tx.execute(
            "UPDATE namespaces SET deleted_ms = ?2, gone_ms = ?3 WHERE id = ?1",
            params![id, now, gone_ms],
        )?;
        tx.commit()?;
        row.deleted_ms = Some(now);
        row.gone_ms = Some(gone_ms);
        Ok(DeleteOutcome::Deleting(row))
    }

    /// The value of `key`, `Ok(None)` when it is absent or expired.
    pub fn get_value(
        &self,
        ns: &str,
        key: &str,
        now: i64,
    ) -> Result<Result<Option<Value>, Unusable>, StoreError> {
        self.read(|conn| {
            if let Err(unusable) = usable(conn, ns, now)? {
                return Ok(Err(unusable));
            }
            let value = conn
                .prepare_cached(
                    "SELECT value, content_type FROM kv
                     WHERE ns = ?1 AND key = ?2 AND (expires_ms IS NULL OR expires_ms > ?3)",
                )?
                .query_row(params![ns, key, now], |r| {
                    Ok(Value {
                        bytes: r.get(0)?,
                        content_type: r.get(1)?,
                    })
                })
                .optional()?;
            Ok(Ok(value))
        })
    }

    /// Creates or replaces `key`; `Ok(true)` when it did not exist (or had expired).
    pub fn put_value(
        &self,
        ns: &str,
        key: &str,
        value: &Value,
        expires_ms: Option<i64>,
        now: i64,
    ) -> Result<Result<bool, Unusable>, StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Err(unusable) = usable(&tx, ns, now)? {
            return Ok(Err(unusable));
        }
        let existed = tx
            .prepare_cached(
                "SELECT 1 FROM kv WHERE ns = ?1 AND key = ?2 AND (expires_ms IS NULL OR expires_ms > ?3)",
            )?
            .exists(params![ns, key, now])?;
        tx.prepare_cached(
            "INSERT INTO kv (ns, key, value, size, content_type, updated_ms, expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, size = excluded.size,
                 content_type = excluded.content_type, updated_ms = excluded.updated_ms,
                 expires_ms = excluded.expires_ms",
        )?
        .execute(params![
            ns,
            key,
            value.bytes,
            value.bytes.len() as i64,
            value.content_type,
            now,
            expires_ms
        ])?;
        tx.commit()?;
        Ok(Ok(!existed))
    }

    /// Deletes `key`; deleting an absent key succeeds.
    pub fn delete_value(
        &self,
        ns: &str,
        key: &str,
        now: i64,
    ) -> Result<Result<(), Unusable>, StoreError> {
        self.even_when_full(|| self.try_delete_value(ns, key, now))
    }

    /// Runs a delete; when the disk is full, gives up the reserve and tries once more, so that
    /// deleting is how a full disk is mended.
    fn even_when_full<T>(
        &self,
        delete: impl Fn() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match delete() {
            Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(err, _)))
                if err.code == rusqlite::ErrorCode::DiskFull =>
            {
                if let Some(reserve) = &self.reserve {
                    let _ = std::fs::remove_file(reserve);
                }
                delete()
            }
            other => other,
        }
    }

    fn try_delete_value(
        &self,
        ns: &str,
        key: &str,
        now: i64,
    ) -> Result<Result<(), Unusable>, StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Err(unusable) = usable(&tx, ns, now)? {
            return Ok(Err(unusable));
        }
        tx.prepare_cached("DELETE FROM kv WHERE ns = ?1 AND key = ?2")?
            .execute(params![ns, key])?;
        tx.commit()?;
        Ok(Ok(()))
    }

    /// Up to `limit` live keys after `after` that start with `prefix`, bytewise ascending, and
    /// whether more follow.
    pub fn list_keys(
        &self,
        ns: &str,
        prefix: &str,
        after: Option<&str>,
        limit: u32,
        now: i64,
    ) -> Result<Result<(Vec<KeyRow>, bool), Unusable>, StoreError> {
        self.read(|conn| {
            if let Err(unusable) = usable(conn, ns, now)? {
                return Ok(Err(unusable));
            }
            let upper = format!("{prefix}{AFTER_ALL_KEYS}");
            let mut rows = conn
                .prepare_cached(
                    "SELECT key, size, updated_ms FROM kv
                     WHERE ns = ?1 AND key >= ?2 AND key < ?3 AND key > ?4
                       AND substr(key, 1, ?5) = ?2
                       AND (expires_ms IS NULL OR expires_ms > ?6)
                     ORDER BY key LIMIT ?7",
                )?
                .query_map(
                    params![
                        ns,
                        prefix,
                        upper,
                        after.unwrap_or(""),
                        prefix.chars().count() as i64,
                        now,
                        i64::from(limit) + 1
                    ],
                    |r| {
                        Ok(KeyRow {
                            key: r.get(0)?,
                            size: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                            updated_ms: r.get(2)?,
                        })
                    },
                )?
                .collect::<Result<Vec<_>, _>>()?;
            let has_more = rows.len() > limit as usize;
            rows.truncate(limit as usize);
            Ok(Ok((rows, has_more)))
        })
    }

    /// Every live key of `ns` under `prefix`, in key order, with its size, digest and expiry:
    /// passed to `each` one at a time (it returns `false` to stop), none of them kept. Read a
    /// chunk at a time, each chunk its own short read, so that a slow `each` (a merge waiting
    /// on another stream) never holds a view of the database open: writers go on, and the
    /// write-ahead log can be folded back meanwhile.
    pub(crate) fn each_digest(
        &self,
        ns: &str,
        prefix: &str,
        now: i64,
        each: &mut dyn FnMut(KeyDigest) -> bool,
    ) -> Result<Result<(), Unusable>, StoreError> {
        const CHUNK: i64 = 1024;
        let mut after: Option<String> = None;
        loop {
            let rows = self.read(|conn| {
                if let Err(unusable) = usable(conn, ns, now)? {
                    return Ok(Err(unusable));
                }
                let upper = format!("{prefix}{AFTER_ALL_KEYS}");
                let mut statement = conn.prepare_cached(
                    "SELECT key, value, content_type, expires_ms FROM kv
                     WHERE ns = ?1 AND key >= ?2 AND key < ?3 AND substr(key, 1, ?4) = ?2
                       AND (expires_ms IS NULL OR expires_ms > ?5)
                       AND (?6 IS NULL OR key > ?6)
                     ORDER BY key LIMIT ?7",
                )?;
                let mut rows = statement.query(params![
                    ns,
                    prefix,
                    upper,
                    prefix.chars().count() as i64,
                    now,
                    after,
                    CHUNK
                ])?;
                let mut chunk = Vec::new();
                while let Some(row) = rows.next()? {
                    let key: String = row.get(0)?;
                    let value = row.get_ref(1)?.as_blob().unwrap_or_default();
                    let content_type: String = row.get(2)?;
                    let digest = crate::api::digest::Digest::of(Some(&content_type), value);
                    let expires_ms: Option<i64> = row.get(3)?;
                    chunk.push((key, value.len() as u64, digest, expires_ms));
                }
                Ok(Ok(chunk))
            })?;
            let rows = match rows {
                Ok(rows) => rows,
                Err(unusable) if after.is_none() => return Ok(Err(unusable)),
                // Deleted meanwhile: what was read is all there was.
                Err(_) => return Ok(Ok(())),
            };
            let full = rows.len() as i64 == CHUNK;
            after = rows.last().map(|(key, ..)| key.clone());
            for row in rows {
                if !each(row) {
                    return Ok(Ok(()));
                }
            }
            if !full {
                return Ok(Ok(()));
            }
        }
    }

    /// Whether namespace `ns` can be read now (it exists and is ready).
    pub(crate) fn check(&self, ns: &str, now: i64) -> Result<Result<(), Unusable>, StoreError> {
        self.read(|conn| usable(conn, ns, now))
    }

    /// Copies what the write-ahead log holds into the database without blocking writers or
    /// readers (a passive checkpoint). Nothing to do in memory.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        if let Some(conn) = &self.checkpointer {
            let conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        }
        Ok(())
    }

    /// Reclaims the space of namespaces that are gone and of expired keys. Returns how many rows
    /// it removed, so a caller can tell when there is nothing left to do.
    pub fn sweep(&self, now: i64) -> Result<usize, StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let gone = tx
            .prepare_cached("SELECT id FROM namespaces WHERE gone_ms <= ?1")?
            .query_map([now], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut removed = 0;
        for id in &gone {
            removed += purge_namespace(&tx, id)?;
        }
        removed += tx
            .prepare_cached(
                "DELETE FROM kv WHERE rowid IN
                 (SELECT rowid FROM kv WHERE expires_ms <= ?1 LIMIT ?2)",
            )?
            .execute(params![now, SWEEP_BATCH])?;
        tx.commit()?;
        Ok(removed)
    }
}

/// Read connections kept open between requests; a burst opens more, then closes them.
const MAX_IDLE_READERS: usize = 8;

fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found: version,
        });
    }
    conn.execute_batch(SCHEMA)?;
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(())
}

fn namespace_at(conn: &Connection, id: &str, now: i64) -> Result<Option<NamespaceRow>, StoreError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE id = ?1"
        ))?
        .query_row([id], NamespaceRow::from_sql)
        .optional()?;
    Ok(row.filter(|row| row.state_at(now).is_some()))
}

/// Whether key operations may run in namespace `ns` at `now`.
fn usable(conn: &Connection, ns: &str, now: i64) -> Result<Result<(), Unusable>, StoreError> {
    Ok(
        match namespace_at(conn, ns, now)?.and_then(|row| row.state_at(now)) {
            None => Err(Unusable::Missing),
            Some((NamespaceStatus::ProvisionOk, _)) => Ok(()),
            Some((status, _)) => Err(Unusable::NotReady(status)),
        },
    )
}

/// Inserts `row` under `name` (a mirror may be renamed to avoid a taken name).
fn insert_namespace(
    tx: &rusqlite::Transaction<'_>,
    row: &NamespaceRow,
    name: &str,
) -> rusqlite::Result<usize> {
    tx.execute(
        &format!(
            "INSERT INTO namespaces ({NAMESPACE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        ),
        params![
            row.id,
            name,
            row.created_ms,
            row.ready_ms,
            row.fail,
            row.deleted_ms,
            row.gone_ms
        ],
    )
}

fn purge_namespace(conn: &Connection, id: &str) -> Result<usize, StoreError> {
    let keys = conn
        .prepare_cached("DELETE FROM kv WHERE ns = ?1")?
        .execute([id])?;
    let namespaces = conn
        .prepare_cached("DELETE FROM namespaces WHERE id = ?1")?
        .execute([id])?;
    Ok(keys + namespaces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, name: &str, ready_ms: i64) -> NamespaceRow {
        NamespaceRow {
            id: id.into(),
            name: name.into(),
            created_ms: 0,
            ready_ms,
            fail: false,
            deleted_ms: None,
            gone_ms: None,
        }
    }

    #[test]
    fn lifecycle_follows_the_clock() {
        let mut ns = row("a", "a", 100);
        assert_eq!(ns.state_at(99), Some((NamespaceStatus::Pending, 0)));
        assert_eq!(ns.state_at(100), Some((NamespaceStatus::ProvisionOk, 100)));
        ns.fail = true;
        assert_eq!(
            ns.state_at(100),
            Some((NamespaceStatus::ProvisionFailed, 100))
        );
        ns.deleted_ms = Some(200);
        ns.gone_ms = Some(300);
        assert_eq!(ns.state_at(299), Some((NamespaceStatus::Deleting, 200)));
        assert_eq!(ns.state_at(300), None);
    }

    #[test]
    fn a_gone_namespace_frees_its_name_and_its_keys() {
        let store = Store::open_in_memory().expect("store");
        let first = row("id-1", "cache", 0);
        assert!(store.create_namespace(&first, 0).expect("create").is_some());
        let value = Value {
            bytes: b"v".to_vec(),
            content_type: "text/plain".into(),
        };
        assert_eq!(
            store.put_value("id-1", "k", &value, None, 1).expect("put"),
            Ok(true)
        );
        assert!(
            store
                .create_namespace(&row("id-2", "cache", 0), 1)
                .expect("create")
                .is_none()
        );
        store.delete_namespace("id-1", 2, 5).expect("delete");
        assert!(
            store
                .create_namespace(&row("id-2", "cache", 0), 4)
                .expect("create")
                .is_none()
        );
        assert!(
            store
                .create_namespace(&row("id-2", "cache", 0), 5)
                .expect("create")
                .is_some()
        );
        let keys: i64 = store
            .write()
            .query_row("SELECT count(*) FROM kv", [], |r| r.get(0))
            .expect("count");
        assert_eq!(keys, 0);
    }

    #[test]
    fn mirrors_keep_their_id_and_step_aside_for_a_taken_name() {
        let store = Store::open_in_memory().expect("store");
        store
            .create_namespace(&row("other", "my-cache", 0), 0)
            .expect("create");
        let mirror = row("0b6a4c1e-6d0f", "my-cache", 0);
        assert_eq!(
            store.ensure_namespace(&mirror, 1).expect("mirror"),
            Some("my-cache-0b6a4c1e".to_owned())
        );
        assert_eq!(store.ensure_namespace(&mirror, 2).expect("mirror"), None);
        let found = store
            .namespace("0b6a4c1e-6d0f", 3)
            .expect("get")
            .expect("exists");
        assert_eq!(found.name, "my-cache-0b6a4c1e");
    }

    #[test]
    fn expired_keys_are_absent_and_swept() {
        let store = Store::open_in_memory().expect("store");
        store
            .create_namespace(&row("n", "n", 0), 0)
            .expect("create");
        let value = Value {
            bytes: vec![],
            content_type: "application/octet-stream".into(),
        };
        assert_eq!(
            store.put_value("n", "k", &value, Some(10), 0).expect("put"),
            Ok(true)
        );
        assert!(
            store
                .get_value("n", "k", 9)
                .expect("get")
                .expect("usable")
                .is_some()
        );
        assert_eq!(store.get_value("n", "k", 10).expect("get"), Ok(None));
        let (keys, more) = store
            .list_keys("n", "", None, 10, 10)
            .expect("list")
            .expect("usable");
        assert!(keys.is_empty() && !more);
        assert_eq!(
            store.put_value("n", "k", &value, None, 11).expect("put"),
            Ok(true)
        );
        assert_eq!(
            store
                .put_value("n", "gone", &value, Some(12), 11)
                .expect("put"),
            Ok(true)
        );
        assert_eq!(store.sweep(12).expect("sweep"), 1);
    }
}
