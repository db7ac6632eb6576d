//! Namespaces in the store: their lifecycle read off timestamps, created, mirrored, listed and
//! deleted; and whether key operations may run in one.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Store, StoreError};
use crate::api::types::NamespaceStatus;

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

impl Store {
    /// Inserts a namespace, or returns `None` when the name is taken by one that still exists.
    pub fn create_namespace(
        &self,
        row: &NamespaceRow,
        now: i64,
    ) -> Result<Option<NamespaceRow>, StoreError> {
        let inserted = self.insert_unless_live(row, Column::Name, now, |_| Ok(row.name.clone()))?;
        Ok(inserted.map(|_| row.clone()))
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
        self.insert_unless_live(row, Column::Id, now, |tx| {
            let name = &row.name;
            Ok(match live_or_purged(tx, Column::Name, name, now)? {
                Some(_) => format!("{name}-{}", &row.id[..8.min(row.id.len())]),
                None => name.clone(),
            })
        })
    }

    /// Inserts `row` under the name `name` picks, in one transaction, unless a namespace with
    /// the same `column` still exists at `now` (`None` then). Returns the name inserted under.
    fn insert_unless_live(
        &self,
        row: &NamespaceRow,
        column: Column,
        now: i64,
        name: impl FnOnce(&Connection) -> Result<String, StoreError>,
    ) -> Result<Option<String>, StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = match column {
            Column::Id => &row.id,
            Column::Name => &row.name,
        };
        if live_or_purged(&tx, column, value, now)?.is_some() {
            return Ok(None);
        }
        let name = name(&tx)?;
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

    /// Whether namespace `ns` can be read now (it exists and is ready).
    pub(crate) fn check(&self, ns: &str, now: i64) -> Result<Result<(), Unusable>, StoreError> {
        self.read(|conn| usable(conn, ns, now))
    }
}

/// The column a namespace is looked up by: both are unique.
#[derive(Debug, Clone, Copy)]
enum Column {
    Id,
    Name,
}

/// The namespace stored with this id or name, whether or not it still exists.
fn stored_namespace(
    conn: &Connection,
    column: Column,
    value: &str,
) -> Result<Option<NamespaceRow>, StoreError> {
    let sql = match column {
        Column::Id => format!("SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE id = ?1"),
        Column::Name => format!("SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE name = ?1"),
    };
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([value], NamespaceRow::from_sql)
        .optional()?)
}

/// The namespace with this id or name if it still exists at `now`; one that is gone is purged
/// first, so that its id and name are free again.
fn live_or_purged(
    conn: &Connection,
    column: Column,
    value: &str,
    now: i64,
) -> Result<Option<NamespaceRow>, StoreError> {
    let Some(row) = stored_namespace(conn, column, value)? else {
        return Ok(None);
    };
    if row.state_at(now).is_some() {
        return Ok(Some(row));
    }
    purge_namespace(conn, &row.id)?;
    Ok(None)
}

fn namespace_at(conn: &Connection, id: &str, now: i64) -> Result<Option<NamespaceRow>, StoreError> {
    let row = stored_namespace(conn, Column::Id, id)?;
    Ok(row.filter(|row| row.state_at(now).is_some()))
}

/// Whether key operations may run in namespace `ns` at `now`.
pub(super) fn usable(
    conn: &Connection,
    ns: &str,
    now: i64,
) -> Result<Result<(), Unusable>, StoreError> {
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

pub(super) fn purge_namespace(conn: &Connection, id: &str) -> Result<usize, StoreError> {
    let keys = conn
        .prepare_cached("DELETE FROM kv WHERE ns = ?1")?
        .execute([id])?;
    let namespaces = conn
        .prepare_cached("DELETE FROM namespaces WHERE id = ?1")?
        .execute([id])?;
    Ok(keys + namespaces)
}
