//! The explorer's calls about namespaces and lists of keys: the namespace list, creating and
//! deleting one, counting and listing keys (with expiries when an emulator can say), and the
//! bulk calls over a selection of keys (delete, export as NDJSON).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use base64::Engine as _;
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::{Answer, Explorer, Failure, InNamespace, bad_request, failure, namespace_id};
use crate::api::types::{Key, Namespace};
use crate::client::{KeyPages, NamespacePages};

/// The most keys counted for a namespace's key count; more show as "10,000+".
const COUNT_CAP: u64 = 10_000;

/// The most keys one bulk call takes: the page sends a large selection in parts, so that
/// each call answers in seconds and progress shows.
const BULK_CAP: usize = 1000;

/// How many requests a bulk call has in flight at once.
const BULK_WINDOW: usize = 8;

pub(super) async fn namespaces(State(explorer): State<Arc<Explorer>>) -> Answer {
    let mut all: Vec<Namespace> = Vec::new();
    let mut pages = NamespacePages::all(&explorer.client);
    while let Some(namespaces) = pages.next().await? {
        all.extend(namespaces);
    }
    Ok(axum::Json(all).into_response())
}

#[derive(Deserialize)]
pub(super) struct NewNamespace {
    name: String,
}

pub(super) async fn create_namespace(
    State(explorer): State<Arc<Explorer>>,
    axum::Json(body): axum::Json<NewNamespace>,
) -> Answer {
    explorer.may_write()?;
    crate::api::rules::namespace_name(&body.name).map_err(bad_request)?;
    let namespace = explorer.client.create_namespace(&body.name).await?;
    Ok((StatusCode::CREATED, axum::Json(namespace)).into_response())
}

pub(super) async fn delete_namespace(
    State(explorer): State<Arc<Explorer>>,
    Path(id): Path<String>,
) -> Answer {
    explorer.may_write()?;
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
pub(super) struct CountQuery {
    /// Stop counting here (at most [`COUNT_CAP`]): the namespace list asks for one page's worth.
    cap: Option<u64>,
    prefix: Option<String>,
}

/// Counts the keys (under a prefix) page by page, up to the cap.
pub(super) async fn count_keys(
    State(explorer): State<Arc<Explorer>>,
    call: InNamespace<CountQuery>,
) -> Answer {
    let id = call.namespace()?;
    let cap = call.query.cap.unwrap_or(COUNT_CAP).clamp(1, COUNT_CAP);
    let prefix = call.query.prefix.filter(|prefix| !prefix.is_empty());
    let mut count = 0;
    let mut pages = KeyPages::new(&explorer.client, &id, prefix.as_deref(), None);
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
pub(super) struct KeysQuery {
    prefix: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// A key as the page lists it: the API's fields, and when it expires if that is known.
#[derive(Serialize)]
struct ListedKey {
    #[serde(flatten)]
    key: Key,
    /// Unix ms; `null` when it never expires or nobody can say (see `expiry`).
    expires_ms: Option<i64>,
}

#[derive(Serialize)]
struct KeyPage {
    keys: Vec<ListedKey>,
    cursor: Option<String>,
    /// Whether `expires_ms` is known (an emulator at hand), or always `null` (the service).
    expiry: bool,
}

/// One page of keys: the page renders pages, never a whole namespace. A single call rather than
/// a [`KeyPages`] stream: the browser keeps the cursor between calls, so the stream's checks
/// across pages would have nothing to compare with.
pub(super) async fn list_keys(
    State(explorer): State<Arc<Explorer>>,
    call: InNamespace<KeysQuery>,
) -> Answer {
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
    let expiries = match &explorer.insight {
        Some(insight) => {
            let insight = Arc::clone(insight);
            let names: Vec<String> = page.data.iter().map(|key| key.key.clone()).collect();
            tokio::task::spawn_blocking(move || insight.expiries(&id, &names))
                .await
                .ok()
        }
        None => None,
    };
    let expiry = expiries.is_some();
    let mut expiries = expiries.unwrap_or_default().into_iter();
    let keys = page
        .data
        .into_iter()
        .map(|key| ListedKey {
            key,
            expires_ms: expiries.next().flatten(),
        })
        .collect();
    Ok(axum::Json(KeyPage {
        cursor: page.meta.cursor.filter(|_| page.meta.has_more),
        keys,
        expiry,
    })
    .into_response())
}

/// The body of a bulk call: the keys it is about.
#[derive(Deserialize)]
pub(super) struct Selection {
    keys: Vec<String>,
}

impl Selection {
    /// The keys, once each is checked as the CLI checks one, and there are not too many.
    fn checked(self) -> Result<Vec<String>, Failure> {
        if self.keys.len() > BULK_CAP {
            return Err(bad_request(format!(
                "at most {BULK_CAP} keys per call; send the rest in another"
            )));
        }
        for key in &self.keys {
            crate::api::rules::request_key(key).map_err(bad_request)?;
        }
        Ok(self.keys)
    }
}

#[derive(Serialize)]
struct Unwritten {
    key: String,
    error: String,
}

/// Deletes each key of the selection, a few at a time: `{"deleted": N, "failed": [{"key",
/// "error"}]}`.
pub(super) async fn delete_keys(
    State(explorer): State<Arc<Explorer>>,
    Path(id): Path<String>,
    axum::Json(selection): axum::Json<Selection>,
) -> Answer {
    explorer.may_write()?;
    let id = namespace_id(&id)?;
    let keys = selection.checked()?;
    let client = &explorer.client;
    let results: Vec<(String, Result<(), crate::client::ApiError>)> =
        futures_util::stream::iter(keys)
            .map(|key| {
                let id = &id;
                async move {
                    let result = client.delete_key(id, &key).await;
                    (key, result)
                }
            })
            .buffer_unordered(BULK_WINDOW)
            .collect()
            .await;
    let mut deleted = 0;
    let mut failed = Vec::new();
    for (key, result) in results {
        match result {
            Ok(()) => deleted += 1,
            Err(err) => failed.push(Unwritten {
                key,
                error: err.to_string(),
            }),
        }
    }
    Ok(axum::Json(serde_json::json!({ "deleted": deleted, "failed": failed })).into_response())
}

/// One line of the export, in the format `bulk put` and `import` read.
#[derive(Serialize)]
struct Line<'a> {
    key: &'a str,
    value: String,
    base64: bool,
    content_type: &'a str,
}

/// The selection's keys, values and content types as NDJSON (`bulk put`'s format), in the
/// order given; a key gone meanwhile is left out.
pub(super) async fn export_keys(
    State(explorer): State<Arc<Explorer>>,
    Path(id): Path<String>,
    axum::Json(selection): axum::Json<Selection>,
) -> Answer {
    let id = namespace_id(&id)?;
    let keys = selection.checked()?;
    let client = &explorer.client;
    let values: Vec<_> = futures_util::stream::iter(keys)
        .map(|key| {
            let id = &id;
            async move {
                let value = client.get_key(id, &key).await;
                (key, value)
            }
        })
        .buffered(BULK_WINDOW)
        .collect()
        .await;
    let mut out = Vec::new();
    for (key, value) in values {
        let value = match value {
            Ok(value) => value,
            Err(err) if err.status() == Some(404) => continue,
            Err(err) => return Err(err.into()),
        };
        let (text, base64) = match std::str::from_utf8(&value.bytes) {
            Ok(text) => (text.to_owned(), false),
            Err(_) => (
                base64::engine::general_purpose::STANDARD.encode(&value.bytes),
                true,
            ),
        };
        let line = Line {
            key: &key,
            value: text,
            base64,
            content_type: value
                .content_type
                .as_deref()
                .unwrap_or("application/octet-stream"),
        };
        serde_json::to_writer(&mut out, &line)
            .map_err(|err| failure(StatusCode::INTERNAL_SERVER_ERROR, err))?;
        out.push(b'\n');
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"selection.ndjson\"",
            ),
        ],
        Bytes::from(out),
    )
        .into_response())
}
