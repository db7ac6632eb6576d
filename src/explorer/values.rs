//! The explorer's calls about one value: read it (as an attachment, with its content type and
//! a digest in headers), write it (only if it has not changed since the page read it, when
//! asked), delete it.
//!
//! The API has no compare-and-swap, so "not changed since" is a read just before the write:
//! a write from elsewhere in between those two requests still wins (`docs/explorer.md`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::{Answer, Explorer, Failure, InNamespace, bad_request, failure};
use crate::api::digest::Digest;
use crate::client::Value;

/// Where a value's own content type travels (the body is always `application/octet-stream`).
const CONTENT_TYPE_HEADER: HeaderName = HeaderName::from_static("x-value-content-type");
/// Where the digest of a value as read travels: the page sends it back as `expect`.
const DIGEST_HEADER: HeaderName = HeaderName::from_static("x-value-digest");

#[derive(Deserialize)]
pub(super) struct ValueQuery {
    pub(super) key: String,
    ttl_secs: Option<u64>,
    /// Write only if the value is still this one: a digest from `x-value-digest`, or
    /// `absent` for a key that must not exist yet.
    expect: Option<String>,
}

/// The digest of a value as read, in hex: its bytes and content type.
fn digest_of(value: &Value) -> String {
    Digest::of(value.content_type.as_deref(), &value.bytes)
        .0
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The value's bytes, always as an attachment of type `application/octet-stream` (its own
/// content type travels in `x-value-content-type`), so a browser never renders it here.
pub(super) async fn get_value(
    State(explorer): State<Arc<Explorer>>,
    call: InNamespace<ValueQuery>,
) -> Answer {
    let id = call.checked()?;
    let value = explorer.client.get_key(&id, &call.query.key).await?;
    let file = attachment_name(&call.query.key);
    let digest = digest_of(&value);
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
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE_HEADER, content_type);
    if let Ok(digest) = HeaderValue::from_str(&digest) {
        headers.insert(DIGEST_HEADER, digest);
    }
    Ok(response)
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

/// Refuses the write (409, `"changed": true`) when the value is no longer the one expected.
async fn still_as_expected(
    explorer: &Explorer,
    id: &str,
    key: &str,
    expect: &str,
) -> Result<(), Failure> {
    let now = match explorer.client.get_key(id, key).await {
        Ok(value) => Some(digest_of(&value)),
        Err(err) if err.status() == Some(404) => None,
        Err(err) => return Err(err.into()),
    };
    let same = match now.as_deref() {
        None => expect == "absent",
        Some(now) => now == expect,
    };
    if same {
        return Ok(());
    }
    if now.is_none() {
        // The key may be gone with its namespace: then say that (404), not that it was deleted.
        explorer.client.get_namespace(id).await?;
    }
    let message = match now {
        None => format!("{key} was deleted since you opened it; nothing was written"),
        Some(_) if expect == "absent" => {
            format!("{key} already exists; nothing was written")
        }
        Some(_) => format!("{key} has changed since you opened it; nothing was written"),
    };
    Err(failure(StatusCode::CONFLICT, message))
}

/// Writes the body as the value, with the request's `Content-Type` as its content type.
pub(super) async fn put_value(
    State(explorer): State<Arc<Explorer>>,
    call: InNamespace<ValueQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    explorer.may_write()?;
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
    if let Some(expect) = &call.query.expect {
        still_as_expected(&explorer, &id, &call.query.key, expect).await?;
    }
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

pub(super) async fn delete_value(
    State(explorer): State<Arc<Explorer>>,
    call: InNamespace<ValueQuery>,
) -> Answer {
    explorer.may_write()?;
    let id = call.checked()?;
    explorer.client.delete_key(&id, &call.query.key).await?;
    Ok(axum::Json(serde_json::json!({ "key": call.query.key, "deleted": true })).into_response())
}
