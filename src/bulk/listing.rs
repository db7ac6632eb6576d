//! What a namespace's listing says about one key, on either side of a `diff`, `pull` or
//! `push`: the sorted streams carry it, the three-way merge and the comparison read it.

use crate::api::digest::Digest;

/// What a listing says about one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Meta {
    pub size: u64,
    /// As the service lists it; `None` for local state read from its store.
    pub updated_at: Option<String>,
    /// The value's digest, when known without reading it.
    pub digest: Option<Digest>,
    /// Seconds the key has left (`None`: no expiry), when `ttl_known`.
    pub ttl_secs: Option<u64>,
    /// Whether the side can tell the key's expiry: local state can; the API cannot, but the
    /// sync record knows the expiry a push gave a value.
    pub ttl_known: bool,
    /// When the service sent the page that listed the key (its `Date`, Unix seconds).
    pub listed_at: Option<i64>,
}
