//! The retry loop and its policy. GET, PUT and DELETE are retried on 408, 429, every 5xx, a 409
//! "not ready", connection failures, resets and timeouts, with exponential backoff and full
//! jitter, honouring `Retry-After` and `x-ratelimit-reset`. POST (create) is retried only when
//! the request certainly did not reach the service; see
//! [`Client::create_namespace`](super::Client::create_namespace). Each attempt first waits its
//! turn at the client's [`Gate`](super::pace::Gate), then sends the request once and tells the
//! gate the rate limit its answer announced.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;

use super::response::{Outcome, Reply, ServerDelay};
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

    /// One attempt, the body read whole; also returns how long the server asked us to wait.
    pub(super) async fn attempt(&self, request: &Request<'_>) -> Outcome {
        let url = format!("{}{}", self.base, request.path);
        let shown = self.url_shown(request.path);
        let mut sent = self
            .http
            .request(request.method.clone(), &url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/json, */*");
        if let Some(via) = self.via {
            sent = sent.header(crate::api::insight::VIA_HEADER, via);
        }
        if let Some((bytes, content_type)) = request.body.clone() {
            sent = sent.header(CONTENT_TYPE, content_type).body(bytes);
        }
        self.emit(&Event::Sending {
            method: &request.method,
            url: &shown,
            proxy: self.proxy.as_deref(),
        });
        let start = Instant::now();
        match sent.send().await {
            Ok(response) => {
                if let Some(event) = self.gate.note_limits(response.status(), response.headers()) {
                    self.emit(&event);
                }
                self.read_reply(response, request.limit, &shown, start)
                    .await
            }
            Err(err) => Outcome::without_delay(Err(self.failed(err, &shown))),
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

#[cfg(test)]
mod tests {
    use super::*;

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
