//! What a person or a script sees: the printer (results on stdout, the rest on stderr), output
//! formats, tables, progress and confirmations.

pub(crate) mod confirm;
pub(crate) mod field;
pub(crate) mod format;
pub(crate) mod jq;
pub(crate) mod printer;
pub(crate) mod progress;
pub(crate) mod tables;

pub(crate) use format::{ColorWhen, OutputFormat};
pub(crate) use printer::Printer;

/// A value for JSON output: the text when the bytes are UTF-8, else base64 (and `true`).
pub(crate) fn text_or_base64(bytes: &[u8]) -> (String, bool) {
    use base64::Engine as _;
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (
            base64::engine::general_purpose::STANDARD.encode(bytes),
            true,
        ),
    }
}

pub(crate) use crate::text::{duration, thousands};
