//! Value parsers: a typed argument is checked by the rules of the API before anything runs.

pub(crate) fn binding_name(value: &str) -> Result<String, String> {
    if crate::local::func_toml::valid_binding(value) {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "`{value}` is not a binding name; use upper-case letters, digits and `_`, not starting with a digit, such as `{}`",
            crate::local::func_toml::binding_for(value)
        ))
    }
}

/// `--bind` alone means the default binding, written as an empty string.
pub(crate) fn binding_or_default(value: &str) -> Result<String, String> {
    if value.is_empty() {
        Ok(String::new())
    } else {
        binding_name(value)
    }
}

/// A `--prefix`: never empty, so that an unset variable (`--prefix "$P"`) cannot select every
/// key; `--all` says that on purpose.
pub(crate) fn prefix(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err(
            "an empty prefix would select every key; give a prefix, leave `--prefix` out, or use `--all` where a command takes every key".to_owned(),
        );
    }
    Ok(value.to_owned())
}

pub(crate) fn key_name(value: &str) -> Result<String, String> {
    crate::api::rules::request_key(value)
        .map(|()| value.to_owned())
        .map_err(|err| err.to_string())
}

/// A TTL: a duration of whole seconds within the API's range.
pub(crate) fn ttl(value: &str) -> Result<u64, String> {
    crate::cli::duration::parse(value)
        .ok()
        .filter(|d| d.subsec_nanos() == 0 && crate::api::rules::ttl_secs(d.as_secs()).is_ok())
        .map(|d| d.as_secs())
        .ok_or_else(|| {
            format!(
                "`{value}` is not a valid TTL; use whole seconds from 1 to 9223372036, such as `30s`, `5m`, `1h30m` or `90`"
            )
        })
}

/// A `--jq` expression, compiled here so that a bad one is a usage error before anything runs.
pub(crate) fn jq(value: &str) -> Result<std::sync::Arc<crate::ui::jq::Jq>, String> {
    crate::ui::jq::Jq::compile(value).map(std::sync::Arc::new)
}

/// `key get --field`: a dotted path, or a jq expression when it starts with `.`.
pub(crate) fn field(value: &str) -> Result<crate::ui::field::Field, String> {
    crate::ui::field::Field::parse(value)
}

pub(crate) fn namespace_name(value: &str) -> Result<String, String> {
    crate::api::rules::namespace_name(value)
        .map(|()| value.to_owned())
        .map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_whole_seconds_in_range() {
        assert_eq!(ttl("30s"), Ok(30));
        assert_eq!(ttl("90"), Ok(90));
        assert_eq!(ttl("1h30m"), Ok(5400));
        for bad in ["0", "-5", "1.5s", "abc", "500ms", "9223372037", ""] {
            assert!(ttl(bad).is_err(), "{bad}");
        }
    }
}
