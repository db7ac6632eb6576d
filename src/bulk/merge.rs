//! Three-way comparison of one key, as a version-control merge does it: the sync record's base
//! (what both sides held when a pull or push last left them equal), local state and the service.
//! A side that still holds the base did not change, so the difference is the other side's;
//! both changed (differently) is a conflict, which neither `pull` nor `push` resolves without
//! `--force`. No base (never synced, or the record is gone) counts as "absent then", so a key
//! both sides have with different values is a conflict, never overwritten unasked.

use serde::Serialize;

use super::listing::Meta;
use super::sorted::{Sorted, smallest};
use crate::api::digest::Digest;
use crate::local::seen::{self, Base, Note};

/// How a key's two sides relate to its base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Merge {
    /// Both sides hold the same (or neither has the key).
    Equal,
    /// Only local state changed since the base: `push` sends it, `pull` leaves it.
    Local,
    /// Only the service changed since the base: `pull` takes it, `push` leaves it.
    Service,
    /// Both changed, differently: left alone unless `--force`.
    Conflict,
}

/// The merge of one key from the three digests (`None`: absent).
pub(crate) fn merge(base: Option<Digest>, local: Option<Digest>, service: Option<Digest>) -> Merge {
    if local == service {
        Merge::Equal
    } else if local == base {
        Merge::Service
    } else if service == base {
        Merge::Local
    } else {
        Merge::Conflict
    }
}

/// The merge of a key the service has (`service_size` bytes) without its digest, when sizes
/// already tell; `None` when the service's value must be read.
pub(crate) fn merge_by_size(
    base: Option<(u64, Digest)>,
    local: Option<(u64, Digest)>,
    service_size: u64,
) -> Option<Merge> {
    if base.is_some_and(|(size, _)| size == service_size) {
        // It may still be the base's value.
        return None;
    }
    // The service's value is not the base's.
    let digest = |side: Option<(u64, Digest)>| side.map(|(_, digest)| digest);
    if digest(local) == digest(base) {
        return Some(Merge::Service);
    }
    match local {
        Some((size, _)) if size == service_size => None,
        _ => Some(Merge::Conflict),
    }
}

/// What each side and the record know of one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Sides {
    pub local: Option<Meta>,
    pub remote: Option<Meta>,
    pub base: Option<Base>,
}

/// One key that is not equal on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decided {
    pub key: String,
    pub merge: Merge,
    /// What the service holds (`None`: absent), when known: listed as the base vouches, read,
    /// or not listed. `None` when only its size is known.
    pub service: Option<Option<Digest>>,
    /// The values are equal; local state gave the key another expiry than the one this tool
    /// gave the service's copy.
    pub expiry: bool,
    pub sides: Sides,
}

/// Whether local state's expiry of a key differs from the one the record says the service's
/// copy has (known only where this tool gave it).
fn expiry_moved(base: Option<&Base>, local: Option<&Meta>) -> bool {
    let (Some(Some(expires_ms)), Some(local)) = (base.map(|base| base.expires_ms), local) else {
        return false;
    };
    if !local.ttl_known {
        return false;
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        });
    let service_left = expires_ms.map(|at| super::sync::secs_left(at, now_ms));
    super::sync::ttls_differ(service_left, local.ttl_secs)
}

/// The three-way comparison of a namespace, before the values it needs are read. The keys
/// whose sides differ are handed on as they are found ([`Decided`]), not kept.
#[derive(Debug, Default)]
pub(crate) struct Plan3 {
    /// Keys the service's value must be read for.
    pub unsure: Vec<(String, Sides)>,
    /// Keys equal on both sides.
    pub equal: u64,
    /// What the record should learn about the equal keys (the service's listing of them).
    pub notes: Vec<Note>,
}

impl Plan3 {
    /// Decides a key from the service's digest (`None`: absent), known or read.
    pub(crate) fn decide(
        &mut self,
        key: String,
        service: Option<Digest>,
        sides: Sides,
        on: &mut dyn FnMut(Decided),
    ) {
        let base = sides.base.as_ref().map(|base| base.digest);
        let local_digest = sides.local.as_ref().and_then(|meta| meta.digest);
        match merge(base, local_digest, service) {
            Merge::Equal if expiry_moved(sides.base.as_ref(), sides.local.as_ref()) => {
                on(Decided {
                    key,
                    merge: Merge::Local,
                    service: Some(service),
                    expiry: true,
                    sides,
                });
            }
            Merge::Equal => {
                // Gone from both sides is not a key.
                self.equal += u64::from(service.is_some());
                if let Some(note) =
                    equal_note(&key, sides.base.as_ref(), sides.remote.as_ref(), service)
                {
                    self.notes.push(note);
                }
            }
            merge => on(Decided {
                key,
                merge,
                service: Some(service),
                expiry: false,
                sides,
            }),
        }
    }
}

/// The record's base for a key found equal on both sides, when it differs from what it holds.
fn equal_note(
    key: &str,
    base: Option<&Base>,
    service: Option<&Meta>,
    digest: Option<Digest>,
) -> Option<Note> {
    let (Some(meta), Some(digest)) = (service, digest) else {
        // Absent on both sides: nothing to remember.
        return base.map(|_| Note::Forget(key.to_owned()));
    };
    let updated_at = meta.updated_at.clone().unwrap_or_default();
    let fresh = Base {
        settled: seen::settled(&updated_at, meta.listed_at),
        updated_at,
        size: meta.size,
        digest,
        // The value did not change, so neither did the expiry this tool gave it.
        expires_ms: base
            .filter(|base| base.digest == digest)
            .and_then(|base| base.expires_ms),
    };
    (base != Some(&fresh)).then(|| Note::Set(key.to_owned(), fresh))
}

/// Compares every key of the three streams, in key order (blocks: run it on the blocking
/// pool), handing each key that differs to `on` as it is found. Memory follows the keys whose
/// service value must be read, not the namespace.
pub(crate) fn plan(
    mut local: Sorted<Meta>,
    mut remote: Sorted<Meta>,
    mut bases: Sorted<Base>,
    on: &mut dyn FnMut(Decided),
) -> anyhow::Result<Plan3> {
    let mut plan = Plan3::default();
    loop {
        let Some(key) = smallest(&[local.peek()?, remote.peek()?, bases.peek()?]) else {
            return Ok(plan);
        };
        let sides = Sides {
            local: local.take_if(&key)?,
            remote: remote.take_if(&key)?,
            base: bases.take_if(&key)?,
        };
        let Some(meta) = &sides.remote else {
            plan.decide(key, None, sides, on);
            continue;
        };
        if let Some(digest) = meta.digest {
            plan.decide(key, Some(digest), sides, on);
            continue;
        }
        let vouched = sides
            .base
            .as_ref()
            .filter(|base| {
                meta.updated_at
                    .as_deref()
                    .is_some_and(|at| base.vouches(at, meta.size))
            })
            .map(|base| base.digest);
        if let Some(digest) = vouched {
            plan.decide(key, Some(digest), sides, on);
            continue;
        }
        let base_pair = sides.base.as_ref().map(|base| (base.size, base.digest));
        let local_pair = sides
            .local
            .as_ref()
            .and_then(|meta| Some((meta.size, meta.digest?)));
        match merge_by_size(base_pair, local_pair, meta.size) {
            Some(merge) => on(Decided {
                key,
                merge,
                service: None,
                expiry: false,
                sides,
            }),
            None => plan.unsure.push((key, sides)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(value: &[u8]) -> Option<Digest> {
        Some(Digest::of(None, value))
    }

    #[test]
    fn a_side_that_still_holds_the_base_did_not_change() {
        assert_eq!(merge(d(b"1"), d(b"1"), d(b"1")), Merge::Equal);
        assert_eq!(merge(d(b"1"), d(b"2"), d(b"1")), Merge::Local);
        assert_eq!(merge(d(b"1"), d(b"1"), d(b"2")), Merge::Service);
        assert_eq!(merge(d(b"1"), d(b"2"), d(b"3")), Merge::Conflict);
        // Both made the same change.
        assert_eq!(merge(d(b"1"), d(b"2"), d(b"2")), Merge::Equal);
        // Deletions are changes too.
        assert_eq!(merge(d(b"1"), None, d(b"1")), Merge::Local);
        assert_eq!(merge(d(b"1"), d(b"1"), None), Merge::Service);
        assert_eq!(merge(d(b"1"), None, d(b"2")), Merge::Conflict);
        // No base: whatever exists is new; new on both sides, differently, is a conflict.
        assert_eq!(merge(None, d(b"1"), None), Merge::Local);
        assert_eq!(merge(None, None, d(b"1")), Merge::Service);
        assert_eq!(merge(None, d(b"1"), d(b"2")), Merge::Conflict);
    }

    #[test]
    fn sizes_decide_without_a_read_only_where_they_can() {
        let pair = |value: &[u8]| Some((value.len() as u64, Digest::of(None, value)));
        // The base's size: the service may still hold it.
        assert_eq!(merge_by_size(pair(b"1"), pair(b"1"), 1), None);
        // Another size: the service changed; local did not.
        assert_eq!(
            merge_by_size(pair(b"1"), pair(b"1"), 2),
            Some(Merge::Service)
        );
        // Both changed, to values of different sizes.
        assert_eq!(
            merge_by_size(pair(b"1"), pair(b"333"), 2),
            Some(Merge::Conflict)
        );
        assert_eq!(merge_by_size(pair(b"1"), None, 2), Some(Merge::Conflict));
        // Both changed, to values of one size: they may be equal.
        assert_eq!(merge_by_size(pair(b"1"), pair(b"22"), 2), None);
        // No base, nothing local: new on the service.
        assert_eq!(merge_by_size(None, None, 2), Some(Merge::Service));
    }

    /// A model check of the rule itself: for random bases and sides, the merge never picks a
    /// side that would undo the other side's change, and says conflict exactly when both
    /// changed differently.
    #[test]
    fn the_merge_never_undoes_a_change_in_any_combination() {
        let values = [None, d(b"a"), d(b"b"), d(b"c")];
        for base in values {
            for local in values {
                for service in values {
                    let merge = merge(base, local, service);
                    let local_changed = local != base;
                    let service_changed = service != base;
                    match merge {
                        Merge::Equal => assert_eq!(local, service),
                        // Taking local's value overwrites the service's: only if it is the base.
                        Merge::Local => assert!(local_changed && !service_changed),
                        Merge::Service => assert!(service_changed && !local_changed),
                        Merge::Conflict => {
                            assert!(local_changed && service_changed && local != service);
                        }
                    }
                }
            }
        }
    }
}
