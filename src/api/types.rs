//! Wire types of the Telnyx KV REST API (`shared/spec/kv-api.md`).
//!
//! The client deserialises these and the emulator serialises them, so the two sides cannot drift
//! apart.

use serde::{Deserialize, Serialize};

/// `record_type` of a namespace object.
pub(crate) const NAMESPACE_RECORD_TYPE: &str = "storage_kv";
/// `record_type` of a key list.
pub(crate) const KEY_LIST_RECORD_TYPE: &str = "storage_kv_key";

/// Lifecycle of a namespace. Creation and deletion are asynchronous on the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NamespaceStatus {
    Pending,
    ProvisionOk,
    ProvisionFailed,
    Deleting,
    DeleteFailed,
}

impl NamespaceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::ProvisionOk => "provision_ok",
            Self::ProvisionFailed => "provision_failed",
            Self::Deleting => "deleting",
            Self::DeleteFailed => "delete_failed",
        }
    }
}

impl std::fmt::Display for NamespaceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A KV namespace as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Namespace {
    pub record_type: String,
    pub id: String,
    pub name: String,
    pub status: NamespaceStatus,
    pub created_at: String,
    pub updated_at: String,
}

/// `{"data": …}`, the envelope of every single object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Data<T> {
    pub data: T,
}

/// Page metadata of the namespace list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PageMeta {
    pub page_number: u64,
    pub page_size: u64,
    pub total_pages: u64,
    pub total_results: u64,
}

/// `GET /storage/kvs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NamespaceList {
    pub data: Vec<Namespace>,
    pub meta: PageMeta,
}

/// `POST /storage/kvs` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CreateNamespace {
    pub name: String,
}

/// One entry of a key list; values are never listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Key {
    pub key: String,
    pub size_bytes: u64,
    pub updated_at: String,
}

/// Cursor metadata of the key list; `cursor` is absent on the last page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeyListMeta {
    pub has_more: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `GET /storage/kvs/{id}/keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeyList {
    pub record_type: String,
    pub data: Vec<Key>,
    pub meta: KeyListMeta,
    /// When the service answered (its `Date` header, Unix seconds); not part of the body.
    #[serde(skip)]
    pub date: Option<i64>,
}

/// `{"errors": […]}`, the body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub errors: Vec<ErrorObject>,
}

/// One error of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// A string in the service's examples; some responses carry an integer, which the client
    /// accepts as well.
    #[serde(deserialize_with = "string_or_integer")]
    pub code: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ErrorSource>,
}

/// Where in the request an error points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

fn string_or_integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Code {
        Text(String),
        Number(serde_json::Number),
    }
    Ok(match Code::deserialize(d)? {
        Code::Text(s) => s,
        Code::Number(n) => n.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_may_be_an_integer() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"errors":[{"code":10005,"title":"Resource not found"}]}"#)
                .expect("valid error body");
        assert_eq!(body.errors[0].code, "10005");
        assert_eq!(body.errors[0].detail, None);
    }

    #[test]
    fn status_uses_the_wire_spelling() {
        let json = serde_json::to_string(&NamespaceStatus::ProvisionOk).expect("serialises");
        assert_eq!(json, r#""provision_ok""#);
    }
}
