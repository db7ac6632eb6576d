//! What an emulator has answered: requests, 429s and the most in flight at once, counted by
//! the middleware as requests come and go.

/// What an emulator has answered since it started, counted as requests come and go; read it
/// with [`Stats::snapshot`].
#[derive(Debug, Default)]
pub struct Stats {
    requests: std::sync::atomic::AtomicU64,
    rate_limited: std::sync::atomic::AtomicU64,
    in_flight: std::sync::atomic::AtomicU64,
    peak_in_flight: std::sync::atomic::AtomicU64,
}

/// [`Stats`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StatsSnapshot {
    /// Requests answered.
    pub requests: u64,
    /// Of those, the ones answered 429.
    pub rate_limited: u64,
    /// The most requests that were being answered at once (a delay of `--latency` included).
    pub peak_in_flight: u64,
}

impl Stats {
    pub fn snapshot(&self) -> StatsSnapshot {
        use std::sync::atomic::Ordering::Relaxed;
        StatsSnapshot {
            requests: self.requests.load(Relaxed),
            rate_limited: self.rate_limited.load(Relaxed),
            peak_in_flight: self.peak_in_flight.load(Relaxed),
        }
    }

    /// Counts a request in flight until the guard is dropped (answered, or its connection
    /// gone).
    pub(super) fn begin(&self) -> InFlight<'_> {
        use std::sync::atomic::Ordering::Relaxed;
        let now = self.in_flight.fetch_add(1, Relaxed) + 1;
        self.peak_in_flight.fetch_max(now, Relaxed);
        InFlight(self)
    }
}

/// A request being answered; see [`Stats::begin`].
pub(super) struct InFlight<'a>(&'a Stats);

impl InFlight<'_> {
    pub(super) fn answered(self, status: u16) {
        use std::sync::atomic::Ordering::Relaxed;
        self.0.requests.fetch_add(1, Relaxed);
        if status == 429 {
            self.0.rate_limited.fetch_add(1, Relaxed);
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}
