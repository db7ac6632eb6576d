//! What "the same value" means when two namespaces are compared: the same bytes with the same
//! content type. A value stored without one reads back as `application/octet-stream`, so the two
//! spellings are one.

use sha2::{Digest as _, Sha256};

/// The content type a value without one reads back with.
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// SHA-256 of a value and its content type, as the API would return them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Digest(pub [u8; 32]);

impl Digest {
    pub(crate) fn of(content_type: Option<&str>, bytes: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(content_type.unwrap_or(DEFAULT_CONTENT_TYPE).as_bytes());
        // A content type never holds a NUL, so type and bytes cannot run into each other.
        hasher.update([0]);
        hasher.update(bytes);
        Self(hasher.finalize().into())
    }

    /// A digest written as 64 hex digits (as an earlier version's record kept them).
    pub(crate) fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (index, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[index * 2..index * 2 + 2], 16).ok()?;
        }
        Some(Self(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_content_type_is_the_default_one_and_others_differ() {
        assert_eq!(
            Digest::of(None, b"v"),
            Digest::of(Some("application/octet-stream"), b"v")
        );
        assert_ne!(Digest::of(Some("text/plain"), b"v"), Digest::of(None, b"v"));
        assert_ne!(Digest::of(None, b"v"), Digest::of(None, b"w"));
    }

    #[test]
    fn hex_is_read_back_and_junk_refused() {
        let digest = Digest::of(Some("text/plain"), b"hello");
        let hex: String = digest.0.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(Digest::from_hex(&hex), Some(digest));
        assert_eq!(Digest::from_hex("zz"), None);
        assert_eq!(Digest::from_hex(&"é".repeat(32)), None);
    }
}
