//! What can go wrong talking to the API, kept typed so that the exit code and the hint are
//! decided in one place.

use std::time::Duration;

use crate::error::Exit;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// The service answered with an error status and (usually) a Telnyx error document.
    #[error("{}", status_message(*status, title.as_deref(), detail.as_deref()))]
    Status {
        status: u16,
        code: Option<String>,
        title: Option<String>,
        detail: Option<String>,
        request_id: Option<String>,
    },
    /// A 404, 401 or 403 without a Telnyx error document: not the API's answer but that of
    /// something else at that address or on the way (a web page, a path outside `/v2`, a
    /// proxy or gateway that refuses).
    #[error("{url} is not the Telnyx KV API: it answered HTTP {status} without an API error")]
    Endpoint {
        url: String,
        status: u16,
        request_id: Option<String>,
    },
    /// A proxy wants credentials (407), for plain requests or a `CONNECT` tunnel.
    #[error("the proxy {proxy} asks for credentials (HTTP 407) to reach {url}")]
    ProxyAuth { url: String, proxy: String },
    /// Told in one line: where, and why as the innermost cause says it; the causes between
    /// are the HTTP library's internals.
    #[error(
        "cannot connect to {}{}{}",
        authority(url),
        via(proxy.as_deref()),
        failure.describe(source.as_ref())
    )]
    Connect {
        url: String,
        failure: ConnectFailure,
        proxy: Option<String>,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot resolve the host name `{host}`{}: {reason}", via(proxy.as_deref()))]
    Dns {
        host: String,
        reason: String,
        proxy: Option<String>,
    },
    #[error("the TLS connection to {url}{} failed: {reason}", via(proxy.as_deref()))]
    Tls {
        url: String,
        reason: String,
        /// A certificate was refused (rather than, say, a server that does not speak TLS).
        certificate: bool,
        proxy: Option<String>,
    },
    #[error("no complete response from {url} within {secs}s (see `--timeout`)")]
    Timeout {
        url: String,
        secs: f64,
        request_id: Option<String>,
    },
    #[error("the connection to {url} failed: {}", innermost(source.as_ref()))]
    Transport {
        url: String,
        request_id: Option<String>,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the response from {url} is larger than {limit} bytes, more than the API ever sends")]
    TooLarge {
        url: String,
        limit: usize,
        request_id: Option<String>,
    },
    #[error("the response from {url} is not what the API sends: {reason}")]
    Decode {
        url: String,
        reason: String,
        request_id: Option<String>,
    },
    #[error(
        "the service asked to wait {} before retrying (HTTP {status}), longer than the {}s this tool waits",
        format_wait(*asked_secs),
        MAX_WAIT_SECS
    )]
    WaitTooLong {
        status: u16,
        asked_secs: f64,
        request_id: Option<String>,
    },
    /// The caller gave up (a stopped bulk run) before the request was first sent.
    #[error("not sent: the run stopped")]
    NotSent,
    /// A key listing that would never end: a cursor seen before, or a page that goes back.
    #[error("the key listing of {url} cannot be followed to its end: {reason}")]
    Listing { url: String, reason: String },
    #[error(
        "invalid base URL `{url}`: use http:// or https://, a host, the path `/v2`, and no query"
    )]
    BaseUrl { url: String },
    #[error(
        "the proxy URL in `{variable}` cannot be read (it is not shown: it may hold a password)"
    )]
    Proxy { variable: String },
    #[error(
        "the proxy in `{variable}` uses `{scheme}://`; use http://, https://, socks5:// or socks5h://"
    )]
    ProxyScheme { variable: String, scheme: String },
    #[error("the API key has characters that cannot be sent in an HTTP header")]
    Token,
    #[error("{reason}")]
    Trust { reason: String },
    #[error("cannot set up the HTTP client: {reason}")]
    Setup { reason: String },
}

/// The longest wait for a `Retry-After` or `x-ratelimit-reset` that the client honours.
pub(super) const MAX_WAIT_SECS: u64 = 120;

/// Why a connection could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectFailure {
    /// Nothing listens there (or a firewall says so).
    Refused,
    /// The proxy answered `CONNECT` with an error.
    TunnelRefused,
    Other,
}

impl ConnectFailure {
    fn describe(self, source: &(dyn std::error::Error + 'static)) -> String {
        match self {
            Self::Refused => ": connection refused".to_owned(),
            Self::TunnelRefused => ": the proxy refused to open a tunnel".to_owned(),
            Self::Other => format!(": {}", innermost(source)),
        }
    }
}

/// `host:port` of `url`, where a connection goes; the URL itself when it does not parse.
fn authority(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|parsed| {
            let host = parsed.host_str()?.to_owned();
            Some(format!("{host}:{}", parsed.port_or_known_default()?))
        })
        .unwrap_or_else(|| url.to_owned())
}

/// The message of the last error in `err`'s chain: the one that says what actually happened
/// ("Connection reset by peer (os error 104)"), not which layer passed it on.
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err;
    while let Some(source) = last.source() {
        last = source;
    }
    last.to_string()
}

fn via(proxy: Option<&str>) -> String {
    proxy
        .map(|proxy| format!(" (through the proxy {proxy})"))
        .unwrap_or_default()
}

fn format_wait(secs: f64) -> String {
    if secs < 1e9 {
        format!(
            "{}",
            humantime::format_duration(Duration::from_secs(secs.ceil() as u64))
        )
    } else {
        format!("{secs:e}s")
    }
}

/// A 409's detail that says the namespace is still being provisioned ("Namespace is not ready
/// (status: pending)"), as opposed to one being deleted or whose provisioning failed.
fn not_ready_yet(detail: &str) -> bool {
    let detail = detail.to_ascii_lowercase();
    detail.contains("not ready") && !detail.contains("delet") && !detail.contains("fail")
}

fn status_message(status: u16, title: Option<&str>, detail: Option<&str>) -> String {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    match (detail, title) {
        (Some(detail), _) => format!("{detail} (HTTP {status})"),
        (None, Some(title)) => format!("{title} (HTTP {status})"),
        (None, None) => format!("HTTP {status} {reason}").trim_end().to_owned(),
    }
}

impl ApiError {
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } | Self::WaitTooLong { status, .. } => Some(*status),
            // Not the API's status: callers asking "was it not found?" must not see a 404 here.
            _ => None,
        }
    }

    /// Whether a retry could succeed where this attempt failed, as the official SDKs judge it:
    /// 408, 429, every 5xx, a 409 that says the namespace is not ready yet (still being
    /// provisioned: one being deleted or failed stays so), and connection failures. Name
    /// resolution and TLS failures are not transient: retrying them only delays the message.
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            Self::Status { status, detail, .. } => match status {
                408 | 429 | 500..=599 => true,
                409 => detail.as_deref().is_some_and(not_ready_yet),
                _ => false,
            },
            Self::Connect { .. } | Self::Timeout { .. } | Self::Transport { .. } => true,
            // Every other failure would be the same again.
            _ => false,
        }
    }

    /// A 409 that says the namespace is already being deleted.
    pub(crate) fn is_being_deleted(&self) -> bool {
        matches!(
            self,
            Self::Status { status: 409, detail: Some(detail), .. }
                if detail.to_ascii_lowercase().contains("delet")
        )
    }

    /// Whether the request certainly did not reach the service, so that even a create may be
    /// repeated.
    pub(crate) fn is_unsent(&self) -> bool {
        matches!(self, Self::Connect { .. }) || self.status() == Some(429)
    }

    /// The documented exit code for this failure.
    pub(crate) fn exit(&self) -> Exit {
        match self {
            Self::Status { status, .. } => match status {
                401 | 403 => Exit::Auth,
                404 => Exit::NotFound,
                409 => Exit::Conflict,
                408 | 429 | 500..=599 => Exit::Unavailable,
                _ => Exit::Failure,
            },
            Self::Connect { .. }
            | Self::Dns { .. }
            | Self::Timeout { .. }
            | Self::Transport { .. }
            | Self::WaitTooLong { .. } => Exit::Unavailable,
            Self::Endpoint { .. }
            | Self::Tls { .. }
            | Self::TooLarge { .. }
            | Self::Decode { .. }
            | Self::Trust { .. }
            | Self::NotSent
            | Self::Listing { .. }
            | Self::Setup { .. } => Exit::Failure,
            Self::Token | Self::ProxyAuth { .. } => Exit::Auth,
            Self::BaseUrl { .. } | Self::Proxy { .. } | Self::ProxyScheme { .. } => Exit::Usage,
        }
    }

    /// What the user can do about it.
    pub(crate) fn hint(&self) -> Option<String> {
        let hint = match self {
            Self::Status { status, .. } => match status {
                401 | 403 => {
                    "Check the key with `telnyx-edge auth status`; set one with `telnyx-edge auth api-key set` or TELNYX_API_KEY."
                }
                429 => "The service is rate limiting; try again later, or raise `--retries`.",
                408 | 500..=599 => "The service is having trouble; try again later.",
                _ => return None,
            },
            Self::Endpoint { status: 404, .. } => {
                "Check `--base-url` (or TELNYX_BASE_URL, or `api_endpoint` in the config file): it must be the API root and end in `/v2`, e.g. https://api.telnyx.com/v2."
            }
            Self::Endpoint { .. } => {
                "Something between you and the API refused the request, not the API itself: check the proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY) and `--base-url`."
            }
            Self::ProxyAuth { .. } => {
                "Give the proxy's user and password in its URL: `HTTPS_PROXY=http://USER:PASSWORD@proxy:port` (percent-encoded)."
            }
            Self::Connect { proxy: Some(_), .. } | Self::Dns { proxy: Some(_), .. } => {
                "Check the proxy in HTTPS_PROXY, HTTP_PROXY or ALL_PROXY; NO_PROXY lists the hosts reached directly."
            }
            Self::Connect { .. } => {
                "Check the network and the API address (`--base-url` or TELNYX_BASE_URL); for the local emulator use `--local`."
            }
            Self::Dns { .. } => {
                "Check the host name in `--base-url` (or TELNYX_BASE_URL) and the network's DNS."
            }
            Self::Tls {
                certificate: true, ..
            } => {
                "If a company proxy or CA signs this certificate, point SSL_CERT_FILE (or SSL_CERT_DIR) at its PEM certificate, or add it to the system's trust store."
            }
            Self::Tls { .. } => {
                "The server may not speak HTTPS at this address: check the scheme and port in `--base-url` (or the proxy's URL)."
            }
            Self::Trust { .. } => {
                "Point SSL_CERT_FILE at a PEM file of certificates (SSL_CERT_DIR at a folder of them), or unset it."
            }
            Self::Timeout { .. } => "Try again, or allow more time with `--timeout`.",
            Self::Proxy { .. } => {
                "Write it as `http://USER:PASSWORD@HOST:PORT`, with `#`, `?`, `/` and `@` in the user and password percent-encoded (%23, %3F, %2F, %40)."
            }
            Self::WaitTooLong { .. } => "Try again later.",
            Self::Listing { .. } => {
                "The keys listed before it were dealt with, but not the rest. Run the command again, and report it to Telnyx if it persists."
            }
            Self::Token => {
                "The key must be printable ASCII; check TELNYX_API_KEY or the config file for stray characters (`telnyx-edge auth status` shows where the key comes from)."
            }
            _ => return None,
        };
        Some(hint.to_owned())
    }

    /// The request id the service gave the failed request, for support.
    pub(crate) fn request_id(&self) -> Option<&str> {
        match self {
            Self::Status { request_id, .. }
            | Self::Endpoint { request_id, .. }
            | Self::WaitTooLong { request_id, .. }
            | Self::Timeout { request_id, .. }
            | Self::Transport { request_id, .. }
            | Self::TooLarge { request_id, .. }
            | Self::Decode { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The same error, with the request id of the response it happened in (a body that
    /// stalled, was too large or did not parse).
    pub(crate) fn in_response(mut self, id: Option<&str>) -> Self {
        if let Self::Timeout { request_id, .. }
        | Self::Transport { request_id, .. }
        | Self::TooLarge { request_id, .. }
        | Self::Decode { request_id, .. } = &mut self
        {
            *request_id = id.map(str::to_owned);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, detail: Option<&str>) -> ApiError {
        ApiError::Status {
            status: code,
            code: None,
            title: None,
            detail: detail.map(str::to_owned),
            request_id: None,
        }
    }

    #[test]
    fn statuses_map_to_documented_exit_codes() {
        for (code, exit) in [
            (400, Exit::Failure),
            (401, Exit::Auth),
            (403, Exit::Auth),
            (404, Exit::NotFound),
            (408, Exit::Unavailable),
            (409, Exit::Conflict),
            (413, Exit::Failure),
            (422, Exit::Failure),
            (429, Exit::Unavailable),
            (500, Exit::Unavailable),
            (503, Exit::Unavailable),
        ] {
            assert_eq!(status(code, None).exit(), exit, "{code}");
        }
    }

    #[test]
    fn messages_prefer_the_detail() {
        assert_eq!(
            status(404, Some("KV namespace not found")).to_string(),
            "KV namespace not found (HTTP 404)"
        );
        assert_eq!(status(502, None).to_string(), "HTTP 502 Bad Gateway");
    }

    #[test]
    fn retried_answers_are_the_ones_the_official_sdks_retry() {
        for code in [408, 429, 500, 501, 502, 503, 504, 599] {
            assert!(status(code, None).is_retryable(), "{code}");
        }
        for code in [400, 401, 403, 404, 409, 413, 422] {
            assert!(!status(code, None).is_retryable(), "{code}");
        }
        let pending = "Namespace is not ready (status: pending)";
        assert!(status(409, Some(pending)).is_retryable());
        for settled in [
            "Namespace is not ready (status: deleting)",
            "Namespace is not ready (status: provision_failed)",
            "Namespace name already taken",
        ] {
            assert!(!status(409, Some(settled)).is_retryable(), "{settled}");
        }
    }
}
