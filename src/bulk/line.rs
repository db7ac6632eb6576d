//! The one bounded line reader of bulk input (NDJSON lines, files of keys): a line longer than
//! [`MAX_LINE`] is skipped without being held in memory, and reading goes on after it.

use std::io::{BufRead, Read as _};

/// Longest line read: a 1 MiB value written with JSON escapes fits, and so does a failed file's
/// line holding one.
pub(crate) const MAX_LINE: usize = 8 * 1024 * 1024;

/// A line as read, with its line break.
pub(crate) enum Line {
    Text(Vec<u8>),
    /// Longer than [`MAX_LINE`]: the rest was skipped; these are its first bytes.
    TooLong(Vec<u8>),
}

/// Reads the next line; `None` at the end of the input.
pub(crate) fn read(reader: &mut dyn BufRead) -> std::io::Result<Option<Line>> {
    let mut buf = Vec::new();
    let read = (&mut *reader)
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut buf)?;
    if read == 0 {
        return Ok(None);
    }
    if buf.len() > MAX_LINE && !buf.ends_with(b"\n") {
        skip_line(reader)?;
        return Ok(Some(Line::TooLong(buf)));
    }
    Ok(Some(Line::Text(buf)))
}

/// Consumes the rest of a line without keeping it.
fn skip_line(reader: &mut dyn BufRead) -> std::io::Result<()> {
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        if let Some(end) = chunk.iter().position(|&b| b == b'\n') {
            reader.consume(end + 1);
            return Ok(());
        }
        let len = chunk.len();
        reader.consume(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oversized_line_is_skipped_and_reading_goes_on() {
        let input = format!("{}\nnext\n", "k".repeat(MAX_LINE + 5));
        let mut reader = std::io::Cursor::new(input.into_bytes());
        assert!(matches!(read(&mut reader), Ok(Some(Line::TooLong(_)))));
        match read(&mut reader) {
            Ok(Some(Line::Text(text))) => assert_eq!(text, b"next\n"),
            _ => panic!("the next line is read"),
        }
        assert!(matches!(read(&mut reader), Ok(None)));
    }
}
