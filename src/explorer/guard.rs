//! The guards in front of every request to the explorer, as the `explorer` module's doc lists
//! them: loopback peers and `Host`s only, this run's token (traded for a cookie), the write
//! header on calls that change data, no preflight and no foreign `Origin`; and the headers every
//! answer carries.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The header every call that changes data must carry.
const WRITE_HEADER: &str = "x-telnyx-edge-explorer";

/// This run's token and the cookie that carries it.
#[derive(Clone)]
pub(super) struct Guard {
    token: Arc<str>,
    /// The cookie that carries the token: named after the port, since cookies do not tell
    /// ports apart and two explorers may run at once.
    cookie: Arc<str>,
}

impl Guard {
    /// A new token, for an explorer served on `port`.
    pub(super) fn new(port: u16) -> Self {
        Self {
            token: Arc::from(new_token()),
            cookie: Arc::from(format!("telnyx_edge_explorer_{port}")),
        }
    }

    /// The token the printed URL carries.
    pub(super) fn token(&self) -> &str {
        &self.token
    }

    /// The answer to the printed URL: with this run's token, a cookie for it and a redirect
    /// that takes it out of the address bar and history.
    fn trade(&self, token: &str) -> Response {
        if !same(token, &self.token) {
            return refused(StatusCode::UNAUTHORIZED, "this token is not this run's");
        }
        let cookie = format!(
            "{}={}; HttpOnly; SameSite=Strict; Path=/",
            self.cookie, self.token
        );
        let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        secured(response)
    }
}

/// A call's failure as the page reads it: `{"error": "…"}` with its status.
pub(super) fn json_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
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
pub(super) async fn admit(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
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
        return guard.trade(&token);
    }
    if !cookie_holds(req.headers(), &guard.cookie, &guard.token) {
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
    json_error(status, &message)
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
