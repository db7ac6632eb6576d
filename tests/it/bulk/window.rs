//! Bulk work at the service's real speed: the adaptive window grows over a slow link, never
//! passes `--concurrency`, and paces to a rate limit the service announces instead of finding it
//! by 429s. The emulator plays the distant service with `latency`, and counts what it answered.

use std::time::Duration;

use serde_json::{Value, json};
use telnyx_edge::emulator::{Config, Latency};

use crate::support::cli::{Kv, outcome};
use crate::support::output::shown;

fn distant(latency_ms: u64, rate_limit: Option<u32>) -> Kv {
    Kv::with(Config {
        latency: Some(Latency {
            base: Duration::from_millis(latency_ms),
            jitter: Duration::from_millis(latency_ms / 5),
        }),
        rate_limit,
        ..Config::in_memory()
    })
}

/// Writes `count` keys `k0000…` with values `v0…` as NDJSON into the user's home.
fn input(kv: &Kv, count: usize) -> &'static str {
    let text: String = (0..count)
        .map(|i| {
            format!(
                "{}\n",
                json!({"key": format!("k{i:04}"), "value": format!("v{i}")})
            )
        })
        .collect();
    std::fs::write(kv.path().join("in.ndjson"), text).expect("write input");
    "in.ndjson"
}

/// Runs a bulk command with `--json`, expecting success; returns its summary and stderr.
fn run(kv: &Kv, args: &[&str]) -> (Value, String) {
    let output = kv.run(&[&["--json"], args].concat());
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{args:?}: {stderr}");
    let summary = stdout
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("no JSON summary in {stdout:?}"));
    (summary, stderr)
}

fn listed(kv: &Kv, id: &str) -> usize {
    let keys = kv.ok(&["-o", "ids", "storage", "kv", "key", "list", id]);
    String::from_utf8_lossy(&keys).lines().count()
}

#[test]
fn over_a_slow_link_the_window_grows_and_every_key_is_written() {
    let kv = distant(30, None);
    let id = kv.namespace("distant");
    let file = input(&kv, 600);
    let (summary, stderr) = run(&kv, &["-v", "storage", "kv", "bulk", "put", &id, file]);
    assert_eq!(summary["done"], 600, "{summary}");
    assert_eq!(summary["failed"], 0);
    assert_eq!(summary["throttled"], 0);
    let window = &summary["window"];
    assert_eq!(
        (&window["start"], &window["ceiling"]),
        (&json!(16), &json!(256))
    );
    assert!(
        window["peak"].as_u64().expect("peak") >= 64,
        "the window grows over a slow link: {summary}"
    );
    // Requests in flight at once are logged in the order they happen to go: only the line
    // that must be there is checked.
    assert!(
        stderr.contains("* Window 16 → 32 requests in flight (answers keep pace; latency "),
        "-v shows the window as it changes: {stderr}"
    );
    assert_eq!(listed(&kv, &id), 600);
    assert_eq!(kv.ok(&["storage", "kv", "get", &id, "k0599"]), b"v599");
    assert!(
        kv.api.stats().peak_in_flight > 16,
        "more than the old fixed 16 were in flight: {:?}",
        kv.api.stats()
    );

    let (summary, _) = run(
        &kv,
        &[
            "storage", "kv", "bulk", "delete", &id, "--prefix", "k", "--yes",
        ],
    );
    assert_eq!(summary["done"], 600, "{summary}");
    assert!(
        summary["window"]["peak"].as_u64().expect("peak") > 16,
        "{summary}"
    );
    assert_eq!(listed(&kv, &id), 0);
}

#[test]
fn a_concurrency_ceiling_is_never_exceeded() {
    let kv = distant(20, None);
    let id = kv.namespace("ceiling");
    let file = input(&kv, 120);
    let before = kv.api.stats();
    assert_eq!(
        before.peak_in_flight, 1,
        "the set-up ran one request at a time"
    );
    let (summary, _) = run(
        &kv,
        &[
            "storage",
            "kv",
            "bulk",
            "put",
            &id,
            file,
            "--concurrency",
            "4",
        ],
    );
    assert_eq!(summary["done"], 120);
    assert_eq!(
        summary["window"],
        json!({"start": 4, "peak": 4, "final": 4, "ceiling": 4})
    );
    assert_eq!(kv.api.stats().peak_in_flight, 4, "{:?}", kv.api.stats());

    // Reading (with its listing requests) and deleting keep to the ceiling too.
    let output = kv.run(&[
        "storage",
        "kv",
        "export",
        &id,
        "--concurrency",
        "3",
        "--output-file",
        "out.ndjson",
    ]);
    assert_eq!(output.status.code(), Some(0));
    let exported = std::fs::read_to_string(kv.path().join("out.ndjson")).expect("export");
    assert_eq!(exported.lines().count(), 120);
    let (summary, _) = run(
        &kv,
        &[
            "storage",
            "kv",
            "bulk",
            "delete",
            &id,
            "--all",
            "--yes",
            "--concurrency",
            "2",
        ],
    );
    assert_eq!(summary["done"], 120);
    assert_eq!(summary["window"]["ceiling"], 2);
    assert_eq!(
        kv.api.stats().peak_in_flight,
        4,
        "never above the largest ceiling"
    );
}

#[test]
fn an_announced_rate_limit_is_paced_to_not_probed() {
    let kv = distant(20, Some(100));
    let id = kv.namespace("paced");
    let file = input(&kv, 300);
    let before = kv.api.stats();
    let (summary, stderr) = run(&kv, &["-v", "storage", "kv", "bulk", "put", &id, file]);
    assert_eq!(summary["done"], 300, "{summary}");
    // Requests in flight at once are logged in the order they happen to go: only the line
    // that must be there is checked.
    assert!(
        stderr.contains("* The service allows 100 requests per second: sending 95/s"),
        "{stderr}"
    );
    let after = kv.api.stats();
    let requests = after.requests - before.requests;
    let refused = after.rate_limited - before.rate_limited;
    // Probing would find the limit by hundreds of 429s (16 in flight over 20 ms is 800/s).
    assert!(
        refused * 20 < requests,
        "{refused} of {requests} requests were answered 429"
    );
    assert_eq!(
        summary["throttled"], refused,
        "the client counts what the emulator refused"
    );
    assert_eq!(listed(&kv, &id), 300);
}

#[test]
fn concurrency_outside_its_range_is_refused_before_any_request() {
    let kv = Kv::start();
    let mut transcript = String::new();
    for bad in ["0", "1025", "many"] {
        let output = kv.run(&[
            "storage",
            "kv",
            "bulk",
            "put",
            "ns",
            "-",
            "--concurrency",
            bad,
        ]);
        let (code, stdout, stderr) = outcome(&output);
        assert_eq!(code, Some(2), "{bad}: {stderr}");
        assert_eq!(stdout, "");
        transcript.push_str(&format!("$ --concurrency {}\n{stderr}", bad));
    }
    insta::assert_snapshot!(shown(&transcript), @"
    $ --concurrency 0
    error: invalid value '0' for '--concurrency <N>': 0 is not in 1..=1024

    For more information, try '--help'.
    $ --concurrency 1025
    error: invalid value '1025' for '--concurrency <N>': 1025 is not in 1..=1024

    For more information, try '--help'.
    $ --concurrency many
    error: invalid value 'many' for '--concurrency <N>': invalid digit found in string

    For more information, try '--help'.
    ");
    assert_eq!(kv.api.stats().requests, 0);
}

#[test]
fn repeated_keys_do_not_look_like_queueing() {
    // Each key three times in a row: its items are written one after the other, and each
    // write's latency is its own, not the chain's.
    let kv = distant(30, None);
    let id = kv.namespace("repeated");
    let text: String = (0..900)
        .map(|i| {
            format!(
                "{}\n",
                json!({"key": format!("k{:03}", i / 3), "value": format!("v{i}")})
            )
        })
        .collect();
    std::fs::write(kv.path().join("in.ndjson"), text).expect("write input");
    let (summary, _) = run(&kv, &["storage", "kv", "bulk", "put", &id, "in.ndjson"]);
    assert_eq!(summary["done"], 900, "{summary}");
    // Counted from the start of the chain, latencies of 30, 60 and 90 ms read as queueing and
    // held the window at 16. How far past it the window grows depends on how busy the machine
    // is (a loaded one reached 102), so the bounds are 4 and 2 times the stuck value.
    let window = &summary["window"];
    assert!(window["peak"].as_u64().expect("peak") >= 64, "{summary}");
    assert!(window["final"].as_u64().expect("final") >= 32, "{summary}");
    assert_eq!(kv.ok(&["storage", "kv", "get", &id, "k299"]), b"v899");
}
