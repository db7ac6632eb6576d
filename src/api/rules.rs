//! The API's rules for names, keys, values and TTLs, checked the same way by the client (before
//! any request) and by the emulator (on every request).

use thiserror::Error;

/// Longest namespace name the API accepts.
pub(crate) const MAX_NAMESPACE_NAME_LEN: usize = 255;
/// Longest key name the API accepts.
pub(crate) const MAX_KEY_LEN: usize = 256;
/// Largest value the API stores: 1 MiB.
pub(crate) const MAX_VALUE_BYTES: usize = 1024 * 1024;
/// Largest `ttl_secs` the API accepts.
pub(crate) const MAX_TTL_SECS: u64 = 9_223_372_036;

/// Why a name, key or TTL was refused. The messages say what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum Invalid {
    #[error("namespace name must not be empty")]
    EmptyName,
    #[error("namespace name is {0} characters long; at most 255 are allowed")]
    NameTooLong(usize),
    #[error(
        "namespace name `{0}` has characters that are not allowed; use lowercase letters a-z, digits and `-`"
    )]
    NameCharset(String),
    #[error("key must not be empty")]
    EmptyKey,
    #[error("key is {0} characters long; at most 256 are allowed")]
    KeyTooLong(usize),
    #[error("key `{0}` starts with `_`; names starting with `_` are reserved")]
    KeyReserved(String),
    #[error(
        "key `{0}` has characters that are not allowed; use letters, digits and `-` `_` `/` `=` `.`"
    )]
    KeyCharset(String),
    #[error(
        "key `{0}` cannot be sent: `.` and `..` are path segments that HTTP clients and proxies rewrite (the official SDKs refuse them too); use another name"
    )]
    DotSegment(String),
    #[error("TTL must be a whole number of seconds from 1 to 9223372036")]
    Ttl,
}

/// Checks a namespace name: `^[a-z0-9-]+$`, 1–255 characters.
pub(crate) fn namespace_name(name: &str) -> Result<(), Invalid> {
    if name.is_empty() {
        return Err(Invalid::EmptyName);
    }
    let len = name.chars().count();
    if len > MAX_NAMESPACE_NAME_LEN {
        return Err(Invalid::NameTooLong(len));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(Invalid::NameCharset(printable(name)));
    }
    Ok(())
}

/// Whether `spec` is a namespace id: a UUID in the form the API uses (36 characters).
pub(crate) fn is_namespace_id(spec: &str) -> bool {
    spec.len() == 36 && uuid::Uuid::try_parse(spec).is_ok()
}

/// Checks a key name: `a-z A-Z 0-9 - _ / = .`, 1–256 characters, no leading `_`.
pub(crate) fn key(key: &str) -> Result<(), Invalid> {
    if key.is_empty() {
        return Err(Invalid::EmptyKey);
    }
    let len = key.chars().count();
    if len > MAX_KEY_LEN {
        return Err(Invalid::KeyTooLong(len));
    }
    if !key.bytes().all(is_key_byte) {
        return Err(Invalid::KeyCharset(printable(key)));
    }
    if key.starts_with('_') {
        return Err(Invalid::KeyReserved(key.to_owned()));
    }
    Ok(())
}

/// Checks a key the client is about to send: the API's rules, and not exactly `.` or `..`,
/// which URL handling on the way (WHATWG parsers, proxies) turns into "this folder" and
/// "the folder above". The emulator accepts them from raw clients; this client never sends them.
pub(crate) fn request_key(name: &str) -> Result<(), Invalid> {
    key(name)?;
    if name == "." || name == ".." {
        return Err(Invalid::DotSegment(name.to_owned()));
    }
    Ok(())
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/' | b'=' | b'.')
}

/// Checks a TTL in seconds against the API's range.
pub(crate) fn ttl_secs(secs: u64) -> Result<(), Invalid> {
    if (1..=MAX_TTL_SECS).contains(&secs) {
        Ok(())
    } else {
        Err(Invalid::Ttl)
    }
}

/// Escapes control characters and shortens very long input so that an error message echoing
/// user input stays one readable line.
fn printable(s: &str) -> String {
    const SHOWN: usize = 80;
    let mut out: String = s.chars().take(SHOWN).flat_map(char::escape_debug).collect();
    if s.chars().count() > SHOWN {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_names() {
        assert_eq!(namespace_name("my-cache-2"), Ok(()));
        assert_eq!(namespace_name(&"a".repeat(255)), Ok(()));
        assert_eq!(namespace_name(""), Err(Invalid::EmptyName));
        assert_eq!(
            namespace_name(&"a".repeat(256)),
            Err(Invalid::NameTooLong(256))
        );
        for bad in ["My-Cache", "my_cache", "my cache", "é", "a.b"] {
            assert!(
                matches!(namespace_name(bad), Err(Invalid::NameCharset(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn keys() {
        for good in ["user/123", "a=b", ".", "..", "a/../b", "x_", "-"] {
            assert_eq!(key(good), Ok(()), "{good}");
        }
        assert_eq!(key(&"k".repeat(256)), Ok(()));
        assert_eq!(key(""), Err(Invalid::EmptyKey));
        assert_eq!(key(&"k".repeat(257)), Err(Invalid::KeyTooLong(257)));
        assert_eq!(key("_hidden"), Err(Invalid::KeyReserved("_hidden".into())));
        for bad in ["a:b", "a b", "ключ", "a\u{0}", "a?b", "a%2F"] {
            assert!(matches!(key(bad), Err(Invalid::KeyCharset(_))), "{bad:?}");
        }
    }

    #[test]
    fn dot_segments_are_not_sent() {
        for dots in [".", ".."] {
            assert_eq!(key(dots), Ok(()), "the API allows {dots}");
            assert_eq!(request_key(dots), Err(Invalid::DotSegment(dots.into())));
        }
        for good in ["...", "a.", ".a", "a/../b", "./", "user/123"] {
            assert_eq!(request_key(good), Ok(()), "{good}");
        }
        assert_eq!(request_key("_x"), Err(Invalid::KeyReserved("_x".into())));
    }

    #[test]
    fn charset_errors_escape_control_characters() {
        let err = key("a\nb").expect_err("newline is not allowed");
        assert_eq!(
            err.to_string(),
            "key `a\\nb` has characters that are not allowed; use letters, digits and `-` `_` `/` `=` `.`"
        );
    }

    #[test]
    fn ttls() {
        assert_eq!(ttl_secs(1), Ok(()));
        assert_eq!(ttl_secs(MAX_TTL_SECS), Ok(()));
        assert_eq!(ttl_secs(0), Err(Invalid::Ttl));
        assert_eq!(ttl_secs(MAX_TTL_SECS + 1), Err(Invalid::Ttl));
    }
}
