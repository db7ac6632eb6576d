//! `key list --sort BY` and `--reverse`: the listing (`GET /storage/kvs/{id}/keys`, every page)
//! spilled into a scratch SQLite file on disk (`bulk::sorted::Spill`, the one `pull` and `diff`
//! use), then read back in order. Sorting needs every key before the first can be printed; the
//! scratch file keeps that off the heap, so memory stays flat at a million keys.

use anyhow::Context as _;

use crate::bulk::sorted::Spill;
use crate::cli::{KeyListArgs, SortBy};
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
    let prefix = args.prefix.as_deref().unwrap_or_default();
    let spill = Spill::list(&backend.client, &target.id, prefix)
        .await
        .with_context(|| format!("failed to list keys of KV namespace `{}`", target.label))?;
    let order = order_by(args.sort.unwrap_or(SortBy::Key), args.reverse);
    let mut listing =
        KeyListing::new(printer, false, args.long)?.knowing(backend.store(), &target.id);
    spill
        .each_ordered(&order, BATCH, |keys| listing.page(keys))
        .context("failed to read keys back from the scratch database")?;
    if !listing.finish(None)? {
        say_none(printer, &target.label, args.prefix.as_deref());
    }
    Ok(())
}

/// The `ORDER BY` of a sort: sizes and times largest and newest first, ties in key order;
/// `--reverse` turns the whole order round.
fn order_by(by: SortBy, reverse: bool) -> String {
    let (first, second) = match by {
        SortBy::Key => ("key ASC", None),
        SortBy::Size => ("size DESC", Some("key ASC")),
        SortBy::Updated => ("updated_at DESC", Some("key ASC")),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_turns_every_term_round() {
        assert_eq!(order_by(SortBy::Key, false), "key ASC");
        assert_eq!(order_by(SortBy::Key, true), "key DESC");
        assert_eq!(order_by(SortBy::Size, false), "size DESC, key ASC");
        assert_eq!(order_by(SortBy::Size, true), "size ASC, key DESC");
        assert_eq!(order_by(SortBy::Updated, true), "updated_at ASC, key DESC");
    }
}
