//! Bulk work as an unattended script meets it: a stop means no new request, the failed file is
//! the complete remainder, Ctrl-C finishes cleanly, pipes end quietly, files are never left
//! worse, and inputs are read exactly.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::cli::{Kv, against, outcome};
use crate::support::fault::{Fault, FaultServer, Received};
use crate::support::output::shown;

const NS: &str = "550e8400-e29b-41d4-a716-446655440000";

fn lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|line| serde_json::from_str(line).expect("an NDJSON line"))
        .collect()
}

/// `(done, failed, skipped)` from the status line `Wrote N keys in …; F failed, S skipped`.
fn summary(stderr: &str) -> (u64, u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.contains(" failed, ") && l.contains(" skipped"))
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    let number = |text: &str| -> u64 {
        text.split_whitespace()
            .next()
            .and_then(|n| n.replace(',', "").parse().ok())
            .unwrap_or_else(|| panic!("no number in {line}"))
    };
    let done = number(line.split_once(' ').expect("verb").1);
    let (_, counts) = line.split_once("; ").expect("counts");
    let (failed, skipped) = counts.split_once(", ").expect("two counts");
    (done, number(failed), number(skipped))
}

/// A server that fails every request about key `k007` with a 500 and answers the rest.
fn failing_k007() -> FaultServer {
    FaultServer::answering(|request: &Received| {
        if request.target.ends_with("/keys/k007") {
            return Fault::json(
                500,
                r#"{"errors":[{"code":"10007","title":"Unexpected error"}]}"#,
            );
        }
        match request.method.as_str() {
            "PUT" => Fault::status(201, ""),
            "GET" => Fault::Respond(
                200,
                vec![("content-type", "text/plain".into())],
                "value".into(),
            ),
            _ => Fault::json(200, "{}"),
        }
    })
}

#[test]
fn a_stop_starts_no_new_request_and_the_summary_counts_what_was_sent() {
    let keys: Vec<String> = (0..400).map(|i| format!("k{i:03}")).collect();
    let home = tempfile::tempdir().expect("tempdir");
    let ndjson: String = keys
        .iter()
        .map(|k| format!("{}\n", json!({"key": k, "value": "v"})))
        .collect();
    std::fs::write(home.path().join("in.ndjson"), ndjson).expect("write");
    std::fs::write(home.path().join("keys.txt"), keys.join("\n")).expect("write");
    let commands: [&[&str]; 3] = [
        &["bulk", "put", NS, "in.ndjson"],
        &["bulk", "get", NS, "--from-file", "keys.txt"],
        &["--yes", "bulk", "delete", NS, "--from-file", "keys.txt"],
    ];
    for args in commands {
        let server = failing_k007();
        let output = against(&server, home.path())
            .args(["storage", "kv"])
            .args(args)
            // One attempt each: the 500 is what stops the run, not retries.
            .args(["--failed-file", "rest.ndjson", "--retries", "0"])
            .output()
            .expect("runs");
        let (code, _, stderr) = outcome(&output);
        assert_eq!(code, Some(6), "{args:?}: {stderr}");
        let received = server.received().len() as u64;
        let (done, failed, skipped) = summary(&stderr);
        assert_eq!(failed, 1, "{args:?}: {stderr}");
        assert_eq!(
            done + failed,
            received,
            "{args:?}: answered = sent\n{stderr}"
        );
        assert_eq!(skipped, 400 - received, "{args:?}: skipped = never sent");
        assert!(
            received < 400,
            "{args:?}: the run stopped ({received} sent)"
        );
        let rest = lines(&std::fs::read(home.path().join("rest.ndjson")).expect("rest"));
        assert_eq!(rest.len() as u64, failed + skipped, "{args:?}");
        assert!(
            rest.iter()
                .any(|l| l["key"] == "k007" && l["error"] == "Unexpected error (HTTP 500)"),
            "{args:?}"
        );
        assert!(
            rest.iter()
                .any(|l| l["error"]
                    == "not sent: the run stopped after 1 failed item (`--max-errors`)"),
            "{args:?}"
        );
    }
}

#[test]
fn a_stopped_run_and_one_rerun_from_its_failed_file_write_every_key() {
    let kv = Kv::with(telnyx_edge::emulator::Config {
        // Below the window's first 16 requests, sent before the limit is known (after that,
        // requests are paced to it): the first run meets 429s.
        rate_limit: Some(10),
        ..telnyx_edge::emulator::Config::in_memory()
    });
    let id = kv.namespace("remainder");
    let input: String = (0..40)
        .map(|i| {
            format!(
                "{}\n",
                json!({"key": format!("k{i:02}"), "value": format!("v{i}")})
            )
        })
        .collect();
    std::fs::write(kv.path().join("in.ndjson"), input).expect("write");
    let first = kv.run(&[
        "--retries",
        "0",
        "storage",
        "kv",
        "bulk",
        "put",
        &id,
        "in.ndjson",
        "--failed-file",
        "in.ndjson",
    ]);
    let (code, _, stderr) = outcome(&first);
    assert_eq!(
        code,
        Some(6),
        "the rate limit stops the first run: {stderr}"
    );
    let (done, failed, skipped) = summary(&stderr);
    let rest = lines(&std::fs::read(kv.path().join("in.ndjson")).expect("rest"));
    assert_eq!(
        rest.len() as u64,
        failed + skipped,
        "retry in place: {stderr}"
    );
    assert_eq!(done + failed + skipped, 40);
    kv.ok(&[
        "--retries",
        "10",
        "storage",
        "kv",
        "bulk",
        "put",
        &id,
        "in.ndjson",
        "--failed-file",
        "in.ndjson",
    ]);
    let listed = kv.ok(&["-o", "ids", "storage", "kv", "key", "list", &id]);
    assert_eq!(String::from_utf8_lossy(&listed).lines().count(), 40);
    assert_eq!(kv.ok(&["storage", "kv", "get", &id, "k39"]), b"v39");
    assert_eq!(
        std::fs::read(kv.path().join("in.ndjson")).expect("emptied"),
        b"",
        "nothing remains"
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_finishes_in_flight_writes_the_remainder_and_exits_130() {
    let kv = Kv::with(telnyx_edge::emulator::Config {
        rate_limit: Some(100),
        ..telnyx_edge::emulator::Config::in_memory()
    });
    let id = kv.namespace("interrupted");
    let input: String = (0..2000)
        .map(|i| format!("{}\n", json!({"key": format!("k{i:04}"), "value": "v"})))
        .collect();
    std::fs::write(kv.path().join("in.ndjson"), input).expect("write");
    let before = kv.api.stats().requests;
    let child = kv
        .std_cmd()
        .args([
            "--retries",
            "20",
            "storage",
            "kv",
            "bulk",
            "put",
            &id,
            "in.ndjson",
            "--failed-file",
            "rest.ndjson",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    // Once some writes were answered, and long before 2,000 at 100 a second are.
    kv.api.wait_for_requests_beyond(before + 30);
    let (code, stderr) = crate::support::cli::interrupt(child);
    assert_eq!(code, Some(130), "{stderr}");
    // How many writes were done when the signal came varies, and so do the counts: only the
    // lines that must be there are checked.
    assert!(stderr.contains("error: interrupted: "), "{stderr}");
    assert!(stderr.contains("are in `rest.ndjson`"), "{stderr}");
    let (done, failed, skipped) = summary(&stderr);
    assert!(done > 0 && skipped > 0, "{stderr}");
    let rest = lines(&std::fs::read(kv.path().join("rest.ndjson")).expect("rest"));
    assert_eq!(rest.len() as u64, failed + skipped);
    assert_eq!(done + failed + skipped, 2000);
    kv.ok(&[
        "--retries",
        "20",
        "storage",
        "kv",
        "bulk",
        "put",
        &id,
        "rest.ndjson",
        "--concurrency",
        "4",
    ]);
    let listed = kv.ok(&["-o", "ids", "storage", "kv", "key", "list", &id]);
    assert_eq!(String::from_utf8_lossy(&listed).lines().count(), 2000);
}

#[cfg(unix)]
#[test]
fn a_stop_sends_none_of_the_requests_waiting_for_their_pace() {
    // At 5 requests a second, most of the window waits for its turn in the pace when Ctrl-C
    // comes: those are skipped, not fired at the service at once.
    let kv = Kv::with(telnyx_edge::emulator::Config {
        rate_limit: Some(5),
        ..telnyx_edge::emulator::Config::in_memory()
    });
    let id = kv.namespace("paced");
    let input: String = (0..100)
        .map(|i| format!("{}\n", json!({"key": format!("k{i:03}"), "value": "v"})))
        .collect();
    std::fs::write(kv.path().join("in.ndjson"), input).expect("write");
    let child = kv
        .std_cmd()
        .args([
            "storage",
            "kv",
            "bulk",
            "put",
            &id,
            "in.ndjson",
            "--failed-file",
            "rest.ndjson",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    // Long enough for the client to have learnt the limit from its first answers and to pace
    // the rest: a time the client's own pacing sets, not the emulator's clock.
    std::thread::sleep(Duration::from_millis(2500));
    let before = kv.api.stats();
    let (code, stderr) = crate::support::cli::interrupt(child);
    assert_eq!(code, Some(130), "{stderr}");
    // The first 16 go out before the limit is known, and those refused fail when the stop
    // ends their retries; no other request is sent after the stop.
    let (done, failed, skipped) = summary(&stderr);
    assert_eq!(done + failed + skipped, 100, "{stderr}");
    assert!(skipped > 50, "{stderr}");
    let after = kv.api.stats();
    assert!(
        after.requests - before.requests <= 2,
        "requests after the stop: {before:?} → {after:?}"
    );
    let rest = lines(&std::fs::read(kv.path().join("rest.ndjson")).expect("rest"));
    assert_eq!(rest.len() as u64, failed + skipped);
}

/// A namespace with `count` keys of about 1 KiB.
fn filled(kv: &Kv, name: &str, count: usize) -> String {
    let id = kv.namespace(name);
    let value = "x".repeat(1000);
    let input: String = (0..count)
        .map(|i| format!("{}\n", json!({"key": format!("k{i:04}"), "value": value})))
        .collect();
    std::fs::write(kv.path().join("fill.ndjson"), input).expect("write");
    kv.ok(&["storage", "kv", "bulk", "put", &id, "fill.ndjson"]);
    id
}

#[test]
fn export_into_a_closed_pipe_ends_quietly_and_export_pipes_into_import() {
    let kv = Kv::start();
    let a = filled(&kv, "source", 500);
    let mut export = kv
        .std_cmd()
        .args(["storage", "kv", "export", &a])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut first = String::new();
    BufReader::new(export.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("reads");
    assert!(first.starts_with("{\"key\":\"k0000\""), "{first}");
    let output = export.wait_with_output().expect("exits");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");

    let b = kv.namespace("copy");
    let mut export = kv
        .std_cmd()
        .args(["storage", "kv", "export", &a])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let import = kv
        .std_cmd()
        .args(["storage", "kv", "import", &b])
        .stdin(export.stdout.take().expect("stdout"))
        .output()
        .expect("runs");
    assert_eq!(export.wait().expect("exits").code(), Some(0));
    assert_eq!(
        import.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    assert_eq!(
        kv.ok(&["storage", "kv", "export", &a]),
        kv.ok(&["storage", "kv", "export", &b])
    );
}

#[test]
fn no_input_on_a_terminal_free_stdin_reads_it_and_missing_files_are_usage_errors() {
    let kv = Kv::start();
    let id = kv.namespace("stdin");
    let output = kv
        .cmd()
        .args(["storage", "kv", "import", &id])
        .write_stdin("{\"key\":\"piped\",\"value\":\"in\"}\n")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(kv.ok(&["storage", "kv", "get", &id, "piped"]), b"in");
    let output = kv
        .cmd()
        .args([
            "--yes",
            "storage",
            "kv",
            "bulk",
            "delete",
            &id,
            "--from-file",
        ])
        .write_stdin("piped\n")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let mut transcript = String::new();
    for args in [
        vec!["bulk", "get", &id, "--from-file", "/missing/keys.txt"],
        vec![
            "bulk",
            "delete",
            &id,
            "--from-file",
            "/missing/keys.txt",
            "--yes",
        ],
        vec!["bulk", "put", &id, "/missing/in.ndjson"],
        vec!["import", &id, "/missing/in.ndjson"],
    ] {
        let output = kv
            .cmd()
            .args(["storage", "kv"])
            .args(&args)
            .output()
            .expect("runs");
        let (code, _, stderr) = outcome(&output);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        transcript.push_str(&format!("$ {}\n{stderr}", args.join(" ")));
    }
    insta::assert_snapshot!(shown(&transcript), @"
    $ bulk get 00000000-0000-0000-0000-000000000000 --from-file /missing/keys.txt
    error: cannot read `/missing/keys.txt`: No such file or directory (os error 2)
    $ bulk delete 00000000-0000-0000-0000-000000000000 --from-file /missing/keys.txt --yes
    error: cannot read `/missing/keys.txt`: No such file or directory (os error 2)
    $ bulk put 00000000-0000-0000-0000-000000000000 /missing/in.ndjson
    error: cannot read `/missing/in.ndjson`: No such file or directory (os error 2)
    $ import 00000000-0000-0000-0000-000000000000 /missing/in.ndjson
    error: cannot read `/missing/in.ndjson`: No such file or directory (os error 2)
    ");
}

#[test]
fn a_file_given_as_the_only_key_of_bulk_delete_is_refused() {
    let kv = Kv::start();
    let id = kv.namespace("wrangler");
    kv.ok(&[
        "storage",
        "kv",
        "put",
        &id,
        "keys.txt",
        "a key, not the file",
    ]);
    std::fs::write(kv.path().join("keys.txt"), "a\nb\n").expect("write");
    let output = kv.run(&["--yes", "storage", "kv", "bulk", "delete", &id, "keys.txt"]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(2), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: `keys.txt` is a file here; `bulk delete` takes keys as arguments
    hint: Delete the keys listed in it with `--from-file keys.txt`; to delete a key with that name, use `telnyx-edge storage kv key delete NAMESPACE keys.txt`.
    ");
    assert_eq!(
        kv.ok(&["storage", "kv", "get", &id, "keys.txt"]),
        b"a key, not the file",
        "nothing was deleted"
    );
}

#[test]
fn a_failed_export_leaves_the_previous_file_and_keeps_the_partial_apart() {
    let kv = Kv::start();
    let id = filled(&kv, "backup", 5);
    kv.ok(&[
        "storage",
        "kv",
        "export",
        &id,
        "--output-file",
        "backup.ndjson",
    ]);
    let good = std::fs::read(kv.path().join("backup.ndjson")).expect("backup");
    // A key this client cannot read (only raw clients can write it).
    let (status, _) = crate::support::api::raw_request(
        &kv.api,
        "PUT",
        &format!("/storage/kvs/{id}/keys/.."),
        b"x",
    );
    assert_eq!(status, 201);
    let output = kv.run(&[
        "storage",
        "kv",
        "export",
        &id,
        "--output-file",
        "backup.ndjson",
        "--continue-on-error",
    ]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(1), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    warning: listed: key `..` cannot be sent: `.` and `..` are path segments that HTTP clients and proxies rewrite (the official SDKs refuse them too); use another name
    warning: `backup.ndjson` was left as it was; the 5 keys read are in `backup.ndjson.partial`
    Read 5 keys in [SECS] ([RATE]/s); 1 failed, 0 skipped
    error: 1 item failed and 0 were skipped
    hint: 1 item was not read; pass `--failed-file FILE` to keep them and feed FILE back to resume.
    ");
    assert_eq!(
        std::fs::read(kv.path().join("backup.ndjson")).expect("kept"),
        good
    );
    assert_eq!(
        lines(&std::fs::read(kv.path().join("backup.ndjson.partial")).expect("partial")).len(),
        5
    );
}

#[test]
fn wrangler_fields_are_mapped_and_unknown_ones_are_named_once() {
    let kv = Kv::start();
    let id = kv.namespace("wrangler-fields");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let input = [
        json!({"key": "a", "value": "1", "expiration_ttl": 3600, "metadata": {"x": 1}}),
        json!({"key": "b", "value": "2", "expiration": now + 3600, "metadata": {"y": 2}}),
        json!({"key": "c", "value": "3", "expiration": now - 10}),
        json!({"key": "d", "value": "4", "expires": 60}),
        json!({"key": "e", "value": "5", "expires": 60, "contentType": "text/plain"}),
    ]
    .map(|v| v.to_string())
    .join("\n");
    std::fs::write(kv.path().join("w.ndjson"), &input).expect("write");
    let output = kv.run(&[
        "storage",
        "kv",
        "bulk",
        "put",
        &id,
        "w.ndjson",
        "--continue-on-error",
    ]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(1), "{stderr}");
    let warned = |text: &str| stderr.matches(text).count();
    assert_eq!(warned("`metadata` is dropped"), 1, "{stderr}");
    assert_eq!(warned("unknown field `expires` is ignored"), 1, "{stderr}");
    assert_eq!(
        warned("unknown field `contentType` is ignored"),
        1,
        "{stderr}"
    );
    insta::assert_snapshot!(shown(&stderr.replace(&(now - 10).to_string(), "[now - 10]")), @"
    warning: line 1: `metadata` is dropped (here and on later lines): Telnyx KV has no per-key metadata
    warning: line 3: `expiration` of `c` ([now - 10]) is in the past; the key would expire at once
    warning: line 4: unknown field `expires` is ignored (here and on later lines); pass `--strict` to refuse such items
    warning: line 5: unknown field `contentType` is ignored (here and on later lines); pass `--strict` to refuse such items
    Wrote 4 keys in [SECS] ([RATE]/s); 1 failed, 0 skipped
    error: 1 item failed and 0 were skipped
    hint: 1 item was not written; pass `--failed-file FILE` to keep them and feed FILE back to resume.
    ");
    assert_eq!(summary(&stderr), (4, 1, 0));
    let output = kv.run(&[
        "storage",
        "kv",
        "bulk",
        "put",
        &id,
        "w.ndjson",
        "--strict",
        "--continue-on-error",
    ]);
    let (_, _, stderr) = outcome(&output);
    insta::assert_snapshot!(shown(&stderr.replace(&(now - 10).to_string(), "[now - 10]")), @"
    warning: line 1: `metadata` is dropped (here and on later lines): Telnyx KV has no per-key metadata
    warning: line 3: `expiration` of `c` ([now - 10]) is in the past; the key would expire at once
    warning: line 4: unknown field `expires`; the fields are key, value, base64, ttl_secs (or ttl, expiration_ttl, expiration) and content_type (or content-type)
    warning: line 5: unknown field `contentType`; the fields are key, value, base64, ttl_secs (or ttl, expiration_ttl, expiration) and content_type (or content-type)
    Wrote 2 keys in [SECS] ([RATE]/s); 3 failed, 0 skipped
    error: 3 items failed and 0 were skipped
    hint: 3 items were not written; pass `--failed-file FILE` to keep them and feed FILE back to resume.
    ");
    assert_eq!(summary(&stderr), (2, 3, 0));
}

#[test]
fn inputs_are_read_exactly() {
    let kv = Kv::start();
    let id = kv.namespace("exact");
    let one = json!([{"key": "a", "value": "1"}]).to_string();
    std::fs::write(kv.path().join("two.json"), format!("{one}\nnot json\n")).expect("write");
    let output = kv.run(&["storage", "kv", "bulk", "put", &id, "two.json"]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(1), "{stderr}");
    // Whether line 1 was written before the stop was seen depends on timing, and with it the
    // counts: only the warning is checked.
    assert!(
        stderr.contains("warning: line 2: not a JSON object with `key` and `value`"),
        "{stderr}"
    );

    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(json!({"key": "bom", "value": "ok"}).to_string().as_bytes());
    std::fs::write(kv.path().join("bom.ndjson"), &bom).expect("write");
    kv.ok(&["storage", "kv", "bulk", "put", &id, "bom.ndjson"]);
    assert_eq!(kv.ok(&["storage", "kv", "get", &id, "bom"]), b"ok");

    let big = "x".repeat(9 * 1024 * 1024);
    let array = format!(
        "[{}, {{\"key\":\"big\",\"value\":\"{big}\"}}, {}]",
        json!({"key": "before", "value": "1"}),
        json!({"key": "after", "value": "2"})
    );
    std::fs::write(kv.path().join("big.json"), array).expect("write");
    let output = kv.run(&[
        "storage",
        "kv",
        "bulk",
        "put",
        &id,
        "big.json",
        "--continue-on-error",
    ]);
    let (_, _, stderr) = outcome(&output);
    insta::assert_snapshot!(shown(&stderr), @"
    warning: index 1: the element is longer than 8 MiB
    Wrote 2 keys in [SECS] ([RATE]/s); 1 failed, 0 skipped
    error: 1 item failed and 0 were skipped
    hint: 1 item was not written; pass `--failed-file FILE` to keep them and feed FILE back to resume.
    ");
    assert_eq!(
        kv.ok(&["storage", "kv", "get", &id, "after"]),
        b"2",
        "the rest goes on"
    );
}

#[test]
fn binary_values_reach_the_failed_file_as_base64_and_come_back_exact() {
    let home = tempfile::tempdir().expect("tempdir");
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\x00\xff\xfe";
    std::fs::create_dir(home.path().join("site")).expect("mkdir");
    std::fs::write(home.path().join("site/logo.png"), png).expect("write");
    let server = FaultServer::start(vec![Fault::json(
        500,
        r#"{"errors":[{"code":"10007","title":"Unexpected error"}]}"#,
    )]);
    let output = against(&server, home.path())
        .args([
            "storage",
            "kv",
            "bulk",
            "put",
            NS,
            "--dir",
            "site",
            "--failed-file",
            "rest.ndjson",
            "--retries",
            "0",
        ])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(6));
    let rest = lines(&std::fs::read(home.path().join("rest.ndjson")).expect("rest"));
    assert_eq!(rest[0]["base64"], true);
    assert_eq!(rest[0]["value"], "iVBORw0KGgoA//4=");
    let kv = Kv::start();
    let id = kv.namespace("binary");
    std::fs::copy(
        home.path().join("rest.ndjson"),
        kv.path().join("rest.ndjson"),
    )
    .expect("copy");
    kv.ok(&["storage", "kv", "bulk", "put", &id, "rest.ndjson"]);
    assert_eq!(kv.ok(&["storage", "kv", "get", &id, "logo.png"]), png);
}

#[test]
fn many_bad_lines_count_against_the_budget_and_are_shown_ten_at_a_time() {
    let kv = Kv::start();
    let id = kv.namespace("bad-lines");
    let input: String = (0..2000).map(|i| format!("not json {i}\n")).collect();
    std::fs::write(kv.path().join("bad.ndjson"), &input).expect("write");
    let output = kv.run(&[
        "storage",
        "kv",
        "bulk",
        "put",
        &id,
        "bad.ndjson",
        "--max-errors",
        "50",
        "--failed-file",
        "rest.ndjson",
    ]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.matches("warning: line ").count(), 10, "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    warning: line 1: not a JSON object with `key` and `value`: expected ident at line 1 column 2
    warning: line 2: not a JSON object with `key` and `value`: expected ident at line 1 column 2
    warning: line 3: not a JSON object with `key` and `value`: expected ident at line 1 column 2
    warning: line 4: not a JSON object with `key` and `value`: expected ident at line 1 column 2
    warning: line 5: not a JSON object with `key` and `value`: expected ident at line 1 column 2
    warning: line 6: not a JSON object with `key` and `value`: expected ident at line 1 column 2
    warning: line 7: not a JSON object with `key` and `value`: expected ident at line 1 column 2
    warning: line 8: not a JSON object with `key` and `value`: expected ident at line 1 column 2
    warning: line 9: not a JSON object with `key` and `value`: expected ident at line 1 column 2
    warning: line 10: not a JSON object with `key` and `value`: expected ident at line 1 column 2
    warning: 1990 more items failed; they are not shown one by one
    Wrote 0 keys in [SECS] ([RATE]/s); 2,000 failed, 0 skipped
    error: 2000 items failed and 0 were skipped
    hint: The 2000 items not written are in `rest.ndjson`; feed it back as input to finish the job.
    ");
    let rest = lines(&std::fs::read(kv.path().join("rest.ndjson")).expect("rest"));
    assert_eq!(rest.len(), 2000, "every line is in the remainder");
    assert_eq!(rest[0]["input"], "not json 0");
    assert_eq!(rest[0]["origin"], "line 1");
}

#[test]
fn a_pipe_named_as_the_file_is_read_once_and_whole() {
    let kv = Kv::start();
    let id = kv.namespace("fifo");
    let input: String = (0..3000)
        .map(|i| {
            format!(
                "{}\n",
                json!({"key": format!("k{i:04}"), "value": "some value"})
            )
        })
        .collect();
    let output = kv
        .cmd()
        .args(["storage", "kv", "bulk", "put", &id, "/dev/stdin"])
        .write_stdin(input)
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed = kv.ok(&["-o", "ids", "storage", "kv", "key", "list", &id]);
    assert_eq!(String::from_utf8_lossy(&listed).lines().count(), 3000);
}

#[cfg(unix)]
#[test]
fn an_unwritable_failed_file_or_a_directory_of_keys_stops_the_run_before_any_request() {
    let server = FaultServer::start(vec![Fault::status(201, "")]);
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        home.path().join("in.ndjson"),
        "{\"key\":\"k\",\"value\":\"v\"}\n",
    )
    .expect("write");
    std::fs::create_dir(home.path().join("dir")).expect("mkdir");
    let output = against(&server, home.path())
        .args([
            "storage",
            "kv",
            "bulk",
            "put",
            NS,
            "in.ndjson",
            "--failed-file",
            "dir",
        ])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(1), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: failed to write keys to KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: cannot write the failed items to `dir`: it is a directory
    ");
    let output = against(&server, home.path())
        .args(["storage", "kv", "bulk", "get", NS, "--from-file", "dir"])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(2), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"error: `dir` is a directory, not a file of keys");
    assert!(server.received().is_empty(), "no request was sent");
}

#[test]
fn after_the_failure_that_spends_the_budget_no_more_than_a_window_of_requests_starts() {
    // Every request is answered after 20 ms, so the window is full when the 3rd key's 500
    // arrives, and the answers before and after it arrive together.
    let keys: Vec<String> = (0..400).map(|i| format!("k{i:03}")).collect();
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::write(home.path().join("keys.txt"), keys.join("\n")).expect("write");
    let failed_at = std::sync::Arc::new(std::sync::Mutex::new(None));
    let answered = std::sync::Arc::clone(&failed_at);
    let server = FaultServer::answering(move |request: &Received| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        if request.target.ends_with("/keys/k002") {
            *answered.lock().expect("lock") = Some(std::time::Instant::now());
            return Fault::json(
                500,
                r#"{"errors":[{"code":"10007","title":"Unexpected error"}]}"#,
            );
        }
        Fault::json(200, "{}")
    });
    let output = against(&server, home.path())
        .args([
            "--json",
            "--yes",
            "--retries",
            "0",
            "storage",
            "kv",
            "bulk",
            "delete",
            NS,
        ])
        .args(["--from-file", "keys.txt", "--concurrency", "16"])
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(6), "{stderr}");
    let summary: Value = serde_json::from_str(stdout.trim()).expect("a JSON summary");
    let failed_at = failed_at.lock().expect("lock").expect("k002 was answered");
    let received = server.received();
    let before = received.iter().filter(|r| r.at <= failed_at).count();
    let after = received.len() - before;
    assert_eq!(summary["failed"], 1, "{summary}");
    assert_eq!(
        summary["done"].as_u64(),
        Some(received.len() as u64 - 1),
        "{summary}"
    );
    // Requests in flight when the answer was written may still arrive after it; none starts
    // once it has been read.
    assert!(
        after <= 16,
        "{after} requests arrived after the failure was answered ({before} before); the window is 16"
    );
}

/// A server whose answers to PUTs of key `k` follow `script` in order (then succeed), and
/// which accepts every other request.
fn scripted_k(script: Vec<u16>) -> FaultServer {
    let script = std::sync::Mutex::new(script.into_iter());
    FaultServer::answering(move |request: &Received| {
        let k = request.target.ends_with("/keys/k") || request.target.contains("/keys/k?");
        if request.method == "PUT" && k {
            let status = script.lock().expect("lock").next().unwrap_or(201);
            if status >= 300 {
                return Fault::json(
                    status,
                    r#"{"errors":[{"code":"10007","title":"Unexpected error"}]}"#,
                );
            }
        }
        Fault::status(201, "")
    })
}

#[test]
fn the_remainder_keeps_only_the_latest_unwritten_item_of_each_key() {
    let home = tempfile::tempdir().expect("tempdir");
    let input = [
        json!({"key": "k", "value": "v1"}),
        json!({"key": "other", "value": "x"}),
        json!({"key": "k", "value": "v2"}),
    ]
    .map(|line| format!("{line}\n"))
    .concat();
    std::fs::write(home.path().join("in.ndjson"), input).expect("write");
    // (answers to the PUTs of `k`, exit code, values of `k` left in the remainder)
    let cases: [(Vec<u16>, i32, Vec<&str>); 4] = [
        // v1 fails, v2 is written: nothing is left to do, and feeding v1 back would undo v2.
        (vec![500, 201], 0, vec![]),
        (vec![201, 500], 6, vec!["v2"]),
        (vec![500, 500], 6, vec!["v2"]),
        (vec![201, 201], 0, vec![]),
    ];
    for (script, exit, left) in cases {
        let shown = format!("{script:?}");
        let server = scripted_k(script);
        let _ = std::fs::remove_file(home.path().join("rest.ndjson"));
        let output = against(&server, home.path())
            .args(["--json", "storage", "kv", "bulk", "put", NS, "in.ndjson"])
            .args([
                "--concurrency",
                "1",
                "--retries",
                "0",
                "--continue-on-error",
            ])
            .args(["--failed-file", "rest.ndjson"])
            .output()
            .expect("runs");
        let (code, stdout, stderr) = outcome(&output);
        assert_eq!(code, Some(exit), "{shown}: {stderr}");
        let summary: Value = serde_json::from_str(stdout.trim()).expect("a JSON summary");
        let rest = std::fs::read(home.path().join("rest.ndjson")).unwrap_or_default();
        let rest: Vec<Value> = lines(&rest);
        let values: Vec<&str> = rest.iter().filter_map(|l| l["value"].as_str()).collect();
        assert_eq!(values, left, "{shown}: {stderr}");
        assert!(rest.iter().all(|l| l["key"] == "k"), "{shown}");
        let failed = summary["failed"].as_u64().expect("failed");
        let superseded = summary["superseded"].as_u64().expect("superseded");
        assert_eq!(failed - superseded, left.len() as u64, "{shown}: {summary}");
    }
}

#[test]
fn an_empty_prefix_is_a_usage_error_and_every_key_takes_all() {
    let kv = Kv::start();
    let id = kv.namespace("emptied");
    for key in ["a", "b/c", "d"] {
        kv.ok(&["storage", "kv", "put", &id, key, "v"]);
    }
    let before = kv.api.stats().requests;
    let refused: [&[&str]; 6] = [
        &["--yes", "bulk", "delete", &id, "--prefix", ""],
        &["bulk", "get", &id, "--prefix", ""],
        &["export", &id, "--prefix", ""],
        &["key", "list", &id, "--prefix", ""],
        &["pull", &id, "--prefix", ""],
        &["diff", &id, &id, "--prefix", ""],
    ];
    let mut transcript = String::new();
    for args in refused {
        let output = kv
            .cmd()
            .args(["storage", "kv"])
            .args(args)
            .output()
            .expect("runs");
        let (code, _, stderr) = outcome(&output);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        transcript.push_str(&format!("$ {}\n{stderr}", args.join(" ")));
    }
    insta::assert_snapshot!(shown(&transcript), @"
    $ --yes bulk delete 00000000-0000-0000-0000-000000000000 --prefix 
    error: invalid value '' for '--prefix <P>': an empty prefix would select every key; give a prefix, leave `--prefix` out, or use `--all` where a command takes every key

    For more information, try '--help'.
    $ bulk get 00000000-0000-0000-0000-000000000000 --prefix 
    error: invalid value '' for '--prefix <P>': an empty prefix would select every key; give a prefix, leave `--prefix` out, or use `--all` where a command takes every key

    For more information, try '--help'.
    $ export 00000000-0000-0000-0000-000000000000 --prefix 
    error: invalid value '' for '--prefix <P>': an empty prefix would select every key; give a prefix, leave `--prefix` out, or use `--all` where a command takes every key

    For more information, try '--help'.
    $ key list 00000000-0000-0000-0000-000000000000 --prefix 
    error: invalid value '' for '--prefix <P>': an empty prefix would select every key; give a prefix, leave `--prefix` out, or use `--all` where a command takes every key

    For more information, try '--help'.
    $ pull 00000000-0000-0000-0000-000000000000 --prefix 
    error: invalid value '' for '--prefix <P>': an empty prefix would select every key; give a prefix, leave `--prefix` out, or use `--all` where a command takes every key

    For more information, try '--help'.
    $ diff 00000000-0000-0000-0000-000000000000 00000000-0000-0000-0000-000000000000 --prefix 
    error: invalid value '' for '--prefix <P>': an empty prefix would select every key; give a prefix, leave `--prefix` out, or use `--all` where a command takes every key

    For more information, try '--help'.
    ");
    assert_eq!(kv.api.stats().requests, before, "no request was sent");
    // Without a terminal, `--all` still needs `--yes`; with it, it says how many keys go.
    let output = kv.run(&["storage", "kv", "bulk", "delete", &id, "--all"]);
    assert_eq!(output.status.code(), Some(2));
    let output = kv.run(&["--yes", "storage", "kv", "bulk", "delete", &id, "--all"]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"Deleted 3 keys in [SECS] ([RATE]/s); 0 failed, 0 skipped");
    let left = kv.ok(&["-o", "ids", "storage", "kv", "key", "list", &id]);
    assert!(left.is_empty(), "{}", String::from_utf8_lossy(&left));
    let output = kv.run(&[
        "storage", "kv", "bulk", "delete", &id, "--all", "--prefix", "a",
    ]);
    assert_eq!(output.status.code(), Some(2), "--all and --prefix conflict");
}

/// Sends SIGTERM to `child` while its stdin (a pipe the test keeps open) sends nothing more.
#[cfg(unix)]
fn terminated_while_stdin_is_silent(mut child: std::process::Child) -> (Option<i32>, String) {
    let stdin = child.stdin.take().expect("stdin");
    std::thread::sleep(Duration::from_millis(800));
    crate::support::cli::send_signal(&child, "TERM");
    let start = std::time::Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status.code();
        }
        if start.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            panic!("still running 15 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(stdin);
    (code, crate::support::cli::stderr_of(&mut child))
}

#[cfg(unix)]
#[test]
fn sigterm_ends_a_run_whose_piped_input_has_gone_silent() {
    use std::io::Write as _;
    let kv = Kv::start();
    let id = kv.namespace("silent");
    let runs: [&[&str]; 2] = [
        &["bulk", "put", &id, "-", "--failed-file", "rest.ndjson"],
        &["--yes", "bulk", "delete", &id, "--from-file", "-"],
    ];
    for args in runs {
        let mut child = kv
            .std_cmd()
            .args(["storage", "kv"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        let first = if args.contains(&"put") {
            format!("{}\n", json!({"key": "a", "value": "1"}))
        } else {
            "a\n".to_owned()
        };
        child
            .stdin
            .as_mut()
            .expect("stdin")
            .write_all(first.as_bytes())
            .expect("writes");
        let (code, stderr) = terminated_while_stdin_is_silent(child);
        assert_eq!(code, Some(130), "{args:?}: {stderr}");
        // Whether the one item sent was read before the signal depends on timing: only the
        // line that must be there is checked.
        assert!(
            stderr
                .contains("was not read to its end: what it had left to send after the interrupt"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(
        kv.ok(&["-o", "ids", "storage", "kv", "key", "list", &id]),
        b"",
        "the key put before the silence, then deleted"
    );
}

#[test]
fn an_absolute_expiry_stays_absolute_in_the_remainder() {
    let home = tempfile::tempdir().expect("tempdir");
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 3600;
    std::fs::write(
        home.path().join("in.ndjson"),
        format!("{}\n", json!({"key": "k", "value": "v", "expiration": at})),
    )
    .expect("write");
    let server = scripted_k(vec![500]);
    let output = against(&server, home.path())
        .args([
            "--retries",
            "0",
            "storage",
            "kv",
            "bulk",
            "put",
            NS,
            "in.ndjson",
        ])
        .args(["--failed-file", "rest.ndjson"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(6));
    let rest = lines(&std::fs::read(home.path().join("rest.ndjson")).expect("rest"));
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["expiration"], at, "{}", rest[0]);
    assert!(rest[0].get("ttl_secs").is_none(), "{}", rest[0]);
    // Fed back, the TTL sent is what is left until that moment, not the hour again.
    let output = against(&server, home.path())
        .args(["storage", "kv", "bulk", "put", NS, "rest.ndjson"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let sent = server.received();
    let ttl: u64 = sent
        .last()
        .and_then(|r| r.target.split("ttl_secs=").nth(1))
        .and_then(|t| t.parse().ok())
        .expect("a ttl_secs");
    assert!((3590..=3600).contains(&ttl), "{ttl}");
}

#[test]
fn an_empty_remainder_fed_back_is_nothing_to_do() {
    let kv = Kv::start();
    let id = kv.namespace("done");
    std::fs::write(kv.path().join("rest.ndjson"), "").expect("write");
    let output = kv.run(&["--json", "storage", "kv", "bulk", "put", &id, "rest.ndjson"]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    warning: input: the input is empty: nothing to write
    Wrote 0 keys in [SECS] ([RATE]/s); 0 failed, 0 skipped
    ");
    let summary: Value = serde_json::from_str(stdout.trim()).expect("JSON");
    assert_eq!(
        (summary["done"].as_u64(), summary["failed"].as_u64()),
        (Some(0), Some(0))
    );
}

#[test]
fn json_arrays_joined_on_stdin_are_all_written() {
    let kv = Kv::start();
    let id = kv.namespace("joined");
    let joined = format!(
        "{}\n{}\n",
        json!([{"key": "a", "value": "1"}]),
        json!([{"key": "b", "value": "2"}, {"key": "c", "value": "3"}])
    );
    std::fs::write(kv.path().join("joined.json"), &joined).expect("write");
    // From a file (checked ahead) and from a pipe (read as it comes).
    kv.ok(&["storage", "kv", "import", &id, "joined.json"]);
    kv.ok(&["storage", "kv", "bulk", "delete", &id, "--all", "--yes"]);
    let output = kv
        .cmd()
        .args(["storage", "kv", "import", &id])
        .write_stdin(joined)
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        kv.ok(&["-o", "ids", "storage", "kv", "key", "list", &id]),
        b"a\nb\nc\n"
    );
}

#[test]
fn duplicate_key_warnings_stop_after_ten_and_the_rest_are_counted() {
    let kv = Kv::start();
    let id = kv.namespace("duplicates");
    let input: String = (0..31)
        .map(|i| format!("{}\n", json!({"key": "same", "value": format!("v{i}")})))
        .collect();
    std::fs::write(kv.path().join("in.ndjson"), input).expect("write");
    let output = kv.run(&["storage", "kv", "bulk", "put", &id, "in.ndjson"]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stderr
            .matches("appeared earlier in the input; the last one wins")
            .count(),
        10,
        "{stderr}"
    );
    insta::assert_snapshot!(shown(&stderr), @"
    warning: line 2: key `same` appeared earlier in the input; the last one wins
    warning: line 3: key `same` appeared earlier in the input; the last one wins
    warning: line 4: key `same` appeared earlier in the input; the last one wins
    warning: line 5: key `same` appeared earlier in the input; the last one wins
    warning: line 6: key `same` appeared earlier in the input; the last one wins
    warning: line 7: key `same` appeared earlier in the input; the last one wins
    warning: line 8: key `same` appeared earlier in the input; the last one wins
    warning: line 9: key `same` appeared earlier in the input; the last one wins
    warning: line 10: key `same` appeared earlier in the input; the last one wins
    warning: line 11: key `same` appeared earlier in the input; the last one wins
    warning: 20 more items had a key that appeared earlier in the input; the last one of each key wins
    Wrote 31 keys in [SECS] ([RATE]/s); 0 failed, 0 skipped
    ");
    assert_eq!(kv.ok(&["storage", "kv", "get", &id, "same"]), b"v30");
}

#[test]
fn bulk_get_and_export_print_a_json_summary() {
    let kv = Kv::start();
    let id = kv.namespace("summarised");
    kv.ok(&["storage", "kv", "put", &id, "a", "1"]);
    // With --output-file, stdout is free for the summary.
    let output = kv.run(&[
        "--json",
        "storage",
        "kv",
        "export",
        &id,
        "--output-file",
        "b.ndjson",
    ]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    let summary: Value = serde_json::from_str(stdout.trim()).expect("JSON on stdout");
    assert_eq!(summary["done"], 1);
    // Values on stdout: the summary is one JSON line on stderr.
    let output = kv.run(&["--json", "storage", "kv", "bulk", "get", &id, "a"]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout,
        "{\"key\":\"a\",\"value\":\"1\",\"base64\":false,\"content_type\":\"application/octet-stream\"}\n"
    );
    let line = stderr
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("a JSON line on stderr");
    let summary: Value = serde_json::from_str(line).expect("JSON");
    assert_eq!(
        (summary["done"].as_u64(), summary["failed"].as_u64()),
        (Some(1), Some(0))
    );
}

#[test]
fn a_bad_line_keeps_its_place_among_the_lines_of_its_key() {
    let home = tempfile::tempdir().expect("tempdir");
    let input = [
        json!({"key": "k", "value": "v1"}),
        json!({"key": "k", "value": "v2", "ttl_secs": 0}),
        json!({"key": "j", "value": "bad", "ttl_secs": 0}),
        json!({"key": "j", "value": "good"}),
    ]
    .map(|line| format!("{line}\n"))
    .concat();
    std::fs::write(home.path().join("in.ndjson"), input).expect("write");
    // The PUT of k's v1 fails after a while: its bad v2 must not overtake it in the remainder.
    let server = FaultServer::answering(|request: &Received| {
        if request.target.contains("/keys/k") {
            std::thread::sleep(Duration::from_millis(300));
            return Fault::json(
                500,
                r#"{"errors":[{"code":"10007","title":"Unexpected error"}]}"#,
            );
        }
        Fault::status(201, "")
    });
    let output = against(&server, home.path())
        .args([
            "--json",
            "--retries",
            "0",
            "storage",
            "kv",
            "bulk",
            "put",
            NS,
            "in.ndjson",
        ])
        .args(["--continue-on-error", "--failed-file", "rest.ndjson"])
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(1), "{stderr}");
    let rest = lines(&std::fs::read(home.path().join("rest.ndjson")).expect("rest"));
    // For k, both lines in input order: the failed v1 (which the bad v2 must not push out,
    // or v1 would be lost) and the bad v2; none for j, whose good line was written.
    let shown: Vec<(&str, &str)> = rest
        .iter()
        .map(|l| {
            (
                l["key"].as_str().unwrap_or(""),
                l["origin"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(shown, [("k", "line 1"), ("k", "line 2")], "{rest:?}");
    assert_eq!(rest[0]["value"], "v1");
    let summary: Value = serde_json::from_str(stdout.trim()).expect("JSON");
    assert_eq!(
        (summary["failed"].as_u64(), summary["superseded"].as_u64()),
        (Some(3), Some(1)),
        "{summary}"
    );
}

#[test]
fn an_absolute_expiry_that_passed_before_the_retry_deletes_the_key() {
    let kv = Kv::start();
    let id = kv.namespace("expired");
    kv.ok(&["storage", "kv", "put", &id, "k", "older"]);
    let past = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        - 5;
    let line = json!({"key": "k", "value": "v", "expiration": past, "origin": "line 1", "error": "Unexpected error (HTTP 500)"});
    std::fs::write(kv.path().join("rest.ndjson"), format!("{line}\n")).expect("write");
    let output = kv.run(&[
        "storage",
        "kv",
        "bulk",
        "put",
        &id,
        "rest.ndjson",
        "--failed-file",
        "rest.ndjson",
    ]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    // A run without faults would have written it and seen it expire: the key is gone.
    assert_eq!(
        kv.run(&["storage", "kv", "get", &id, "k"]).status.code(),
        Some(3)
    );
    assert_eq!(
        std::fs::read(kv.path().join("rest.ndjson")).expect("rest"),
        b""
    );
}

#[test]
fn an_array_then_ndjson_lines_on_stdin_are_all_written_and_empty_stdin_is_an_error() {
    let kv = Kv::start();
    let id = kv.namespace("mixed");
    let mixed = format!(
        "{}\n{}\n{}\n",
        json!([{"key": "a", "value": "1"}]),
        json!({"key": "b", "value": "2"}),
        json!({"key": "c", "value": "3"})
    );
    let pipe = |input: &str| {
        let output = kv
            .cmd()
            .args(["storage", "kv", "import", &id])
            .write_stdin(input.to_owned())
            .output()
            .expect("runs");
        let (code, _, stderr) = outcome(&output);
        (code, stderr)
    };
    let (code, stderr) = pipe(&mixed);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        kv.ok(&["-o", "ids", "storage", "kv", "key", "list", &id]),
        b"a\nb\nc\n"
    );
    // `export A | import B` where export failed: not a silent success, and nothing to feed
    // back.
    let (code, stderr) = pipe("");
    assert_eq!(code, Some(1), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: the input is empty; expected NDJSON lines or a JSON array
    hint: Nothing was written. An empty pipe usually means the command feeding it failed (`set -o pipefail` makes the shell say so).
    ");
}

#[cfg(unix)]
#[test]
fn sigterm_ends_a_run_whose_input_keeps_trickling_in() {
    use std::io::Write as _;
    let kv = Kv::start();
    let id = kv.namespace("trickle");
    let mut child = kv
        .std_cmd()
        .args([
            "storage",
            "kv",
            "bulk",
            "put",
            &id,
            "-",
            "--failed-file",
            "rest.ndjson",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let feeder = std::thread::spawn(move || {
        // One line a second until the pipe closes (the process is gone) or 40 s pass.
        for i in 0..40 {
            let line = format!("{}\n", json!({"key": format!("k{i}"), "value": "v"}));
            if stdin.write_all(line.as_bytes()).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(1000));
        }
    });
    std::thread::sleep(Duration::from_millis(1500));
    let start = std::time::Instant::now();
    let (code, stderr) = crate::support::cli::interrupt(child);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    // How much of the trickle was read when the signal came varies: only the line that must be
    // there is checked.
    assert!(stderr.contains("was not read to its end"), "{stderr}");
    let _ = feeder.join();
}
