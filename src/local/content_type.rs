//! The content type of a file stored as a value (`key put --path`, `bulk put --dir`), so that a
//! PNG is stored as `image/png` and the explorer shows it as an image, not a hex dump.

use std::path::Path;

/// The media type of the file at `path` whose content starts with `bytes`: from its name's
/// extension (`logo.png` → `image/png`), else from its first bytes (a PNG named `logo`), else
/// `None` (the API's default, `application/octet-stream`, applies).
pub(crate) fn of_file(path: &Path, bytes: &[u8]) -> Option<String> {
    mime_guess::from_path(path)
        .first_raw()
        .map(str::to_owned)
        .or_else(|| infer::get(bytes).map(|kind| kind.mime_type().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn the_extension_first_then_the_first_bytes() {
        let guess = |name: &str, bytes: &[u8]| of_file(Path::new(name), bytes);
        assert_eq!(guess("logo.png", PNG).as_deref(), Some("image/png"));
        assert_eq!(guess("assets/logo", PNG).as_deref(), Some("image/png"));
        assert_eq!(
            guess("index.html", b"<h1>hi</h1>").as_deref(),
            Some("text/html")
        );
        assert_eq!(
            guess("data.json", b"{}").as_deref(),
            Some("application/json")
        );
        // The name wins over the bytes: a `.txt` holding PNG bytes is what its name says.
        assert_eq!(guess("notes.txt", PNG).as_deref(), Some("text/plain"));
        assert_eq!(guess("blob", b"\0\x01\x02").as_deref(), None);
        assert_eq!(guess("empty", b"").as_deref(), None);
    }
}
