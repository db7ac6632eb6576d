//! The HTTP client of the Telnyx KV API, on reqwest: rustls with the platform's verifier plus
//! `SSL_CERT_FILE`/`SSL_CERT_DIR`, HTTP/2 by ALPN, and proxies from the environment.
//!
//! Keys are one percent-encoded path segment. reqwest parses URLs with the WHATWG rules, which
//! drop `.`/`..` segments even when written `%2E`; the keys `.` and `..` are therefore refused
//! before any request (`validate::request_key`), as the official SDKs refuse them.
//!
//! This file holds the [`Client`] and its endpoints; around it, `pace` (the rate-limit gate
//! shared by its clones), `retry` (the retry loop and its policy), `response` (one attempt's
//! answer, read whole and checked), `pages` (listings page by page), `net` (TLS, proxies and
//! names) and `error` (what can go wrong).

mod error;
mod net;
mod pace;
mod pages;
mod response;
mod retry;

pub(crate) use error::ApiError;
#[cfg(test)]
pub(crate) use error::ConnectFailure;
pub(crate) use net::redact_url;
pub(crate) use pace::Pressure;
pub(crate) use pages::{KeyPages, NAMESPACE_PAGE, NamespacePages, PAGE};

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::HeaderValue;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use pace::Gate;
use response::{MAX_JSON_BYTES, MAX_VALUE_BODY};
use retry::Request;

use crate::api::types::{CreateNamespace, Data, KeyList, Namespace, NamespaceList};

/// Everything but `A-Z a-z 0-9 - _ =` is percent-encoded in a key, so that no URL normalisation
/// on the way can rewrite it (`/` → `%2F`, `.` → `%2E`).
const KEY_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'=');
/// Query values: everything but unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

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
        period_secs: u64,
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
    /// See [`Client::via`].
    via: Option<&'static str>,
    gate: Arc<Gate>,
}

/// A value as the service returned it.
pub(crate) struct Value {
    pub content_type: Option<String>,
    pub bytes: Bytes,
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
            via: None,
            gate: Arc::new(Gate::default()),
        })
    }

    /// The same client, without the "Retrying …" lines (bulk work reports failures itself).
    pub(crate) fn without_retry_messages(&self) -> Self {
        let mut client = self.clone();
        client.caller_reports = true;
        client
    }

    /// The same client, naming itself in the `x-telnyx-edge-via` header of every request: the
    /// explorer's, so that the emulator's request log can tell its traffic apart.
    pub(crate) fn via(&self, name: &'static str) -> Self {
        let mut client = self.clone();
        client.via = Some(name);
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

    /// `GET /storage/kvs?page[number]=N&page[size]=S`
    pub(crate) async fn list_namespaces(
        &self,
        page: u64,
        size: u64,
    ) -> Result<NamespaceList, ApiError> {
        let path = format!("/storage/kvs?page[number]={page}&page[size]={size}");
        self.json(Method::GET, &path).await
    }

    /// `GET /storage/kvs/{id}`
    pub(crate) async fn get_namespace(&self, id: &str) -> Result<Namespace, ApiError> {
        let data: Data<Namespace> = self
            .json(Method::GET, &format!("/storage/kvs/{id}"))
            .await?;
        Ok(data.data)
    }

    /// `DELETE /storage/kvs/{id}`. Retried like every idempotent request. A 409 saying the
    /// namespace is already being deleted (by an earlier attempt whose answer was lost, or by
    /// someone else) means what was asked is under way: the namespace as it now is is the
    /// answer, or the 409 itself when it cannot be read.
    pub(crate) async fn delete_namespace(&self, id: &str) -> Result<Namespace, ApiError> {
        let deleted: Result<Data<Namespace>, ApiError> = self
            .json(Method::DELETE, &format!("/storage/kvs/{id}"))
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
        let request = Request::new(Method::POST, path, MAX_JSON_BYTES)
            .with_body(body, "application/json")
            .only_if_unsent();
        let sent = self.send(request).await;
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
        let mut pages = NamespacePages::all(self);
        let mut names = Vec::new();
        while let Some(namespaces) = pages.next().await? {
            for namespace in namespaces {
                if namespace.name == name {
                    return Ok(Ok(namespace));
                }
                names.push(namespace.name);
            }
        }
        Ok(Err(names))
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
            .send(Request::new(Method::GET, &path, MAX_JSON_BYTES))
            .await?;
        let mut list: KeyList = self.parse(&path, &reply)?;
        list.date = reply.date;
        Ok(list)
    }

    /// `GET /storage/kvs/{id}/keys/{key}`: the value's exact bytes and content type.
    pub(crate) async fn get_key(&self, id: &str, key: &str) -> Result<Value, ApiError> {
        let path = key_path(id, key);
        let reply = self
            .send(Request::new(Method::GET, &path, MAX_VALUE_BODY))
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
        let request =
            Request::new(Method::PUT, &path, MAX_JSON_BYTES).with_body(value, content_type);
        let reply = self.send(request).await?;
        Ok(reply.status == StatusCode::CREATED)
    }

    /// `DELETE /storage/kvs/{id}/keys/{key}`; succeeds when the key did not exist.
    pub(crate) async fn delete_key(&self, id: &str, key: &str) -> Result<(), ApiError> {
        let path = key_path(id, key);
        self.send(Request::new(Method::DELETE, &path, MAX_JSON_BYTES))
            .await?;
        Ok(())
    }

    /// A request without a body whose answer is JSON of type `T`.
    async fn json<T: DeserializeOwned>(&self, method: Method, path: &str) -> Result<T, ApiError> {
        let reply = self
            .send(Request::new(method, path, MAX_JSON_BYTES))
            .await?;
        self.parse(path, &reply)
    }

    fn url_shown(&self, path: &str) -> String {
        format!("{}{path}", self.shown)
    }

    fn emit(&self, event: &Event<'_>) {
        if let Some(observer) = &self.options.observer {
            observer(event);
        }
    }
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
}
