//! Rate-limit pacing: the [`Gate`] every request of a client (and of its clones) passes through
//! before it is sent, which keeps the pauses the service asks for and spaces requests to the
//! limit it announces.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use super::Event;
use super::error::MAX_WAIT_SECS;

/// Share of the announced rate that paced requests use: the rest absorbs latency jitter, which
/// bunches arrivals within a fixed period.
const PACE_SHARE: f64 = 0.95;
/// The lowest share 429s can push the pace down to.
const PACE_FLOOR: f64 = 0.1;

/// What every request of a client (and its clones) passes through before it is sent:
///
/// - a pause until a time the service named in a `Retry-After` or `x-ratelimit-reset`;
/// - pacing, once the service announces its limit (`x-ratelimit-limit` requests per period,
///   the rate-limit period being the longest `x-ratelimit-reset` seen): requests leave evenly
///   spaced at [`PACE_SHARE`] of that rate, so a bulk run goes as fast as the service allows
///   without learning the limit from 429s. Each 429 while paced lowers the pace (once per
///   period, as 429s come in bursts), and successes slowly win it back: another client may
///   share the quota;
/// - the count of 429 and 503 answers, for bulk work's adaptive window.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    until: Mutex<Option<Instant>>,
    pace: Mutex<Pace>,
    throttled: AtomicU64,
}

#[derive(Debug, Default)]
struct Pace {
    /// `x-ratelimit-limit`: requests per rate-limit period.
    limit: Option<u32>,
    /// The rate-limit period, in seconds: the longest `x-ratelimit-reset` seen (at least 1).
    period_secs: u64,
    /// Share of `limit` used; [`PACE_SHARE`] until 429s lower it.
    share: f64,
    /// When the next request may leave.
    next: Option<Instant>,
    /// When a 429 last lowered the share.
    lowered: Option<Instant>,
    /// The rate last reported through [`Event::Pacing`], to report changes only.
    reported: f64,
    /// Requests sent before the limit was known: they count against the quota too.
    unpaced: u32,
}

impl Pace {
    /// Requests per second paced to, when the service announced a limit.
    fn rate(&self) -> Option<f64> {
        let limit = f64::from(self.limit?);
        Some(limit * self.share / self.period_secs.max(1) as f64)
    }

    /// Reads the rate-limit headers of one answer.
    fn observe(&mut self, limit: Option<u32>, reset: Option<f64>, throttled: bool, now: Instant) {
        let Some(limit) = limit.filter(|limit| *limit > 0) else {
            return;
        };
        let first = self.limit.is_none();
        if first {
            self.share = PACE_SHARE;
        }
        // A new limit comes with its own period: the resets seen with the old one say nothing
        // about it.
        if self.limit.is_some_and(|old| old != limit) {
            self.period_secs = 0;
        }
        let before = self.rate();
        self.limit = Some(limit);
        if let Some(reset) = reset.filter(|r| r.is_finite() && *r <= MAX_WAIT_SECS as f64) {
            self.period_secs = self.period_secs.max(reset.ceil().max(1.0) as u64);
        }
        self.period_secs = self.period_secs.max(1);
        if first {
            self.book_unpaced(now);
        }
        // A faster rate applies to the next request, not after the slots booked at the old one.
        if let (Some(before), Some(rate)) = (before, self.rate())
            && rate > before
        {
            let soonest = now + Duration::from_secs_f64(1.0 / rate);
            self.next = self.next.map(|next| next.min(soonest));
        }
        self.adjust_share(throttled, now);
    }

    /// The requests sent before the limit was known took slots of the pace: the next one
    /// leaves after them, so that the first period does not overflow. At most one period's
    /// worth: a service that names its limit only late (on a 429, say) counts only the
    /// requests of the current period.
    fn book_unpaced(&mut self, now: Instant) {
        if let Some(rate) = self.rate() {
            let taken = Duration::from_secs_f64(f64::from(self.unpaced) / rate)
                .min(Duration::from_secs(self.period_secs));
            self.next = Some(self.next.map_or(now, |next| next.max(now)) + taken);
        }
    }

    /// A 429 lowers the share (once per period); other answers slowly win it back.
    fn adjust_share(&mut self, throttled: bool, now: Instant) {
        let period = Duration::from_secs(self.period_secs);
        if throttled {
            if self
                .lowered
                .is_none_or(|at| now.duration_since(at) >= period)
            {
                self.share = (self.share * 0.8).max(PACE_FLOOR);
                self.lowered = Some(now);
            }
        } else {
            // About a hundred answers win back a twentieth of the rate.
            self.share = (self.share + 0.0005).min(PACE_SHARE);
        }
    }

    /// The moment the next request may leave, and books the one after.
    fn slot(&mut self, now: Instant) -> Option<Instant> {
        let Some(rate) = self.rate() else {
            self.unpaced = self.unpaced.saturating_add(1);
            return None;
        };
        let slot = self.next.map_or(now, |next| next.max(now));
        self.next = Some(slot + Duration::from_secs_f64(1.0 / rate));
        (slot > now).then_some(slot)
    }

    /// The rate, when it moved by more than a tenth since last reported.
    fn changed(&mut self) -> Option<f64> {
        let rate = self.rate()?;
        if (rate - self.reported).abs() <= self.reported * 0.1 {
            return None;
        }
        self.reported = rate;
        Some(rate)
    }
}

impl Gate {
    /// Until when the service asked every request to wait, if it did.
    pub(super) fn until(&self) -> Option<Instant> {
        *self.until.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Holds every request for `delay` from now, unless a longer pause already holds them.
    pub(super) fn pause(&self, delay: Duration) {
        let mut until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        let end = Instant::now() + delay;
        if until.is_none_or(|current| current < end) {
            *until = Some(end);
        }
    }

    /// The moment the next request may leave when paced (booking the one after), `None` when
    /// it may leave now.
    pub(super) fn slot(&self) -> Option<Instant> {
        self.pace().slot(Instant::now())
    }

    fn pace(&self) -> MutexGuard<'_, Pace> {
        self.pace.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a 429 or 503, and paces to a limit the service announces; the event to report
    /// when the pace moved.
    pub(super) fn note_limits(
        &self,
        status: StatusCode,
        headers: &http::HeaderMap,
    ) -> Option<Event<'static>> {
        let throttled = matches!(status.as_u16(), 429 | 503);
        if throttled {
            self.throttled.fetch_add(1, Ordering::Relaxed);
        }
        let number = |name: &str| {
            super::response::header_text(headers, name)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        let limit = number("x-ratelimit-limit").map(|l| l.min(f64::from(u32::MAX)) as u32)?;
        let reset = number("x-ratelimit-reset");
        let mut pace = self.pace();
        pace.observe(Some(limit), reset, status.as_u16() == 429, Instant::now());
        let rate = pace.changed()?;
        Some(Event::Pacing {
            limit,
            period_secs: pace.period_secs,
            rate,
        })
    }
}

/// How hard the service is pushing back on a client (and its clones); see
/// [`Client::pressure`](super::Client::pressure).
#[derive(Clone)]
pub(crate) struct Pressure(pub(super) Arc<Gate>);

impl Pressure {
    /// Answers 429 or 503 so far, retried ones included.
    pub(crate) fn throttled(&self) -> u64 {
        self.0.throttled.load(Ordering::Relaxed)
    }

    /// The rate requests are paced to, once the service announced its limit.
    pub(crate) fn paced_rate(&self) -> Option<f64> {
        self.0.pace().rate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_announced_limit_spaces_requests_evenly() {
        let (t0, mut pace) = (Instant::now(), Pace::default());
        // Before any answer: no pace, and the requests sent are counted.
        assert_eq!(pace.slot(t0), None);
        assert_eq!(pace.slot(t0), None);
        pace.observe(Some(100), Some(1.0), false, t0);
        assert!((pace.rate().expect("paced") - 95.0).abs() < 1e-9);
        assert_eq!(pace.changed(), Some(95.0));
        assert_eq!(pace.changed(), None, "reported once");
        // The two unpaced requests took the first two slots.
        let interval = Duration::from_secs_f64(1.0 / 95.0);
        assert_eq!(pace.slot(t0), Some(t0 + interval * 2));
        assert_eq!(pace.slot(t0), Some(t0 + interval * 3));
        // Later than booked: it leaves now, and the next one an interval after.
        let late = t0 + Duration::from_secs(5);
        assert_eq!(pace.slot(late), None);
        assert_eq!(pace.slot(late), Some(late + interval));
    }

    #[test]
    fn a_new_limit_brings_its_own_period_and_a_faster_rate_applies_at_once() {
        let (t0, mut pace) = (Instant::now(), Pace::default());
        pace.observe(Some(1), Some(60.0), false, t0);
        assert_eq!(pace.period_secs, 60);
        // A slot far away, booked at one request a minute.
        let _ = pace.slot(t0);
        let _ = pace.slot(t0);
        pace.observe(Some(1000), Some(1.0), false, t0);
        assert_eq!(pace.period_secs, 1, "the old limit's period is forgotten");
        let next = pace.slot(t0).expect("paced");
        assert!(next <= t0 + Duration::from_millis(2), "{:?}", next - t0);
    }

    #[test]
    fn a_limit_named_late_holds_requests_back_one_period_at_most() {
        let (t0, mut pace) = (Instant::now(), Pace::default());
        for _ in 0..10_000 {
            assert_eq!(pace.slot(t0), None);
        }
        pace.observe(Some(100), Some(1.0), true, t0);
        let slot = pace.slot(t0).expect("paced");
        assert!(slot <= t0 + Duration::from_secs(1), "{:?}", slot - t0);
    }

    #[test]
    fn the_period_is_the_longest_reset_and_429s_lower_the_pace_once_per_period() {
        let (t0, mut pace) = (Instant::now(), Pace::default());
        pace.observe(Some(600), Some(42.5), false, t0);
        assert_eq!(pace.period_secs, 43);
        pace.observe(Some(600), Some(3.0), false, t0);
        assert_eq!(
            pace.period_secs, 43,
            "a reset counting down is not a shorter period"
        );
        // An epoch date is not a period.
        pace.observe(Some(600), Some(1.7e9), false, t0);
        assert_eq!(pace.period_secs, 43);
        let share = pace.share;
        pace.observe(Some(600), Some(3.0), true, t0);
        pace.observe(Some(600), Some(3.0), true, t0 + Duration::from_secs(1));
        assert!(
            (pace.share - share * 0.8).abs() < 1e-9,
            "a burst of 429s counts once"
        );
        pace.observe(Some(600), Some(3.0), true, t0 + Duration::from_secs(44));
        assert!((pace.share - share * 0.64).abs() < 1e-9);
        for _ in 0..10_000 {
            pace.observe(Some(600), Some(3.0), false, t0);
        }
        assert!(
            (pace.share - PACE_SHARE).abs() < 1e-9,
            "successes win it back"
        );
        // Without a limit header nothing changes.
        let mut none = Pace::default();
        none.observe(None, Some(1.0), true, t0);
        assert_eq!(none.rate(), None);
    }
}
