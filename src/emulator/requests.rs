//! The emulator's recent requests, kept in a ring of fixed size for the explorer's live log
//! (`api::insight`): what a function under development actually asked, and what it was told.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::api::insight::{Insight, LoggedRequest};

use super::Store;

/// How many requests the ring keeps: enough for a screenful and a burst, few enough that a
/// long-running emulator stays small.
pub(super) const RING_SIZE: usize = 500;

/// The latest [`RING_SIZE`] requests, oldest first.
#[derive(Debug, Default)]
pub(crate) struct RequestRing {
    inner: Mutex<(u64, VecDeque<LoggedRequest>)>,
}

impl RequestRing {
    /// Logs one request, numbering it; the oldest falls out when the ring is full.
    pub(super) fn record(&self, mut request: LoggedRequest) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.0 += 1;
        request.seq = inner.0;
        if inner.1.len() == RING_SIZE {
            inner.1.pop_front();
        }
        inner.1.push_back(request);
    }

    /// The requests numbered after `after`, oldest first.
    pub(crate) fn after(&self, after: u64) -> Vec<LoggedRequest> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .1
            .iter()
            .filter(|request| request.seq > after)
            .cloned()
            .collect()
    }
}

/// The emulator's [`Insight`]: its store for expiries, its ring (when it serves one) for the
/// log.
pub struct EmulatorInsight {
    pub(super) store: Arc<Store>,
    pub(super) ring: Option<Arc<RequestRing>>,
}

impl EmulatorInsight {
    /// Expiries from `store` and no log: the emulator a command runs in-process.
    pub fn of_store(store: Arc<Store>) -> Self {
        Self { store, ring: None }
    }
}

impl Insight for EmulatorInsight {
    fn expiries(&self, ns: &str, keys: &[String]) -> Vec<Option<i64>> {
        let names: Vec<&str> = keys.iter().map(String::as_str).collect();
        match self.store.details(ns, &names, super::now_ms()) {
            Ok(details) => details
                .into_iter()
                .map(|detail| detail.and_then(|detail| detail.expires_ms))
                .collect(),
            // Expiry is extra: a store that cannot say shows none.
            Err(_) => vec![None; keys.len()],
        }
    }

    fn requests_after(&self, after: u64) -> Option<Vec<LoggedRequest>> {
        self.ring.as_ref().map(|ring| ring.after(after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str) -> LoggedRequest {
        LoggedRequest {
            seq: 0,
            at_ms: 1,
            method: "GET".to_owned(),
            path: path.to_owned(),
            status: 200,
            duration_ms: 0.5,
            explorer: false,
        }
    }

    #[test]
    fn the_ring_numbers_requests_and_keeps_the_latest() {
        let ring = RequestRing::default();
        for i in 0..RING_SIZE + 3 {
            ring.record(request(&format!("/{i}")));
        }
        let all = ring.after(0);
        assert_eq!(all.len(), RING_SIZE);
        assert_eq!(all[0].seq, 4);
        assert_eq!(all[0].path, "/3");
        let last = ring.after(RING_SIZE as u64 + 2);
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].path, format!("/{}", RING_SIZE + 2));
        assert!(ring.after(RING_SIZE as u64 + 3).is_empty());
    }
}
