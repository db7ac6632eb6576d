//! `key get --field PATH`: part of a JSON value, picked by a dotted path (`a.b.0.c`) or, when
//! PATH starts with `.`, by a jq expression (`.a.b[0]`, `.items | length`).

use std::sync::Arc;

use jaq_json::Val;

use crate::ui::jq::{self, Jq, JqError};
use crate::ui::{OutputFormat, Printer};

/// A `--field` as given on the command line, checked before anything is sent.
#[derive(Debug, Clone)]
pub(crate) enum Field {
    /// Object keys or array indexes, one per segment: the one value there, or not found.
    Path(Vec<String>),
    /// A jq expression: what it outputs (`null` for a missing field, as in jq).
    Jq(Arc<Jq>),
}

/// Why a field could not be picked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FieldError {
    /// The value is not JSON (jaq's reason).
    #[error("{0}")]
    NotJson(String),
    /// A dotted path leads nowhere: the path up to the segment that is missing.
    #[error("the value has no field `{0}`")]
    Missing(String),
    #[error(transparent)]
    Jq(#[from] JqError),
}

/// What a field picked, in the order the value has it (objects keep their key order).
#[derive(Debug)]
pub(crate) struct Picked(Vec<Val>);

impl Field {
    /// Parses PATH: a jq expression when it starts with `.`, else a dotted path of non-empty
    /// segments.
    pub(crate) fn parse(path: &str) -> Result<Self, String> {
        if path.starts_with('.') {
            return Jq::compile(path).map(|jq| Self::Jq(Arc::new(jq)));
        }
        let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
        if segments.iter().any(String::is_empty) {
            return Err(format!(
                "`{path}` is not a dotted path; use names and array indexes joined by `.`, such as `user.emails.0`, or a jq expression starting with `.`, such as `.[\"a.b\"]`"
            ));
        }
        Ok(Self::Path(segments))
    }

    /// The values the field picks from the JSON text `json`.
    pub(crate) fn select(&self, json: &[u8]) -> Result<Picked, FieldError> {
        // Strict JSON, with serde_json's line and column for what is wrong; jaq's reader
        // also takes a few things that are not JSON.
        serde_json::from_slice::<serde::de::IgnoredAny>(json)
            .map_err(|err| FieldError::NotJson(err.to_string()))?;
        let value = jq::parse(json).map_err(FieldError::NotJson)?;
        let segments = match self {
            Self::Jq(jq) => return Ok(Picked(jq.outputs(value)?)),
            Self::Path(segments) => segments,
        };
        let mut here = value;
        for (depth, segment) in segments.iter().enumerate() {
            let next = match &here {
                Val::Obj(map) => map.get(&Val::from(segment.clone())).cloned(),
                Val::Arr(items) => segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i).cloned()),
                _ => None,
            };
            here = next.ok_or_else(|| FieldError::Missing(segments[..=depth].join(".")))?;
        }
        Ok(Picked(vec![here]))
    }
}

impl Picked {
    /// Prints each value: as a JSON document with `--json` (through `--jq` when given), one
    /// line of JSON with `ndjson`, else a string's text or compact JSON, one per line.
    pub(crate) fn print(&self, printer: &Printer) -> std::io::Result<()> {
        for value in &self.0 {
            let mut bytes = match printer.format() {
                OutputFormat::Json | OutputFormat::Ndjson if printer.jq().is_some() => {
                    printer.json_text(value.to_string().as_bytes())?;
                    continue;
                }
                OutputFormat::Json => jq::pretty(value),
                OutputFormat::Ndjson => value.to_string().into_bytes(),
                _ => jq::text(value),
            };
            bytes.push(b'\n');
            printer.out_bytes(&bytes)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(path: &str, json: &str) -> Result<Vec<String>, String> {
        Field::parse(path)
            .expect("parses")
            .select(json.as_bytes())
            .map(|picked| {
                picked
                    .0
                    .iter()
                    .map(|v| String::from_utf8(jq::text(v)).expect("UTF-8"))
                    .collect()
            })
            .map_err(|err| err.to_string())
    }

    #[test]
    fn dotted_paths_walk_objects_and_arrays() {
        let value = r#"{"user": {"emails": ["a@x", "b@x"], "age": 3}}"#;
        assert_eq!(pick("user.emails.1", value), Ok(vec!["b@x".to_owned()]));
        assert_eq!(
            pick("user", value),
            Ok(vec![r#"{"emails":["a@x","b@x"],"age":3}"#.to_owned()])
        );
        assert_eq!(
            pick("user.name", value),
            Err("the value has no field `user.name`".to_owned())
        );
        assert_eq!(
            pick("user.emails.7.x", value),
            Err("the value has no field `user.emails.7`".to_owned())
        );
        assert_eq!(
            pick("user.age.x", value),
            Err("the value has no field `user.age.x`".to_owned())
        );
    }

    #[test]
    fn a_leading_dot_is_jq() {
        let value = r#"{"a.b": 1, "items": [1, 2, 3]}"#;
        assert_eq!(pick(".[\"a.b\"]", value), Ok(vec!["1".to_owned()]));
        assert_eq!(
            pick(".items[]", value),
            Ok(vec!["1".to_owned(), "2".to_owned(), "3".to_owned()])
        );
        assert_eq!(pick(".nope", value), Ok(vec!["null".to_owned()]));
    }

    #[test]
    fn empty_segments_and_bad_expressions_are_refused() {
        let not_json = Field::parse("a").expect("parses").select(b"plain text");
        assert!(
            matches!(not_json, Err(FieldError::NotJson(_))),
            "{not_json:?}"
        );
        assert!(Field::parse("a..b").is_err());
        assert!(Field::parse("").is_err());
        assert!(Field::parse("a.").is_err());
        assert_eq!(
            Field::parse(".a[").expect_err("bad"),
            "expected closing bracket at column 4"
        );
    }
}
