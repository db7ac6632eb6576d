//! Durations as people write them on the command line: `500ms`, `30s`, `5m`, `1h30m`, or plain
//! seconds.

use std::time::Duration;

/// Parses a duration; plain digits are seconds. Used as a clap value parser.
pub(crate) fn parse(input: &str) -> Result<Duration, String> {
    let text = input.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| format!("`{input}` is too many seconds"));
    }
    humantime::parse_duration(text).map_err(|_| {
        format!(
            "`{input}` is not a duration; use whole seconds or units such as `500ms`, `30s`, `5m`, `1h30m`"
        )
    })
}

/// Parses a duration that must be longer than zero (`--timeout`: a zero deadline would fail
/// every request).
pub(crate) fn parse_positive(input: &str) -> Result<Duration, String> {
    let duration = parse(input)?;
    if duration.is_zero() {
        return Err(format!(
            "`{input}` is no time at all; give a duration longer than zero, such as `30s`"
        ));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_plain_seconds() {
        assert_eq!(parse("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert!(parse("abc").is_err());
        assert!(parse("-5").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn zero_is_not_a_timeout() {
        assert_eq!(parse_positive("1ms"), Ok(Duration::from_millis(1)));
        assert_eq!(
            parse_positive("0"),
            Err("`0` is no time at all; give a duration longer than zero, such as `30s`".into())
        );
        assert!(parse_positive("0s").is_err());
    }
}
