//! What can go wrong talking to the API, kept typed so that the exit code and the hint are
//! decided in one place.

use crate::exit::Exit;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The service answered with an error status.
    #[error("{}", status_message(*status, title.as_deref(), detail.as_deref()))]
    Status {
        status: u16,
        code: Option<String>,
        title: Option<String>,
        detail: Option<String>,
        request_id: Option<String>,
    },
    #[error("cannot connect to {url}")]
    Connect {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("no response from {url} within {secs}s (see `--timeout`)")]
    Timeout { url: String, secs: f64 },
    #[error("the connection to {url} failed")]
    Transport {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the response from {url} is not what the API sends: {reason}")]
    Decode { url: String, reason: String },
    #[error("invalid base URL `{url}`: use http:// or https:// and include `/v2`")]
    BaseUrl { url: String },
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
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether a retry could succeed where this attempt failed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            Self::Connect { .. } | Self::Timeout { .. } | Self::Transport { .. } => true,
            Self::Decode { .. } | Self::BaseUrl { .. } => false,
        }
    }

    /// The documented exit code for this failure.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Status { status, .. } => match status {
                401 | 403 => Exit::Auth,
                404 => Exit::NotFound,
                409 => Exit::Conflict,
                429 | 500..=599 => Exit::Unavailable,
                _ => Exit::Failure,
            },
            Self::Connect { .. } | Self::Timeout { .. } | Self::Transport { .. } => {
                Exit::Unavailable
            }
            Self::Decode { .. } => Exit::Failure,
            Self::BaseUrl { .. } => Exit::Usage,
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        let hint = match self {
            Self::Status { status, .. } => match status {
                401 | 403 => {
                    "Check the key with `telnyx-edge auth status`; set one with `telnyx-edge auth api-key set` or TELNYX_API_KEY."
                }
                429 => "The service is rate limiting; try again later, or raise `--retries`.",
                500..=599 => "The service is having trouble; try again later.",
                _ => return None,
            },
            Self::Connect { .. } => {
                "Check the network and the API address (`--base-url` or TELNYX_BASE_URL); for the local emulator use `--local`."
            }
            Self::Timeout { .. } => "Try again, or allow more time with `--timeout`.",
            _ => return None,
        };
        Some(hint.to_owned())
    }

    /// The request id the service gave the failed request, for support.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Status { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
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
}
