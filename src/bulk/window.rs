//! The adaptive window: how many requests of a bulk run are in flight at once.
//!
//! A fixed concurrency caps a run at `concurrency / round trip`: 16 requests over a 100 ms link
//! is 160 keys/s, whatever the service allows. The window instead finds the rate the service
//! accepts and holds it, the way TCP finds a link's bandwidth. Time is cut into epochs of one
//! round trip (at least [`MIN_EPOCH`]); at the end of each, the answers of the epoch decide:
//!
//! - **a 429 or 503** (retried ones included, as the client counts them): the window shrinks to
//!   7/10, down to 1;
//! - **latency well above the lowest seen** (more than twice it, plus 250 µs): requests
//!   queue somewhere, and more of them only add waiting; the window shrinks to 9/10, but not
//!   below where it started;
//! - **latency near the lowest seen, with the window full**: more requests in flight mean more
//!   answers per second, so the window grows: it doubles until the first shrink (slow start),
//!   then grows by an eighth per epoch;
//! - otherwise it holds.
//!
//! It never exceeds its ceiling (`--concurrency`). When the service announces its rate limit,
//! the client paces requests to it ([`crate::client::Pressure`]); paced requests wait, their
//! latency rises, and the window stops growing at about the size the pace needs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::client::Pressure;

/// Where a window starts: today's fixed concurrency, and the floor latency cuts stop at.
pub(crate) const START: usize = 16;
/// The ceiling when the user gives none.
pub(crate) const DEFAULT_CEILING: usize = 256;
/// The ceiling of reads (`bulk get`, `export`) when the user gives none: each request in flight
/// holds a value of up to 1 MiB until it is written out, so 64 MiB at most.
pub(crate) const DEFAULT_READ_CEILING: usize = 64;
/// The shortest epoch: on loopback a round trip is a fraction of a millisecond, too few answers
/// to judge by.
const MIN_EPOCH: Duration = Duration::from_millis(20);
/// Latency noise that is not queueing, whatever the round trip.
const TOLERANCE: Duration = Duration::from_micros(250);

/// The window of one run: a semaphore whose permits follow [`Control`]'s decisions.
pub(crate) struct Window {
    permits: Arc<Semaphore>,
    state: Mutex<State>,
    pressure: Pressure,
    /// Record each change for `-v`.
    verbose: bool,
    noted: AtomicBool,
}

struct State {
    control: Control,
    /// Permits to retire as slots come back, after a shrink larger than the free permits.
    debt: usize,
    in_flight: usize,
    notes: Vec<String>,
}

/// What a run's window did, for its summary.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub(crate) struct WindowSummary {
    pub start: usize,
    pub peak: usize,
    #[serde(rename = "final")]
    pub last: usize,
    pub ceiling: usize,
}

impl Window {
    /// A window under `ceiling`, starting at [`START`] (or the ceiling when lower).
    pub(crate) fn new(ceiling: usize, pressure: Pressure, verbose: bool) -> Arc<Self> {
        let control = Control::new(ceiling, Instant::now(), pressure.throttled());
        Arc::new(Self {
            permits: Arc::new(Semaphore::new(control.limit)),
            state: Mutex::new(State {
                control,
                debt: 0,
                in_flight: 0,
                notes: Vec::new(),
            }),
            pressure,
            verbose,
            noted: AtomicBool::new(false),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for room in the window.
    pub(crate) async fn acquire(self: &Arc<Self>) -> Slot {
        // The semaphore is never closed.
        let permit = Arc::clone(&self.permits).acquire_owned().await.ok();
        let mut state = self.state();
        state.in_flight += 1;
        let in_flight = state.in_flight;
        state.control.admitted(in_flight);
        Slot {
            window: Arc::clone(self),
            permit,
            start: Instant::now(),
        }
    }

    pub(crate) fn summary(&self) -> WindowSummary {
        let state = self.state();
        WindowSummary {
            start: state.control.start,
            peak: state.control.peak,
            last: state.control.limit,
            ceiling: state.control.ceiling,
        }
    }

    /// The changes since last asked, for `-v` (cheap when there are none).
    pub(crate) fn take_notes(&self) -> Vec<String> {
        if !self.noted.swap(false, Ordering::Relaxed) {
            return Vec::new();
        }
        std::mem::take(&mut self.state().notes)
    }

    fn answered(&self, latency: Duration) {
        let throttled = self.pressure.throttled();
        let mut state = self.state();
        let in_flight = state.in_flight;
        let Some(change) = state
            .control
            .answered(Instant::now(), latency, throttled, in_flight)
        else {
            return;
        };
        state.resize(&self.permits, change.from, change.to);
        if self.verbose {
            let mut note = format!(
                "* Window {} → {} requests in flight ({}; latency {:.0} ms, {}/s",
                change.from,
                change.to,
                change.reason.text(),
                change.latency.as_secs_f64() * 1000.0,
                crate::text::thousands(change.rate.round() as u64),
            );
            if let Some(paced) = self.pressure.paced_rate() {
                note.push_str(&format!(
                    ", paced to {}/s",
                    crate::text::thousands(paced.round() as u64)
                ));
            }
            note.push(')');
            state.notes.push(note);
            self.noted.store(true, Ordering::Relaxed);
        }
    }
}

impl State {
    /// Moves the semaphore from `from` permits to `to`.
    fn resize(&mut self, permits: &Semaphore, from: usize, to: usize) {
        if to > from {
            let grow = to - from;
            let repaid = grow.min(self.debt);
            self.debt -= repaid;
            permits.add_permits(grow - repaid);
        } else {
            let shrink = from - to;
            let retired = permits.forget_permits(shrink);
            self.debt += shrink - retired;
        }
    }
}

/// Room for one request in the window, given back when dropped. Holding it past the answer
/// (until a value is written out) keeps the values in memory bounded by the window.
pub(crate) struct Slot {
    window: Arc<Window>,
    permit: Option<OwnedSemaphorePermit>,
    start: Instant,
}

impl Slot {
    /// The request was answered (or failed for good): its latency counts.
    pub(crate) fn answered(&mut self) {
        self.window.answered(self.start.elapsed());
        // The slot may carry the next item of the same key: its latency starts now.
        self.start = Instant::now();
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut state = self.window.state();
        state.in_flight -= 1;
        let retire = state.debt > 0;
        if retire {
            state.debt -= 1;
        }
        drop(state);
        if let Some(permit) = self.permit.take()
            && retire
        {
            permit.forget();
        }
    }
}

/// Why the window changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// Latency stayed low with the window full.
    Room,
    /// A 429 or 503.
    Throttled,
    /// Latency rose well above the lowest seen.
    Queueing,
}

impl Reason {
    fn text(self) -> &'static str {
        match self {
            Self::Room => "answers keep pace",
            Self::Throttled => "the service answered 429 or 503",
            Self::Queueing => "latency rose",
        }
    }
}

/// One decision: the window moved `from` → `to`, judged on an epoch with this mean latency and
/// rate of answers.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Change {
    from: usize,
    to: usize,
    reason: Reason,
    latency: Duration,
    rate: f64,
}

/// The decisions, without the semaphore: a pure state machine over answers and their times.
#[derive(Debug)]
struct Control {
    limit: usize,
    start: usize,
    ceiling: usize,
    peak: usize,
    /// Doubling, until the first shrink.
    slow_start: bool,
    /// The lowest mean latency of an epoch.
    base: Option<Duration>,
    epoch: Epoch,
}

#[derive(Debug)]
struct Epoch {
    begun: Instant,
    answers: u32,
    latency: Duration,
    /// The most requests in flight at once during the epoch.
    busiest: usize,
    /// The client's count of 429/503 when the epoch began.
    throttled: u64,
}

impl Epoch {
    fn new(now: Instant, throttled: u64, in_flight: usize) -> Self {
        Self {
            begun: now,
            answers: 0,
            latency: Duration::ZERO,
            busiest: in_flight,
            throttled,
        }
    }
}

impl Control {
    fn new(ceiling: usize, now: Instant, throttled: u64) -> Self {
        let ceiling = ceiling.max(1);
        let start = START.min(ceiling);
        Self {
            limit: start,
            start,
            ceiling,
            peak: start,
            slow_start: true,
            base: None,
            epoch: Epoch::new(now, throttled, 0),
        }
    }

    fn admitted(&mut self, in_flight: usize) {
        self.epoch.busiest = self.epoch.busiest.max(in_flight);
    }

    /// Counts one answer; at the end of an epoch, decides.
    /// `in_flight`: requests still out, which carry into the next epoch.
    fn answered(
        &mut self,
        now: Instant,
        latency: Duration,
        throttled: u64,
        in_flight: usize,
    ) -> Option<Change> {
        self.epoch.answers += 1;
        self.epoch.latency += latency;
        let mean = self.epoch.latency / self.epoch.answers;
        let elapsed = now.saturating_duration_since(self.epoch.begun);
        if elapsed < mean.max(MIN_EPOCH) {
            return None;
        }
        let rate = f64::from(self.epoch.answers) / elapsed.as_secs_f64();
        let was_throttled = throttled > self.epoch.throttled;
        let full = self.epoch.busiest >= self.limit;
        self.epoch = Epoch::new(now, throttled, in_flight);
        let base = *self.base.get_or_insert(mean);
        self.base = Some(base.min(mean));
        let (to, reason) = if was_throttled {
            self.slow_start = false;
            ((self.limit * 7 / 10).max(1), Reason::Throttled)
        } else if mean > base * 2 + TOLERANCE {
            self.slow_start = false;
            let floor = self.start.min(self.limit);
            (
                (self.limit * 9 / 10).min(self.limit - 1).max(floor),
                Reason::Queueing,
            )
        } else if full && mean <= base * 3 / 2 + TOLERANCE {
            let grown = if self.slow_start {
                self.limit * 2
            } else {
                self.limit + (self.limit / 8).max(1)
            };
            (grown.min(self.ceiling), Reason::Room)
        } else {
            return None;
        };
        if to == self.limit {
            return None;
        }
        let change = Change {
            from: self.limit,
            to,
            reason,
            latency: mean,
            rate,
        };
        self.limit = to;
        self.peak = self.peak.max(to);
        Some(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service that answers `capacity` requests per second at most, with `rtt` round trips,
    /// and 429s beyond `rate_limit` (per second) when set. Steps `seconds` of virtual time in
    /// 1 ms ticks, keeping the window full; returns the control and the requests answered.
    fn simulate(
        ceiling: usize,
        rtt: Duration,
        capacity: f64,
        rate_limit: Option<f64>,
        seconds: f64,
    ) -> (Control, u64, u64) {
        let t0 = Instant::now();
        let mut control = Control::new(ceiling, t0, 0);
        let mut throttled = 0u64;
        let mut answered = 0u64;
        let mut in_flight: std::collections::VecDeque<Instant> = Default::default();
        let tick = Duration::from_millis(1);
        let mut now = t0;
        let mut budget = 0.0;
        let mut window_start = t0;
        let mut window_count = 0.0;
        while now.duration_since(t0).as_secs_f64() < seconds {
            now += tick;
            budget += capacity * tick.as_secs_f64();
            while in_flight.len() < control.limit {
                in_flight.push_back(now);
                control.admitted(in_flight.len());
            }
            while let Some(&sent) = in_flight.front() {
                // A request is served once it has travelled and the service has capacity.
                if now.duration_since(sent) < rtt || budget < 1.0 {
                    break;
                }
                budget -= 1.0;
                in_flight.pop_front();
                if now.duration_since(window_start) >= Duration::from_secs(1) {
                    window_start = now;
                    window_count = 0.0;
                }
                window_count += 1.0;
                if rate_limit.is_some_and(|limit| window_count > limit) {
                    throttled += 1;
                } else {
                    answered += 1;
                }
                let latency = now.duration_since(sent);
                let _ = control.answered(now, latency, throttled, in_flight.len());
            }
            budget = budget.min(capacity * 0.01);
        }
        (control, answered, throttled)
    }

    #[test]
    fn over_a_slow_link_the_window_grows_to_the_ceiling() {
        let (control, answered, _) = simulate(256, Duration::from_millis(100), 1e9, None, 3.0);
        assert_eq!(control.limit, 256);
        // 16, 32, 64, 128 for one round trip each, then 256 per round trip.
        assert!(answered > 5_000, "{answered}");
    }

    #[test]
    fn the_ceiling_is_never_exceeded() {
        let (control, _, _) = simulate(4, Duration::from_millis(100), 1e9, None, 2.0);
        assert_eq!((control.limit, control.peak, control.start), (4, 4, 4));
    }

    #[test]
    fn a_saturated_service_holds_the_window_near_its_start() {
        // 10,000 answers/s with no travel time: more in flight only queues.
        let (control, answered, _) = simulate(256, Duration::from_micros(100), 10_000.0, None, 3.0);
        assert!(control.limit <= 64, "{control:?}");
        assert!(control.limit >= START, "{control:?}");
        assert!(answered > 25_000, "{answered}");
    }

    #[test]
    fn throttling_shrinks_the_window_below_its_start() {
        let (control, _, throttled) =
            simulate(256, Duration::from_millis(10), 1e9, Some(100.0), 5.0);
        assert!(throttled > 0);
        assert!(control.limit < START, "{control:?}");
        assert!(!control.slow_start);
    }

    #[test]
    fn one_epoch_decides_once() {
        let t0 = Instant::now();
        let mut control = Control::new(256, t0, 0);
        control.admitted(16);
        let ms = Duration::from_millis;
        assert_eq!(control.answered(t0 + ms(50), ms(100), 0, 15), None);
        // The change `control` makes `at` ms in, with `throttled` answers 429 so far.
        let change = |control: &mut Control, at: u64, throttled: u64, in_flight: usize| {
            let change = control
                .answered(t0 + ms(at), ms(100), throttled, in_flight)
                .expect("a change");
            (change.from, change.to, change.reason)
        };
        assert_eq!(change(&mut control, 100, 0, 14), (16, 32, Reason::Room));
        // A 429 in the next epoch: 7/10, and slow start is over.
        control.admitted(32);
        assert_eq!(
            change(&mut control, 200, 1, 31),
            (32, 22, Reason::Throttled)
        );
        control.admitted(22);
        let (from, to, _) = change(&mut control, 300, 1, 21);
        assert_eq!((from, to), (22, 24));
    }
}
