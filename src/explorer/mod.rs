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
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use guard::{Guard, json_error};

use crate::api::types::{Key, Namespace};
use crate::client::{ApiError, Client, KeyPages, NamespacePages};

mod guard;

const PAGE: &str = include_str!("index.html");
const SCRIPT: &str = include_str!("explorer.js");
const STYLE: &str = include_str!("explorer.css");
const ICON: &str = include_str!("explorer.svg");

/// The most keys counted for a namespace's key count; more show as "10,000+".
const COUNT_CAP: u64 = 10_000;

/// What the explorer shows and how it is reached.
#[derive(Clone)]
pub(crate) struct Explorer {
    client: Client,
    guard: Guard,
    /// What the page says it shows: "the local emulator", or the service's address.
    target: Arc<str>,
}

impl Explorer {
    /// An explorer that works through `client`, served on `port`.
    pub(crate) fn new(client: Client, port: u16, target: &str) -> Self {
        Self {
            client: client.without_retry_messages(),
            guard: Guard::new(port),
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
            self.guard.token()
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
        let guard = Arc::new(self.guard.clone());
        let state = Arc::new(self);
        Router::new()
            .route("/", get(page))
            .route("/explorer.js", get(|| asset(SCRIPT, "text/javascript")))
            .route("/explorer.css", get(|| asset(STYLE, "text/css")))
            .route("/explorer.svg", get(|| asset(ICON, "image/svg+xml")))
            .nest("/explorer/api", api)
            .layer(middleware::from_fn_with_state(guard, guard::admit))
            .with_state(state)
    }
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
        json_error(self.status, &self.message)
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
