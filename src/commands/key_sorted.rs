//! `key list --sort BY` and `--reverse`: the listing (`GET /storage/kvs/{id}/keys`, every page)
//! written into a scratch SQLite database on disk, then read back in order. Sorting needs every
//! key before the first can be printed; the scratch file keeps that off the heap, so memory stays
//! flat at a million keys.

use anyhow::Context as _;
use rusqlite::{Connection, params};

use crate::api::types::Key;
use crate::cli::{KeyListArgs, SortBy};
use crate::client::KeyPages;
use crate::commands::backend::Backend;
use crate::commands::key_listing::{KeyListing, say_none};
use crate::commands::target;
use crate::ui::printer::Printer;

/// Rows read back and printed at a time (one table layout each, like a listing page).
const BATCH: usize = 1000;

/// Lists every key, then prints them sorted.
pub(crate) async fn list(
    backend: &Backend,
    args: &KeyListArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let target = target::id(backend, &args.namespace.spec).await?;
    let scratch = scratch().context("failed to open a scratch database to sort keys in")?;
    let mut pages = KeyPages::new(&backend.client, &target.id, args.prefix.as_deref(), None);
    let failed = || format!("failed to list keys of KV namespace `{}`", target.label);
    while let Some(keys) = pages.next().await.with_context(failed)? {
        insert(&scratch, &keys).context("failed to write keys to the scratch database")?;
    }
    let order = order_by(args.sort.unwrap_or(SortBy::Key), args.reverse);
    let mut listing =
        KeyListing::new(printer, false, args.long)?.knowing(backend.store(), &target.id);
    read_sorted(&scratch, &order, |keys| listing.page(keys))
        .context("failed to read keys back from the scratch database")?;
    if !listing.finish(None)? {
        say_none(printer, &target.label, args.prefix.as_deref());
    }
    Ok(())
}

/// A private database in a temporary file that SQLite deletes when it is closed; its page
/// cache is kept small, the rest stays on disk.
fn scratch() -> rusqlite::Result<Connection> {
    let db = Connection::open("")?;
    db.execute_batch(
        "PRAGMA cache_size = -4096;
         PRAGMA temp_store = FILE;
         PRAGMA journal_mode = OFF;
         PRAGMA synchronous = OFF;
         CREATE TABLE keys (key BLOB NOT NULL, size INTEGER NOT NULL, updated TEXT NOT NULL);",
    )?;
    Ok(db)
}

fn insert(db: &Connection, keys: &[Key]) -> rusqlite::Result<()> {
    let tx = db.unchecked_transaction()?;
    {
        let mut statement = tx.prepare_cached("INSERT INTO keys VALUES (?1, ?2, ?3)")?;
        for key in keys {
            let size = i64::try_from(key.size_bytes).unwrap_or(i64::MAX);
            statement.execute(params![key.key.as_bytes(), size, key.updated_at])?;
        }
    }
    tx.commit()
}

/// The `ORDER BY` of a sort: sizes and times largest and newest first, ties in key order;
/// `--reverse` turns the whole order round.
fn order_by(by: SortBy, reverse: bool) -> String {
    let (first, second) = match by {
        SortBy::Key => ("key ASC", None),
        SortBy::Size => ("size DESC", Some("key ASC")),
        SortBy::Updated => ("updated DESC", Some("key ASC")),
    };
    let flip = |term: &str| {
        if !reverse {
            term.to_owned()
        } else if let Some(column) = term.strip_suffix(" ASC") {
            format!("{column} DESC")
        } else {
            term.replace(" DESC", " ASC")
        }
    };
    match second {
        Some(second) => format!("{}, {}", flip(first), flip(second)),
        None => flip(first),
    }
}

/// Hands the rows to `page`, `BATCH` at a time, in `order`.
fn read_sorted(
    db: &Connection,
    order: &str,
    mut page: impl FnMut(Vec<Key>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut statement = db.prepare(&format!(
        "SELECT key, size, updated FROM keys ORDER BY {order}"
    ))?;
    let mut rows = statement.query([])?;
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(row) = rows.next()? {
        let key: Vec<u8> = row.get(0)?;
        let size: i64 = row.get(1)?;
        batch.push(Key {
            key: String::from_utf8_lossy(&key).into_owned(),
            size_bytes: u64::try_from(size).unwrap_or_default(),
            updated_at: row.get(2)?,
        });
        if batch.len() == BATCH {
            page(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))?;
        }
    }
    if !batch.is_empty() {
        page(batch)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_turns_every_term_round() {
        assert_eq!(order_by(SortBy::Key, false), "key ASC");
        assert_eq!(order_by(SortBy::Key, true), "key DESC");
        assert_eq!(order_by(SortBy::Size, false), "size DESC, key ASC");
        assert_eq!(order_by(SortBy::Size, true), "size ASC, key DESC");
        assert_eq!(order_by(SortBy::Updated, true), "updated ASC, key DESC");
    }
}
