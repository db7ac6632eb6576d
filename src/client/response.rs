//! Reading and checking one attempt's answer: every attempt reads the whole response, body
//! included, under one `--timeout`, and never more than the API can send (a value is at most
//! 1 MiB), so a stalled or endless body fails like any transient failure and is retried. A
//! failure status becomes an [`ApiError`] with the service's error document, and the wait it
//! asks for (`Retry-After`, `x-ratelimit-reset`) a [`ServerDelay`]; a success is a [`Reply`],
//! whose JSON is parsed here too.

use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use super::error::MAX_WAIT_SECS;
use super::{ApiError, Client, Event, net};
use crate::api::rules::MAX_VALUE_BYTES;
use crate::api::types::ErrorBody;

/// Largest JSON document the client reads; real ones are far smaller.
pub(super) const MAX_JSON_BYTES: usize = 16 * 1024 * 1024;
/// Largest value body the client reads: the API's limit plus room for a server that counts
/// differently. Anything larger is not a value the API stored.
pub(super) const MAX_VALUE_BODY: usize = MAX_VALUE_BYTES + 64 * 1024;
/// Most of an error body that is read; the rest is not needed to report it.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// How long the service asked the client to wait before the next request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum ServerDelay {
    Wait(Duration),
    /// More than [`MAX_WAIT_SECS`]; the value asked, in seconds.
    TooLong(f64),
}

/// A successful response, read whole.
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) content_type: Option<String>,
    request_id: Option<String>,
    /// The service's `Date`, in Unix seconds: its clock, not this machine's.
    pub(super) date: Option<i64>,
    pub(super) body: Bytes,
}

/// What one attempt gives back.
pub(super) struct Outcome {
    /// The reply, or why there is none.
    pub(super) result: Result<Reply, ApiError>,
    /// How long the server asked us to wait (with a failure status).
    pub(super) server_delay: Option<ServerDelay>,
}

impl Outcome {
    /// An outcome the server named no wait with.
    pub(super) fn without_delay(result: Result<Reply, ApiError>) -> Self {
        Self {
            result,
            server_delay: None,
        }
    }
}

/// A header's value, when it is text.
pub(super) fn header_text<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl Client {
    /// What a failed exchange means.
    pub(super) fn failed(&self, err: reqwest::Error, shown: &str) -> ApiError {
        net::classify(err, shown, self.proxy.as_deref(), self.options.timeout)
    }

    /// Reads the response to an attempt sent at `start`: a success's body up to `limit`, or the
    /// error a failure status stands for.
    pub(super) async fn read_reply(
        &self,
        response: reqwest::Response,
        limit: usize,
        shown: &str,
        start: Instant,
    ) -> Outcome {
        let status = response.status();
        let version = response.version();
        let headers = response.headers().clone();
        let header = |name: &str| header_text(&headers, name).map(str::to_owned);
        let traced_id = header("x-request-id");
        // The in-process emulator's request ids mean nothing to Telnyx support: errors and
        // replies carry none, only the `-v` trace shows them.
        let request_id = traced_id.clone().filter(|_| !self.is_direct());
        let fail = |err| self.failed(err, shown);
        if status.is_success() {
            let body = read_body(response, limit, shown, fail)
                .await
                .map_err(|err| err.in_response(request_id.as_deref()));
            self.trace(version, status, start, traced_id.as_deref());
            let reply = |body| Reply {
                status,
                content_type: header(CONTENT_TYPE.as_str()),
                date: header(http::header::DATE.as_str()).and_then(|text| unix_date(&text)),
                request_id,
                body,
            };
            return Outcome::without_delay(body.map(reply));
        }
        let server_delay = server_delay(&headers, SystemTime::now());
        // The error body only explains the status; one that cannot be read explains nothing.
        let bytes = read_body(response, MAX_ERROR_BODY, shown, fail)
            .await
            .unwrap_or_default();
        self.trace(version, status, start, traced_id.as_deref());
        let proxy = self.proxy.as_deref();
        let error = status_error(status, &bytes, shown.to_owned(), request_id, proxy);
        Outcome {
            result: Err(error),
            server_delay,
        }
    }

    fn trace(
        &self,
        version: reqwest::Version,
        status: StatusCode,
        start: Instant,
        request_id: Option<&str>,
    ) {
        self.emit(&Event::Received {
            version,
            status,
            elapsed: start.elapsed(),
            request_id,
        });
    }

    /// The reply's body as JSON of type `T`.
    pub(super) fn parse<T: DeserializeOwned>(
        &self,
        path: &str,
        reply: &Reply,
    ) -> Result<T, ApiError> {
        let bytes = &reply.body;
        serde_json::from_slice(bytes).map_err(|err| ApiError::Decode {
            url: self.url_shown(path),
            reason: if bytes.is_empty() {
                "the body is empty".to_owned()
            } else {
                format!("invalid JSON ({err})")
            },
            request_id: reply.request_id.clone(),
        })
    }
}

/// An HTTP date in Unix seconds.
fn unix_date(text: &str) -> Option<i64> {
    httpdate::parse_http_date(text)
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|since| i64::try_from(since.as_secs()).ok())
}

/// The error for a failed status: the API's own error document, or, for a 404 without one, a
/// wrong endpoint (an HTML page or an empty body is not the API's "not found").
fn status_error(
    status: StatusCode,
    body: &[u8],
    shown: String,
    request_id: Option<String>,
    proxy: Option<&str>,
) -> ApiError {
    if let Some(proxy) = proxy
        && status == StatusCode::PROXY_AUTHENTICATION_REQUIRED
    {
        return ApiError::ProxyAuth {
            url: shown,
            proxy: proxy.to_owned(),
        };
    }
    let error = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|body| body.errors.into_iter().next());
    let not_the_apis = matches!(status.as_u16(), 401 | 403 | 404);
    if not_the_apis && error.is_none() {
        return ApiError::Endpoint {
            url: shown,
            status: status.as_u16(),
            request_id,
        };
    }
    // Server text reaches the terminal: control characters are shown, not obeyed.
    ApiError::Status {
        status: status.as_u16(),
        code: error.as_ref().map(|e| printable(&e.code)),
        title: error.as_ref().map(|e| printable(&e.title)),
        detail: error.and_then(|e| e.detail).map(|d| printable(&d)),
        request_id,
    }
}

/// `text` with control characters escaped (`\u{1b}`), so a server cannot move the cursor,
/// recolour the terminal or forge lines.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// Reads a body whole, refusing one larger than `limit` without buffering it.
async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
    shown: &str,
    fail: impl Fn(reqwest::Error) -> ApiError,
) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::TooLarge {
        url: shown.to_owned(),
        limit,
        request_id: None,
    };
    let announced = response.content_length().unwrap_or(0);
    if announced > limit as u64 {
        return Err(too_large());
    }
    let mut body = BytesMut::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(&fail)? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
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
}
