//! Keys and values in the store: read, written, deleted, listed by page, and read whole as
//! digests for a comparison.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::namespaces::{Unusable, usable};
use super::{Store, StoreError};

/// Sorts above every key: keys are ASCII, and this is U+10FFFF in UTF-8.
const AFTER_ALL_KEYS: &str = "\u{10FFFF}";

/// A key as listed: never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    pub key: String,
    pub size: u64,
    pub updated_ms: i64,
}

/// A key as `pull`, `push` and `diff` compare it, without its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyDigest {
    pub key: String,
    /// The value's size in bytes.
    pub size: u64,
    /// The digest of the value and its content type.
    pub digest: crate::api::digest::Digest,
    /// When the key expires (Unix ms; `None`: never).
    pub expires_ms: Option<i64>,
}

/// A key's content type and expiry (Unix ms; `None`: never), as local state knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyDetail {
    pub content_type: String,
    pub expires_ms: Option<i64>,
}

/// A stored value and its content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

impl Store {
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

    /// What a listing cannot say about each of `keys` in `ns`: its content type and when it
    /// expires (Unix ms; `None`: never), or `None` for a key gone by `now`. For `key list
    /// --long` on local state, read without the values.
    pub(crate) fn details(
        &self,
        ns: &str,
        keys: &[&str],
        now: i64,
    ) -> Result<Vec<Option<KeyDetail>>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT content_type, expires_ms FROM kv
                 WHERE ns = ?1 AND key = ?2 AND (expires_ms IS NULL OR expires_ms > ?3)",
            )?;
            let mut details = Vec::with_capacity(keys.len());
            for key in keys {
                let detail = statement
                    .query_row(params![ns, key, now], |row| {
                        Ok(KeyDetail {
                            content_type: row.get(0)?,
                            expires_ms: row.get(1)?,
                        })
                    })
                    .optional()?;
                details.push(detail);
            }
            Ok(details)
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
                    chunk.push(KeyDigest {
                        key,
                        size: value.len() as u64,
                        digest: crate::api::digest::Digest::of(Some(&content_type), value),
                        expires_ms: row.get(3)?,
                    });
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
            after = rows.last().map(|row| row.key.clone());
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
}
