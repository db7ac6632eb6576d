//! How numbers and durations are written for people, in messages of every layer.

/// `12345` as `12,345`, for counts and rates people read.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The ending that makes a noun plural for `n` things: `""` for one, `"s"` for any other
/// count, as in `format!("{n} key{}", plural(n))`. Every noun the tool counts is regular.
pub(crate) fn plural<N: PartialEq + From<u8>>(n: N) -> &'static str {
    if n == N::from(1) { "" } else { "s" }
}

/// A duration as people write it: `1 day 2h 30m`, `5m`, `1.5s`, `250ms` (humantime writes
/// `1day`).
pub(crate) fn duration(duration: std::time::Duration) -> String {
    let secs = duration.as_secs();
    if secs == 0 {
        return format!("{}ms", duration.as_millis());
    }
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days} day{}", plural(days)));
    }
    let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    for (value, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if value > 0 {
            parts.push(format!("{value}{unit}"));
        }
    }
    parts.join(" ")
}

/// A size for people: `812 B`, `1.5 KiB`, `3.0 MiB`, `1.2 GiB` (powers of 1024, one decimal).
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn numbers_and_durations_read_as_people_write_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(2932), "2,932");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(duration(Duration::from_secs(86_400)), "1 day");
        assert_eq!(
            duration(Duration::from_secs(2 * 86_400 + 9000)),
            "2 days 2h 30m"
        );
        assert_eq!(duration(Duration::from_secs(300)), "5m");
        assert_eq!(duration(Duration::from_secs(61)), "1m 1s");
        assert_eq!(duration(Duration::from_millis(250)), "250ms");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(1_048_576), "1.0 MiB");
        assert_eq!(
            [plural(0u64), plural(1u64), plural(2usize), plural(1_000u32)],
            ["s", "", "s", "s"]
        );
    }
}
