//! The HTTP client of the Telnyx KV API, on reqwest: rustls with the platform's verifier plus
//! `SSL_CERT_FILE`/`SSL_CERT_DIR`, HTTP/2 by ALPN, and proxies from the environment.
//!
//! Keys are one percent-encoded path segment. reqwest parses URLs with the WHATWG rules, which
//! drop `.`/`..` segments even when written `%2E`; the keys `.` and `..` are therefore refused
//! before any request (`validate::request_key`), as the official SDKs refuse them.
//!
//! Every attempt reads the whole response, body included, under one `--timeout`, and never
//! more than the API can send (a value is at most 1 MiB), so a stalled or endless body fails
//! like any transient failure and is retried.
//!
//! Retries: GET, PUT and DELETE are retried on 408, 429, every 5xx, a 409 "not ready",
//! connection failures, resets and timeouts, with exponential backoff and full jitter,
//! honouring `Retry-After` and `x-ratelimit-reset`. POST (create) is retried only when the request certainly did not reach
//! the service; see [`Client::create_namespace`].

mod error;
mod net;
mod pages;

pub(crate) use error::ApiError;
pub(crate) use net::redact_url;
pub(crate) use pages::{KeyPages, PAGE};

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use error::MAX_WAIT_SECS;

use crate::api::rules::MAX_VALUE_BYTES;
use crate::api::types::{CreateNamespace, Data, ErrorBody, KeyList, Namespace, NamespaceList};

/// Everything but `A-Z a-z 0-9 - _ =` is percent-encoded in a key, so that no URL normalisation
/// on the way can rewrite it (`/` → `%2F`, `.` → `%2E`).
const KEY_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'=');
/// Query values: everything but unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Largest JSON document the client reads; real ones are far smaller.
const MAX_JSON_BYTES: usize = 16 * 1024 * 1024;
/// Largest value body the client reads: the API's limit plus room for a server that counts
/// differently. Anything larger is not a value the API stored.
const MAX_VALUE_BODY: usize = MAX_VALUE_BYTES + 64 * 1024;
/// Most of an error body that is read; the rest is not needed to report it.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// First backoff step; doubled on each retry, up to `MAX_BACKOFF`.
const BASE_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(20);
const USER_AGENT: &str = concat!("telnyx-edge/", env!("CARGO_PKG_VERSION"));

/// How the client connects and behaves.
#[derive(Clone)]
pub(crate) struct ClientOptions {
    /// API root including `/v2`, e.g. `https://api.telnyx.com/v2`.
    pub base_url: String,
    pub token: String,
    /// Per attempt: from sending the request to the last byte of the response.
    pub timeout: Duration,
    pub retries: u32,
    /// Connect directly whatever the proxy variables say: for the in-process emulator.
    pub direct: bool,
    /// Told of each request, response and retry; the client itself prints nothing.
    pub observer: Option<Observer>,
}

/// What the client does, as it does it, for the command layer to show (`-v`, retry notices).
/// URLs are redacted.
pub(crate) enum Event<'a> {
    /// A request is about to be sent.
    Sending {
        method: &'a Method,
        url: &'a str,
        proxy: Option<&'a str>,
    },
    /// A response arrived and its body was read.
    Received {
        version: reqwest::Version,
        status: StatusCode,
        elapsed: Duration,
        request_id: Option<&'a str>,
    },
    /// The service announced its rate limit, and requests are now paced to `rate` per second
    /// (reported when it first applies and when it moves by more than a tenth).
    Pacing {
        limit: u32,
        window_secs: u64,
        rate: f64,
    },
    /// An attempt failed and will be repeated after `delay`.
    Retrying {
        method: &'a Method,
        delay: Duration,
        error: &'a ApiError,
        retry: u32,
        retries: u32,
        /// The caller reports final failures itself (bulk work): worth a trace, not a notice.
        caller_reports: bool,
    },
}

/// Whether the caller has given up on its requests; see [`Client::cancelled_by`].
pub(crate) type Cancel = Arc<dyn Fn() -> bool + Send + Sync>;

/// Receives the client's [`Event`]s; shared by every clone of a client.
pub(crate) type Observer = Arc<dyn Fn(&Event<'_>) + Send + Sync>;

/// A connected API client; cheap to clone. Clones share the connection pool and the
/// [`Gate`], so concurrent workers slow down together when the service asks one to wait.
#[derive(Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    /// `base` with any credentials redacted, for messages and traces.
    shown: String,
    /// The proxy requests go through, redacted.
    proxy: Option<String>,
    auth: HeaderValue,
    options: ClientOptions,
    /// See [`Client::without_retry_messages`].
    caller_reports: bool,
    /// See [`Client::cancelled_by`].
    cancel: Option<Cancel>,
    gate: Arc<Gate>,
}

/// What every request of a client (and its clones) passes through before it is sent:
///
/// - a pause until a time the service named in a `Retry-After` or `x-ratelimit-reset`;
/// - pacing, once the service announces its limit (`x-ratelimit-limit` requests per window,
///   the window being the longest `x-ratelimit-reset` seen): requests leave evenly spaced at
///   [`PACE_SHARE`] of that rate, so a bulk run goes as fast as the service allows without
///   learning the limit from 429s. Each 429 while paced lowers the pace (once per window, as
///   429s come in bursts), and successes slowly win it back: another client may share the
///   quota;
/// - the count of 429 and 503 answers, for bulk work's adaptive window.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    until: std::sync::Mutex<Option<Instant>>,
    pace: std::sync::Mutex<Pace>,
    throttled: std::sync::atomic::AtomicU64,
}

/// Share of the announced rate that paced requests use: the rest absorbs latency jitter, which
/// bunches arrivals within a fixed window.
const PACE_SHARE: f64 = 0.95;
/// The lowest share 429s can push the pace down to.
const PACE_FLOOR: f64 = 0.1;

#[derive(Debug, Default)]
struct Pace {
    /// `x-ratelimit-limit`: requests per window.
    limit: Option<u32>,
    /// The window, in seconds: the longest `x-ratelimit-reset` seen (at least 1).
    window_secs: u64,
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
        Some(limit * self.share / self.window_secs.max(1) as f64)
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
        // A new limit comes with its own window: the resets seen with the old one say nothing
        // about it.
        if self.limit.is_some_and(|old| old != limit) {
            self.window_secs = 0;
        }
        let before = self.rate();
        self.limit = Some(limit);
        if let Some(reset) = reset.filter(|r| r.is_finite() && *r <= MAX_WAIT_SECS as f64) {
            self.window_secs = self.window_secs.max(reset.ceil().max(1.0) as u64);
        }
        self.window_secs = self.window_secs.max(1);
        // The requests sent before the limit was known took slots of the pace: the next one
        // leaves after them, so that the first window does not overflow. At most one window's
        // worth: a service that names its limit only late (on a 429, say) counts only the
        // requests of the current window.
        if first && let Some(rate) = self.rate() {
            let taken = Duration::from_secs_f64(f64::from(self.unpaced) / rate)
                .min(Duration::from_secs(self.window_secs));
            self.next = Some(self.next.map_or(now, |next| next.max(now)) + taken);
        }
        // A faster rate applies to the next request, not after the slots booked at the old one.
        if let (Some(before), Some(rate)) = (before, self.rate())
            && rate > before
        {
            let soonest = now + Duration::from_secs_f64(1.0 / rate);
            self.next = self.next.map(|next| next.min(soonest));
        }
        let window = Duration::from_secs(self.window_secs);
        if throttled {
            if self
                .lowered
                .is_none_or(|at| now.duration_since(at) >= window)
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
    fn until(&self) -> Option<Instant> {
        *self.until.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pause(&self, delay: Duration) {
        let mut until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        let end = Instant::now() + delay;
        if until.is_none_or(|current| current < end) {
            *until = Some(end);
        }
    }

    fn pace(&self) -> std::sync::MutexGuard<'_, Pace> {
        self.pace.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How hard the service is pushing back on a client (and its clones); see [`Client::pressure`].
#[derive(Clone)]
pub(crate) struct Pressure(Arc<Gate>);

impl Pressure {
    /// Answers 429 or 503 so far, retried ones included.
    pub(crate) fn throttled(&self) -> u64 {
        self.0.throttled.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The rate requests are paced to, once the service announced its limit.
    pub(crate) fn paced_rate(&self) -> Option<f64> {
        self.0.pace().rate()
    }
}

/// A value as the service returned it.
pub(crate) struct Value {
    pub content_type: Option<String>,
    pub bytes: Bytes,
}

/// A successful response, read whole.
struct Reply {
    status: StatusCode,
    content_type: Option<String>,
    request_id: Option<String>,
    /// The service's `Date`, in Unix seconds: its clock, not this machine's.
    date: Option<i64>,
    body: Bytes,
}

enum Idempotence {
    /// Safe to repeat whatever happened.
    Idempotent,
    /// Repeat only when the request certainly did not reach the service.
    OnlyIfUnsent,
}

/// How long the service asked the client to wait before the next request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ServerDelay {
    Wait(Duration),
    /// More than [`MAX_WAIT_SECS`]; the value asked, in seconds.
    TooLong(f64),
}

impl Client {
    pub(crate) fn new(options: ClientOptions) -> Result<Self, ApiError> {
        let given = options.base_url.trim_end_matches('/');
        let Some(mut url) = reqwest::Url::parse(given).ok().filter(|url| {
            matches!(url.scheme(), "http" | "https")
                && url.host().is_some()
                && url.query().is_none()
                && url.fragment().is_none()
        }) else {
            return Err(ApiError::BaseUrl {
                url: net::redact_url(given),
            });
        };
        // The API authenticates by the bearer token alone; credentials in the URL would become
        // a second `Authorization` header, so they are dropped (and never shown).
        let had_credentials = !url.username().is_empty() || url.password().is_some();
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let base = url.as_str().trim_end_matches('/').to_owned();
        let shown = if had_credentials {
            base.replacen("://", "://[redacted]@", 1)
        } else {
            base.clone()
        };
        let proxy = if options.direct {
            None
        } else {
            net::proxy_for(&url)?
        };
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            // One deadline for the whole exchange: connecting, TLS, headers and body.
            .timeout(options.timeout)
            .tcp_nodelay(true)
            // An API client follows no redirects: a 3xx is reported, never chased with the key.
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(net::Resolver))
            // The proxy is chosen here, once, from the environment; reqwest reads nothing.
            .no_proxy();
        if let Some(proxy) = &proxy {
            let proxy = reqwest::Proxy::all(&proxy.url).map_err(|_| ApiError::Setup {
                reason: format!("the proxy {} cannot be used", proxy.shown),
            })?;
            builder = builder.proxy(proxy);
        }
        let proxy = proxy.map(|proxy| proxy.shown);
        // Over plain HTTP (`--local`, a test server) `SSL_CERT_FILE` is not read at all.
        let tls_needed =
            base.starts_with("https:") || proxy.as_deref().is_some_and(|p| p.starts_with("https:"));
        // Always our own TLS set-up: reqwest's default would read the system's trust store
        // now, even for plain HTTP.
        builder = builder.tls_backend_preconfigured(net::tls_config(tls_needed)?);
        let http = builder.build().map_err(|err| ApiError::Setup {
            reason: error_text(&err),
        })?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", options.token))
            .map_err(|_| ApiError::Token)?;
        auth.set_sensitive(true);
        Ok(Self {
            http,
            base,
            shown,
            proxy,
            auth,
            options,
            caller_reports: false,
            cancel: None,
            gate: Arc::new(Gate::default()),
        })
    }

    /// The same client, without the "Retrying …" lines (bulk work reports failures itself).
    pub(crate) fn without_retry_messages(&self) -> Self {
        let mut client = self.clone();
        client.caller_reports = true;
        client
    }

    /// The same client, whose requests stop retrying (and stop waiting for a retry) once
    /// `cancel` says so: a stopped bulk run lets its requests in flight finish, not retry for
    /// minutes.
    pub(crate) fn cancelled_by(&self, cancel: Cancel) -> Self {
        let mut client = self.clone();
        client.cancel = Some(cancel);
        client
    }

    /// The API root with any credentials redacted: how messages (and `local::seen`) name it.
    pub(crate) fn base_url(&self) -> &str {
        &self.shown
    }

    /// Whether this client talks to the in-process emulator (`--local`).
    pub(crate) fn is_direct(&self) -> bool {
        self.options.direct
    }

    /// How hard the service pushes back, shared by every clone of this client.
    pub(crate) fn pressure(&self) -> Pressure {
        Pressure(Arc::clone(&self.gate))
    }

    fn cancelled(&self) -> bool {
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

    /// `GET /storage/kvs?page[number]=N&page[size]=S`
    pub(crate) async fn list_namespaces(
        &self,
        page: u64,
        size: u64,
    ) -> Result<NamespaceList, ApiError> {
        let path = format!("/storage/kvs?page[number]={page}&page[size]={size}");
        self.json(Method::GET, &path, None).await
    }

    /// `GET /storage/kvs/{id}`
    pub(crate) async fn get_namespace(&self, id: &str) -> Result<Namespace, ApiError> {
        let data: Data<Namespace> = self
            .json(Method::GET, &format!("/storage/kvs/{id}"), None)
            .await?;
        Ok(data.data)
    }

    /// `DELETE /storage/kvs/{id}`. Retried like every idempotent request. A 409 saying the
    /// namespace is already being deleted (by an earlier attempt whose answer was lost, or by
    /// someone else) means what was asked is under way: the namespace as it now is is the
    /// answer, or the 409 itself when it cannot be read.
    pub(crate) async fn delete_namespace(&self, id: &str) -> Result<Namespace, ApiError> {
        let deleted: Result<Data<Namespace>, ApiError> = self
            .json(Method::DELETE, &format!("/storage/kvs/{id}"), None)
            .await;
        match deleted {
            Ok(data) => Ok(data.data),
            Err(err) if err.is_being_deleted() => self.get_namespace(id).await.or(Err(err)),
            Err(err) => Err(err),
        }
    }

    /// `POST /storage/kvs`. Retried only when the request certainly did not reach the service
    /// (it could not connect, or a 429 refused it). After an ambiguous failure (a timeout, a
    /// reset, a 5xx) the name is looked up: if the namespace exists, that was our create.
    pub(crate) async fn create_namespace(&self, name: &str) -> Result<Namespace, ApiError> {
        let body = serde_json::to_vec(&CreateNamespace {
            name: name.to_owned(),
        })
        .map(Bytes::from)
        .map_err(|err| ApiError::Setup {
            reason: err.to_string(),
        })?;
        let path = "/storage/kvs";
        let sent = self
            .send(
                Method::POST,
                path,
                Some((body, "application/json")),
                Idempotence::OnlyIfUnsent,
                MAX_JSON_BYTES,
            )
            .await;
        match sent {
            Ok(reply) => {
                let data: Data<Namespace> = self.parse(path, &reply)?;
                Ok(data.data)
            }
            Err(err) if err.is_retryable() => match self.find_namespace_by_name(name).await {
                Ok(Some(namespace)) => Ok(namespace),
                _ => Err(err),
            },
            Err(err) => Err(err),
        }
    }

    /// Looks a namespace up by name across every page of the list.
    pub(crate) async fn find_namespace_by_name(
        &self,
        name: &str,
    ) -> Result<Option<Namespace>, ApiError> {
        Ok(self.look_up_name(name).await?.ok())
    }

    /// Looks a name up across every page: the namespace, or every name seen (for a "did you
    /// mean").
    pub(crate) async fn look_up_name(
        &self,
        name: &str,
    ) -> Result<Result<Namespace, Vec<String>>, ApiError> {
        let mut page = 1;
        let mut names = Vec::new();
        loop {
            let list = self.list_namespaces(page, 250).await?;
            for namespace in list.data {
                if namespace.name == name {
                    return Ok(Ok(namespace));
                }
                names.push(namespace.name);
            }
            if page >= list.meta.total_pages {
                return Ok(Err(names));
            }
            page += 1;
        }
    }

    /// `GET /storage/kvs/{id}/keys?prefix=P&limit=L&cursor=C`
    pub(crate) async fn list_keys(
        &self,
        id: &str,
        prefix: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<KeyList, ApiError> {
        let mut query = Vec::new();
        if let Some(prefix) = prefix {
            query.push(format!(
                "prefix={}",
                utf8_percent_encode(prefix, QUERY_VALUE)
            ));
        }
        if let Some(limit) = limit {
            query.push(format!("limit={limit}"));
        }
        if let Some(cursor) = cursor {
            query.push(format!(
                "cursor={}",
                utf8_percent_encode(cursor, QUERY_VALUE)
            ));
        }
        let mut path = format!("/storage/kvs/{id}/keys");
        if !query.is_empty() {
            path.push('?');
            path.push_str(&query.join("&"));
        }
        let reply = self
            .send(
                Method::GET,
                &path,
                None,
                Idempotence::Idempotent,
                MAX_JSON_BYTES,
            )
            .await?;
        let mut list: KeyList = self.parse(&path, &reply)?;
        list.date = reply.date;
        Ok(list)
    }

    /// `GET /storage/kvs/{id}/keys/{key}`: the value's exact bytes and content type.
    pub(crate) async fn get_key(&self, id: &str, key: &str) -> Result<Value, ApiError> {
        let reply = self
            .send(
                Method::GET,
                &key_path(id, key),
                None,
                Idempotence::Idempotent,
                MAX_VALUE_BODY,
            )
            .await?;
        Ok(Value {
            content_type: reply.content_type,
            bytes: reply.body,
        })
    }

    /// `PUT /storage/kvs/{id}/keys/{key}?ttl_secs=T`; `true` when the key was created.
    pub(crate) async fn put_key(
        &self,
        id: &str,
        key: &str,
        value: Bytes,
        ttl_secs: Option<u64>,
        content_type: Option<&str>,
    ) -> Result<bool, ApiError> {
        let mut path = key_path(id, key);
        if let Some(ttl) = ttl_secs {
            path.push_str(&format!("?ttl_secs={ttl}"));
        }
        let content_type = content_type.unwrap_or("application/octet-stream");
        let reply = self
            .send(
                Method::PUT,
                &path,
                Some((value, content_type)),
                Idempotence::Idempotent,
                MAX_JSON_BYTES,
            )
            .await?;
        Ok(reply.status == StatusCode::CREATED)
    }

    /// `DELETE /storage/kvs/{id}/keys/{key}`; succeeds when the key did not exist.
    pub(crate) async fn delete_key(&self, id: &str, key: &str) -> Result<(), ApiError> {
        self.send(
            Method::DELETE,
            &key_path(id, key),
            None,
            Idempotence::Idempotent,
            MAX_JSON_BYTES,
        )
        .await?;
        Ok(())
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<(Bytes, &str)>,
    ) -> Result<T, ApiError> {
        let reply = self
            .send(method, path, body, Idempotence::Idempotent, MAX_JSON_BYTES)
            .await?;
        self.parse(path, &reply)
    }

    fn parse<T: DeserializeOwned>(&self, path: &str, reply: &Reply) -> Result<T, ApiError> {
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

    fn url_shown(&self, path: &str) -> String {
        format!("{}{path}", self.shown)
    }

    /// Sends until success, a final failure, or the retries run out. Error statuses come back
    /// as [`ApiError::Status`] with the service's error body.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(Bytes, &str)>,
        idempotence: Idempotence,
        limit: usize,
    ) -> Result<Reply, ApiError> {
        let mut attempt = 0;
        // The previous attempt's failure, reported if the caller gives up before the next one.
        let mut last: Option<ApiError> = None;
        loop {
            // Wait for the gate and for a pace slot; a pause the service asks for while this
            // request waits for its slot holds it too. A caller that gives up meanwhile sends
            // nothing more.
            loop {
                if let Some(until) = self.gate.until() {
                    self.pause(until.saturating_duration_since(Instant::now()))
                        .await;
                }
                if self.cancelled() {
                    return Err(last.take().unwrap_or(ApiError::NotSent));
                }
                let Some(slot) = self.gate.pace().slot(Instant::now()) else {
                    break;
                };
                self.pause(slot.saturating_duration_since(Instant::now()))
                    .await;
                if self.cancelled() {
                    return Err(last.take().unwrap_or(ApiError::NotSent));
                }
                if self
                    .gate
                    .until()
                    .is_none_or(|until| until <= Instant::now())
                {
                    break;
                }
            }
            let (result, server_delay) = self.attempt(&method, path, body.clone(), limit).await;
            if let Some(ServerDelay::Wait(delay)) = server_delay {
                self.gate.pause(delay);
            }
            let err = match result {
                Ok(reply) => return Ok(reply),
                Err(err) => err,
            };
            let may_retry = match idempotence {
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
                method: &method,
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
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<(Bytes, &str)>,
        limit: usize,
    ) -> (Result<Reply, ApiError>, Option<ServerDelay>) {
        let url = format!("{}{path}", self.base);
        let shown = self.url_shown(path);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/json, */*");
        if let Some((bytes, content_type)) = body {
            request = request.header(CONTENT_TYPE, content_type).body(bytes);
        }
        self.emit(&Event::Sending {
            method,
            url: &shown,
            proxy: self.proxy.as_deref(),
        });
        let start = Instant::now();
        let fail = |err: reqwest::Error| {
            net::classify(err, &shown, self.proxy.as_deref(), self.options.timeout)
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => return (Err(fail(err)), None),
        };
        let status = response.status();
        let version = response.version();
        let headers = response.headers().clone();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let request_id = header("x-request-id");
        let content_type = header(CONTENT_TYPE.as_str());
        let date = header(http::header::DATE.as_str())
            .and_then(|text| httpdate::parse_http_date(&text).ok())
            .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|since| i64::try_from(since.as_secs()).ok());
        self.note_limits(status, &headers);
        if status.is_success() {
            let body = read_body(response, limit, &shown, fail)
                .await
                .map_err(|err| err.in_response(request_id.as_deref()));
            self.trace(version, status, start, request_id.as_deref());
            return (
                body.map(|body| Reply {
                    status,
                    content_type,
                    request_id,
                    date,
                    body,
                }),
                None,
            );
        }
        let server_delay = server_delay(&headers, SystemTime::now());
        // The error body only explains the status; one that cannot be read explains nothing.
        let bytes = read_body(response, MAX_ERROR_BODY, &shown, fail)
            .await
            .unwrap_or_default();
        self.trace(version, status, start, request_id.as_deref());
        (
            Err(status_error(
                status,
                &bytes,
                shown,
                request_id,
                self.proxy.as_deref(),
            )),
            server_delay,
        )
    }

    /// Counts a 429 or 503, and paces to a limit the service announces.
    fn note_limits(&self, status: StatusCode, headers: &http::HeaderMap) {
        let throttled = matches!(status.as_u16(), 429 | 503);
        if throttled {
            self.gate
                .throttled
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        let Some(limit) = number("x-ratelimit-limit").map(|l| l.min(f64::from(u32::MAX)) as u32)
        else {
            return;
        };
        let reset = number("x-ratelimit-reset");
        let changed = {
            let mut pace = self.gate.pace();
            pace.observe(Some(limit), reset, status.as_u16() == 429, Instant::now());
            pace.changed().map(|rate| (rate, pace.window_secs))
        };
        if let Some((rate, window_secs)) = changed {
            self.emit(&Event::Pacing {
                limit,
                window_secs,
                rate,
            });
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

    fn emit(&self, event: &Event<'_>) {
        if let Some(observer) = &self.options.observer {
            observer(event);
        }
    }
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

/// A reqwest error's message with its causes, for errors that end up as plain text.
fn error_text(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// `/storage/kvs/{id}/keys/{key}` with the key as one percent-encoded path segment.
pub(crate) fn key_path(id: &str, key: &str) -> String {
    format!(
        "/storage/kvs/{id}/keys/{}",
        utf8_percent_encode(key, KEY_SEGMENT)
    )
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
fn server_delay(headers: &http::HeaderMap, now: SystemTime) -> Option<ServerDelay> {
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
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
    use super::*;

    #[test]
    fn keys_are_one_segment_that_no_normaliser_can_rewrite() {
        assert_eq!(key_path("i", "user/123"), "/storage/kvs/i/keys/user%2F123");
        assert_eq!(key_path("i", "a."), "/storage/kvs/i/keys/a%2E");
        assert_eq!(
            key_path("i", "a/../b"),
            "/storage/kvs/i/keys/a%2F%2E%2E%2Fb"
        );
        assert_eq!(key_path("i", "a=b_c-d"), "/storage/kvs/i/keys/a=b_c-d");
    }

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

    #[test]
    fn the_server_delay_prefers_retry_after() {
        let wait = |secs| Some(ServerDelay::Wait(Duration::from_secs(secs)));
        assert_eq!(delay(&[("x-ratelimit-reset", "3")]), wait(3));
        assert_eq!(
            delay(&[("x-ratelimit-reset", "3"), ("retry-after", "1")]),
            wait(1)
        );
        assert_eq!(delay(&[("retry-after", "120")]), wait(120));
        assert_eq!(
            delay(&[("retry-after", "0.25")]),
            Some(ServerDelay::Wait(Duration::from_millis(250)))
        );
        assert_eq!(delay(&[]), None);
    }

    #[test]
    fn a_wait_beyond_the_cap_is_reported_not_taken() {
        assert_eq!(
            delay(&[("retry-after", "121")]),
            Some(ServerDelay::TooLong(121.0))
        );
        assert_eq!(
            delay(&[("retry-after", "99999")]),
            Some(ServerDelay::TooLong(99999.0))
        );
        // Once a panic (exit 101): more seconds than a Duration holds.
        assert_eq!(
            delay(&[("retry-after", "1e20")]),
            Some(ServerDelay::TooLong(1e20))
        );
        assert_eq!(
            delay(&[("x-ratelimit-reset", "1e300")]),
            Some(ServerDelay::TooLong(1e300))
        );
        // 400 digits: more than an f64 holds, and still a wait beyond the cap.
        assert_eq!(
            delay(&[("retry-after", &"9".repeat(400))]),
            Some(ServerDelay::TooLong(f64::MAX))
        );
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
            Some(ServerDelay::Wait(Duration::from_secs(2)))
        );
    }

    #[test]
    fn retry_after_may_be_an_http_date() {
        // 1_000_000_000 is 2001-09-09T01:46:40Z.
        assert_eq!(
            delay(&[("retry-after", "Sun, 09 Sep 2001 01:46:50 GMT")]),
            Some(ServerDelay::Wait(Duration::from_secs(10)))
        );
        // A date in the past means "now".
        assert_eq!(
            delay(&[("retry-after", "Sat, 08 Sep 2001 01:46:40 GMT")]),
            Some(ServerDelay::Wait(Duration::ZERO))
        );
        assert_eq!(
            delay(&[("retry-after", "Mon, 10 Sep 2001 01:46:40 GMT")]),
            Some(ServerDelay::TooLong(86400.0))
        );
    }

    #[test]
    fn an_announced_limit_spaces_requests_evenly() {
        let t0 = Instant::now();
        let mut pace = Pace::default();
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
    fn a_new_limit_brings_its_own_window_and_a_faster_rate_applies_at_once() {
        let t0 = Instant::now();
        let mut pace = Pace::default();
        pace.observe(Some(1), Some(60.0), false, t0);
        assert_eq!(pace.window_secs, 60);
        // A slot far away, booked at one request a minute.
        let _ = pace.slot(t0);
        let _ = pace.slot(t0);
        pace.observe(Some(1000), Some(1.0), false, t0);
        assert_eq!(pace.window_secs, 1, "the old limit's window is forgotten");
        let next = pace.slot(t0).expect("paced");
        assert!(next <= t0 + Duration::from_millis(2), "{:?}", next - t0);
    }

    #[test]
    fn a_limit_named_late_holds_requests_back_one_window_at_most() {
        let t0 = Instant::now();
        let mut pace = Pace::default();
        for _ in 0..10_000 {
            assert_eq!(pace.slot(t0), None);
        }
        pace.observe(Some(100), Some(1.0), true, t0);
        let slot = pace.slot(t0).expect("paced");
        assert!(slot <= t0 + Duration::from_secs(1), "{:?}", slot - t0);
    }

    #[test]
    fn the_window_is_the_longest_reset_and_429s_lower_the_pace_once_per_window() {
        let t0 = Instant::now();
        let mut pace = Pace::default();
        pace.observe(Some(600), Some(42.5), false, t0);
        assert_eq!(pace.window_secs, 43);
        pace.observe(Some(600), Some(3.0), false, t0);
        assert_eq!(
            pace.window_secs, 43,
            "a reset counting down is not a shorter window"
        );
        // An epoch date is not a window.
        pace.observe(Some(600), Some(1.7e9), false, t0);
        assert_eq!(pace.window_secs, 43);
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
