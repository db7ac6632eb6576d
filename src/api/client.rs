//! The HTTP client of the Telnyx KV API.
//!
//! Built on hyper rather than reqwest because reqwest parses every URL with the WHATWG rules,
//! which remove `.`/`..` path segments even when written `%2E`: keys named `.` or `..` (valid
//! on the service) could never be addressed. Here the request target is sent exactly as built.
//!
//! Retries: GET, PUT and DELETE are retried on 429, 502, 503, 504, connection failures and
//! timeouts, with exponential backoff and full jitter, honouring `Retry-After` and
//! `x-ratelimit-reset`. POST (create) is retried only when the request certainly did not reach
//! the service; see [`Client::create_namespace`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER, USER_AGENT};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::types::{CreateNamespace, Data, ErrorBody, KeyList, Namespace, NamespaceList};
use crate::printer::stderr_line;

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
/// First backoff step; doubled on each retry, up to `MAX_BACKOFF`.
const BASE_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// The longest the client honours a `Retry-After` or `x-ratelimit-reset`.
const MAX_SERVER_DELAY: Duration = Duration::from_secs(120);

/// How the client connects and behaves.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// API root including `/v2`, e.g. `https://api.telnyx.com/v2`.
    pub base_url: String,
    pub token: String,
    /// Per attempt: from sending the request to the end of the response.
    pub timeout: Duration,
    pub retries: u32,
    /// Trace each request on stderr (the token redacted).
    pub verbose: bool,
    /// Say on stderr when a request is retried.
    pub announce_retries: bool,
}

/// A connected API client; cheap to clone. Clones share the connection pool and the
/// [`Gate`], so concurrent workers slow down together when the service asks one to wait.
#[derive(Clone)]
pub struct Client {
    http: HyperClient<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    base: String,
    auth: HeaderValue,
    options: ClientOptions,
    gate: Arc<Gate>,
}

/// Holds every request of a client (and its clones) back until a time the service named in a
/// `Retry-After` or `x-ratelimit-reset`.
#[derive(Debug, Default)]
pub struct Gate {
    until: std::sync::Mutex<Option<Instant>>,
}

impl Gate {
    async fn wait(&self) {
        let until = *self.until.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(until) = until {
            tokio::time::sleep_until(until.into()).await;
        }
    }

    fn pause(&self, delay: Duration) {
        let mut until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        let end = Instant::now() + delay;
        if until.is_none_or(|current| current < end) {
            *until = Some(end);
        }
    }
}

/// The body of a successful response, for callers that stream it.
pub struct Streamed {
    pub content_type: Option<String>,
    pub body: Incoming,
}

enum Idempotence {
    /// Safe to repeat whatever happened.
    Idempotent,
    /// Repeat only when the request certainly did not reach the service.
    OnlyIfUnsent,
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Self, ApiError> {
        let base = options.base_url.trim_end_matches('/').to_owned();
        let valid = base.parse::<http::Uri>().ok().filter(|uri| {
            matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some()
        });
        if valid.is_none() {
            return Err(ApiError::BaseUrl { url: base });
        }
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(options.timeout.min(Duration::from_secs(10))));
        http.set_nodelay(true);
        // The provider is named rather than taken from the process default, which rustls
        // cannot pick when a build enables more than one (test builds do).
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(Arc::new(rustls::crypto::ring::default_provider()))
            .map_err(|err| ApiError::Decode {
                url: base.clone(),
                reason: format!("cannot set up TLS ({err})"),
            })?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = HyperClient::builder(TokioExecutor::new()).build(connector);
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", options.token)).map_err(|_| {
                ApiError::Decode {
                    url: base.clone(),
                    reason: "the API key has characters that cannot be sent in a header".into(),
                }
            })?;
        auth.set_sensitive(true);
        Ok(Self {
            http: client,
            base,
            auth,
            options,
            gate: Arc::new(Gate::default()),
        })
    }

    /// The same client, without the "Retrying …" lines (bulk work reports failures itself).
    pub fn without_retry_messages(&self) -> Self {
        let mut client = self.clone();
        client.options.announce_retries = false;
        client
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET /storage/kvs?page[number]=N&page[size]=S`
    pub async fn list_namespaces(&self, page: u64, size: u64) -> Result<NamespaceList, ApiError> {
        let path = format!("/storage/kvs?page[number]={page}&page[size]={size}");
        self.json(Method::GET, &path, None).await
    }

    /// `GET /storage/kvs/{id}`
    pub async fn get_namespace(&self, id: &str) -> Result<Namespace, ApiError> {
        let data: Data<Namespace> = self
            .json(Method::GET, &format!("/storage/kvs/{id}"), None)
            .await?;
        Ok(data.data)
    }

    /// `DELETE /storage/kvs/{id}`
    pub async fn delete_namespace(&self, id: &str) -> Result<Namespace, ApiError> {
        let data: Data<Namespace> = self
            .json(Method::DELETE, &format!("/storage/kvs/{id}"), None)
            .await?;
        Ok(data.data)
    }

    /// `POST /storage/kvs`. Retried only when the request certainly did not reach the service
    /// (it could not connect, or a 429 refused it). After an ambiguous failure (a timeout, a
    /// reset, a 5xx) the name is looked up: if the namespace exists, that was our create.
    pub async fn create_namespace(&self, name: &str) -> Result<Namespace, ApiError> {
        let body = serde_json::to_vec(&CreateNamespace {
            name: name.to_owned(),
        })
        .map(Bytes::from)
        .map_err(|err| ApiError::Decode {
            url: self.base.clone(),
            reason: err.to_string(),
        })?;
        let sent = self
            .send_with_retries(
                Method::POST,
                "/storage/kvs",
                Some((body, "application/json")),
                Idempotence::OnlyIfUnsent,
            )
            .await;
        match sent {
            Ok(response) => {
                let data: Data<Namespace> = self.read_json("/storage/kvs", response).await?;
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
    pub async fn find_namespace_by_name(&self, name: &str) -> Result<Option<Namespace>, ApiError> {
        let mut page = 1;
        loop {
            let list = self.list_namespaces(page, 250).await?;
            if let Some(found) = list.data.into_iter().find(|ns| ns.name == name) {
                return Ok(Some(found));
            }
            if page >= list.meta.total_pages {
                return Ok(None);
            }
            page += 1;
        }
    }

    /// `GET /storage/kvs/{id}/keys?prefix=P&limit=L&cursor=C`
    pub async fn list_keys(
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
        self.json(Method::GET, &path, None).await
    }

    /// `GET /storage/kvs/{id}/keys/{key}`: the value, for the caller to stream.
    pub async fn get_key(&self, id: &str, key: &str) -> Result<Streamed, ApiError> {
        let response = self
            .send_with_retries(
                Method::GET,
                &key_path(id, key),
                None,
                Idempotence::Idempotent,
            )
            .await?;
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Streamed {
            content_type,
            body: response.into_body(),
        })
    }

    /// `PUT /storage/kvs/{id}/keys/{key}?ttl_secs=T`; `true` when the key was created.
    pub async fn put_key(
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
        let response = self
            .send_with_retries(
                Method::PUT,
                &path,
                Some((value, content_type)),
                Idempotence::Idempotent,
            )
            .await?;
        Ok(response.status() == StatusCode::CREATED)
    }

    /// `DELETE /storage/kvs/{id}/keys/{key}`; succeeds when the key did not exist.
    pub async fn delete_key(&self, id: &str, key: &str) -> Result<(), ApiError> {
        self.send_with_retries(
            Method::DELETE,
            &key_path(id, key),
            None,
            Idempotence::Idempotent,
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
        let response = self
            .send_with_retries(method, path, body, Idempotence::Idempotent)
            .await?;
        self.read_json(path, response).await
    }

    async fn read_json<T: DeserializeOwned>(
        &self,
        path: &str,
        response: http::Response<Incoming>,
    ) -> Result<T, ApiError> {
        let url = format!("{}{path}", self.base);
        let bytes = collect(response.into_body(), self.options.timeout, &url).await?;
        serde_json::from_slice(&bytes).map_err(|err| ApiError::Decode {
            url,
            reason: if bytes.is_empty() {
                "the body is empty".to_owned()
            } else {
                format!("invalid JSON ({err})")
            },
        })
    }

    /// Sends until success, a final failure, or the retries run out. Error statuses come back
    /// as [`ApiError::Status`] with the service's error body.
    async fn send_with_retries(
        &self,
        method: Method,
        path: &str,
        body: Option<(Bytes, &str)>,
        idempotence: Idempotence,
    ) -> Result<http::Response<Incoming>, ApiError> {
        let mut attempt = 0;
        loop {
            self.gate.wait().await;
            let (result, server_delay) = self.send_once(&method, path, body.clone()).await;
            if let Some(delay) = server_delay {
                self.gate.pause(delay);
            }
            let err = match result {
                Ok(response) => return Ok(response),
                Err(err) => err,
            };
            let unsent = matches!(err, ApiError::Connect { .. }) || err.status() == Some(429);
            let may_retry = match idempotence {
                Idempotence::Idempotent => err.is_retryable(),
                Idempotence::OnlyIfUnsent => unsent,
            };
            if !may_retry || attempt >= self.options.retries {
                return Err(err);
            }
            attempt += 1;
            let delay = server_delay.unwrap_or_else(|| backoff(attempt));
            if self.options.announce_retries || self.options.verbose {
                stderr_line(&format!(
                    "Retrying {method} in {:.1}s after: {err} (retry {attempt} of {})",
                    delay.as_secs_f64(),
                    self.options.retries
                ));
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt; also returns how long the server asked us to wait, if it did.
    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        body: Option<(Bytes, &str)>,
    ) -> (Result<http::Response<Incoming>, ApiError>, Option<Duration>) {
        let url = format!("{}{path}", self.base);
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(&url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(
                USER_AGENT,
                concat!("telnyx-edge/", env!("CARGO_PKG_VERSION")),
            )
            .header(ACCEPT, "application/json, */*");
        if let Some((_, content_type)) = &body {
            builder = builder.header(CONTENT_TYPE, *content_type);
        }
        let request = match builder.body(Full::new(body.map(|(b, _)| b).unwrap_or_default())) {
            Ok(request) => request,
            Err(err) => {
                return (
                    Err(ApiError::Decode {
                        url,
                        reason: format!("cannot build the request ({err})"),
                    }),
                    None,
                );
            }
        };
        if self.options.verbose {
            stderr_line(&format!("> {method} {url}"));
            stderr_line("> authorization: Bearer [redacted]");
        }
        let start = Instant::now();
        let response =
            match tokio::time::timeout(self.options.timeout, self.http.request(request)).await {
                Err(_) => {
                    return (
                        Err(ApiError::Timeout {
                            url,
                            secs: self.options.timeout.as_secs_f64(),
                        }),
                        None,
                    );
                }
                Ok(Err(err)) if err.is_connect() => {
                    return (
                        Err(ApiError::Connect {
                            url,
                            source: Box::new(err),
                        }),
                        None,
                    );
                }
                Ok(Err(err)) => {
                    return (
                        Err(ApiError::Transport {
                            url,
                            source: Box::new(err),
                        }),
                        None,
                    );
                }
                Ok(Ok(response)) => response,
            };
        let status = response.status();
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if self.options.verbose {
            stderr_line(&format!(
                "< {status} in {:.1}ms{}",
                start.elapsed().as_secs_f64() * 1000.0,
                request_id
                    .as_deref()
                    .map(|id| format!(" (request id {id})"))
                    .unwrap_or_default()
            ));
        }
        if status.is_success() {
            return (Ok(response), None);
        }
        let server_delay = server_delay(response.headers());
        let bytes = collect(response.into_body(), self.options.timeout, &url)
            .await
            .unwrap_or_default();
        let error = serde_json::from_slice::<ErrorBody>(&bytes)
            .ok()
            .and_then(|body| body.errors.into_iter().next());
        (
            Err(ApiError::Status {
                status: status.as_u16(),
                code: error.as_ref().map(|e| e.code.clone()),
                title: error.as_ref().map(|e| e.title.clone()),
                detail: error.and_then(|e| e.detail),
                request_id,
            }),
            server_delay,
        )
    }
}

/// `/storage/kvs/{id}/keys/{key}` with the key as one percent-encoded path segment.
pub fn key_path(id: &str, key: &str) -> String {
    format!(
        "/storage/kvs/{id}/keys/{}",
        utf8_percent_encode(key, KEY_SEGMENT)
    )
}

/// Full jitter: a random delay between zero and the exponential step.
fn backoff(attempt: u32) -> Duration {
    let step = BASE_BACKOFF
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_BACKOFF);
    let millis = u64::try_from(step.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(fastrand::u64(0..=millis))
}

/// `Retry-After` (seconds) when present, else `x-ratelimit-reset` (seconds until the reset).
fn server_delay(headers: &http::HeaderMap) -> Option<Duration> {
    let seconds = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
    };
    let secs = seconds(RETRY_AFTER.as_str()).or_else(|| seconds("x-ratelimit-reset"))?;
    Some(Duration::from_secs_f64(secs).min(MAX_SERVER_DELAY))
}

async fn collect(body: Incoming, timeout: Duration, url: &str) -> Result<Bytes, ApiError> {
    match tokio::time::timeout(timeout, Limited::new(body, MAX_JSON_BYTES).collect()).await {
        Err(_) => Err(ApiError::Timeout {
            url: url.to_owned(),
            secs: timeout.as_secs_f64(),
        }),
        Ok(Err(err)) => Err(ApiError::Transport {
            url: url.to_owned(),
            source: err,
        }),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_segment_that_no_normaliser_can_rewrite() {
        assert_eq!(key_path("i", "user/123"), "/storage/kvs/i/keys/user%2F123");
        assert_eq!(key_path("i", "."), "/storage/kvs/i/keys/%2E");
        assert_eq!(
            key_path("i", "a/../b"),
            "/storage/kvs/i/keys/a%2F%2E%2E%2Fb"
        );
        assert_eq!(key_path("i", "a=b_c-d"), "/storage/kvs/i/keys/a=b_c-d");
    }

    #[test]
    fn the_server_delay_prefers_retry_after() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("3"));
        assert_eq!(server_delay(&headers), Some(Duration::from_secs(3)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        assert_eq!(server_delay(&headers), Some(Duration::from_secs(1)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("99999"));
        assert_eq!(server_delay(&headers), Some(MAX_SERVER_DELAY));
        assert_eq!(server_delay(&http::HeaderMap::new()), None);
    }

    #[test]
    fn backoff_stays_within_the_exponential_step() {
        for attempt in 1..20 {
            let step = BASE_BACKOFF
                .saturating_mul(1 << attempt.min(16))
                .min(MAX_BACKOFF);
            assert!(backoff(attempt) <= step);
        }
    }
}
