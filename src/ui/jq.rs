//! `--jq EXPR`: a jq expression applied to the JSON a command prints, with the jaq crates (a jq
//! written in Rust), so that no `jq` install is needed.
//!
//! Each output of the expression is written on a line of its own: a string as its raw text
//! (as `gh --jq` and `jq -r` do), anything else as compact JSON.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;
use std::io::{self, Write};

use serde::Serialize;

type Filter = jaq_core::Filter<data::JustLut<Val>>;

/// A compiled `--jq` expression.
pub(crate) struct Jq {
    filter: Filter,
}

impl std::fmt::Debug for Jq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Jq")
    }
}

/// `@csv` and `@tsv`, written in jq (`jq_formats.jq`).
fn formats() -> impl Iterator<Item = jaq_core::load::parse::Def<&'static str>> {
    jaq_core::load::parse(include_str!("jq_formats.jq"), |p| p.defs())
        .unwrap_or_default()
        .into_iter()
}

/// A jq expression that failed while it ran (`.a` on a number, `error("…")`).
#[derive(Debug, thiserror::Error)]
#[error("the jq expression failed: {0}")]
pub(crate) struct JqError(String);

impl Jq {
    /// Parses and compiles `code`; the error says what was expected and at which column.
    pub(crate) fn compile(code: &str) -> Result<Self, String> {
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs())
            .chain(formats());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs());
        let loader = Loader::new(defs);
        let arena = Arena::default();
        let program = File { code, path: () };
        let modules = loader
            .load(&arena, program)
            .map_err(|errors| load_message(code, errors))?;
        let filter = Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errors| {
                let found = errors.into_iter().flat_map(|(_, errors)| errors).next();
                match found {
                    Some((name, undefined)) => at(
                        code,
                        name,
                        &format!("undefined {} `{name}`", undefined.as_str()),
                    ),
                    None => "the expression does not compile".to_owned(),
                }
            })?;
        Ok(Self { filter })
    }

    /// Runs the expression on `value` and returns what it printed: each output on its own line.
    pub(crate) fn apply<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, JqError> {
        let json = serde_json::to_vec(value).map_err(|err| JqError(err.to_string()))?;
        self.apply_json(&json)
    }

    /// [`Jq::apply`] on a JSON text.
    pub(crate) fn apply_json(&self, json: &[u8]) -> Result<Vec<u8>, JqError> {
        let input = parse(json).map_err(JqError)?;
        let mut out = Vec::new();
        for output in self.outputs(input)? {
            out.extend_from_slice(&text(&output));
            out.push(b'\n');
        }
        Ok(out)
    }

    /// The outputs of the expression on `input`.
    pub(crate) fn outputs(&self, input: Val) -> Result<Vec<Val>, JqError> {
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
        self.filter
            .id
            .run((ctx, input))
            .map(unwrap_valr)
            .map(|output| output.map_err(|err| JqError(err.to_string())))
            .collect()
    }
}

/// A JSON text read as jaq's value, whose objects keep their order.
pub(crate) fn parse(json: &[u8]) -> Result<Val, String> {
    jaq_json::read::parse_single(json).map_err(|err| err.to_string())
}

/// A result as `--jq` prints it: a string as its raw text, anything else as compact JSON.
pub(crate) fn text(value: &Val) -> Vec<u8> {
    match value {
        Val::TStr(bytes) | Val::BStr(bytes) => bytes.to_vec(),
        other => other.to_string().into_bytes(),
    }
}

/// `value` as indented JSON, the way `--json` prints a document (two spaces, `": "`).
pub(crate) fn pretty(value: &Val) -> Vec<u8> {
    let pp = jaq_json::write::Pp {
        indent: Some("  ".to_owned()),
        sep_space: true,
        ..Default::default()
    };
    let mut out = Vec::new();
    // Writing into a Vec cannot fail; the fallback keeps this total.
    if jaq_json::write::write(&mut out, &pp, 0, value).is_err() {
        out = value.to_string().into_bytes();
    }
    out
}

/// NDJSON written through `--jq` line by line as it comes (the values `export` and `bulk get`
/// stream), or passed through untouched without an expression.
pub(crate) struct FilteredLines<'a, W: Write> {
    jq: Option<&'a Jq>,
    out: W,
    /// The start of a line whose end has not been written yet.
    partial: Vec<u8>,
}

impl<'a, W: Write> FilteredLines<'a, W> {
    pub(crate) fn new(jq: Option<&'a Jq>, out: W) -> Self {
        Self {
            jq,
            out,
            partial: Vec::new(),
        }
    }

    fn line(&mut self, jq: &Jq, line: &[u8]) -> io::Result<()> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let filtered = jq.apply_json(line).map_err(io::Error::other)?;
        self.out.write_all(&filtered)
    }

    /// Filters a last line that had no line break, and flushes.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        if let Some(jq) = self.jq {
            let rest = std::mem::take(&mut self.partial);
            self.line(jq, &rest)?;
        }
        self.out.flush()
    }
}

impl<W: Write> Write for FilteredLines<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let Some(jq) = self.jq else {
            return self.out.write(bytes);
        };
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            let mut line = std::mem::take(&mut self.partial);
            line.extend_from_slice(&rest[..end]);
            self.line(jq, &line)?;
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The first load (lex or parse) error, with its column.
fn load_message<'s>(code: &'s str, errors: jaq_core::load::Errors<&'s str, ()>) -> String {
    use jaq_core::load::Error;
    for (_, error) in errors {
        match error {
            Error::Lex(errors) => {
                if let Some((expected, found)) = errors.into_iter().next() {
                    return at(code, found, &format!("expected {}", expected.as_str()));
                }
            }
            Error::Parse(errors) => {
                if let Some((expected, found)) = errors.into_iter().next() {
                    let what = if found.is_empty() {
                        "the end".to_owned()
                    } else {
                        format!("`{}`", found.chars().take(20).collect::<String>())
                    };
                    return at(
                        code,
                        found,
                        &format!("expected {}, found {what}", expected.as_str()),
                    );
                }
            }
            Error::Io(errors) => {
                if let Some((path, message)) = errors.into_iter().next() {
                    return at(code, path, &format!("cannot load `{path}`: {message}"));
                }
            }
        }
    }
    "the expression does not parse".to_owned()
}

/// `message`, with the column (counted in characters from 1) where `part` starts in `code`
/// when it is a slice of it.
fn at(code: &str, part: &str, message: &str) -> String {
    let start = (part.as_ptr() as usize).checked_sub(code.as_ptr() as usize);
    match start.filter(|start| *start <= code.len() && code.is_char_boundary(*start)) {
        Some(start) => format!("{message} at column {}", code[..start].chars().count() + 1),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(code: &str, value: serde_json::Value) -> String {
        let jq = Jq::compile(code).expect("compiles");
        String::from_utf8(jq.apply(&value).expect("runs")).expect("UTF-8")
    }

    #[test]
    fn strings_are_raw_and_the_rest_compact_json() {
        assert_eq!(
            run(".[] | .name", json!([{"name": "a"}, {"name": "b c"}])),
            "a\nb c\n"
        );
        assert_eq!(run("{n: length}", json!([1, 2])), "{\"n\":2}\n");
        assert_eq!(run("map(. * 2)", json!([1, 2])), "[2,4]\n");
        assert_eq!(run("empty", json!(1)), "");
    }

    #[test]
    fn csv_and_tsv_rows_as_jq_writes_them() {
        assert_eq!(
            run("@csv", json!([1, "a\"b", null, true, 2.5])),
            "1,\"a\"\"b\",,true,2.5\n"
        );
        assert_eq!(
            run("@tsv", json!(["a\tb", "c\\d", "e\nf\rg", null, 1])),
            "a\\tb\tc\\\\d\te\\nf\\rg\t\t1\n"
        );
        for (format, bad) in [("@csv", json!({})), ("@tsv", json!([[1]]))] {
            let jq = Jq::compile(format).expect("compiles");
            assert!(jq.apply(&bad).is_err(), "{format} {bad}");
        }
    }

    #[test]
    fn bad_expressions_say_where() {
        assert_eq!(
            Jq::compile(".a | ").expect_err("bad"),
            "expected term, found the end at column 6"
        );
        assert_eq!(
            Jq::compile(".[0").expect_err("bad"),
            "expected closing bracket at column 4"
        );
        assert_eq!(
            Jq::compile(".a | nosuch(1)").expect_err("bad"),
            "undefined filter `nosuch` at column 6"
        );
    }

    #[test]
    fn lines_are_filtered_one_by_one_whatever_the_writes() {
        let jq = Jq::compile(".k").expect("compiles");
        let mut out = Vec::new();
        let mut lines = FilteredLines::new(Some(&jq), &mut out);
        lines.write_all(b"{\"k\":\"a\"}\n{\"k\":").expect("writes");
        lines.write_all(b"1}\n\n{\"k\":[2]}").expect("writes");
        lines.finish().expect("ends");
        assert_eq!(String::from_utf8(out).expect("UTF-8"), "a\n1\n[2]\n");
    }

    #[test]
    fn runtime_errors_are_jqs() {
        let jq = Jq::compile(".a").expect("compiles");
        let err = jq.apply(&json!(5)).expect_err("fails");
        assert!(
            err.to_string().starts_with("the jq expression failed: "),
            "{err}"
        );
    }
}
