//! Error responses in the Telnyx shape, `{"errors": [{"code", "title", "detail", "source"}]}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::api::types::{ErrorBody, ErrorObject, ErrorSource};

/// An error the emulator answers with. Codes follow Telnyx's general table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    pub status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: String,
    source: Option<ErrorSource>,
}

impl ErrorResponse {
    fn new(status: StatusCode, code: &'static str, title: &'static str, detail: String) -> Self {
        Self {
            status,
            code,
            title,
            detail,
            source: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "10015",
            "Bad request",
            detail.into(),
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "10009",
            "Authentication failed",
            "The API key is missing or invalid; send `Authorization: Bearer <API key>`".into(),
        )
    }

    /// A `Host` the emulator does not answer (DNS rebinding).
    pub fn host_not_allowed(host: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "10010",
            "Forbidden",
            format!(
                "the emulator answers only loopback hosts (localhost, 127.0.0.1, [::1]), not `{}`; start it with `--allowed-host {}` to allow it",
                host.escape_debug(),
                host.escape_debug()
            ),
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "10005",
            "Resource not found",
            detail.into(),
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "10015",
            "Method not allowed",
            "The method is not allowed for this resource; see the `Allow` header".into(),
        )
    }

    pub fn duplicate_name(name: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "10012",
            "Duplicate name",
            format!("A KV namespace named `{name}` already exists"),
        )
        .pointer("/name")
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "10015", "Conflict", detail.into())
    }

    pub fn too_large(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "10015",
            "Payload too large",
            detail.into(),
        )
    }

    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "10015",
            "Unprocessable entity",
            detail.into(),
        )
    }

    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "10011",
            "Too many requests",
            "The rate limit of this emulator was exceeded; retry after the time in `Retry-After`"
                .into(),
        )
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "10007",
            "Unexpected error",
            detail.into(),
        )
    }

    /// Points at the offending member of the JSON body.
    pub fn pointer(mut self, pointer: &str) -> Self {
        self.source = Some(ErrorSource {
            pointer: Some(pointer.into()),
            parameter: None,
        });
        self
    }

    /// Points at the offending query or path parameter.
    pub fn parameter(mut self, parameter: &str) -> Self {
        self.source = Some(ErrorSource {
            pointer: None,
            parameter: Some(parameter.into()),
        });
        self
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            errors: vec![ErrorObject {
                code: self.code.into(),
                title: self.title.into(),
                detail: Some(self.detail.clone()),
                source: self.source.clone(),
            }],
        }
    }
}

impl IntoResponse for ErrorResponse {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}
