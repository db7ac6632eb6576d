//! All terminal output goes through here: results on stdout, everything else on stderr.

use std::io::{self, Write};

use crate::cli::OutputFormat;

/// Where and how a command reports.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub format: OutputFormat,
    pub quiet: bool,
}

impl Printer {
    /// Writes a result on stdout. Errors (a closed pipe) are returned so that `main` can end
    /// quietly.
    pub fn out(&self, text: &str) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()
    }

    /// Writes `value` as one line of JSON on stdout.
    pub fn json<T: serde::Serialize>(&self, value: &T) -> io::Result<()> {
        let mut line = serde_json::to_string(value).map_err(io::Error::other)?;
        line.push('\n');
        self.out(&line)
    }

    /// A status line on stderr (`Serving …`), unless `--quiet`.
    pub fn status(&self, message: &str) {
        if !self.quiet {
            stderr_line(message);
        }
    }

    /// A warning on stderr; shown even with `--quiet`, since it asks for attention.
    pub fn warn(&self, message: &str) {
        stderr_line(&format!("warning: {message}"));
    }
}

/// Best effort: when stderr itself is closed there is nowhere left to report to.
pub fn stderr_line(message: &str) {
    let _ = writeln!(io::stderr().lock(), "{message}");
}

/// Renders an error the way the binary reports every failure:
/// `error: …`, then `  Caused by: …` for each cause, then `hint: …`.
pub fn render_error(err: &anyhow::Error) -> String {
    let mut text = format!("error: {err}");
    for cause in err.chain().skip(1) {
        text.push_str(&format!("\n  Caused by: {cause}"));
    }
    if let Some(hint) = crate::exit::hint_of(err) {
        text.push_str(&format!("\nhint: {hint}"));
    }
    text
}
