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

/// The delay `serve --latency` reads into: the one the emulator applies.
pub(crate) use crate::api::latency::Latency;

/// Parses `serve --latency`: a duration, optionally with `±JITTER` (or `+-JITTER`) no larger
/// than itself; a clap value parser.
pub(crate) fn parse_latency(input: &str) -> Result<Latency, String> {
    Latency::parse(input, parse)
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
    fn latency_takes_an_optional_jitter() {
        let ms = Duration::from_millis;
        let latency = |base, jitter| Latency { base, jitter };
        assert_eq!(parse_latency("100ms"), Ok(latency(ms(100), ms(0))));
        assert_eq!(parse_latency("100ms±20ms"), Ok(latency(ms(100), ms(20))));
        assert_eq!(parse_latency("1s+-250ms"), Ok(latency(ms(1000), ms(250))));
        assert_eq!(
            parse_latency("10ms±20ms"),
            Err("`10ms±20ms`: the jitter cannot be larger than the delay (no answer comes before it is asked); use, say, `100ms±20ms`".into())
        );
        assert!(parse_latency("fast").is_err());
        assert!(parse_latency("100ms±").is_err());
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
