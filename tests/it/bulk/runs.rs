//! Bulk work end to end: `bulk put|get|delete`, `export`, `import`.

use serde_json::{Value, json};
use telnyx_edge::emulator::Config;

use crate::support::cli::{Kv, against, outcome};
use crate::support::fault::{Fault, FaultServer};
use crate::support::output::{shown, sorted};

fn lines(text: &[u8]) -> Vec<Value> {
    std::str::from_utf8(text)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn put_then_get_round_trips_text_and_binary_in_every_format() {
    let kv = Kv::start();
    let id = kv.namespace("bulk");
    let every_byte: Vec<u8> = (0..=255).collect();
    let b64 = base64_of(&every_byte);
    let ndjson = format!(
        "{}\n{}\n{}\n",
        json!({"key": "text", "value": "héllo ✓", "content_type": "text/plain"}),
        json!({"key": "bin", "value": b64, "base64": true, "ttl_secs": 3600}),
        json!({"key": "empty", "value": ""}),
    );
    std::fs::write(kv.path().join("in.ndjson"), &ndjson).expect("write");
    let output = kv.run(&["storage", "kv", "bulk", "put", &id, "in.ndjson"]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(0), ""), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"Wrote 3 keys in [SECS] ([RATE]/s); 0 failed, 0 skipped");
    assert_eq!(kv.ok(&["storage", "kv", "get", &id, "bin"]), every_byte);
    assert_eq!(
        kv.ok(&["storage", "kv", "get", &id, "text"]),
        "héllo ✓".as_bytes()
    );

    // A wrangler-style array, from stdin.
    let array = json!([{"key": "w1", "value": "one"}, {"key": "w2", "value": "/w==", "base64": true, "expiration_ttl": 60}]);
    let piped = kv
        .cmd()
        .args(["storage", "kv", "bulk", "put", &id, "-"])
        .write_stdin(array.to_string())
        .output()
        .expect("runs");
    assert_eq!(
        piped.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    assert_eq!(kv.ok(&["storage", "kv", "get", &id, "w2"]), [0xff]);

    let got = lines(&kv.ok(&["storage", "kv", "bulk", "get", &id, "text", "bin", "empty"]));
    assert_eq!(
        got,
        [
            json!({"key": "text", "value": "héllo ✓", "base64": false, "content_type": "text/plain"}),
            json!({"key": "bin", "value": b64, "base64": true, "content_type": "application/octet-stream"}),
            json!({"key": "empty", "value": "", "base64": false, "content_type": "application/octet-stream"}),
        ]
    );
    let by_prefix = lines(&kv.ok(&["storage", "kv", "bulk", "get", &id, "--prefix", "w"]));
    assert_eq!(
        by_prefix
            .iter()
            .map(|l| l["key"].as_str().expect("key"))
            .collect::<Vec<_>>(),
        ["w1", "w2"]
    );
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn a_directory_uploads_each_file_under_its_relative_path() {
    let kv = Kv::start();
    let id = kv.namespace("dir");
    let root = kv.path().join("site");
    std::fs::create_dir_all(root.join("assets/img")).expect("mkdir");
    std::fs::write(root.join("index.html"), "<h1>hi</h1>").expect("write");
    std::fs::write(root.join("assets/img/logo.bin"), [0u8, 1, 2, 255]).expect("write");
    kv.ok(&["storage", "kv", "bulk", "put", &id, "--dir", "site"]);
    let keys = kv.ok(&["-o", "ids", "storage", "kv", "key", "list", &id]);
    assert_eq!(
        String::from_utf8(keys).expect("UTF-8"),
        "assets/img/logo.bin\nindex.html\n"
    );
    assert_eq!(
        kv.ok(&["storage", "kv", "get", &id, "assets/img/logo.bin"]),
        [0u8, 1, 2, 255]
    );
}

#[test]
fn export_then_import_copies_a_namespace_byte_for_byte() {
    let kv = Kv::start();
    let a = kv.namespace("source");
    let b = kv.namespace("copy");
    for i in 0..1200 {
        let value: Vec<u8> = (0..(i % 300)).map(|j| ((i * 7 + j) % 256) as u8).collect();
        let put = kv
            .api
            .req(
                reqwest::Method::PUT,
                &format!("/storage/kvs/{a}/keys/k{i:04}"),
            )
            .header(
                "content-type",
                if i % 2 == 0 {
                    "text/plain"
                } else {
                    "application/x-thing"
                },
            )
            .body(value)
            .send()
            .expect("answered");
        assert_eq!(put.status(), 201);
    }
    let output = kv.run(&[
        "storage",
        "kv",
        "export",
        "source",
        "--output-file",
        "dump.ndjson",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    kv.ok(&["storage", "kv", "import", "copy", "dump.ndjson"]);
    let first = kv.ok(&["storage", "kv", "export", &a]);
    let second = kv.ok(&["storage", "kv", "export", &b]);
    assert_eq!(lines(&first).len(), 1200);
    assert_eq!(first, second, "keys, bytes and content types are the same");
    assert_eq!(
        std::fs::read(kv.path().join("dump.ndjson")).expect("read"),
        first
    );
}

#[test]
fn bad_lines_are_reported_with_their_number_and_retried_from_the_failed_file() {
    let kv = Kv::start();
    let id = kv.namespace("bad");
    let big = "x".repeat(1024 * 1024 + 1);
    let input = [
        json!({"key": "good", "value": "1"}).to_string(),
        "{not json".to_owned(),
        json!({"value": "no key"}).to_string(),
        json!({"key": "bad key", "value": "x"}).to_string(),
        json!({"key": "big", "value": big}).to_string(),
        json!({"key": "b64", "value": "!!", "base64": true}).to_string(),
        json!({"key": "good", "value": "2"}).to_string(),
    ]
    .join("\n");
    std::fs::write(kv.path().join("in.ndjson"), input).expect("write");
    let output = kv.run(&[
        "storage",
        "kv",
        "bulk",
        "put",
        &id,
        "in.ndjson",
        "--continue-on-error",
        "--failed-file",
        "failed.ndjson",
    ]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(1), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    warning: line 2: not a JSON object with `key` and `value`: key must be a string at line 1 column 2
    warning: line 3: `key` is missing
    warning: line 4: key `bad key` has characters that are not allowed; use letters, digits and `-` `_` `/` `=` `.`
    warning: line 5: the value of `big` is 1048577 bytes; at most 1048576 bytes (1 MiB) are allowed
    warning: line 6: `value` of `b64` is not valid base64: Invalid symbol 33, offset 0.
    warning: line 7: key `good` appeared earlier in the input; the last one wins
    Wrote 2 keys in [SECS] ([RATE]/s); 5 failed, 0 skipped
    error: 5 items failed and 0 were skipped
    hint: The 5 items not written are in `failed.ndjson`; feed it back as input to finish the job.
    ");
    assert_eq!(
        kv.ok(&["storage", "kv", "get", &id, "good"]),
        b"2",
        "the last line wins"
    );
    let failed = lines(&std::fs::read(kv.path().join("failed.ndjson")).expect("failed file"));
    assert_eq!(failed.len(), 5);
    assert_eq!(failed[0]["origin"], "line 2");
}

#[test]
fn an_empty_file_is_nothing_to_do_and_a_truncated_array_is_a_failure() {
    let kv = Kv::start();
    let id = kv.namespace("empty");
    std::fs::write(kv.path().join("empty.ndjson"), "").expect("write");
    let output = kv.run(&["storage", "kv", "bulk", "put", &id, "empty.ndjson"]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(0));
    insta::assert_snapshot!(shown(&stderr), @"
    warning: input: the input is empty: nothing to write
    Wrote 0 keys in [SECS] ([RATE]/s); 0 failed, 0 skipped
    ");
    std::fs::write(
        kv.path().join("cut.json"),
        "[{\"key\": \"a\", \"value\": \"x\"}, {\"key\": \"b\"",
    )
    .expect("write");
    let output = kv.run(&[
        "storage",
        "kv",
        "bulk",
        "put",
        &id,
        "cut.json",
        "--continue-on-error",
    ]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(1));
    insta::assert_snapshot!(shown(&stderr), @"
    warning: index 1: the array ends inside an element: the input is truncated
    Wrote 1 key in [SECS] ([RATE]/s); 1 failed, 0 skipped
    error: 1 item failed and 0 were skipped
    hint: 1 item was not written; pass `--failed-file FILE` to keep them and feed FILE back to resume.
    ");
    assert_eq!(kv.ok(&["storage", "kv", "get", &id, "a"]), b"x");
}

#[test]
fn a_rate_limited_emulator_still_gets_every_item() {
    let kv = Kv::with(Config {
        rate_limit: Some(150),
        ..Config::in_memory()
    });
    let id = kv.namespace("limited");
    let input: String = (0..400)
        .map(|i| format!("{}\n", json!({"key": format!("k{i:03}"), "value": "v"})))
        .collect();
    std::fs::write(kv.path().join("in.ndjson"), input).expect("write");
    let output = kv.run(&[
        "storage",
        "kv",
        "bulk",
        "put",
        &id,
        "in.ndjson",
        "--concurrency",
        "32",
    ]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    let count = kv.ok(&["-o", "ids", "storage", "kv", "key", "list", &id]);
    assert_eq!(
        String::from_utf8(count).expect("UTF-8").lines().count(),
        400
    );
}

#[test]
fn injected_failures_go_to_the_failed_file_and_a_retry_from_it_succeeds() {
    // Every request fails: the items land in the failed file, which then feeds a real run.
    let server = FaultServer::start(vec![Fault::json(
        500,
        "{\"errors\":[{\"code\":\"10007\",\"title\":\"Unexpected error\"}]}",
    )]);
    let kv = Kv::start();
    let id = kv.namespace("retry");
    let input: String = (0..5)
        .map(|i| {
            format!(
                "{}\n",
                json!({"key": format!("k{i}"), "value": format!("v{i}"), "ttl_secs": 600})
            )
        })
        .collect();
    std::fs::write(kv.path().join("in.ndjson"), input).expect("write");
    let failing = against(&server, kv.home.path())
        .args([
            "storage",
            "kv",
            "bulk",
            "put",
            &id,
            "in.ndjson",
            "--continue-on-error",
            "--failed-file",
            "failed.ndjson",
            "--retries",
            "0",
        ])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&failing);
    assert_eq!(code, Some(6), "{stderr}");
    // Failures are reported as the workers meet them.
    insta::assert_snapshot!(sorted(&shown(&stderr), "warning: "), @"
    warning: line 1: key `k0`: Unexpected error (HTTP 500)
    warning: line 2: key `k1`: Unexpected error (HTTP 500)
    warning: line 3: key `k2`: Unexpected error (HTTP 500)
    warning: line 4: key `k3`: Unexpected error (HTTP 500)
    warning: line 5: key `k4`: Unexpected error (HTTP 500)
    Wrote 0 keys in [SECS] ([RATE]/s); 5 failed, 0 skipped
    error: 5 items failed and 0 were skipped
    hint: The 5 items not written are in `failed.ndjson`; feed it back as input to finish the job.
    ");
    let failed = lines(&std::fs::read(kv.path().join("failed.ndjson")).expect("failed file"));
    assert_eq!(failed.len(), 5);
    assert!(
        failed
            .iter()
            .all(|l| l["ttl_secs"] == 600 && l["error"].as_str().is_some())
    );
    kv.ok(&["storage", "kv", "bulk", "put", &id, "failed.ndjson"]);
    assert_eq!(kv.ok(&["storage", "kv", "get", &id, "k3"]), b"v3");

    // Without --continue-on-error the run stops at the first failure and skips the rest.
    let server = FaultServer::start(vec![Fault::json(500, "{}")]);
    let stopped = against(&server, kv.home.path())
        .args([
            "storage",
            "kv",
            "bulk",
            "put",
            &id,
            "in.ndjson",
            "--retries",
            "0",
            "--concurrency",
            "1",
        ])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&stopped);
    assert_eq!(code, Some(6));
    // An item already handed to a worker may still fail before the stop is seen: the counts
    // race, so only their sum is checked, not the whole output.
    let summary = stderr
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .expect("an error line");
    let numbers: Vec<u64> = summary
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 2, "{summary}");
    assert!(numbers[0] >= 1 && numbers[0] <= 2, "{summary}");
    assert_eq!(numbers[0] + numbers[1], 5, "{summary}");
    assert!(server.received().len() <= 2, "the rest was not sent");
}

#[test]
fn bulk_delete_counts_confirms_and_dry_runs() {
    let kv = Kv::start();
    let id = kv.namespace("del");
    for key in ["tmp/a", "tmp/b", "tmp/c", "keep"] {
        kv.ok(&["storage", "kv", "put", &id, key, "v"]);
    }
    let dry = kv.run(&[
        "storage",
        "kv",
        "bulk",
        "delete",
        &id,
        "--prefix",
        "tmp/",
        "--dry-run",
    ]);
    let (code, stdout, stderr) = outcome(&dry);
    assert_eq!(code, Some(0));
    assert_eq!(stdout, "tmp/a\ntmp/b\ntmp/c\n");
    insta::assert_snapshot!(shown(&stderr), @"Dry run: would delete 3 keys from namespace `00000000-0000-0000-0000-000000000000`; nothing was deleted");
    let refused = kv.run(&["storage", "kv", "bulk", "delete", &id, "--prefix", "tmp/"]);
    let (code, _, stderr) = outcome(&refused);
    assert_eq!(code, Some(2));
    insta::assert_snapshot!(shown(&stderr), @"
    error: refusing to delete 3 keys from namespace `00000000-0000-0000-0000-000000000000` without confirmation: there is no terminal to ask on
    hint: Pass --yes (or set TELNYX_EDGE_SKIP_CONFIRMATIONS=1) to go ahead without asking.
    ");
    assert_eq!(
        String::from_utf8(kv.ok(&["-o", "ids", "storage", "kv", "key", "list", &id]))
            .expect("UTF-8")
            .lines()
            .count(),
        4
    );
    kv.ok(&[
        "--yes", "storage", "kv", "bulk", "delete", &id, "--prefix", "tmp/",
    ]);
    assert_eq!(
        kv.ok(&["-o", "ids", "storage", "kv", "key", "list", &id]),
        b"keep\n"
    );
    std::fs::write(kv.path().join("keys.txt"), "keep\n\nmissing\n").expect("write");
    kv.ok(&[
        "--yes",
        "storage",
        "kv",
        "bulk",
        "delete",
        &id,
        "--from-file",
        "keys.txt",
    ]);
    assert_eq!(
        kv.ok(&["-o", "ids", "storage", "kv", "key", "list", &id]),
        b""
    );
}
