//! A namespace's keys in key order, streamed a chunk at a time: what `pull`, `push` and `diff`
//! merge, so that their memory follows the differences, not the namespace. Each stream is
//! filled by a thread of its own (a SQLite query: the local store, the sync record, or the
//! service's listing spilled to a scratch database, whatever order the service sent it in) and
//! read by the merge, which blocks: run it on the blocking pool.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use rusqlite::{Connection, params};

use super::listing::Meta;
use crate::api::types::Key;
use crate::client::{Client, KeyPages};

/// Keys per chunk handed from a producer to the merge.
const CHUNK: usize = 1024;
/// Chunks a producer may run ahead of the merge.
const AHEAD: usize = 2;

/// What a producer sends: rows, then `End` (a producer that stops without it, by panicking
/// say, must not pass for a complete listing).
enum Message<T> {
    Rows(Vec<(String, T)>),
    End,
}

type Chunk<T> = anyhow::Result<Message<T>>;

/// Keys in ascending bytewise order, each with what its side knows of it.
pub(crate) struct Sorted<T> {
    rx: Option<Receiver<Chunk<T>>>,
    buf: VecDeque<(String, T)>,
}

/// What a producer hands its rows to: `false` once nobody reads any more.
pub(crate) struct Feed<T> {
    tx: SyncSender<Chunk<T>>,
    chunk: Vec<(String, T)>,
    last: Option<String>,
}

impl<T> Feed<T> {
    /// Adds a row; `Ok(false)` when the reader has gone (stop producing). Rows out of order
    /// are an error: the merge would pair the wrong keys.
    pub(crate) fn push(&mut self, key: String, value: T) -> anyhow::Result<bool> {
        if let Some(last) = &self.last
            && last.as_bytes() >= key.as_bytes()
        {
            anyhow::bail!("keys out of order: `{key}` after `{last}`");
        }
        self.last = Some(key.clone());
        self.chunk.push((key, value));
        if self.chunk.len() >= CHUNK {
            let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
            return Ok(self.tx.send(Ok(Message::Rows(chunk))).is_ok());
        }
        Ok(true)
    }

    fn finish(self) {
        if !self.chunk.is_empty() {
            let _ = self.tx.send(Ok(Message::Rows(self.chunk)));
        }
        let _ = self.tx.send(Ok(Message::End));
    }
}

impl<T: Send + 'static> Sorted<T> {
    /// No keys.
    #[cfg(test)]
    pub(crate) fn empty() -> Self {
        Self {
            rx: None,
            buf: VecDeque::new(),
        }
    }

    /// Runs `produce` on a thread of its own, feeding rows in key order.
    pub(crate) fn spawn(
        produce: impl FnOnce(&mut Feed<T>) -> anyhow::Result<()> + Send + 'static,
    ) -> Self {
        let (tx, rx) = sync_channel(AHEAD);
        std::thread::spawn(move || {
            let mut feed = Feed {
                tx: tx.clone(),
                chunk: Vec::with_capacity(CHUNK),
                last: None,
            };
            match produce(&mut feed) {
                Ok(()) => feed.finish(),
                Err(err) => {
                    let _ = tx.send(Err(err));
                }
            }
        });
        Self {
            rx: Some(rx),
            buf: VecDeque::new(),
        }
    }

    fn fill(&mut self) -> anyhow::Result<()> {
        while self.buf.is_empty() {
            let Some(rx) = &self.rx else {
                return Ok(());
            };
            match rx.recv() {
                Ok(Ok(Message::Rows(rows))) => self.buf.extend(rows),
                Ok(Ok(Message::End)) => self.rx = None,
                Ok(Err(err)) => {
                    self.rx = None;
                    return Err(err);
                }
                Err(_) => {
                    self.rx = None;
                    anyhow::bail!("a reader of keys stopped before the end of its keys");
                }
            }
        }
        Ok(())
    }

    /// The next key, without taking it (blocks).
    pub(crate) fn peek(&mut self) -> anyhow::Result<Option<&str>> {
        self.fill()?;
        Ok(self.buf.front().map(|(key, _)| key.as_str()))
    }

    /// The next key and its value (blocks).
    pub(crate) fn next_entry(&mut self) -> anyhow::Result<Option<(String, T)>> {
        self.fill()?;
        Ok(self.buf.pop_front())
    }

    /// The value of `key` when it is the next key, taken; `None` (and nothing taken) when the
    /// stream's next key is another.
    pub(crate) fn take_if(&mut self, key: &str) -> anyhow::Result<Option<T>> {
        if self.peek()? == Some(key) {
            return Ok(self.next_entry()?.map(|(_, value)| value));
        }
        Ok(None)
    }
}

/// The smallest next key of the streams, bytewise.
pub(crate) fn smallest(keys: &[Option<&str>]) -> Option<String> {
    keys.iter()
        .flatten()
        .min_by(|a, b| a.as_bytes().cmp(b.as_bytes()))
        .map(|key| (*key).to_owned())
}

/// The service's listing of a namespace, kept in a scratch SQLite database (a temporary file,
/// removed when dropped), so it can be read back in key order whatever order the pages came in,
/// without holding it in memory.
pub(crate) struct Spill {
    conn: Connection,
    /// Kept where an open file cannot be unlinked (Windows); elsewhere the file is unlinked
    /// at once, so that no exit (Ctrl-C ends the process) leaves it behind.
    _path: Option<tempfile::TempPath>,
}

impl Spill {
    /// Lists every key of `ns` under `prefix` into a new spill.
    pub(crate) async fn list(client: &Client, ns: &str, prefix: &str) -> anyhow::Result<Self> {
        let path = tempfile::Builder::new()
            .prefix("telnyx-edge-listing-")
            .suffix(".sqlite3")
            .tempfile()
            .map_err(|err| {
                crate::error::UserError::new(
                    crate::error::Exit::Failure,
                    format!(
                        "cannot create a scratch file in `{}` for the service's key list: {err}",
                        std::env::temp_dir().display()
                    ),
                )
                .hint("Set TMPDIR to a writable directory with room for about 100 bytes a key.")
            })?
            .into_temp_path();
        let conn = Connection::open(&path)?;
        let path = if cfg!(unix) {
            path.close()?;
            None
        } else {
            Some(path)
        };
        conn.execute_batch(
            // A sort (`key list --sort size`) spills to a temporary file beside this one, not
            // into memory, where the bundled SQLite would keep it (SQLITE_TEMP_STORE=2), and
            // the page cache stays at 2 MiB: memory flat however long the listing.
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
             PRAGMA temp_store = FILE; PRAGMA cache_size = -2048;
             CREATE TABLE listing (
                key TEXT PRIMARY KEY, size INTEGER NOT NULL, updated_at TEXT NOT NULL,
                listed_at INTEGER
             ) WITHOUT ROWID;",
        )?;
        let mut conn = Some(conn);
        let prefix = (!prefix.is_empty()).then_some(prefix);
        let mut pages = KeyPages::new(client, ns, prefix, None);
        while let Some(keys) = pages.next().await.map_err(anyhow::Error::new)? {
            let listed_at = pages.date();
            let mut owned = conn.take().ok_or_else(|| anyhow::anyhow!("spill lost"))?;
            owned = tokio::task::spawn_blocking(move || -> anyhow::Result<Connection> {
                {
                    let transaction = owned.transaction()?;
                    {
                        // A key listed twice (the service's affair) keeps its last listing.
                        let mut insert = transaction.prepare_cached(
                            "INSERT OR REPLACE INTO listing VALUES (?1, ?2, ?3, ?4)",
                        )?;
                        for key in keys {
                            insert.execute(params![
                                key.key,
                                i64::try_from(key.size_bytes).unwrap_or(i64::MAX),
                                key.updated_at,
                                listed_at
                            ])?;
                        }
                    }
                    transaction.commit()?;
                }
                Ok(owned)
            })
            .await??;
            conn = Some(owned);
        }
        let conn = conn.ok_or_else(|| anyhow::anyhow!("spill lost"))?;
        Ok(Self { conn, _path: path })
    }

    /// The listing in key order.
    pub(crate) fn sorted(self) -> Sorted<Meta> {
        let Self { conn, _path: path } = self;
        Sorted::spawn(move |feed| {
            let result = read_listing(&conn, feed);
            // The file goes once SQLite has let go of it (Windows cannot remove an open file).
            drop(conn);
            drop(path);
            result
        })
    }
}

impl Spill {
    /// The listing as the API's keys, `batch` at a time, in `order`: an SQL `ORDER BY` over the
    /// columns `key`, `size` and `updated_at` (`key list --sort`).
    pub(crate) fn each_ordered(
        &self,
        order: &str,
        batch: usize,
        mut page: impl FnMut(Vec<Key>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut statement = self.conn.prepare(&format!(
            "SELECT key, size, updated_at FROM listing ORDER BY {order}"
        ))?;
        let mut rows = statement.query([])?;
        let mut keys = Vec::with_capacity(batch);
        while let Some(row) = rows.next()? {
            keys.push(Key {
                key: row.get(0)?,
                size_bytes: u64::try_from(row.get::<_, i64>(1)?).unwrap_or_default(),
                updated_at: row.get(2)?,
            });
            if keys.len() == batch {
                page(std::mem::replace(&mut keys, Vec::with_capacity(batch)))?;
            }
        }
        if !keys.is_empty() {
            page(keys)?;
        }
        Ok(())
    }
}

/// The spilled listing in key order (the scratch file is this process's alone: no lock matters).
fn read_listing(conn: &Connection, feed: &mut Feed<Meta>) -> anyhow::Result<()> {
    let mut statement =
        conn.prepare("SELECT key, size, updated_at, listed_at FROM listing ORDER BY key")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        if !feed.push(row.get(0)?, meta(row)?)? {
            break;
        }
    }
    Ok(())
}

fn meta(row: &rusqlite::Row<'_>) -> rusqlite::Result<Meta> {
    Ok(Meta {
        size: u64::try_from(row.get::<_, i64>(1)?).unwrap_or_default(),
        updated_at: Some(row.get(2)?),
        digest: None,
        ttl_secs: None,
        ttl_known: false,
        listed_at: row.get(3)?,
    })
}
