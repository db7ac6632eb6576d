//! What a local emulator can tell beyond the API, handed to the explorer by the command that
//! runs both: when keys expire (the API never says) and the requests it answered lately. The
//! emulator implements [`Insight`]; the explorer reads it; neither knows the other.

use serde::Serialize;

/// The header the explorer's own client sends with every API request, so that the request
/// log can tell its traffic from a function's.
pub(crate) const VIA_HEADER: &str = "x-telnyx-edge-via";

/// One request the emulator answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct LoggedRequest {
    /// Counts up from 1, one per request, so that a reader asks for what came after.
    pub seq: u64,
    /// When it arrived, Unix ms.
    pub at_ms: i64,
    pub method: String,
    /// The path and query, as sent.
    pub path: String,
    pub status: u16,
    /// From arrival to the response's head.
    pub duration_ms: f64,
    /// Sent by the explorer's own client (it carried [`VIA_HEADER`]).
    pub explorer: bool,
}

/// What a local emulator can tell the explorer.
pub(crate) trait Insight: Send + Sync {
    /// When each of `keys` in namespace `ns` expires (Unix ms): `None` for a key that never
    /// does, or is gone. Blocking: it reads the store.
    fn expiries(&self, ns: &str, keys: &[String]) -> Vec<Option<i64>>;

    /// The requests logged after `after`, oldest first (the log keeps the latest few hundred),
    /// or `None` when this emulator keeps no log.
    fn requests_after(&self, after: u64) -> Option<Vec<LoggedRequest>>;
}
