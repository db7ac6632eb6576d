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
//!
//! Here: the connections and their upkeep (checkpoints, sweeps, the reserve for a full disk);
//! the tables and their versions are in `schema`, namespaces in `namespaces`, keys and values
//! in `keys`.

mod keys;
mod namespaces;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

pub(crate) use keys::KeyDigest;
pub use keys::{KeyRow, Value};
use namespaces::purge_namespace;
pub use namespaces::{DeleteOutcome, NamespaceRow, Unusable};
use schema::migrate;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::NamespaceStatus;

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

    /// An in-memory store holding `namespace`, created at 0.
    fn store_with(namespace: NamespaceRow) -> Store {
        let store = Store::open_in_memory().expect("store");
        store.create_namespace(&namespace, 0).expect("create");
        store
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
        let store = store_with(row("other", "my-cache", 0));
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
        let store = store_with(row("n", "n", 0));
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
