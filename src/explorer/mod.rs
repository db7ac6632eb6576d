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
//!
//! Against the service (`storage kv ui` without `--local`) it starts read-only: every call that
//! changes data is refused (403) until the page's visible switch turns writes on. Writes go
//! through the same [`Client`] as the CLI's (its retries and pacing).
//!
//! What the API cannot say (when a key expires, what requests were made) comes from an
//! [`Insight`] when the command has an emulator at hand: `serve` hands over its own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use guard::{Guard, json_error};

use crate::api::insight::Insight;
use crate::client::{ApiError, Client};

mod assets;
mod guard;
mod keys;
mod values;

/// What the explorer shows and how it is reached.
#[derive(Clone)]
pub(crate) struct Explorer {
    client: Client,
    guard: Guard,
    /// What the page says it shows: "the local emulator", or the service's address.
    target: Arc<str>,
    /// Expiries and the request log, when an emulator is at hand.
    insight: Option<Arc<dyn Insight>>,
    /// Whether calls that change data are let through now.
    writes: Arc<AtomicBool>,
    /// Whether the page shows the switch for `writes` (against the service).
    switch: bool,
}

impl Explorer {
    /// An explorer that works through `client`, served on `port`, with writes on.
    pub(crate) fn new(client: Client, port: u16, target: &str) -> Self {
        Self {
            client: client.without_retry_messages(),
            guard: Guard::new(port),
            target: Arc::from(target),
            insight: None,
            writes: Arc::new(AtomicBool::new(true)),
            switch: false,
        }
    }

    /// The same explorer, reading expiries and the request log from `insight`.
    pub(crate) fn with_insight(mut self, insight: Arc<dyn Insight>) -> Self {
        self.insight = Some(insight);
        self
    }

    /// The same explorer, starting read-only with a switch on the page to allow writes.
    pub(crate) fn read_only(mut self) -> Self {
        self.writes = Arc::new(AtomicBool::new(false));
        self.switch = true;
        self
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
            .route("/writes", axum::routing::put(set_writes))
            .route("/requests", get(requests))
            .route(
                "/namespaces",
                get(keys::namespaces).post(keys::create_namespace),
            )
            .route(
                "/namespaces/{id}",
                axum::routing::delete(keys::delete_namespace),
            )
            .route("/namespaces/{id}/count", get(keys::count_keys))
            .route("/namespaces/{id}/keys", get(keys::list_keys))
            .route("/namespaces/{id}/delete-keys", post(keys::delete_keys))
            .route("/namespaces/{id}/export", post(keys::export_keys))
            .route(
                "/namespaces/{id}/value",
                get(values::get_value)
                    .put(values::put_value)
                    .delete(values::delete_value),
            )
            .fallback(|| async { failure(StatusCode::NOT_FOUND, "no such explorer call") });
        let guard = Arc::new(self.guard.clone());
        let state = Arc::new(self);
        Router::new()
            .route("/", get(assets::page))
            .route("/explorer.css", get(assets::style))
            .route("/explorer.svg", get(assets::icon))
            .route("/js/{name}", get(assets::module))
            .nest("/explorer/api", api)
            .layer(middleware::from_fn_with_state(guard, guard::admit))
            .with_state(state)
    }

    /// Refuses a call that changes data while writes are off.
    fn may_write(&self) -> Result<(), Failure> {
        if self.writes.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err(failure(
                StatusCode::FORBIDDEN,
                "the explorer is read-only: turn on \"Allow changes\" to write",
            ))
        }
    }
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
    /// Whether calls that change data go through now.
    writable: bool,
    /// Whether the page shows the switch that turns writes on and off.
    switch: bool,
    /// Whether key listings carry expiries.
    expiry: bool,
    /// Whether the emulator's request log can be read.
    log: bool,
}

async fn info(State(explorer): State<Arc<Explorer>>) -> Response {
    let log = explorer
        .insight
        .as_ref()
        .is_some_and(|insight| insight.requests_after(u64::MAX).is_some());
    axum::Json(Info {
        target: &explorer.target,
        writable: explorer.writes.load(Ordering::Relaxed),
        switch: explorer.switch,
        expiry: explorer.insight.is_some(),
        log,
    })
    .into_response()
}

#[derive(Deserialize, Serialize)]
struct Writes {
    writable: bool,
}

/// The page's switch: turns writes on or off (a `PUT`, so it needs the write header itself).
/// Refused (403) where the page has no switch (`serve`, `ui --local`): nothing could turn
/// writes back on.
async fn set_writes(
    State(explorer): State<Arc<Explorer>>,
    axum::Json(body): axum::Json<Writes>,
) -> Answer {
    if !explorer.switch {
        return Err(failure(
            StatusCode::FORBIDDEN,
            "writes have no switch here: this explorer always allows them",
        ));
    }
    explorer.writes.store(body.writable, Ordering::Relaxed);
    Ok(axum::Json(body).into_response())
}

#[derive(Deserialize)]
struct RequestsQuery {
    #[serde(default)]
    after: u64,
}

/// The emulator's requests after `after`: `{"requests": [...]}`, 404 when there is no log.
async fn requests(
    State(explorer): State<Arc<Explorer>>,
    Query(query): Query<RequestsQuery>,
) -> Answer {
    let found = explorer
        .insight
        .as_ref()
        .and_then(|insight| insight.requests_after(query.after));
    match found {
        Some(requests) => {
            Ok(axum::Json(serde_json::json!({ "requests": requests })).into_response())
        }
        None => Err(failure(
            StatusCode::NOT_FOUND,
            "the request log is kept by `storage kv serve` only",
        )),
    }
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

impl InNamespace<values::ValueQuery> {
    /// The namespace id, once it and the key are checked.
    fn checked(&self) -> Result<String, Failure> {
        let id = self.namespace()?;
        crate::api::rules::request_key(&self.query.key).map_err(bad_request)?;
        Ok(id)
    }
}
