//! One handler per operation of `shared/spec/kv-api.md`.
//!
//! Checks run in the order a client can act on: the request's own syntax first (400, 422, 413
//! from `Content-Length`), then the namespace (404, 409), then the body as it streams in.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::error::ErrorResponse;
use super::store::{DeleteOutcome, KeyRow, NamespaceRow, Store, StoreError, Unusable, Value};
use super::{Settings, now_ms, timestamp};
use crate::api::rules::{self, MAX_TTL_SECS, MAX_VALUE_BYTES};
use crate::api::types::{
    CreateNamespace, Data, KEY_LIST_RECORD_TYPE, Key, KeyList, KeyListMeta, NAMESPACE_RECORD_TYPE,
    Namespace, NamespaceList, NamespaceStatus, PageMeta,
};

/// Shared by every handler.
pub(super) struct AppState {
    pub store: Arc<Store>,
    pub settings: Settings,
}

impl AppState {
    /// The emulator's clock: this machine's, moved by the configured offset.
    pub(super) fn now_ms(&self) -> i64 {
        now_ms().saturating_add(self.settings.clock_offset_ms)
    }

    /// Runs a key operation on the store at the emulator's clock; a namespace that is missing
    /// or not ready answers 404 or 409.
    async fn key_operation<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Store, i64) -> Result<Result<T, Unusable>, StoreError> + Send + 'static,
    ) -> Result<T, ErrorResponse> {
        let now = self.now_ms();
        blocking(&self.store, move |s| op(s, now))
            .await?
            .map_err(unusable)
    }
}

type Shared = State<Arc<AppState>>;
type ApiResult = Result<Response, ErrorResponse>;

const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";
const DEFAULT_PAGE_SIZE: u64 = 20;
const MAX_PAGE_SIZE: u64 = 250;
const MAX_KEY_LIMIT: u32 = 1000;
/// A create body is a one-member JSON object; anything much larger is not one.
const MAX_CREATE_BODY: usize = 64 * 1024;

/// Runs a store operation on the blocking pool so SQLite never stalls the async workers.
async fn blocking<T: Send + 'static>(
    store: &Arc<Store>,
    op: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ErrorResponse> {
    let store = Arc::clone(store);
    match tokio::task::spawn_blocking(move || op(&store)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(ErrorResponse::internal(format!("storage error: {err}"))),
        Err(_) => Err(ErrorResponse::internal("storage task failed")),
    }
}

fn namespace_json(row: &NamespaceRow, status: NamespaceStatus, updated_ms: i64) -> Namespace {
    Namespace {
        record_type: NAMESPACE_RECORD_TYPE.into(),
        id: row.id.clone(),
        name: row.name.clone(),
        status,
        created_at: timestamp(row.created_ms),
        updated_at: timestamp(updated_ms),
    }
}

fn not_found_namespace() -> ErrorResponse {
    ErrorResponse::not_found("KV namespace not found").parameter("id")
}

fn unusable(err: Unusable) -> ErrorResponse {
    match err {
        Unusable::Missing => not_found_namespace(),
        Unusable::NotReady(status) => {
            ErrorResponse::conflict(format!("Namespace is not ready (status: {status})"))
        }
    }
}

/// A namespace id must be a UUID in its canonical hyphenated form; it is answered lowercase.
fn namespace_id(path: &str) -> Result<String, ErrorResponse> {
    match uuid::Uuid::try_parse(path) {
        Ok(id) if path.len() == 36 => Ok(id.hyphenated().to_string()),
        _ => Err(ErrorResponse::bad_request(format!(
            "`{}` is not a KV namespace id; ids are UUIDs such as 550e8400-e29b-41d4-a716-446655440000",
            path.escape_debug()
        ))
        .parameter("id")),
    }
}

fn key_name(key: &str) -> Result<(), ErrorResponse> {
    rules::key(key).map_err(|err| ErrorResponse::bad_request(err.to_string()).parameter("key"))
}

/// `{id}`: a namespace UUID.
pub(super) struct NamespacePath(String);

impl<S: Send + Sync> FromRequestParts<S> for NamespacePath {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ErrorResponse> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(path_error)?;
        Ok(Self(namespace_id(&id)?))
    }
}

/// `{id}/keys/{key}`: a namespace UUID and a key the API allows.
pub(super) struct KeyPath {
    id: String,
    key: String,
}

impl<S: Send + Sync> FromRequestParts<S> for KeyPath {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ErrorResponse> {
        let Path((id, key)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(path_error)?;
        let id = namespace_id(&id)?;
        key_name(&key)?;
        Ok(Self { id, key })
    }
}

fn path_error(rejection: PathRejection) -> ErrorResponse {
    ErrorResponse::bad_request(format!("invalid path: {}", rejection.body_text()))
}

/// The query string as decoded pairs; `page%5Bnumber%5D` and `page[number]` are the same name.
fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The last value given for `name`.
fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A whole number ≥ 1 written in ASCII digits; values too large for `u64` saturate, since every
/// caller clamps them anyway.
fn positive_integer(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = value.parse::<u64>().unwrap_or(u64::MAX);
    (n >= 1).then_some(n)
}

fn integer_param(
    pairs: &[(String, String)],
    name: &str,
    default: u64,
) -> Result<u64, ErrorResponse> {
    match param(pairs, name) {
        None => Ok(default),
        Some(value) => positive_integer(value).ok_or_else(|| {
            ErrorResponse::bad_request(format!(
                "`{name}` must be a whole number of at least 1, not `{}`",
                value.escape_debug()
            ))
            .parameter(name)
        }),
    }
}

/// `GET /storage/kvs`
pub(super) async fn list_namespaces(State(app): Shared, RawQuery(query): RawQuery) -> ApiResult {
    let pairs = query_pairs(query.as_deref());
    let page_number = integer_param(&pairs, "page[number]", 1)?;
    let page_size = integer_param(&pairs, "page[size]", DEFAULT_PAGE_SIZE)?.min(MAX_PAGE_SIZE);
    let offset = (page_number - 1).saturating_mul(page_size);
    let now = app.now_ms();
    let (rows, total) = blocking(&app.store, move |s| {
        s.list_namespaces(now, offset, page_size)
    })
    .await?;
    let data = rows
        .iter()
        .filter_map(|row| {
            let (status, updated) = row.state_at(now)?;
            Some(namespace_json(row, status, updated))
        })
        .collect();
    let meta = PageMeta {
        page_number,
        page_size,
        total_pages: total.div_ceil(page_size),
        total_results: total,
    };
    Ok(axum::Json(NamespaceList { data, meta }).into_response())
}

/// `POST /storage/kvs`
pub(super) async fn create_namespace(
    State(app): Shared,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    if let Some(content_type) = headers.get(header::CONTENT_TYPE)
        && !is_json(content_type)
    {
        return Err(ErrorResponse::bad_request(format!(
            "Content-Type must be application/json, not `{}`",
            String::from_utf8_lossy(content_type.as_bytes()).escape_debug()
        )));
    }
    let bytes = match Limited::new(body, MAX_CREATE_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.is::<LengthLimitError>() => {
            return Err(ErrorResponse::bad_request(
                "request body is too large for a namespace; send {\"name\": \"...\"}",
            ));
        }
        Err(_) => {
            return Err(ErrorResponse::bad_request(
                "could not read the request body",
            ));
        }
    };
    let request = parse_create(&bytes)?;
    let now = app.now_ms();
    let settings = &app.settings;
    let row = NamespaceRow {
        id: uuid::Uuid::new_v4().to_string(),
        fail: settings.fail_provision.contains(&request.name),
        name: request.name,
        created_ms: now,
        ready_ms: now.saturating_add(settings.provision_delay_ms),
        deleted_ms: None,
        gone_ms: None,
    };
    let name = row.name.clone();
    let created = blocking(&app.store, move |s| s.create_namespace(&row, now)).await?;
    let Some(row) = created else {
        return Err(ErrorResponse::duplicate_name(&name));
    };
    // A new namespace is always answered as `pending`, even with no provisioning delay.
    let body = Data {
        data: namespace_json(&row, NamespaceStatus::Pending, row.created_ms),
    };
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

fn is_json(content_type: &HeaderValue) -> bool {
    let Ok(value) = content_type.to_str() else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || (essence.len() > 5
            && essence.starts_with("application/")
            && essence.to_ascii_lowercase().ends_with("+json"))
}

fn parse_create(bytes: &[u8]) -> Result<CreateNamespace, ErrorResponse> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|err| {
        ErrorResponse::bad_request(format!(
            "request body is not valid JSON ({err}); send {{\"name\": \"...\"}}"
        ))
    })?;
    let name = match value.get("name") {
        Some(serde_json::Value::String(name)) => name.clone(),
        Some(_) => {
            return Err(ErrorResponse::bad_request("`name` must be a string").pointer("/name"));
        }
        None if value.is_object() => {
            return Err(ErrorResponse::bad_request("`name` is required").pointer("/name"));
        }
        None => {
            return Err(ErrorResponse::bad_request(
                "request body must be a JSON object such as {\"name\": \"my-cache\"}",
            ));
        }
    };
    rules::namespace_name(&name)
        .map_err(|err| ErrorResponse::bad_request(err.to_string()).pointer("/name"))?;
    Ok(CreateNamespace { name })
}

/// `GET /storage/kvs/{id}`
pub(super) async fn get_namespace(
    State(app): Shared,
    NamespacePath(id): NamespacePath,
) -> ApiResult {
    let now = app.now_ms();
    let row = blocking(&app.store, move |s| s.namespace(&id, now)).await?;
    let (row, (status, updated)) = row
        .and_then(|row| row.state_at(now).map(|state| (row, state)))
        .ok_or_else(not_found_namespace)?;
    Ok(axum::Json(Data {
        data: namespace_json(&row, status, updated),
    })
    .into_response())
}

/// `DELETE /storage/kvs/{id}`
pub(super) async fn delete_namespace(
    State(app): Shared,
    NamespacePath(id): NamespacePath,
) -> ApiResult {
    let now = app.now_ms();
    let gone = now.saturating_add(app.settings.delete_delay_ms);
    match blocking(&app.store, move |s| s.delete_namespace(&id, now, gone)).await? {
        DeleteOutcome::Missing => Err(not_found_namespace()),
        DeleteOutcome::AlreadyDeleting => Err(ErrorResponse::conflict(
            "KV namespace is already being deleted (status: deleting)",
        )),
        DeleteOutcome::Deleting(row) => Ok(axum::Json(Data {
            data: namespace_json(&row, NamespaceStatus::Deleting, now),
        })
        .into_response()),
    }
}

/// `GET /storage/kvs/{id}/keys`
pub(super) async fn list_keys(
    State(app): Shared,
    NamespacePath(id): NamespacePath,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(query.as_deref());
    let limit = integer_param(&pairs, "limit", u64::from(MAX_KEY_LIMIT))?
        .min(u64::from(MAX_KEY_LIMIT)) as u32;
    let prefix = param(&pairs, "prefix").unwrap_or("").to_owned();
    let after = match param(&pairs, "cursor") {
        None | Some("") => None,
        Some(cursor) => Some(decode_cursor(cursor)?),
    };
    let (rows, has_more) = app
        .key_operation(move |s, now| s.list_keys(&id, &prefix, after.as_deref(), limit, now))
        .await?;
    let cursor = match rows.last() {
        Some(last) if has_more => Some(URL_SAFE_NO_PAD.encode(&last.key)),
        _ => None,
    };
    let data = rows
        .into_iter()
        .map(
            |KeyRow {
                 key,
                 size,
                 updated_ms,
             }| Key {
                key,
                size_bytes: size,
                updated_at: timestamp(updated_ms),
            },
        )
        .collect();
    Ok(axum::Json(KeyList {
        record_type: KEY_LIST_RECORD_TYPE.into(),
        data,
        meta: KeyListMeta { has_more, cursor },
        date: None,
    })
    .into_response())
}

/// A cursor is the last key of the previous page, base64url-encoded.
fn decode_cursor(cursor: &str) -> Result<String, ErrorResponse> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|key| rules::key(key).is_ok())
        .ok_or_else(|| {
            ErrorResponse::bad_request(
                "`cursor` is not one this server issued; pass `meta.cursor` from the previous page",
            )
            .parameter("cursor")
        })
}

/// `GET /storage/kvs/{id}/keys/{key}`
pub(super) async fn get_key(State(app): Shared, KeyPath { id, key }: KeyPath) -> ApiResult {
    let value = app
        .key_operation(move |s, now| s.get_value(&id, &key, now))
        .await?
        .ok_or_else(|| ErrorResponse::not_found("Key not found").parameter("key"))?;
    let content_type = HeaderValue::from_str(&value.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static(DEFAULT_CONTENT_TYPE));
    Ok((
        [(header::CONTENT_TYPE, content_type)],
        Bytes::from(value.bytes),
    )
        .into_response())
}

/// `PUT /storage/kvs/{id}/keys/{key}?ttl_secs=T`
pub(super) async fn put_key(
    State(app): Shared,
    KeyPath { id, key }: KeyPath,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let pairs = query_pairs(query.as_deref());
    let ttl = ttl_param(&pairs)?;
    let content_type = match headers.get(header::CONTENT_TYPE) {
        None => DEFAULT_CONTENT_TYPE.to_owned(),
        Some(value) => value
            .to_str()
            .map_err(|_| ErrorResponse::bad_request("Content-Type must be printable ASCII"))?
            .to_owned(),
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_VALUE_BYTES as u64) {
        return Err(value_too_large());
    }
    if ttl.is_some() && !app.settings.ttl_support {
        let now = app.now_ms();
        let lookup = id.clone();
        return match blocking(&app.store, move |s| s.namespace(&lookup, now)).await? {
            None => Err(not_found_namespace()),
            Some(_) => Err(ErrorResponse::conflict(
                "This KV namespace does not support TTL; store the key without `ttl_secs`",
            )
            .parameter("ttl_secs")),
        };
    }
    let bytes = match Limited::new(body, MAX_VALUE_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.is::<LengthLimitError>() => return Err(value_too_large()),
        Err(_) => {
            return Err(ErrorResponse::bad_request(
                "could not read the request body",
            ));
        }
    };
    let value = Value {
        bytes: bytes.to_vec(),
        content_type,
    };
    let created = app
        .key_operation(move |s, now| {
            let expires = ttl.map(|secs| now.saturating_add((secs as i64).saturating_mul(1000)));
            s.put_value(&id, &key, &value, expires, now)
        })
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(status.into_response())
}

fn value_too_large() -> ErrorResponse {
    ErrorResponse::too_large("Value exceeds the maximum size of 1 MiB (1048576 bytes)")
}

fn ttl_param(pairs: &[(String, String)]) -> Result<Option<u64>, ErrorResponse> {
    if param(pairs, "ttl").is_some() {
        return Err(ErrorResponse::unprocessable(
            "The `ttl` parameter is not supported; use `ttl_secs` (whole seconds)",
        )
        .parameter("ttl"));
    }
    let Some(value) = param(pairs, "ttl_secs") else {
        return Ok(None);
    };
    positive_integer(value)
        .filter(|secs| *secs <= MAX_TTL_SECS)
        .map(Some)
        .ok_or_else(|| {
            ErrorResponse::unprocessable(format!(
                "`ttl_secs` must be a whole number of seconds from 1 to {MAX_TTL_SECS}, not `{}`",
                value.escape_debug()
            ))
            .parameter("ttl_secs")
        })
}

/// `DELETE /storage/kvs/{id}/keys/{key}`
pub(super) async fn delete_key(State(app): Shared, KeyPath { id, key }: KeyPath) -> ApiResult {
    app.key_operation(move |s, now| s.delete_value(&id, &key, now))
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// Any path the API does not have.
pub(super) async fn unknown_path() -> ErrorResponse {
    ErrorResponse::not_found("No such API path; KV paths start with /v2/storage/kvs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_digits_only() {
        assert_eq!(positive_integer("1"), Some(1));
        assert_eq!(positive_integer("99999999999999999999999"), Some(u64::MAX));
        for bad in ["", "0", "-1", "+1", "1.5", " 1", "1e3", "abc"] {
            assert_eq!(positive_integer(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ids_must_be_canonical_uuids() {
        assert_eq!(
            namespace_id("550E8400-E29B-41D4-A716-446655440000").expect("valid"),
            "550e8400-e29b-41d4-a716-446655440000"
        );
        for bad in [
            "550e8400e29b41d4a716446655440000",
            "{550e8400-e29b-41d4-a716-446655440000}",
            "nope",
            "",
        ] {
            assert!(namespace_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = URL_SAFE_NO_PAD.encode("user/123");
        assert_eq!(decode_cursor(&cursor).expect("valid"), "user/123");
        for bad in ["!!!", "AA", &URL_SAFE_NO_PAD.encode("_reserved")] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_content_types() {
        for good in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/vnd.api+json",
        ] {
            assert!(is_json(&HeaderValue::from_static(good)), "{good}");
        }
        for bad in ["text/plain", "application/x-www-form-urlencoded", "+json"] {
            assert!(!is_json(&HeaderValue::from_static(bad)), "{bad}");
        }
    }
}
