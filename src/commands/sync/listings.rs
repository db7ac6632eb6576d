//! Each side's keys of a namespace as sorted streams, for `diff` and for a plan: local state's
//! from the store itself (in-process, with digests), the service's as listed
//! (`GET /storage/kvs/{id}/keys` page after page, spilled to a scratch file), and the sync
//! record's bases.

use std::sync::Arc;

use anyhow::Context as _;

use crate::bulk::listing::Meta;
use crate::bulk::sorted::{Sorted, Spill};
use crate::bulk::sync;
use crate::commands::backend::Backend;
use crate::emulator::store::KeyDigest;
use crate::error::{Exit, UserError};
use crate::local::seen::{Base, Record};

/// Every key of local namespace `ns` under `prefix`, with digests, from the store itself, in
/// key order. A namespace local state does not have is an error, or with `missing_is_empty`
/// (a dry-run pull, which creates nothing) no keys.
pub(crate) async fn local_sorted(
    local: &Backend,
    ns: &str,
    label: &str,
    prefix: &str,
    missing_is_empty: bool,
) -> anyhow::Result<Sorted<Meta>> {
    let Some(store) = local.store().cloned() else {
        anyhow::bail!("local state is not open");
    };
    // Said at once, before the service is listed.
    let checking = Arc::clone(&store);
    let id = ns.to_owned();
    let now_ms = crate::emulator::now_ms();
    let usable = tokio::task::spawn_blocking(move || checking.check(&id, now_ms))
        .await
        .context("the local store's reader stopped")?
        .context("cannot read local state")?;
    if usable.is_err() && !missing_is_empty {
        return Err(no_local_namespace(label, ns).into());
    }
    let (id, label, prefix) = (ns.to_owned(), label.to_owned(), prefix.to_owned());
    Ok(Sorted::spawn(move |feed| {
        let now_ms = crate::emulator::now_ms();
        let mut failed = None;
        let usable = store
            .each_digest(
                &id,
                &prefix,
                now_ms,
                &mut |KeyDigest {
                          key,
                          size,
                          digest,
                          expires_ms,
                      }| {
                    let ttl_secs = expires_ms.map(|at| sync::secs_left(at, now_ms));
                    let meta = Meta {
                        size,
                        updated_at: None,
                        digest: Some(digest),
                        ttl_secs,
                        ttl_known: true,
                        listed_at: None,
                    };
                    match feed.push(key, meta) {
                        Ok(more) => more,
                        Err(err) => {
                            failed = Some(err);
                            false
                        }
                    }
                },
            )
            .context("cannot read local state")?;
        if let Some(err) = failed {
            return Err(err);
        }
        if usable.is_err() && !missing_is_empty {
            return Err(no_local_namespace(&label, &id).into());
        }
        Ok(())
    }))
}

fn no_local_namespace(label: &str, id: &str) -> UserError {
    UserError::new(
        Exit::NotFound,
        format!("there is no local KV namespace `{label}` (id {id})"),
    )
    .hint("`telnyx-edge storage kv pull NAMESPACE` creates it from the service; `telnyx-edge --local storage kv create --name NAME` creates a new one.")
}

/// Every key of service namespace `ns` under `prefix`, as listed, spilled to a scratch file.
pub(crate) async fn remote_listing(
    remote: &Backend,
    ns: &str,
    label: &str,
    prefix: &str,
) -> anyhow::Result<Spill> {
    Spill::list(&remote.client, ns, prefix)
        .await
        .with_context(|| format!("failed to list the keys of KV namespace `{label}`"))
}

/// The record's bases under `prefix`, in key order; `read_only` for a run that writes nothing.
pub(crate) fn record_sorted(
    record: &Record,
    prefix: &str,
    read_only: bool,
) -> anyhow::Result<Sorted<Base>> {
    record.prepare(read_only)?;
    let (record, prefix) = (record.clone(), prefix.to_owned());
    Ok(Sorted::spawn(move |feed| {
        record.each(&prefix, &mut |key, base| feed.push(key, base))
    }))
}

/// The service's listing with the digests the sync record vouches for filled in (for `diff`),
/// and the expiry a push gave the value where the record knows it.
pub(crate) fn vouched(mut listing: Sorted<Meta>, mut bases: Sorted<Base>) -> Sorted<Meta> {
    Sorted::spawn(move |feed| {
        while let Some((key, mut meta)) = listing.next_entry()? {
            while bases
                .peek()?
                .is_some_and(|next| next.as_bytes() < key.as_bytes())
            {
                bases.next_entry()?;
            }
            if let (Some(base), Some(updated_at)) =
                (bases.take_if(&key)?, meta.updated_at.as_deref())
                && base.vouches(updated_at, meta.size)
            {
                meta.digest = Some(base.digest);
                if let Some(expires_ms) = base.expires_ms {
                    meta.ttl_known = true;
                    meta.ttl_secs = ttl_left(expires_ms);
                }
            }
            if !feed.push(key, meta)? {
                break;
            }
        }
        Ok(())
    })
}

/// Runs a merge of sorted streams on the blocking pool.
pub(crate) async fn merged<T: Send + 'static>(
    merge: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(merge)
        .await
        .context("the comparison stopped")?
}

/// The time (Unix ms) by which `base` says the service's key expires, as seconds from now.
pub(crate) fn ttl_left(expires_ms: Option<i64>) -> Option<u64> {
    Some(sync::secs_left(expires_ms?, crate::emulator::now_ms()))
}
