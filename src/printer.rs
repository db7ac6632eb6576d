//! All terminal output goes through here: results on stdout, everything else on stderr.

use std::io::{self, IsTerminal as _, Write};

use serde::Serialize;

use crate::cli::{ColorWhen, OutputFormat};

/// Where and how a command reports.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub format: OutputFormat,
    pub quiet: bool,
    /// Colour on stderr.
    pub color: bool,
}

impl Printer {
    pub fn new(format: OutputFormat, quiet: bool, color: ColorWhen) -> Self {
        let color = match color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && io::stderr().is_terminal()
            }
        };
        Self {
            format,
            quiet,
            color,
        }
    }

    /// Whether a spinner may be drawn: a person is watching stderr and asked for no quiet.
    pub fn animated(&self) -> bool {
        !self.quiet && self.format == OutputFormat::Table && io::stderr().is_terminal()
    }

    /// Writes a result on stdout. Errors (a closed pipe) are returned so that `main` can end
    /// quietly.
    pub fn out(&self, text: &str) -> io::Result<()> {
        self.out_bytes(text.as_bytes())
    }

    pub fn out_bytes(&self, bytes: &[u8]) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(bytes)?;
        stdout.flush()
    }

    /// Writes `value` as one line of JSON on stdout (`ndjson`, and `serve --json`).
    pub fn json_line<T: Serialize>(&self, value: &T) -> io::Result<()> {
        let mut line = serde_json::to_string(value).map_err(io::Error::other)?;
        line.push('\n');
        self.out(&line)
    }

    /// Writes `value` as one indented JSON document on stdout (`json`).
    pub fn json_document<T: Serialize>(&self, value: &T) -> io::Result<()> {
        let mut text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        text.push('\n');
        self.out(&text)
    }

    /// Prints a command's result object for scripts: the object with `json`/`ndjson`, `id`
    /// with `ids`, and nothing with `table` (people got a status line on stderr instead).
    pub fn result<T: Serialize>(&self, value: &T, id: &str) -> io::Result<()> {
        match self.format {
            OutputFormat::Table => Ok(()),
            OutputFormat::Json => self.json_document(value),
            OutputFormat::Ndjson => self.json_line(value),
            OutputFormat::Ids => self.out(&format!("{id}\n")),
        }
    }

    /// A status line on stderr (`Created …`), unless `--quiet`.
    pub fn status(&self, message: &str) {
        if !self.quiet {
            stderr_line(message);
        }
    }

    /// A warning on stderr; shown even with `--quiet`, since it asks for attention.
    pub fn warn(&self, message: &str) {
        stderr_line(&format!("{}: {message}", self.paint("warning", "33")));
    }

    /// Renders an error the way the binary reports every failure:
    /// `error: …`, then `  Caused by: …` for each cause, the request id of a failed request,
    /// then `hint: …`.
    pub fn render_error(&self, err: &anyhow::Error) -> String {
        let mut text = format!("{}: {err}", self.paint("error", "31"));
        for cause in err.chain().skip(1) {
            text.push_str(&format!("\n  Caused by: {cause}"));
        }
        if let Some(id) = crate::exit::request_id_of(err) {
            text.push_str(&format!(
                "\n  Request id: {id} (quote it to Telnyx support)"
            ));
        }
        if let Some(hint) = crate::exit::hint_of(err) {
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

/// Best effort: when stderr itself is closed there is nowhere left to report to.
pub fn stderr_line(message: &str) {
    let _ = writeln!(io::stderr().lock(), "{message}");
}
