//! Reading a TOML file that may not exist yet as an editable document: one loader for the
//! config file and `func.toml`, and one way to say where a syntax error is (line and column,
//! never the text of the line: in the config file it may hold the key).

use std::path::{Path, PathBuf};

use toml_edit::DocumentMut;

/// A TOML file as read.
#[derive(Debug)]
pub(crate) struct TomlFile {
    /// The text as read; empty when the file does not exist.
    pub text: String,
    pub exists: bool,
    pub doc: DocumentMut,
}

/// Why a TOML file could not be loaded; `label` names it in messages (`the config file `, or
/// nothing for func.toml, whose path says what it is).
#[derive(Debug, thiserror::Error)]
pub enum TomlLoadError {
    #[error("cannot read {label}`{}`", path.display())]
    Read {
        label: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{label}`{}` is not valid TOML: line {line}, column {column}: {message}", path.display())]
    Parse {
        label: &'static str,
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// Reads and parses `path`; a file that does not exist yet is an empty document.
pub(crate) fn load(path: &Path, label: &'static str) -> Result<TomlFile, TomlLoadError> {
    let (text, exists) = match std::fs::read_to_string(path) {
        Ok(text) => (text, true),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => (String::new(), false),
        Err(source) => {
            return Err(TomlLoadError::Read {
                label,
                path: path.to_owned(),
                source,
            });
        }
    };
    let doc = text.parse::<DocumentMut>().map_err(|err| {
        let offset = err.span().map_or(0, |span| span.start);
        let (line, column) = line_and_column(&text, offset);
        TomlLoadError::Parse {
            label,
            path: path.to_owned(),
            line,
            column,
            message: err.message().trim_end().to_owned(),
        }
    })?;
    Ok(TomlFile { text, exists, doc })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_have_a_line_and_column() {
        assert_eq!(line_and_column("a\nbc\n", 3), (2, 2));
        assert_eq!(line_and_column("κx", 2), (1, 2));
    }
}
