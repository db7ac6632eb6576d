//! The retry loop and its policy. GET, PUT and DELETE are retried on 408, 429, every 5xx, a 409
//! "not ready", connection failures, resets and timeouts, with exponential backoff and full
//! jitter, honouring `Retry-After` and `x-ratelimit-reset`. POST (create) is retried only when
//! the request certainly did not reach the service; see
//! [`Client::create_namespace`](super::Client::create_namespace). Every request first waits
//! its turn at the client's [`Gate`](super::pace::Gate).

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::RETRY_AFTER;
use reqwest::Method;

use super::error::MAX_WAIT_SECS;
use super::response::{Outcome, Reply, header_text};
use super::{ApiError, Client, Event};

/// First backoff step; doubled on each retry, up to `MAX_BACKOFF`.
const BASE_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(20);

enum Idempotence {
    /// Safe to repeat whatever happened.
    Idempotent,
    /// Repeat only when the request certainly did not reach the service.
    OnlyIfUnsent,
}

/// How long the service asked the client to wait before the next request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum ServerDelay {
    Wait(Duration),
    /// More than [`MAX_WAIT_SECS`]; the value asked, in seconds.
    TooLong(f64),
}

/// One request as the retry loop repeats it.
pub(super) struct Request<'a> {
    pub(super) method: Method,
    pub(super) path: &'a str,
    /// The body and its content type.
    pub(super) body: Option<(Bytes, &'a str)>,
    idempotence: Idempotence,
    /// The largest response body read.
    pub(super) limit: usize,
}

impl<'a> Request<'a> {
    /// A request without a body, safe to repeat.
    pub(super) fn new(method: Method, path: &'a str, limit: usize) -> Self {
        Self {
            method,
            path,
            body: None,
            idempotence: Idempotence::Idempotent,
            limit,
        }
    }

    /// The same request, carrying `bytes` of type `content_type`.
    pub(super) fn with_body(mut self, bytes: Bytes, content_type: &'a str) -> Self {
        self.body = Some((bytes, content_type));
        self
    }

    /// The same request, repeated only when it certainly did not reach the service.
    pub(super) fn only_if_unsent(mut self) -> Self {
        self.idempotence = Idempotence::OnlyIfUnsent;
        self
    }
}

impl Client {
    /// Sends until success, a final failure, or the retries run out. Error statuses come back
    /// as [`ApiError::Status`] with the service's error body.
    pub(super) async fn send(&self, request: Request<'_>) -> Result<Reply, ApiError> {
        let mut attempt = 0;
        // The previous attempt's failure, reported if the caller gives up before the next one.
        let mut last: Option<ApiError> = None;
        loop {
            if !self.wait_for_turn().await {
                return Err(last.take().unwrap_or(ApiError::NotSent));
            }
            let Outcome {
                result,
                server_delay,
            } = self.attempt(&request).await;
            if let Some(ServerDelay::Wait(delay)) = server_delay {
                self.gate.pause(delay);
            }
            let err = match result {
                Ok(reply) => return Ok(reply),
                Err(err) => err,
            };
            let may_retry = match request.idempotence {
                Idempotence::Idempotent => err.is_retryable(),
                Idempotence::OnlyIfUnsent => err.is_unsent(),
            };
            if !may_retry {
                return Err(err);
            }
            if let Some(ServerDelay::TooLong(asked_secs)) = server_delay {
                return Err(ApiError::WaitTooLong {
                    status: err.status().unwrap_or_default(),
                    asked_secs,
                    request_id: err.request_id().map(str::to_owned),
                });
            }
            if attempt >= self.options.retries || self.cancelled() {
                return Err(err);
            }
            attempt += 1;
            let delay = match server_delay {
                Some(ServerDelay::Wait(delay)) => delay,
                _ => backoff(attempt),
            };
            self.emit(&Event::Retrying {
                method: &request.method,
                delay,
                error: &err,
                retry: attempt,
                retries: self.options.retries,
                caller_reports: self.caller_reports,
            });
            self.pause(delay).await;
            if self.cancelled() {
                return Err(err);
            }
            last = Some(err);
        }
    }

    /// Waits for the gate and for a pace slot; a pause the service asks for while this request
    /// waits for its slot holds it too. `false` when the caller gave up meanwhile: it sends
    /// nothing more.
    async fn wait_for_turn(&self) -> bool {
        loop {
            if let Some(until) = self.gate.until() {
                self.pause(until.saturating_duration_since(Instant::now()))
                    .await;
            }
            if self.cancelled() {
                return false;
            }
            let Some(slot) = self.gate.slot() else {
                return true;
            };
            self.pause(slot.saturating_duration_since(Instant::now()))
                .await;
            if self.cancelled() {
                return false;
            }
            if self
                .gate
                .until()
                .is_none_or(|until| until <= Instant::now())
            {
                return true;
            }
        }
    }

    pub(super) fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|cancelled| cancelled())
    }

    /// Sleeps `delay`, or less once cancelled.
    async fn pause(&self, delay: Duration) {
        let Some(_) = &self.cancel else {
            tokio::time::sleep(delay).await;
            return;
        };
        let end = tokio::time::Instant::now() + delay;
        while !self.cancelled() && tokio::time::Instant::now() < end {
            let step = (end - tokio::time::Instant::now()).min(Duration::from_millis(100));
            tokio::time::sleep(step).await;
        }
    }
}

/// Full jitter: a random delay between zero and the exponential step.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(fastrand::u64(0..=backoff_step_millis(attempt)))
}

/// The upper bound of the `attempt`-th backoff: 500 ms doubled per retry, at most 20 s.
fn backoff_step_millis(attempt: u32) -> u64 {
    let step = BASE_BACKOFF
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_BACKOFF);
    u64::try_from(step.as_millis()).unwrap_or(u64::MAX)
}

/// `Retry-After` (seconds or an HTTP date) when present and readable, else
/// `x-ratelimit-reset` (seconds until the reset). Values that are not a time (`NaN`, `-5`,
/// words) are ignored, so normal backoff applies.
pub(super) fn server_delay(headers: &http::HeaderMap, now: SystemTime) -> Option<ServerDelay> {
    let value = |name: &str| header_text(headers, name).map(str::trim);
    let retry_after = value(RETRY_AFTER.as_str()).and_then(|v| {
        seconds(v).or_else(|| {
            let date = httpdate::parse_http_date(v).ok()?;
            Some(date.duration_since(now).unwrap_or_default().as_secs_f64())
        })
    });
    let secs = retry_after.or_else(|| value("x-ratelimit-reset").and_then(seconds))?;
    // `secs` is finite and not negative: only a wait too long for a `Duration` fails here.
    Some(match Duration::try_from_secs_f64(secs) {
        Ok(wait) if wait <= Duration::from_secs(MAX_WAIT_SECS) => ServerDelay::Wait(wait),
        _ => ServerDelay::TooLong(secs),
    })
}

fn seconds(text: &str) -> Option<f64> {
    let secs = text.parse::<f64>().ok().filter(|s| *s >= 0.0)?;
    if secs.is_finite() {
        return Some(secs);
    }
    // More digits than an f64 holds is still a (very long) wait; `inf` or `NaN` are not.
    let digits = text.trim_start_matches('+');
    (secs.is_infinite() && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(f64::MAX)
}

#[cfg(test)]
mod tests {
    use http::header::HeaderValue;

    use super::*;

    fn delay(pairs: &[(&str, &str)]) -> Option<ServerDelay> {
        let mut headers = http::HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        server_delay(
            &headers,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000),
        )
    }

    fn wait_ms(millis: u64) -> Option<ServerDelay> {
        Some(ServerDelay::Wait(Duration::from_millis(millis)))
    }

    #[test]
    fn the_server_delay_prefers_retry_after() {
        assert_eq!(delay(&[("x-ratelimit-reset", "3")]), wait_ms(3000));
        assert_eq!(
            delay(&[("x-ratelimit-reset", "3"), ("retry-after", "1")]),
            wait_ms(1000)
        );
        assert_eq!(delay(&[("retry-after", "120")]), wait_ms(120_000));
        assert_eq!(delay(&[("retry-after", "0.25")]), wait_ms(250));
        assert_eq!(delay(&[]), None);
    }

    #[test]
    fn a_wait_beyond_the_cap_is_reported_not_taken() {
        let four_hundred_digits = "9".repeat(400);
        for (header, value, asked) in [
            ("retry-after", "121", 121.0),
            ("retry-after", "99999", 99999.0),
            // Once a panic (exit 101): more seconds than a Duration holds.
            ("retry-after", "1e20", 1e20),
            ("x-ratelimit-reset", "1e300", 1e300),
            // More than an f64 holds, and still a wait beyond the cap.
            ("retry-after", four_hundred_digits.as_str(), f64::MAX),
        ] {
            assert_eq!(
                delay(&[(header, value)]),
                Some(ServerDelay::TooLong(asked)),
                "{header}: {value}"
            );
        }
    }

    #[test]
    fn garbage_delays_are_ignored() {
        for garbage in ["NaN", "-5", "inf", "-inf", "soon", "", "1e400", "infinity"] {
            assert_eq!(delay(&[("retry-after", garbage)]), None, "{garbage:?}");
            assert_eq!(
                delay(&[("x-ratelimit-reset", garbage)]),
                None,
                "{garbage:?}"
            );
        }
        // A garbage Retry-After falls back to a readable reset.
        assert_eq!(
            delay(&[("retry-after", "NaN"), ("x-ratelimit-reset", "2")]),
            wait_ms(2000)
        );
    }

    #[test]
    fn retry_after_may_be_an_http_date() {
        // 1_000_000_000 is 2001-09-09T01:46:40Z.
        for (date, expected) in [
            ("Sun, 09 Sep 2001 01:46:50 GMT", wait_ms(10_000)),
            // A date in the past means "now".
            ("Sat, 08 Sep 2001 01:46:40 GMT", wait_ms(0)),
            (
                "Mon, 10 Sep 2001 01:46:40 GMT",
                Some(ServerDelay::TooLong(86400.0)),
            ),
        ] {
            assert_eq!(delay(&[("retry-after", date)]), expected, "{date}");
        }
    }

    #[test]
    fn backoff_doubles_from_half_a_second_up_to_twenty() {
        let steps: Vec<u64> = (1..=8).map(backoff_step_millis).collect();
        assert_eq!(steps, [1000, 2000, 4000, 8000, 16000, 20000, 20000, 20000]);
        assert_eq!(backoff_step_millis(u32::MAX), 20000);
        for attempt in 1..20 {
            assert!(backoff(attempt) <= Duration::from_millis(backoff_step_millis(attempt)));
        }
    }
}
