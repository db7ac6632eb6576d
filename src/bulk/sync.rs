//! Comparing two namespaces and making one like the other: what `diff`, `pull` and `push` share.
//!
//! Both sides are listed whole (key names, sizes and `updated_at`: about a hundred bytes a key;
//! values never), then merged in key order. A key on one side only is added or removed; sizes
//! that differ are a change; equal sizes are decided by the values' digests, known without a
//! request for local state and for service keys a pull saw unchanged (`local::seen`), read
//! otherwise. Copying goes through the bulk engine: the adaptive window, the error budget,
//! Ctrl-C and the failed file behave as in `import`.

use std::sync::Arc;

use futures_util::StreamExt as _;
use serde::Serialize;

use super::budget::{Budget, watch_signals};
use super::key_source::Key;
use super::keys::{Answer, KeyOutcome, key_request, tally_key};
use super::listing::Meta;
use super::run::Summary;
use super::sorted::{Sorted, smallest};
use super::tally::Tally;
use super::window::Window;
use crate::api::digest::Digest;
use crate::client::{ApiError, Client};
use crate::ui::printer::Printer;
use crate::ui::progress::CountBar;

/// How side B differs from side A for one key: what copying B onto A does to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Change {
    /// Only B has it.
    Added,
    /// Both have it, with different values or content types.
    Changed,
    /// Only A has it.
    Removed,
    /// Both have the same value, with expiries more than [`TTL_SLACK_SECS`] apart (or one
    /// without), where both sides can tell.
    Ttl,
}

/// How far apart two sides' expiries of one value may be and still count as the same: a copy
/// rounds a TTL up to the second, and its clock starts when the write arrives.
pub(crate) const TTL_SLACK_SECS: u64 = 2;

/// Whether two sides' expiries differ, where both can tell.
fn ttl_differs(a: &Meta, b: &Meta) -> bool {
    a.ttl_known && b.ttl_known && ttls_differ(a.ttl_secs, b.ttl_secs)
}

/// Whether two expiries, as seconds left (`None`: no expiry), are more than
/// [`TTL_SLACK_SECS`] apart, or only one is set.
pub(crate) fn ttls_differ(a: Option<u64>, b: Option<u64>) -> bool {
    match (a, b) {
        (None, None) => false,
        (Some(x), Some(y)) => x.abs_diff(y) > TTL_SLACK_SECS,
        _ => true,
    }
}

/// The seconds from `now_ms` until `expires_ms` (both Unix ms), rounded up, so that a copy
/// never outlives the key by less than a second nor expires before it; a key about to expire
/// gets the 1 second the API allows at least.
pub(crate) fn secs_left(expires_ms: i64, now_ms: i64) -> u64 {
    let left = expires_ms.saturating_sub(now_ms).max(1);
    u64::try_from(left.saturating_add(999) / 1000).unwrap_or(1)
}

/// The difference of two equal values with other expiries, when they have.
fn ttl_difference(key: &str, a: &Meta, b: &Meta) -> Option<Difference> {
    ttl_differs(a, b).then(|| Difference {
        key: key.to_owned(),
        change: Change::Ttl,
        a_size: Some(a.size),
        b_size: Some(b.size),
        a_ttl_secs: a.ttl_secs,
        b_ttl_secs: b.ttl_secs,
    })
}

impl Change {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Changed => "changed",
            Self::Removed => "removed",
            Self::Ttl => "ttl",
        }
    }
}

/// One key that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Difference {
    pub key: String,
    pub change: Change,
    /// The size on side A (absent for an added key).
    pub a_size: Option<u64>,
    pub b_size: Option<u64>,
    /// For a `ttl` difference: the seconds each side's key has left (absent: no expiry).
    #[serde(skip_serializing_if = "is_not_ttl")]
    pub a_ttl_secs: Option<u64>,
    #[serde(skip_serializing_if = "is_not_ttl")]
    pub b_ttl_secs: Option<u64>,
}

/// Serde's test for the TTL fields: only a `ttl` difference has any (always `None` otherwise).
#[allow(clippy::ref_option)]
fn is_not_ttl(ttl: &Option<u64>) -> bool {
    ttl.is_none()
}

/// How two namespaces compare, before any value is read.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub differences: Vec<Difference>,
    /// Keys on both sides with the same size whose digests are not both known, with what each
    /// side listed.
    pub unsure: Vec<(String, Meta, Meta)>,
    /// Keys known to be equal.
    pub equal: u64,
}

/// Merges two sides' keys, in key order (blocks: run it on the blocking pool). Memory follows
/// the keys that differ, not the namespaces.
pub(crate) fn plan(a: Sorted<Meta>, b: Sorted<Meta>) -> anyhow::Result<Plan> {
    plan_noting(a, b, &mut |_, _| {})
}

/// [`plan`], telling `note` the TTL side B listed (`None`: no expiry, or not known) of each
/// key B has that differs or is unsure, so a copy can give it on.
pub(crate) fn plan_noting(
    mut a: Sorted<Meta>,
    mut b: Sorted<Meta>,
    note: &mut dyn FnMut(&str, Option<u64>),
) -> anyhow::Result<Plan> {
    let mut plan = Plan::default();
    loop {
        let Some(key) = smallest(&[a.peek()?, b.peek()?]) else {
            return Ok(plan);
        };
        let (a_meta, b_meta) = (a.take_if(&key)?, b.take_if(&key)?);
        let b_ttl = b_meta.as_ref().map(|meta| meta.ttl_secs);
        let before = (plan.differences.len(), plan.unsure.len());
        match (a_meta, b_meta) {
            (Some(a_meta), None) => plan.differences.push(Difference {
                key,
                change: Change::Removed,
                a_size: Some(a_meta.size),
                b_size: None,
                a_ttl_secs: None,
                b_ttl_secs: None,
            }),
            (None, Some(b_meta)) => plan.differences.push(Difference {
                key,
                change: Change::Added,
                a_size: None,
                b_size: Some(b_meta.size),
                a_ttl_secs: None,
                b_ttl_secs: None,
            }),
            (Some(a_meta), Some(b_meta)) => {
                match (a_meta.size == b_meta.size, a_meta.digest, b_meta.digest) {
                    (false, _, _) => plan.differences.push(changed(&key, &a_meta, &b_meta)),
                    (true, Some(x), Some(y)) if x == y => {
                        match ttl_difference(&key, &a_meta, &b_meta) {
                            Some(difference) => plan.differences.push(difference),
                            None => plan.equal += 1,
                        }
                    }
                    (true, Some(_), Some(_)) => {
                        plan.differences.push(changed(&key, &a_meta, &b_meta));
                    }
                    (true, _, _) => plan.unsure.push((key, a_meta, b_meta)),
                }
            }
            (None, None) => {}
        }
        if let Some(ttl) = b_ttl {
            if let Some(difference) = plan.differences.get(before.0) {
                note(&difference.key, ttl);
            } else if let Some((key, _, _)) = plan.unsure.get(before.1) {
                note(key, ttl);
            }
        }
    }
}

fn changed(key: &str, a: &Meta, b: &Meta) -> Difference {
    Difference {
        key: key.to_owned(),
        change: Change::Changed,
        a_size: Some(a.size),
        b_size: Some(b.size),
        a_ttl_secs: None,
        b_ttl_secs: None,
    }
}

/// One side of a comparison: where to read a value whose digest is not known.
#[derive(Clone, Copy)]
pub(crate) struct Side<'a> {
    pub client: &'a Client,
    pub ns: &'a str,
}

/// Settles the plan's unsure keys by reading the values whose digests are not known, as many at
/// a time as the window allows: the differences, in key order. A key gone from a side by the
/// time it is read counts as absent there.
pub(crate) async fn settle(
    mut plan: Plan,
    a: Side<'_>,
    b: Side<'_>,
    ceiling: usize,
    printer: &Printer,
) -> anyhow::Result<Plan> {
    if plan.unsure.is_empty() {
        return Ok(plan);
    }
    let pressure = if a.client.is_direct() { b } else { a }.client.pressure();
    let window = Window::new(ceiling, pressure, false);
    let unsure = std::mem::take(&mut plan.unsure);
    let progress = CountBar::new(printer, Some(unsure.len() as u64), "compared");
    // A key no request can address (`.`, `..`) cannot be compared: it counts as changed.
    let (unsure, unreadable): (Vec<_>, Vec<_>) = unsure
        .into_iter()
        .partition(|(key, _, _)| crate::api::rules::request_key(key).is_ok());
    for (key, a_meta, b_meta) in unreadable {
        printer.warn(&format!(
            "key `{key}` cannot be read through the API, so it is counted as changed"
        ));
        plan.differences.push(changed(&key, &a_meta, &b_meta));
    }
    let compared = futures_util::stream::iter(unsure)
        .map(|(key, a_meta, b_meta)| {
            let window = Arc::clone(&window);
            async move {
                let (a_digest, b_digest) = futures_util::future::join(
                    digest_of(a, &key, a_meta.digest, Arc::clone(&window)),
                    digest_of(b, &key, b_meta.digest, window),
                )
                .await;
                Ok::<_, anyhow::Error>((key, a_meta, b_meta, a_digest?, b_digest?))
            }
        })
        .buffer_unordered(ceiling.max(1));
    futures_util::pin_mut!(compared);
    while let Some(result) = compared.next().await {
        let (key, a_meta, b_meta, a_digest, b_digest) = result?;
        let difference = |change| Difference {
            key: key.clone(),
            change,
            a_size: a_digest.and(Some(a_meta.size)),
            b_size: b_digest.and(Some(b_meta.size)),
            a_ttl_secs: None,
            b_ttl_secs: None,
        };
        match (a_digest, b_digest) {
            (Some(x), Some(y)) if x == y => match ttl_difference(&key, &a_meta, &b_meta) {
                Some(difference) => plan.differences.push(difference),
                None => plan.equal += 1,
            },
            (Some(_), Some(_)) => plan.differences.push(difference(Change::Changed)),
            (Some(_), None) => plan.differences.push(difference(Change::Removed)),
            (None, Some(_)) => plan.differences.push(difference(Change::Added)),
            (None, None) => {}
        }
        progress.step(true, (0, 0));
    }
    progress.finish();
    plan.differences
        .sort_by(|x, y| x.key.as_bytes().cmp(y.key.as_bytes()));
    Ok(plan)
}

/// The digest of `key`'s value on `side`: `known`, else read; `None` when the key is gone.
async fn digest_of(
    side: Side<'_>,
    key: &str,
    known: Option<Digest>,
    window: Arc<Window>,
) -> anyhow::Result<Option<Digest>> {
    if known.is_some() {
        return Ok(known);
    }
    let mut slot = window.acquire().await;
    let digest = held(side.client, side.ns, key).await;
    slot.answered();
    digest.map_err(|err| anyhow::Error::new(err).context(format!("cannot read key `{key}`")))
}

/// What to do to one key of side A (written to) to bring it in line with side B (read from).
#[derive(Debug, Clone)]
pub(crate) enum Action {
    /// Read the key from B and write it to A, with `ttl_secs` when known.
    Copy {
        change: Change,
        ttl_secs: Option<u64>,
    },
    /// Delete the key from A.
    Delete,
}

/// One key's work, with `tag`: what the caller wants back with the outcome.
#[derive(Debug, Clone)]
pub(crate) struct Work<T> {
    pub key: String,
    pub action: Action,
    /// What A must still hold, just before the write, for the write to go ahead (`Some(None)`:
    /// absent): a key changed on A since the plan is left alone. `None` writes whatever A
    /// holds (`--force`).
    pub expect: Option<Option<Digest>>,
    pub tag: T,
}

/// What became of one key that was acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Done {
    /// Written to A: the value's digest and size, as read from B.
    Written(Digest, u64),
    Deleted,
    /// A changed since the plan: left alone.
    Moved,
}

/// What copying did, beyond the engine's summary.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct Copied {
    pub added: u64,
    pub changed: u64,
    pub deleted: u64,
    /// Keys found equal, so not written.
    pub unchanged: u64,
}

/// Where copying reads and writes.
#[derive(Clone, Copy)]
pub(crate) struct Copying<'a> {
    /// The side written to (A).
    pub to: &'a Client,
    pub to_ns: &'a str,
    /// The side read from (B).
    pub from: &'a Client,
    pub from_ns: &'a str,
    /// Shown on the remainder lines, and in failures: `pull` or `push`.
    pub origin: &'a str,
}

/// The digest of what `client` holds for `key` (`None`: absent).
async fn held(client: &Client, ns: &str, key: &str) -> Result<Option<Digest>, ApiError> {
    match client.get_key(ns, key).await {
        Ok(value) => Ok(Some(Digest::of(
            value.content_type.as_deref(),
            &value.bytes,
        ))),
        Err(err) if err.status() == Some(404) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Does one key's work: checks A still holds what the plan saw, then reads B and writes A (or
/// deletes from A). `None`: listed on B, gone when read.
async fn act(
    copying: Copying<'_>,
    (to, from): (&Client, &Client),
    key: &str,
    action: Action,
    expect: Option<Option<Digest>>,
) -> Result<Option<Done>, ApiError> {
    if let Some(expected) = expect
        && held(to, copying.to_ns, key).await? != expected
    {
        return Ok(Some(Done::Moved));
    }
    match action {
        Action::Copy { ttl_secs, .. } => {
            let value = match from.get_key(copying.from_ns, key).await {
                Ok(value) => value,
                Err(err) if err.status() == Some(404) => return Ok(None),
                Err(err) => return Err(err),
            };
            let digest = Digest::of(value.content_type.as_deref(), &value.bytes);
            let size = value.bytes.len() as u64;
            to.put_key(
                copying.to_ns,
                key,
                value.bytes,
                ttl_secs,
                value.content_type.as_deref(),
            )
            .await?;
            Ok(Some(Done::Written(digest, size)))
        }
        Action::Delete => {
            to.delete_key(copying.to_ns, key).await?;
            Ok(Some(Done::Deleted))
        }
    }
}

/// Does `work`, as many keys at a time as the window allows, with the bulk engine's rules: the
/// error budget, Ctrl-C, the failed file (one line per key not done). `uncopyable` keys (ones no
/// request can address) go to the failed file too, without spending the error budget. Returns
/// what became of each key acted on, with its tag.
pub(crate) async fn copy<T: Send>(
    copying: Copying<'_>,
    work: Vec<Work<T>>,
    uncopyable: &[String],
    options: &super::run::Options,
    printer: &Printer,
) -> anyhow::Result<(Summary, Copied, Vec<(String, Done, T)>)> {
    let budget = Budget::new(options.max_errors);
    let signals = watch_signals(&budget);
    // The window follows the service's pressure; local state does not push back.
    let paced = if copying.to.is_direct() {
        copying.from
    } else {
        copying.to
    };
    let total = Some(work.len() as u64);
    let mut tally = Tally::new(printer, options, &budget, paced, total, "copied")?;
    for key in uncopyable {
        tally.uncopyable(key, copying.origin)?;
    }
    let (to, from) = (&budget.client(copying.to), &budget.client(copying.from));
    let window = Arc::clone(&tally.window);
    let mut copied = Copied::default();
    let mut outcomes = Vec::new();
    let jobs = futures_util::stream::iter(work)
        .map(|work| {
            let Work {
                key,
                action,
                expect,
                tag,
            } = work;
            let change = match action {
                Action::Copy { change, .. } => Some(change),
                Action::Delete => None,
            };
            let record = Ok(Key::new(key, copying.origin));
            key_request(
                record,
                Arc::clone(&budget),
                Arc::clone(&window),
                move |key| async move {
                    act(copying, (to, from), &key, action, expect)
                        .await
                        .map(|done| (change, done, tag))
                },
            )
        })
        .buffer_unordered(options.ceiling.max(1));
    futures_util::pin_mut!(jobs);
    while let Some(result) = jobs.next().await {
        match result {
            Ok(Answer {
                key: Key { key, .. },
                outcome: KeyOutcome::Answered(Ok((change, done, tag)), _slot),
            }) => {
                let Some(done) = done else {
                    tally.vanished();
                    continue;
                };
                match (&done, change) {
                    (Done::Moved, _) => {
                        tally.left_alone();
                        outcomes.push((key, done, tag));
                        continue;
                    }
                    (Done::Written(..), Some(Change::Changed)) => copied.changed += 1,
                    (Done::Written(..), _) => copied.added += 1,
                    (Done::Deleted, _) => copied.deleted += 1,
                }
                tally.done(&key);
                outcomes.push((key, done, tag));
            }
            // Failures, keys never sent: as for `bulk get`.
            other => tally_key(&mut tally, other)?,
        }
    }
    signals.abort();
    Ok((tally.finish()?, copied, outcomes))
}

/// The digests of `keys` on `side` as read now (`None`: absent), as many at a time as the
/// window allows.
pub(crate) async fn read_digests(
    side: Side<'_>,
    keys: Vec<String>,
    ceiling: usize,
    printer: &Printer,
) -> anyhow::Result<Vec<(String, Option<Digest>)>> {
    let mut read = Vec::with_capacity(keys.len());
    if keys.is_empty() {
        return Ok(read);
    }
    let window = Window::new(ceiling, side.client.pressure(), false);
    let progress = CountBar::new(printer, Some(keys.len() as u64), "compared");
    let reads = futures_util::stream::iter(keys)
        .map(|key| {
            let window = Arc::clone(&window);
            async move {
                let mut slot = window.acquire().await;
                let digest = held(side.client, side.ns, &key).await;
                slot.answered();
                digest.map(|digest| (key.clone(), digest)).map_err(|err| {
                    anyhow::Error::new(err).context(format!("cannot read key `{key}`"))
                })
            }
        })
        .buffer_unordered(ceiling.max(1));
    futures_util::pin_mut!(reads);
    while let Some(result) = reads.next().await {
        read.push(result?);
        progress.step(true, (0, 0));
    }
    progress.finish();
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(entries: &[(&str, u64, Option<&[u8]>)]) -> Sorted<Meta> {
        let entries: Vec<(String, Meta)> = entries
            .iter()
            .map(|(key, size, value)| {
                (
                    (*key).to_owned(),
                    Meta {
                        size: *size,
                        updated_at: None,
                        digest: value.map(|bytes| Digest::of(None, bytes)),
                        ttl_secs: None,
                        ttl_known: false,
                        listed_at: None,
                    },
                )
            })
            .collect();
        Sorted::spawn(move |feed| {
            for (key, meta) in entries {
                feed.push(key, meta)?;
            }
            Ok(())
        })
    }

    fn unsure_keys(plan: &Plan) -> Vec<&str> {
        plan.unsure.iter().map(|(key, _, _)| key.as_str()).collect()
    }

    #[test]
    fn a_plan_sorts_keys_into_added_changed_removed_equal_and_unsure() {
        let a = listing(&[
            ("both-equal", 1, Some(b"x")),
            ("both-other", 1, Some(b"x")),
            ("only-a", 3, None),
            ("sizes", 1, None),
            ("unknown", 2, None),
        ]);
        let b = listing(&[
            ("both-equal", 1, Some(b"x")),
            ("both-other", 1, Some(b"y")),
            ("only-b", 4, None),
            ("sizes", 2, None),
            ("unknown", 2, Some(b"zz")),
        ]);
        let plan = plan(a, b).expect("plan");
        let summary: Vec<(&str, Change)> = plan
            .differences
            .iter()
            .map(|d| (d.key.as_str(), d.change))
            .collect();
        assert_eq!(
            summary,
            [
                ("both-other", Change::Changed),
                ("only-a", Change::Removed),
                ("only-b", Change::Added),
                ("sizes", Change::Changed)
            ]
        );
        assert_eq!(unsure_keys(&plan), ["unknown"]);
        assert_eq!(plan.equal, 1);
        assert_eq!(plan.differences[1].a_size, Some(3));
        assert_eq!(plan.differences[1].b_size, None);
    }

    #[test]
    fn keys_out_of_order_are_an_error_not_a_wrong_pairing() {
        let a = Sorted::spawn(|feed| {
            feed.push("b".to_owned(), Meta::default())?;
            feed.push("a".to_owned(), Meta::default())?;
            Ok(())
        });
        let err = plan(a, Sorted::empty()).expect_err("out of order");
        assert_eq!(err.to_string(), "keys out of order: `a` after `b`");
    }

    #[test]
    fn a_reader_that_dies_is_an_error_not_the_end_of_its_keys() {
        let a = Sorted::spawn(|feed| {
            feed.push("a".to_owned(), Meta::default())?;
            // As a panic would: the thread ends without saying the keys are all there.
            std::thread::sleep(std::time::Duration::from_millis(10));
            let _ = std::panic::catch_unwind(|| ());
            Err(anyhow::anyhow!("the disk went away"))
        });
        let err = plan(a, Sorted::empty()).expect_err("died");
        assert_eq!(err.to_string(), "the disk went away");
        let b: Sorted<Meta> = Sorted::spawn(|_| -> anyhow::Result<()> {
            std::panic::resume_unwind(Box::new("reader panicked"))
        });
        let err = plan(Sorted::empty(), b).expect_err("panicked");
        assert_eq!(
            err.to_string(),
            "a reader of keys stopped before the end of its keys"
        );
    }

    #[test]
    fn keys_merge_bytewise_like_the_service_lists_them() {
        // `Z` (0x5a) sorts before `a` (0x61) bytewise.
        let a = listing(&[("Z", 1, None), ("a", 1, None)]);
        let b = listing(&[("a", 1, None)]);
        let plan = plan(a, b).expect("plan");
        assert_eq!(plan.differences.len(), 1);
        assert_eq!(plan.differences[0].key, "Z");
        assert_eq!(unsure_keys(&plan), ["a"]);
    }
}
