//! One JSON object of bulk input (an NDJSON line or an array element) turned into an item:
//! the line format, wrangler's bulk format, a failed file's lines fed back.

use std::collections::{BTreeMap, HashSet, VecDeque};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::Deserialize;

use super::{BadRecord, Item, Reading, Record, kept_text};
use crate::api::rules::{self, MAX_TTL_SECS, MAX_VALUE_BYTES};

/// The line format (`bulk get`, `export` write it; `bulk put`, `import` read it), and
/// wrangler's bulk format: `expiration_ttl` (seconds) and `expiration` (epoch seconds) become
/// `ttl_secs`; `metadata` has no place in Telnyx KV and is dropped with a warning.
#[derive(Debug, Deserialize)]
struct Line {
    key: Option<serde_json::Value>,
    value: Option<serde_json::Value>,
    #[serde(default)]
    base64: Option<bool>,
    /// `ttl`, as the `--ttl` flag is named, means the same.
    #[serde(alias = "ttl")]
    ttl_secs: Option<serde_json::Value>,
    expiration_ttl: Option<serde_json::Value>,
    expiration: Option<serde_json::Value>,
    /// `content-type`, as the HTTP header is spelt, means the same.
    #[serde(alias = "content-type")]
    content_type: Option<String>,
    metadata: Option<serde_json::Value>,
    /// Fields the failed file adds, accepted so that it can be fed back as input.
    #[serde(rename = "origin")]
    _origin: Option<serde::de::IgnoredAny>,
    error: Option<serde::de::IgnoredAny>,
    /// A bad line's text, in a failed file.
    input: Option<serde_json::Value>,
    #[serde(flatten)]
    unknown: BTreeMap<String, serde_json::Value>,
}

/// Turns parsed records into items, warning once per run about each dropped field. What it
/// makes of a record waits in its queue until the format's iterator hands it on.
pub(super) struct Interpreter {
    pub(super) reading: Reading,
    warned: HashSet<String>,
    queue: VecDeque<Record>,
}

impl Interpreter {
    pub(super) fn new(reading: Reading) -> Self {
        Self {
            reading,
            warned: HashSet::new(),
            queue: VecDeque::new(),
        }
    }

    /// The next record made, in order.
    pub(super) fn queued(&mut self) -> Option<Record> {
        self.queue.pop_front()
    }

    pub(super) fn nothing_queued(&self) -> bool {
        self.queue.is_empty()
    }

    /// Queues a record the format made itself (a bad line, a truncated input).
    pub(super) fn queue(&mut self, record: Record) {
        self.queue.push_back(record);
    }

    /// Checks one record and queues it, after its warnings (first use of a dropped field).
    pub(super) fn record(&mut self, json: &[u8], origin: String) {
        let line: Line = match serde_json::from_slice(json) {
            Ok(line) => line,
            Err(err) => {
                self.queue.push_back(Record::bad(
                    origin,
                    format!("not a JSON object with `key` and `value`: {err}"),
                    Some(json),
                ));
                return;
            }
        };
        // A bad line of a failed file, fed back: what matters is the text it kept, read again
        // as it was first given (so its `input` is not wrapped once more on each turn).
        if let (None, Some(_), Some(serde_json::Value::String(text))) =
            (&line.value, &line.error, &line.input)
        {
            let text = text.clone();
            return self.record(text.as_bytes(), origin);
        }
        // A valid key keeps a bad item in its place among the key's items (see `BadRecord`).
        let key = match &line.key {
            Some(serde_json::Value::String(key)) if rules::request_key(key).is_ok() => {
                Some(key.clone())
            }
            _ => None,
        };
        let bad = |error: String| {
            Record::Bad(BadRecord {
                origin: origin.clone(),
                error,
                input: Some(kept_text(json)),
                key: key.clone(),
            })
        };
        if let Some(field) = line.unknown.keys().next()
            && self.reading.strict
        {
            self.queue.push_back(bad(format!(
                "unknown field `{field}`; the fields are key, value, base64, ttl_secs (or ttl, expiration_ttl, expiration) and content_type (or content-type)"
            )));
            return;
        }
        for field in line.unknown.keys() {
            if self.warned.insert(field.clone()) {
                self.queue.push_back(Record::Warning {
                    origin: origin.clone(),
                    message: format!(
                        "unknown field `{field}` is ignored (here and on later lines); pass `--strict` to refuse such items"
                    ),
                });
            }
        }
        if line.metadata.is_some() && self.warned.insert("metadata".into()) {
            self.queue.push_back(Record::Warning {
                origin: origin.clone(),
                message: "`metadata` is dropped (here and on later lines): Telnyx KV has no per-key metadata".into(),
            });
        }
        let record = match self.item(line, &origin) {
            Ok(item) => Record::Item(item),
            Err(error) => bad(error),
        };
        self.queue.push_back(record);
    }

    fn item(&self, line: Line, origin: &str) -> Result<Item, String> {
        let key = match line.key {
            Some(serde_json::Value::String(key)) => key,
            Some(_) => return Err("`key` must be a string".into()),
            None => return Err("`key` is missing".into()),
        };
        rules::request_key(&key).map_err(|err| err.to_string())?;
        let text = match line.value {
            Some(serde_json::Value::String(text)) => text,
            Some(_) => return Err(format!("`value` of `{key}` must be a string")),
            None => return Err(format!("`value` of `{key}` is missing")),
        };
        let base64 = line.base64.unwrap_or(false);
        let value = if base64 {
            STANDARD
                .decode(text.as_bytes())
                .map_err(|err| format!("`value` of `{key}` is not valid base64: {err}"))?
        } else {
            text.into_bytes()
        };
        if value.len() > MAX_VALUE_BYTES {
            return Err(format!(
                "the value of `{key}` is {} bytes; at most 1048576 bytes (1 MiB) are allowed",
                value.len()
            ));
        }
        let from_failed_file = line.error.is_some();
        let (ttl_secs, expires_at, expired) =
            match self.ttl(&key, line.ttl_secs, line.expiration_ttl, line.expiration) {
                Ok((ttl_secs, expires_at)) => (ttl_secs, expires_at, false),
                // Fed back after its moment passed: the key a run without faults left is gone.
                Err(Expiry::Past { at, .. }) if from_failed_file => (None, Some(at), true),
                Err(err) => return Err(err.to_string()),
            };
        if let Some(content_type) = &line.content_type
            && http::HeaderValue::from_str(content_type).is_err()
        {
            return Err(format!(
                "`content_type` of `{key}` is not a valid Content-Type"
            ));
        }
        Ok(Item {
            key,
            value: Bytes::from(value),
            ttl_secs,
            expires_at,
            expired,
            content_type: line.content_type,
            origin: origin.to_owned(),
        })
    }

    /// `ttl_secs`, else `expiration_ttl`, else `expiration` made relative to now (and kept as
    /// the absolute expiry too).
    fn ttl(
        &self,
        key: &str,
        ttl_secs: Option<serde_json::Value>,
        expiration_ttl: Option<serde_json::Value>,
        expiration: Option<serde_json::Value>,
    ) -> Result<(Option<u64>, Option<u64>), Expiry> {
        let whole = |value: &serde_json::Value| value.as_u64();
        let relative = ttl_secs
            .filter(|v| !v.is_null())
            .map(|v| ("ttl_secs", v))
            .or_else(|| {
                expiration_ttl
                    .filter(|v| !v.is_null())
                    .map(|v| ("expiration_ttl", v))
            });
        if let Some((field, value)) = relative {
            return match whole(&value).filter(|s| rules::ttl_secs(*s).is_ok()) {
                Some(secs) => Ok((Some(secs), None)),
                None => Err(Expiry::Invalid(format!(
                    "`{field}` of `{key}` must be a whole number from 1 to {MAX_TTL_SECS}"
                ))),
            };
        }
        let Some(expiration) = expiration.filter(|v| !v.is_null()) else {
            return Ok((None, None));
        };
        let Some(at) = whole(&expiration) else {
            return Err(Expiry::Invalid(format!(
                "`expiration` of `{key}` must be whole seconds since 1970 (UTC)"
            )));
        };
        if at <= self.reading.now_secs {
            return Err(Expiry::Past {
                key: key.to_owned(),
                at,
            });
        }
        let secs = at - self.reading.now_secs;
        rules::ttl_secs(secs).map_err(|_| {
            Expiry::Invalid(format!(
                "`expiration` of `{key}` is more than {MAX_TTL_SECS} seconds away"
            ))
        })?;
        Ok((Some(secs), Some(at)))
    }
}

/// Why a line's TTL fields make no TTL.
enum Expiry {
    Invalid(String),
    /// `expiration` names a moment already past.
    Past {
        key: String,
        at: u64,
    },
}

impl std::fmt::Display for Expiry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(message) => f.write_str(message),
            Self::Past { key, at } => write!(
                f,
                "`expiration` of `{key}` ({at}) is in the past; the key would expire at once"
            ),
        }
    }
}
