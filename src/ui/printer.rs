//! All terminal output goes through here: results on stdout, everything else on stderr.

use std::io::{self, IsTerminal as _, Write};

use serde::Serialize;

use crate::error::Exit;
use crate::ui::jq::Jq;
use crate::ui::{ColorWhen, OutputFormat};

/// Where and how a command reports.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    format: OutputFormat,
    quiet: bool,
    /// Colour on stderr.
    color: bool,
    /// Results go to stdout; see [`Printer::stderr_only`].
    results: bool,
    /// `--jq`: what JSON results go through before they are written.
    jq: Option<&'static Jq>,
}

impl Printer {
    pub(crate) fn new(format: OutputFormat, quiet: bool, color: ColorWhen) -> Self {
        let color = match color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                std::env::var_os(crate::env::NO_COLOR).is_none_or(|v| v.is_empty())
                    && io::stderr().is_terminal()
            }
        };
        Self {
            format,
            quiet,
            color,
            results: true,
            jq: None,
        }
    }

    /// The same printer, writing JSON results through `jq` (`--jq`).
    pub(crate) fn with_jq(self, jq: Option<&'static Jq>) -> Self {
        Self { jq, ..self }
    }

    /// The `--jq` expression, when one was given.
    pub(crate) fn jq(&self) -> Option<&'static Jq> {
        self.jq
    }

    /// The same printer for a step whose result is not the command's: its status lines and
    /// warnings still go to stderr, but it writes nothing on stdout (as with `table`, where
    /// results are reported by status lines).
    pub(crate) fn stderr_only(&self) -> Self {
        Self {
            format: OutputFormat::Table,
            results: false,
            ..*self
        }
    }

    pub(crate) fn format(&self) -> OutputFormat {
        self.format
    }

    /// `--quiet`: no progress and no status lines.
    pub(crate) fn quiet(&self) -> bool {
        self.quiet
    }

    /// Whether a spinner may be drawn: a person is watching stderr and asked for no quiet.
    pub(crate) fn animated(&self) -> bool {
        !self.quiet && self.format == OutputFormat::Table && io::stderr().is_terminal()
    }

    /// Writes a result on stdout. Errors (a closed pipe) are returned so that `main` can end
    /// quietly.
    pub(crate) fn out(&self, text: &str) -> io::Result<()> {
        self.out_bytes(text.as_bytes())
    }

    pub(crate) fn out_bytes(&self, bytes: &[u8]) -> io::Result<()> {
        if !self.results {
            return Ok(());
        }
        let mut stdout = io::stdout().lock();
        stdout.write_all(bytes)?;
        stdout.flush()
    }

    /// Writes `value` as one line of JSON on stdout (`ndjson`, and `serve --json`), or what
    /// `--jq` makes of it.
    pub(crate) fn json_line<T: Serialize>(&self, value: &T) -> io::Result<()> {
        if let Some(jq) = self.jq {
            return self.filtered(jq, value);
        }
        let mut line = serde_json::to_string(value).map_err(io::Error::other)?;
        line.push('\n');
        self.out(&line)
    }

    /// Writes `value` as one indented JSON document on stdout (`json`), or what `--jq` makes
    /// of it.
    pub(crate) fn json_document<T: Serialize + ?Sized>(&self, value: &T) -> io::Result<()> {
        if let Some(jq) = self.jq {
            return self.filtered(jq, value);
        }
        let mut text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        text.push('\n');
        self.out(&text)
    }

    /// Writes a JSON text through `--jq` (or as it is, without one).
    pub(crate) fn json_text(&self, json: &[u8]) -> io::Result<()> {
        match self.jq {
            Some(jq) => self.out_bytes(&jq.apply_json(json).map_err(io::Error::other)?),
            None => self.out_bytes(json),
        }
    }

    /// Writes the outputs of `jq` on `value`; a failing expression is an error of the run.
    fn filtered<T: Serialize + ?Sized>(&self, jq: &Jq, value: &T) -> io::Result<()> {
        let bytes = jq.apply(value).map_err(io::Error::other)?;
        self.out_bytes(&bytes)
    }

    /// Prints a command's result object for scripts: the object with `json`/`ndjson`, `id`
    /// with `ids`, and nothing with `table` (people got a status line on stderr instead).
    pub(crate) fn result<T: Serialize>(&self, value: &T, id: &str) -> io::Result<()> {
        match self.format {
            OutputFormat::Table => Ok(()),
            OutputFormat::Json => self.json_document(value),
            OutputFormat::Ndjson => self.json_line(value),
            OutputFormat::Ids => self.out(&format!("{id}\n")),
        }
    }

    /// A status line on stderr (`Created …`), unless `--quiet`.
    pub(crate) fn status(&self, message: &str) {
        if !self.quiet {
            stderr_line(message);
        }
    }

    /// A warning on stderr; shown even with `--quiet`, since it asks for attention.
    pub(crate) fn warn(&self, message: &str) {
        stderr_line(&format!("{}: {message}", self.paint("warning", "33")));
    }

    /// Renders an error the way the binary reports every failure: with `json` or `ndjson`, one
    /// JSON object on one line (`{"error": {…}}`, `docs/output.md`); otherwise `error: …`, then
    /// `  Caused by: …` for each cause, the request id of a failed request, then `hint: …`.
    pub(crate) fn render_error(&self, failure: &Failure<'_>) -> String {
        if matches!(self.format, OutputFormat::Json | OutputFormat::Ndjson) {
            return failure.json();
        }
        let mut lines = failure.lines.iter();
        let mut text = format!(
            "{}: {}",
            self.paint("error", "31"),
            lines.next().map_or("", String::as_str)
        );
        for cause in lines.chain(failure.detail) {
            text.push_str(&format!("\n  Caused by: {cause}"));
        }
        if let Some(id) = failure.request_id {
            text.push_str(&format!(
                "\n  Request id: {id} (quote it to Telnyx support)"
            ));
        }
        if let Some(hint) = failure.hint {
            text.push_str(&format!("\n{}: {hint}", self.paint("hint", "36")));
        }
        text
    }

    fn paint(&self, word: &str, color: &str) -> String {
        if self.color {
            format!("\x1b[1;{color}m{word}\x1b[0m")
        } else {
            word.to_owned()
        }
    }
}

/// A failed run as it is reported: the exit code, the error's message and then its causes, the
/// request id the service gave a failed request, and what to do about it.
#[derive(Debug)]
pub(crate) struct Failure<'a> {
    pub exit: Exit,
    pub lines: &'a [String],
    /// Causes shown only in text, and only with `-v`: the HTTP library's internals.
    pub detail: &'a [String],
    pub hint: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

impl Failure<'_> {
    /// The error as one line of JSON, for `--json`: the message with its causes joined by `: `.
    pub(crate) fn json(&self) -> String {
        #[derive(Serialize)]
        struct Body<'a> {
            message: String,
            code: &'static str,
            exit_code: i32,
            hint: Option<&'a str>,
            request_id: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Document<'a> {
            error: Body<'a>,
        }
        let document = Document {
            error: Body {
                message: self.lines.join(": "),
                code: self.exit.name(),
                exit_code: self.exit as i32,
                hint: self.hint,
                request_id: self.request_id,
            },
        };
        // Strings and numbers always serialise; the fallback only keeps this total.
        serde_json::to_string(&document).unwrap_or_else(|_| {
            r#"{"error":{"message":"the error cannot be written as JSON"}}"#.to_owned()
        })
    }
}

/// Best effort: when stderr itself is closed there is nowhere left to report to.
pub(crate) fn stderr_line(message: &str) {
    let _ = writeln!(io::stderr().lock(), "{message}");
}
