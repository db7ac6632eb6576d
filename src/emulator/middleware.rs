//! What wraps every request: the request log, the request id, the counts of [`Stats`], the
//! `--latency` delay, rate limiting, bearer auth, and error bodies for responses the router
//! makes on its own (405).

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use super::error::ErrorResponse;
use super::requests::RequestRing;
use super::{Config, Stats};
use crate::api::insight::{LoggedRequest, VIA_HEADER};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Adds the layers that `config` asks for; the last one added runs first.
pub(super) fn wrap(
    router: Router,
    config: &Config,
    stats: Arc<Stats>,
    ring: Arc<RequestRing>,
) -> Router {
    let mut router = router.layer(middleware::from_fn(error_bodies));
    let api_key = config.api_key.clone().map(Arc::<str>::from);
    router = router.layer(middleware::from_fn(move |req, next| {
        authenticate(api_key.clone(), req, next)
    }));
    if let Some(limit) = config.rate_limit {
        let limiter = Arc::new(RateLimiter::new(limit));
        router = router.layer(middleware::from_fn(move |req, next| {
            rate_limit(Arc::clone(&limiter), req, next)
        }));
    }
    // Before the rate limit, as the network is before the service: a 429 is late too.
    if let Some(latency) = config.latency {
        router = router.layer(middleware::from_fn(move |req, next: Next| async move {
            tokio::time::sleep(latency.sample()).await;
            next.run(req).await
        }));
    }
    // A clock that is off shows in `Date` too (the server writes its own only when none is set).
    if config.clock_offset_ms != 0 {
        let offset = config.clock_offset_ms;
        router = router.layer(middleware::from_fn(move |req, next: Next| async move {
            let mut response = next.run(req).await;
            let at = super::now_ms().saturating_add(offset);
            let time = std::time::UNIX_EPOCH
                + Duration::from_millis(u64::try_from(at).unwrap_or_default());
            if let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(time)) {
                response.headers_mut().insert(http::header::DATE, value);
            }
            response
        }));
    }
    let hosts = Arc::new(config.hosts.clone());
    let log = config.log_requests.then(RequestLog::start);
    // One layer for the host check, the request id, the counts and the log: each layer costs
    // an allocation per request.
    router.layer(middleware::from_fn(move |req, next| {
        identify_and_log(
            Arc::clone(&hosts),
            log.clone(),
            Arc::clone(&stats),
            Arc::clone(&ring),
            req,
            next,
        )
    }))
}

/// A `Host` the emulator does not answer, checked before anything else looks at the request.
/// No CORS headers are ever sent, so other origins' pages cannot read answers either.
fn refused_host(hosts: &super::AllowedHosts, req: &Request) -> Option<Response> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))?;
    (!hosts.allows(host)).then(|| ErrorResponse::host_not_allowed(host).into_response())
}

/// The request log, written by a thread of its own through a bounded queue: a stderr nobody
/// reads (a harness that only reads the `--json` line) can fill its pipe, and then lines are
/// dropped and counted rather than blocking the workers that answer requests.
#[derive(Clone)]
struct RequestLog {
    lines: std::sync::mpsc::SyncSender<String>,
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl RequestLog {
    fn start() -> Self {
        let (lines, queue) = std::sync::mpsc::sync_channel::<String>(4096);
        let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = Arc::clone(&dropped);
        std::thread::spawn(move || {
            for line in queue {
                let mut stderr = std::io::stderr().lock();
                let lost = counted.swap(0, std::sync::atomic::Ordering::Relaxed);
                if lost > 0 {
                    let _ = writeln!(stderr, "({lost} log lines dropped: stderr was not read)");
                }
                // Best effort: a closed stderr must not fail anything.
                let _ = writeln!(stderr, "{line}");
            }
        });
        Self { lines, dropped }
    }

    fn log(&self, line: String) {
        if self.lines.try_send(line).is_err() {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Gives every response an `x-request-id`, keeps the request in the ring and, when asked,
/// logs `METHOD PATH STATUS TIME`.
async fn identify_and_log(
    hosts: Arc<super::AllowedHosts>,
    log: Option<RequestLog>,
    stats: Arc<Stats>,
    ring: Arc<RequestRing>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let at_ms = super::now_ms();
    let counted = stats.begin();
    let explorer = req.headers().contains_key(VIA_HEADER);
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let mut response = match refused_host(&hosts, &req) {
        Some(refused) => refused,
        None => next.run(req).await,
    };
    counted.answered(response.status().as_u16());
    let id = uuid::Uuid::new_v4().to_string();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let elapsed = start.elapsed().as_secs_f64() * 1000.0;
    let status = response.status().as_u16();
    if let Some(log) = log {
        log.log(format!("{method} {path} {status} {elapsed:.1}ms"));
    }
    ring.record(LoggedRequest {
        seq: 0,
        at_ms,
        method: method.to_string(),
        path,
        status,
        duration_ms: elapsed,
        explorer,
    });
    response
}

/// Accepts `Authorization: Bearer <token>`: any token, or only the configured one.
async fn authenticate(api_key: Option<Arc<str>>, req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty());
    let allowed = match (token, &api_key) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(token), Some(key)) => token == &**key,
    };
    if allowed {
        next.run(req).await
    } else {
        ErrorResponse::unauthorized().into_response()
    }
}

/// A fixed one-second window: at most `limit` requests per window, 429 for the rest.
struct RateLimiter {
    limit: u32,
    window: Mutex<(Instant, u32)>,
}

impl RateLimiter {
    fn new(limit: u32) -> Self {
        Self {
            limit,
            window: Mutex::new((Instant::now(), 0)),
        }
    }

    /// Counts one request; returns the requests left in this window (`None` when over) and the
    /// whole seconds until the window resets.
    fn take(&self) -> (Option<u32>, u64) {
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if now.duration_since(window.0) >= Duration::from_secs(1) {
            *window = (now, 0);
        }
        let left = Duration::from_secs(1).saturating_sub(now.duration_since(window.0));
        let reset = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        if window.1 >= self.limit {
            return (None, reset.max(1));
        }
        window.1 += 1;
        (Some(self.limit - window.1), reset.max(1))
    }
}

async fn rate_limit(limiter: Arc<RateLimiter>, req: Request, next: Next) -> Response {
    let (remaining, reset) = limiter.take();
    let mut response = match remaining {
        Some(_) => next.run(req).await,
        None => {
            let mut response = ErrorResponse::rate_limited().into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(reset));
            response
        }
    };
    let headers = response.headers_mut();
    headers.insert(LIMIT, HeaderValue::from(limiter.limit));
    headers.insert(REMAINING, HeaderValue::from(remaining.unwrap_or(0)));
    headers.insert(RESET, HeaderValue::from(reset));
    response
}

/// The router answers an unsupported method with an empty 405; give it the Telnyx error body
/// while keeping its `Allow` header.
async fn error_bodies(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let (parts, _) = response.into_parts();
    let mut replaced = ErrorResponse::method_not_allowed().into_response();
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        replaced.headers_mut().insert(header::ALLOW, allow.clone());
    }
    replaced
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_counts_down_then_refuses() {
        let limiter = RateLimiter::new(2);
        assert_eq!(limiter.take(), (Some(1), 1));
        assert_eq!(limiter.take(), (Some(0), 1));
        assert_eq!(limiter.take(), (None, 1));
    }
}
