//! What a run prints, made the same from one run to the next: the one list of filters every
//! test applies before comparing output whole (request ids, ids, times, durations, rates,
//! ports, temporary paths, the version), as a function for inline snapshots and as insta
//! settings for file snapshots.

use std::sync::LazyLock;

use regex::Regex;

/// What varies from run to run, and what stands in its place. Applied in this order: a request
/// id is a UUID too, and a port is part of an address. Ids and times stand in at their own width,
/// so that tables stay aligned.
const FILTERS: &[(&str, &str)] = &[
    // The emulator's request ids (a fault server's fixed ones stay as they are).
    (
        r"(Request id: )[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "${1}[id]",
    ),
    (
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "00000000-0000-0000-0000-000000000000",
    ),
    (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "2000-01-01T00:00:00Z"),
    (r"\b\d+\.\d+ ?ms\b", "[MS]"),
    // Only where a time is reported (`in 1.2s`, `(1.2s)`), not where a user wrote one.
    (r"(in |\()\d+\.\ds\b", "${1}[SECS]"),
    (r"\b[\d,]+/s\b", "[RATE]/s"),
    // Ports of the servers a test starts, in the URLs that name them.
    (
        r"((?:https?|socks5h?)://(?:\[redacted\]@)?(?:127\.0\.0\.1|localhost|\[::1\])):\d+",
        "${1}:[PORT]",
    ),
    // … and in a connection failure, which names the host and port alone.
    (
        r"(connect to (?:127\.0\.0\.1|localhost|\[::1\])):\d+",
        "${1}:[PORT]",
    ),
    (r"token=[0-9a-f]{64}", "token=[TOKEN]"),
    (r#"[^\s`'"(]*/\.tmp[A-Za-z0-9]{6}"#, "[TEMP]"),
    // The binary's own scratch files, named like the test's temporary directories.
    (r"(telnyx-edge-[a-z]+-)[A-Za-z0-9]{6}\b", "${1}[RANDOM]"),
];

static COMPILED: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    FILTERS
        .iter()
        .map(|(pattern, replacement)| (Regex::new(pattern).expect("a filter"), *replacement))
        .collect()
});

/// `text` with every run-to-run difference replaced (see [`FILTERS`]), for
/// `insta::assert_snapshot!(shown(&stderr), @"…")`.
pub fn shown(text: &str) -> String {
    let mut text = text.replace(env!("CARGO_PKG_VERSION"), "[VERSION]");
    for (pattern, replacement) in COMPILED.iter() {
        text = pattern.replace_all(&text, *replacement).into_owned();
    }
    text
}

/// `text` with the lines that start with `prefix` sorted among themselves, the others left in
/// place: for what concurrent workers report in the order they happen to finish.
pub fn sorted(text: &str, prefix: &str) -> String {
    let mut matching: Vec<&str> = text
        .split_inclusive('\n')
        .filter(|line| line.starts_with(prefix))
        .collect();
    matching.sort_unstable();
    let mut matching = matching.into_iter();
    text.split_inclusive('\n')
        .map(|line| {
            if line.starts_with(prefix) {
                matching.next().unwrap_or(line)
            } else {
                line
            }
        })
        .collect()
}

/// Insta settings with the same filters, for file snapshots.
pub fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex::escape(env!("CARGO_PKG_VERSION")), "[VERSION]");
    for (pattern, replacement) in FILTERS {
        settings.add_filter(pattern, *replacement);
    }
    settings
}

#[test]
fn the_filters_replace_what_varies_and_keep_the_rest() {
    let run = "Pulled `MY_CACHE` into local state in 2.3s: 1,000 added (4,321/s)\n\
               error: failed to get key `k` from KV namespace `0f8fad5b-d9cb-469f-a165-70867728950e`\n  \
               Request id: 1b4e28ba-2fa1-11d2-883f-0016d3cca427 (quote it to Telnyx support)\n\
               < HTTP/1.1 200 OK in 12.5ms from http://127.0.0.1:40123/v2 at 2026-01-01T00:00:00Z\n\
               Wrote `/tmp/.tmpAb12Cd/out.bin` with --ttl 1.5s\n";
    assert_eq!(
        shown(run),
        "Pulled `MY_CACHE` into local state in [SECS]: 1,000 added ([RATE]/s)\n\
         error: failed to get key `k` from KV namespace `00000000-0000-0000-0000-000000000000`\n  \
         Request id: [id] (quote it to Telnyx support)\n\
         < HTTP/1.1 200 OK in [MS] from http://127.0.0.1:[PORT]/v2 at 2000-01-01T00:00:00Z\n\
         Wrote `[TEMP]/out.bin` with --ttl 1.5s\n"
    );
}

#[test]
fn sorted_orders_only_the_lines_with_the_prefix() {
    assert_eq!(
        sorted("warning: b\nfirst\nwarning: a\nlast\n", "warning: "),
        "warning: a\nfirst\nwarning: b\nlast\n"
    );
}
