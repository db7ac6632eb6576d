//! The data explorer: one page (HTML, CSS and a script embedded in the binary) and the JSON calls
//! it makes, served by `storage kv serve` at `/` and by `storage kv ui` on a port of its own.
//!
//! The page never talks to the KV API itself: its calls (`/explorer/api/…`) reach this process,
//! which makes them with its own [`Client`], so an API key stays in the CLI and never reaches
//! the browser. What guards them (`docs/explorer.md`):
//!
//! - only loopback clients with a loopback `Host` are answered (DNS rebinding gets 403);
//! - every request needs this run's random token: the printed URL carries it (`/?token=…`),
//!   and the page trades it for an `HttpOnly`, `SameSite=Strict` cookie, then drops it from the
//!   address bar; without it, 401;
//! - calls that change data also need the `x-telnyx-edge-explorer` header, which a cross-site
//!   form cannot send and a cross-origin script cannot send without a preflight, and preflights
//!   (`OPTIONS`) and foreign `Origin`s are refused; no CORS header is ever sent;
//! - values are served as attachments of type `application/octet-stream` under a sandboxing
//!   CSP, so a stored HTML or SVG value can never run in the explorer's origin.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::api::types::{Key, Namespace};
use crate::client::{ApiError, Client, KeyPages, NamespacePages};

const PAGE: &str = include_str!("index.html");
const SCRIPT: &str = include_str!("explorer.js");
const STYLE: &str = include_str!("explorer.css");
const ICON: &str = include_str!("explorer.svg");

/// The header every call that changes data must carry.
pub(crate) const WRITE_HEADER: &str = "x-telnyx-edge-explorer";

/// The most keys counted for a namespace's key count; more show as "10,000+".
const COUNT_CAP: u64 = 10_000;

/// What the explorer shows and how it is reached.
#[derive(Clone)]
pub(crate) struct Explorer {
    client: Client,
    token: Arc<str>,
    /// The cookie that carries the token: named after the port, since cookies do not tell
    /// ports apart and two explorers may run at once.
    cookie: Arc<str>,
    /// What the page says it shows: "the local emulator", or the service's address.
    target: Arc<str>,
}

impl Explorer {
    /// An explorer that works through `client`, served on `port`.
    pub(crate) fn new(client: Client, port: u16, target: &str) -> Self {
        Self {
            client: client.without_retry_messages(),
            token: Arc::from(new_token()),
            cookie: Arc::from(format!("telnyx_edge_explorer_{port}")),
            target: Arc::from(target),
        }
    }

    /// The address to open: the loopback address served on (127.0.0.1 or [::1] for every
    /// address), the port, and the token. `None` when it listens on another address only: the
    /// explorer answers loopback peers, so nothing could open it.
    pub(crate) fn url(&self, addr: SocketAddr) -> Option<String> {
        let ip = addr.ip().to_canonical();
        let host = match ip {
            std::net::IpAddr::V4(v4) if v4.is_unspecified() => "127.0.0.1".to_owned(),
            std::net::IpAddr::V6(v6) if v6.is_unspecified() => "127.0.0.1".to_owned(),
            std::net::IpAddr::V4(v4) if v4.is_loopback() => v4.to_string(),
            std::net::IpAddr::V6(v6) if v6.is_loopback() => format!("[{v6}]"),
            _ => return None,
        };
        Some(format!(
            "http://{host}:{}/?token={}",
            addr.port(),
            self.token
        ))
    }

    /// The page, its assets and its calls, behind the guards above.
    pub(crate) fn router(self) -> Router {
        let api = Router::new()
            .route("/info", get(info))
            .route("/namespaces", get(namespaces).post(create_namespace))
            .route("/namespaces/{id}", axum::routing::delete(delete_namespace))
            .route("/namespaces/{id}/count", get(count_keys))
            .route("/namespaces/{id}/keys", get(list_keys))
            .route(
                "/namespaces/{id}/value",
                get(get_value).put(put_value).delete(delete_value),
            )
            .fallback(|| async { failure(StatusCode::NOT_FOUND, "no such explorer call") });
        let state = Arc::new(self);
        Router::new()
            .route("/", get(page))
            .route("/explorer.js", get(|| asset(SCRIPT, "text/javascript")))
            .route("/explorer.css", get(|| asset(STYLE, "text/css")))
            .route("/explorer.svg", get(|| asset(ICON, "image/svg+xml")))
            .nest("/explorer/api", api)
            .layer(middleware::from_fn_with_state(Arc::clone(&state), guard))
            .with_state(state)
    }
}

/// 244 random bits (two UUID v4s, 64 hex digits) from the operating system's generator.
fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Compares without stopping at the first difference, so timing tells nothing of the token.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whether any cookie named `name` holds `token`: another page on 127.0.0.1 can set a cookie
/// of the same name (for a longer path, sent first), which must not lock the user out.
fn cookie_holds(headers: &HeaderMap, name: &str, token: &str) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(key, value)| key == name && same(value, token))
}

fn query_token(uri: &axum::http::Uri) -> Option<String> {
    form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
}

/// Every request passes here first.
async fn guard(State(explorer): State<Arc<Explorer>>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    if peer.is_some_and(|peer| !peer.ip().to_canonical().is_loopback()) {
        return refused(
            StatusCode::FORBIDDEN,
            "the explorer answers this machine only",
        );
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    if !host.is_some_and(crate::api::host::is_loopback) {
        return refused(
            StatusCode::FORBIDDEN,
            "the explorer answers only requests for localhost, 127.0.0.1 or [::1]",
        );
    }
    if req.method() == Method::OPTIONS {
        return refused(StatusCode::FORBIDDEN, "the explorer answers no preflight");
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let own = host.map(|host| format!("http://{host}"));
        if origin.to_str().ok() != own.as_deref() {
            return refused(
                StatusCode::FORBIDDEN,
                "the explorer answers its own page only",
            );
        }
    }
    let token = query_token(req.uri());
    if req.method() == Method::GET
        && req.uri().path() == "/"
        && let Some(token) = token
    {
        if !same(&token, &explorer.token) {
            return refused(StatusCode::UNAUTHORIZED, "this token is not this run's");
        }
        // Trade the token for a cookie, and take it out of the address bar and history.
        let cookie = format!(
            "{}={}; HttpOnly; SameSite=Strict; Path=/",
            explorer.cookie, explorer.token
        );
        let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        return secured(response);
    }
    if !cookie_holds(req.headers(), &explorer.cookie, &explorer.token) {
        return refused(
            StatusCode::UNAUTHORIZED,
            "open the explorer with the URL its command printed (it carries the token)",
        );
    }
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD);
    if writes && req.headers().get(WRITE_HEADER).is_none() {
        return refused(
            StatusCode::FORBIDDEN,
            "a call that changes data needs the explorer's header",
        );
    }
    let call = req.uri().path().starts_with("/explorer/api/");
    let response = next.run(req).await;
    secured(if call {
        as_json_error(response).await
    } else {
        response
    })
}

/// axum's own refusals (a body that is not JSON, a bad query, a body over its limit) are plain
/// text; the page reads `{"error": "…"}`.
async fn as_json_error(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("failed").to_owned()
    } else {
        text
    };
    failure(status, message).into_response()
}

/// The headers of every answer: nothing cached, no referrer (the first URL has the token), no
/// framing, no sniffing, and only this origin's own script and style.
fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(headers, header::CACHE_CONTROL, "no-store");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    response
}

/// A refusal: plain text for people, never with CORS headers.
fn refused(status: StatusCode, why: &str) -> Response {
    secured(
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{why}\n"),
        )
            .into_response(),
    )
}

async fn page() -> Response {
    asset(PAGE, "text/html; charset=utf-8").await
}

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// A call that failed: `{"error": "…"}` with its status.
#[derive(Debug)]
struct Failure {
    status: StatusCode,
    message: String,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

/// An API error as the page shows it: the service's status (502 when there was none) and the
/// message the CLI would print.
impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Self {
        let status = err
            .status()
            .and_then(|status| StatusCode::from_u16(status).ok())
            .unwrap_or(StatusCode::BAD_GATEWAY);
        Self {
            status,
            message: err.to_string(),
        }
    }
}

fn failure(status: StatusCode, message: impl std::fmt::Display) -> Failure {
    Failure {
        status,
        message: message.to_string(),
    }
}

fn bad_request(message: impl std::fmt::Display) -> Failure {
    failure(StatusCode::BAD_REQUEST, message)
}

type Answer = Result<Response, Failure>;

#[derive(Serialize)]
struct Info<'a> {
    target: &'a str,
}

async fn info(State(explorer): State<Arc<Explorer>>) -> Response {
    axum::Json(Info {
        target: &explorer.target,
    })
    .into_response()
}

async fn namespaces(State(explorer): State<Arc<Explorer>>) -> Answer {
    let mut all: Vec<Namespace> = Vec::new();
    let mut pages = NamespacePages::all(&explorer.client);
    while let Some(namespaces) = pages.next().await? {
        all.extend(namespaces);
    }
    Ok(axum::Json(all).into_response())
}

#[derive(Deserialize)]
struct NewNamespace {
    name: String,
}

async fn create_namespace(
    State(explorer): State<Arc<Explorer>>,
    axum::Json(body): axum::Json<NewNamespace>,
) -> Answer {
    crate::api::rules::namespace_name(&body.name).map_err(bad_request)?;
    let namespace = explorer.client.create_namespace(&body.name).await?;
    Ok((StatusCode::CREATED, axum::Json(namespace)).into_response())
}

/// A namespace id in a path: a UUID, so that nothing else reaches the service's paths.
fn namespace_id(id: &str) -> Result<String, Failure> {
    uuid::Uuid::try_parse(id)
        .map(|uuid| uuid.hyphenated().to_string())
        .map_err(|_| bad_request("a namespace id is a UUID"))
}

/// A call about one namespace: the id in its path (not checked yet) and its query, read in that
/// order.
struct InNamespace<Q> {
    id: String,
    query: Q,
}

impl<S, Q> FromRequestParts<S> for InNamespace<Q>
where
    S: Send + Sync,
    Q: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Query(query) = Query::<Q>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self { id, query })
    }
}

impl<Q> InNamespace<Q> {
    /// The namespace id, once checked to be one.
    fn namespace(&self) -> Result<String, Failure> {
        namespace_id(&self.id)
    }
}

impl InNamespace<ValueQuery> {
    /// The namespace id, once it and the key are checked.
    fn checked(&self) -> Result<String, Failure> {
        let id = self.namespace()?;
        crate::api::rules::request_key(&self.query.key).map_err(bad_request)?;
        Ok(id)
    }
}

async fn delete_namespace(State(explorer): State<Arc<Explorer>>, Path(id): Path<String>) -> Answer {
    let id = namespace_id(&id)?;
    let namespace = explorer.client.delete_namespace(&id).await?;
    Ok(axum::Json(namespace).into_response())
}

#[derive(Serialize)]
struct Count {
    count: u64,
    /// More keys than were counted.
    more: bool,
}

#[derive(Deserialize)]
struct CountQuery {
    /// Stop counting here (at most [`COUNT_CAP`]): the namespace list asks for one page's worth.
    cap: Option<u64>,
}

/// Counts the keys page by page, up to the cap.
async fn count_keys(
    State(explorer): State<Arc<Explorer>>,
    call: InNamespace<CountQuery>,
) -> Answer {
    let id = call.namespace()?;
    let cap = call.query.cap.unwrap_or(COUNT_CAP).clamp(1, COUNT_CAP);
    let mut count = 0;
    let mut pages = KeyPages::new(&explorer.client, &id, None, None);
    while let Some(keys) = pages.next().await? {
        count += keys.len() as u64;
        if count >= cap {
            break;
        }
    }
    let more = pages.cursor().is_some();
    Ok(axum::Json(Count { count, more }).into_response())
}

#[derive(Deserialize)]
struct KeysQuery {
    prefix: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

#[derive(Serialize)]
struct KeyPage {
    keys: Vec<Key>,
    cursor: Option<String>,
}

/// One page of keys: the page renders pages, never a whole namespace. A single call rather than
/// a [`KeyPages`] stream: the browser keeps the cursor between calls, so the stream's checks
/// across pages would have nothing to compare with.
async fn list_keys(State(explorer): State<Arc<Explorer>>, call: InNamespace<KeysQuery>) -> Answer {
    let id = call.namespace()?;
    let limit = call.query.limit.unwrap_or(100).clamp(1, 1000);
    let prefix = call.query.prefix.filter(|prefix| !prefix.is_empty());
    let page = explorer
        .client
        .list_keys(
            &id,
            prefix.as_deref(),
            Some(limit),
            call.query.cursor.as_deref(),
        )
        .await?;
    Ok(axum::Json(KeyPage {
        cursor: page.meta.cursor.filter(|_| page.meta.has_more),
        keys: page.data,
    })
    .into_response())
}

#[derive(Deserialize)]
struct ValueQuery {
    key: String,
    ttl_secs: Option<u64>,
}

/// The value's bytes, always as an attachment of type `application/octet-stream` (its own
/// content type travels in `x-value-content-type`), so a browser never renders it here.
async fn get_value(State(explorer): State<Arc<Explorer>>, call: InNamespace<ValueQuery>) -> Answer {
    let id = call.checked()?;
    match explorer.client.get_key(&id, &call.query.key).await {
        Ok(value) => {
            let file = attachment_name(&call.query.key);
            let mut response = (
                [
                    (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{file}\""),
                    ),
                    (header::CONTENT_SECURITY_POLICY, "sandbox".to_owned()),
                ],
                value.bytes,
            )
                .into_response();
            let content_type = value
                .content_type
                .as_deref()
                .and_then(|t| HeaderValue::from_str(t).ok())
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            response.headers_mut().insert(
                HeaderName::from_static("x-value-content-type"),
                content_type,
            );
            Ok(response)
        }
        Err(err) => Err(err.into()),
    }
}

/// The file name a value downloads as: the key's last part, in characters safe in a header.
fn attachment_name(key: &str) -> String {
    let file = key
        .rsplit('/')
        .find(|part| !part.is_empty())
        .unwrap_or("value");
    file.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.=".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[derive(Serialize)]
struct Written {
    key: String,
    created: bool,
    size_bytes: usize,
}

/// Writes the body as the value, with the request's `Content-Type` as its content type.
async fn put_value(
    State(explorer): State<Arc<Explorer>>,
    call: InNamespace<ValueQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let id = call.checked()?;
    if let Some(ttl) = call.query.ttl_secs {
        crate::api::rules::ttl_secs(ttl).map_err(bad_request)?;
    }
    if body.len() > crate::api::rules::MAX_VALUE_BYTES {
        return Err(failure(
            StatusCode::PAYLOAD_TOO_LARGE,
            "a value is at most 1 MiB (1,048,576 bytes)",
        ));
    }
    let content_type = match headers
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str())
    {
        None => None,
        Some(Ok(text)) => Some(text).filter(|text| !text.is_empty()),
        Some(Err(_)) => return Err(bad_request("a content type is ASCII text")),
    };
    let size = body.len();
    let created = explorer
        .client
        .put_key(
            &id,
            &call.query.key,
            body,
            call.query.ttl_secs,
            content_type,
        )
        .await?;
    Ok(axum::Json(Written {
        key: call.query.key,
        created,
        size_bytes: size,
    })
    .into_response())
}

async fn delete_value(
    State(explorer): State<Arc<Explorer>>,
    call: InNamespace<ValueQuery>,
) -> Answer {
    let id = call.checked()?;
    explorer.client.delete_key(&id, &call.query.key).await?;
    Ok(axum::Json(serde_json::json!({ "key": call.query.key, "deleted": true })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_compared_whole() {
        let token = new_token();
        assert_eq!(token.len(), 64);
        assert_ne!(token, new_token());
        assert!(same(&token, &token.clone()));
        assert!(!same(&token, &token[..63]));
        assert!(!same("abc", "abd"));
    }
}
