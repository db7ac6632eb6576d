//! Bad input (exit 2, no request sent) and failures of the service, including the ones only
//! the fault server can produce.

use std::io::Read as _;
use std::process::Stdio;
use std::time::Duration;

use crate::support::api::TOKEN;
use crate::support::cli::{Kv, against, outcome};
use crate::support::fault::{Fault, FaultServer};
use crate::support::output::shown;

const NS: &str = "550e8400-e29b-41d4-a716-446655440000";

#[test]
fn bad_input_exits_2_before_any_request() {
    let server = FaultServer::start(vec![Fault::status(500, "")]);
    let home = tempfile::tempdir().expect("tempdir");
    // (A value argument cannot be that large: the OS limits one argument to 128 KiB.)
    let big = "x".repeat(1024 * 1024 + 1);
    std::fs::write(home.path().join("big.bin"), &big).expect("write");
    let long_name = "a".repeat(256);
    let long_key = "k".repeat(257);
    let cases: Vec<Vec<&str>> = vec![
        vec!["storage", "kv", "create", "--name", "My-Cache"],
        vec!["storage", "kv", "create", "--name", "my_cache"],
        vec!["storage", "kv", "create", "--name", "my cache"],
        vec!["storage", "kv", "create", "--name", ""],
        vec!["storage", "kv", "create", "--name", &long_name],
        vec!["storage", "kv", "key", "get", NS, "a:b"],
        vec!["storage", "kv", "key", "get", NS, "a b"],
        vec!["storage", "kv", "key", "get", NS, "ключ"],
        vec!["storage", "kv", "key", "put", NS, "_hidden", "v"],
        vec!["storage", "kv", "key", "put", NS, &long_key, "v"],
        vec!["storage", "kv", "key", "delete", NS, ""],
        vec!["storage", "kv", "put", NS, "k", "--path", "big.bin"],
        vec!["storage", "kv", "put", NS, "k", "--path", "missing.bin"],
        vec!["storage", "kv", "put", NS, "k", "v", "--ttl", "0"],
        vec!["storage", "kv", "put", NS, "k", "v", "--ttl", "-5"],
        vec!["storage", "kv", "put", NS, "k", "v", "--ttl", "1.5s"],
        vec!["storage", "kv", "put", NS, "k", "v", "--ttl", "abc"],
        vec![
            "storage",
            "kv",
            "put",
            NS,
            "k",
            "v",
            "--content-type",
            "a\u{7f}b",
        ],
        vec!["storage", "kv", "key", "list", NS, "--limit", "0"],
        vec!["storage", "kv", "key", "list", NS, "--limit", "1001"],
        vec!["storage", "kv", "list", "--page", "0"],
        vec!["storage", "kv", "list", "--page-size", "251"],
        vec!["--output", "yaml", "storage", "kv", "list"],
        vec!["--timeout", "soon", "storage", "kv", "list"],
        vec!["--timeout", "0", "storage", "kv", "list"],
        vec!["storage", "kv", "key", "get", NS, "."],
        vec!["storage", "kv", "key", "put", NS, "..", "v"],
        vec!["storage", "kv", "key", "delete", NS, ".."],
        vec!["storage", "kv", "get", NS, ".."],
        vec!["storage", "kv", "put", NS, ".", "v"],
        vec!["storage", "kv", "delete", NS, "."],
        vec!["storage", "kv", "bulk", "get", NS, "a", ".."],
    ];
    let mut transcript = String::new();
    for args in cases {
        let output = against(&server, home.path())
            .args(&args)
            .output()
            .expect("runs");
        let (code, stdout, stderr) = outcome(&output);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert_eq!(stdout, "", "{args:?}");
        let shown_args: Vec<String> = args
            .iter()
            .map(|arg| arg.escape_debug().to_string())
            .collect();
        transcript.push_str(&format!("$ {}\n{stderr}", shown_args.join(" ")));
    }
    let transcript = transcript
        .replace(&long_name, "[256 times a]")
        .replace(&long_key, "[257 times k]");
    insta::assert_snapshot!(shown(&transcript), @r"
    $ storage kv create --name My-Cache
    error: invalid value 'My-Cache' for '--name <NAME>': namespace name `My-Cache` has characters that are not allowed; use lowercase letters a-z, digits and `-`

    For more information, try '--help'.
    $ storage kv create --name my_cache
    error: invalid value 'my_cache' for '--name <NAME>': namespace name `my_cache` has characters that are not allowed; use lowercase letters a-z, digits and `-`

    For more information, try '--help'.
    $ storage kv create --name my cache
    error: invalid value 'my cache' for '--name <NAME>': namespace name `my cache` has characters that are not allowed; use lowercase letters a-z, digits and `-`

    For more information, try '--help'.
    $ storage kv create --name 
    error: invalid value '' for '--name <NAME>': namespace name must not be empty

    For more information, try '--help'.
    $ storage kv create --name [256 times a]
    error: invalid value '[256 times a]' for '--name <NAME>': namespace name is 256 characters long; at most 255 are allowed

    For more information, try '--help'.
    $ storage kv key get 00000000-0000-0000-0000-000000000000 a:b
    error: invalid value 'a:b' for '<KEY>': key `a:b` has characters that are not allowed; use letters, digits and `-` `_` `/` `=` `.`

    For more information, try '--help'.
    $ storage kv key get 00000000-0000-0000-0000-000000000000 a b
    error: invalid value 'a b' for '<KEY>': key `a b` has characters that are not allowed; use letters, digits and `-` `_` `/` `=` `.`

    For more information, try '--help'.
    $ storage kv key get 00000000-0000-0000-0000-000000000000 ключ
    error: invalid value 'ключ' for '<KEY>': key `ключ` has characters that are not allowed; use letters, digits and `-` `_` `/` `=` `.`

    For more information, try '--help'.
    $ storage kv key put 00000000-0000-0000-0000-000000000000 _hidden v
    error: invalid value '_hidden' for '<KEY>': key `_hidden` starts with `_`; names starting with `_` are reserved

    For more information, try '--help'.
    $ storage kv key put 00000000-0000-0000-0000-000000000000 [257 times k] v
    error: invalid value '[257 times k]' for '<KEY>': key is 257 characters long; at most 256 are allowed

    For more information, try '--help'.
    $ storage kv key delete 00000000-0000-0000-0000-000000000000 
    error: invalid value '' for '<KEY>': key must not be empty

    For more information, try '--help'.
    $ storage kv put 00000000-0000-0000-0000-000000000000 k --path big.bin
    error: the value is more than 1048576 bytes; at most 1048576 bytes (1 MiB) are allowed
    $ storage kv put 00000000-0000-0000-0000-000000000000 k --path missing.bin
    error: cannot read `missing.bin`: No such file or directory (os error 2)
    $ storage kv put 00000000-0000-0000-0000-000000000000 k v --ttl 0
    error: invalid value '0' for '--ttl <DUR>': `0` is not a valid TTL; use whole seconds from 1 to 9223372036, such as `30s`, `5m`, `1h30m` or `90`

    For more information, try '--help'.
    $ storage kv put 00000000-0000-0000-0000-000000000000 k v --ttl -5
    error: invalid value '-5' for '--ttl <DUR>': `-5` is not a valid TTL; use whole seconds from 1 to 9223372036, such as `30s`, `5m`, `1h30m` or `90`

    For more information, try '--help'.
    $ storage kv put 00000000-0000-0000-0000-000000000000 k v --ttl 1.5s
    error: invalid value '1.5s' for '--ttl <DUR>': `1.5s` is not a valid TTL; use whole seconds from 1 to 9223372036, such as `30s`, `5m`, `1h30m` or `90`

    For more information, try '--help'.
    $ storage kv put 00000000-0000-0000-0000-000000000000 k v --ttl abc
    error: invalid value 'abc' for '--ttl <DUR>': `abc` is not a valid TTL; use whole seconds from 1 to 9223372036, such as `30s`, `5m`, `1h30m` or `90`

    For more information, try '--help'.
    $ storage kv put 00000000-0000-0000-0000-000000000000 k v --content-type a\u{7f}b
    error: `a\u{7f}b` is not a valid Content-Type
    hint: Use a media type such as `text/plain; charset=utf-8`.
    $ storage kv key list 00000000-0000-0000-0000-000000000000 --limit 0
    error: invalid value '0' for '--limit <N>': 0 is not in 1..=1000

    For more information, try '--help'.
    $ storage kv key list 00000000-0000-0000-0000-000000000000 --limit 1001
    error: invalid value '1001' for '--limit <N>': 1001 is not in 1..=1000

    For more information, try '--help'.
    $ storage kv list --page 0
    error: invalid value '0' for '--page <N>': 0 is not in 1..18446744073709551615

    For more information, try '--help'.
    $ storage kv list --page-size 251
    error: invalid value '251' for '--page-size <N>': 251 is not in 1..=250

    For more information, try '--help'.
    $ --output yaml storage kv list
    error: invalid value 'yaml' for '--output <OUTPUT>'
      [possible values: table, json, ndjson, ids]

    For more information, try '--help'.
    $ --timeout soon storage kv list
    error: invalid value 'soon' for '--timeout <DUR>': `soon` is not a duration; use whole seconds or units such as `500ms`, `30s`, `5m`, `1h30m`

    For more information, try '--help'.
    $ --timeout 0 storage kv list
    error: invalid value '0' for '--timeout <DUR>': `0` is no time at all; give a duration longer than zero, such as `30s`

    For more information, try '--help'.
    $ storage kv key get 00000000-0000-0000-0000-000000000000 .
    error: invalid value '.' for '<KEY>': key `.` cannot be sent: `.` and `..` are path segments that HTTP clients and proxies rewrite (the official SDKs refuse them too); use another name

    For more information, try '--help'.
    $ storage kv key put 00000000-0000-0000-0000-000000000000 .. v
    error: invalid value '..' for '<KEY>': key `..` cannot be sent: `.` and `..` are path segments that HTTP clients and proxies rewrite (the official SDKs refuse them too); use another name

    For more information, try '--help'.
    $ storage kv key delete 00000000-0000-0000-0000-000000000000 ..
    error: invalid value '..' for '<KEY>': key `..` cannot be sent: `.` and `..` are path segments that HTTP clients and proxies rewrite (the official SDKs refuse them too); use another name

    For more information, try '--help'.
    $ storage kv get 00000000-0000-0000-0000-000000000000 ..
    error: invalid value '..' for '[KEY]': key `..` cannot be sent: `.` and `..` are path segments that HTTP clients and proxies rewrite (the official SDKs refuse them too); use another name

    For more information, try '--help'.
    $ storage kv put 00000000-0000-0000-0000-000000000000 . v
    error: invalid value '.' for '<KEY>': key `.` cannot be sent: `.` and `..` are path segments that HTTP clients and proxies rewrite (the official SDKs refuse them too); use another name

    For more information, try '--help'.
    $ storage kv delete 00000000-0000-0000-0000-000000000000 .
    error: invalid value '.' for '[KEY]': key `.` cannot be sent: `.` and `..` are path segments that HTTP clients and proxies rewrite (the official SDKs refuse them too); use another name

    For more information, try '--help'.
    $ storage kv bulk get 00000000-0000-0000-0000-000000000000 a ..
    error: invalid value '..' for '[KEYS]...': key `..` cannot be sent: `.` and `..` are path segments that HTTP clients and proxies rewrite (the official SDKs refuse them too); use another name

    For more information, try '--help'.
    ");
    // Over stdin too.
    let output = against(&server, home.path())
        .args(["storage", "kv", "put", NS, "k", "--path", "-"])
        .write_stdin(big.clone())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        server.received().is_empty(),
        "requests were sent: {:?}",
        server.received()
    );
}

#[test]
fn dot_segment_keys_in_bulk_work_are_failed_items_never_requests() {
    let listed = r#"{"record_type":"storage_kv_key","data":[{"key":".","size_bytes":1,"updated_at":"2026-01-01T00:00:00Z"},{"key":"..","size_bytes":1,"updated_at":"2026-01-01T00:00:00Z"}],"meta":{"has_more":false}}"#;
    let server = FaultServer::start(vec![Fault::json(200, listed), Fault::status(500, "")]);
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        home.path().join("in.ndjson"),
        "{\"key\":\".\",\"value\":\"a\"}\n{\"key\":\"..\",\"value\":\"b\"}\n",
    )
    .expect("write");
    std::fs::write(home.path().join("keys.txt"), ".\n..\n").expect("write");
    let cases: [&[&str]; 3] = [
        &["bulk", "put", NS, "in.ndjson"],
        &["bulk", "get", NS, "--from-file", "keys.txt"],
        &["export", NS],
    ];
    let mut transcript = String::new();
    for args in cases {
        let output = against(&server, home.path())
            .args(["storage", "kv"])
            .args(args)
            .arg("--continue-on-error")
            .output()
            .expect("runs");
        let (code, stdout, stderr) = outcome(&output);
        assert_eq!((code, stdout.as_str()), (Some(1), ""), "{args:?}: {stderr}");
        transcript.push_str(&format!("$ {}\n{stderr}", args.join(" ")));
    }
    insta::assert_snapshot!(shown(&transcript), @"
    $ bulk put 00000000-0000-0000-0000-000000000000 in.ndjson
    warning: line 1: key `.` cannot be sent: `.` and `..` are path segments that HTTP clients and proxies rewrite (the official SDKs refuse them too); use another name
    warning: line 2: key `..` cannot be sent: `.` and `..` are path segments that HTTP clients and proxies rewrite (the official SDKs refuse them too); use another name
    Wrote 0 keys in [SECS] ([RATE]/s); 2 failed, 0 skipped
    error: 2 items failed and 0 were skipped
    hint: 2 items were not written; pass `--failed-file FILE` to keep them and feed FILE back to resume.
    $ bulk get 00000000-0000-0000-0000-000000000000 --from-file keys.txt
    warning: line 1: key `.` cannot be sent: `.` and `..` are path segments that HTTP clients and proxies rewrite (the official SDKs refuse them too); use another name
    warning: line 2: key `..` cannot be sent: `.` and `..` are path segments that HTTP clients and proxies rewrite (the official SDKs refuse them too); use another name
    Read 0 keys in [SECS] ([RATE]/s); 2 failed, 0 skipped
    error: 2 items failed and 0 were skipped
    hint: 2 items were not read; pass `--failed-file FILE` to keep them and feed FILE back to resume.
    $ export 00000000-0000-0000-0000-000000000000
    warning: listed: key `.` cannot be sent: `.` and `..` are path segments that HTTP clients and proxies rewrite (the official SDKs refuse them too); use another name
    warning: listed: key `..` cannot be sent: `.` and `..` are path segments that HTTP clients and proxies rewrite (the official SDKs refuse them too); use another name
    Read 0 keys in [SECS] ([RATE]/s); 2 failed, 0 skipped
    error: 2 items failed and 0 were skipped
    hint: 2 items were not read; pass `--failed-file FILE` to keep them and feed FILE back to resume.
    ");
    let received: Vec<String> = server
        .received()
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    assert_eq!(
        received,
        [format!("GET /v2/storage/kvs/{NS}/keys?limit=1000")]
    );
}

#[test]
fn rate_limits_and_unavailability_are_retried_honouring_retry_after() {
    let server = FaultServer::start(vec![
        Fault::Respond(
            429,
            vec![("retry-after", "0".into())],
            "{\"errors\":[{\"code\":\"10011\",\"title\":\"Too many requests\"}]}".into(),
        ),
        Fault::Respond(503, vec![("x-ratelimit-reset", "0".into())], String::new()),
        Fault::Reset,
        Fault::Respond(
            200,
            vec![("content-type", "text/plain".into())],
            "finally".into(),
        ),
    ]);
    let home = tempfile::tempdir().expect("tempdir");
    let output = against(&server, home.path())
        .args(["storage", "kv", "key", "get", NS, "k"])
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "finally");
    assert_eq!(server.received().len(), 4);
    let retries: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("Retrying GET in "))
        .collect();
    assert_eq!(retries.len(), 3, "{stderr}");
    // The wait the service asked for, which the shared filters hide.
    assert!(
        retries[0] == "Retrying GET in 0.0s after: Too many requests (HTTP 429) (retry 1 of 4)",
        "{stderr}"
    );
    insta::assert_snapshot!(shown(&stderr), @"
    Retrying GET in [SECS] after: Too many requests (HTTP 429) (retry 1 of 4)
    Retrying GET in [SECS] after: HTTP 503 Service Unavailable (retry 2 of 4)
    Retrying GET in [SECS] after: the connection to http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys/k failed: connection closed before message completed (retry 3 of 4)
    ");
}

#[test]
fn persistent_503s_exit_6_after_the_retries() {
    let server = FaultServer::start(vec![Fault::Respond(
        503,
        vec![("retry-after", "0".into())],
        String::new(),
    )]);
    let home = tempfile::tempdir().expect("tempdir");
    let output = against(&server, home.path())
        .args(["--retries", "2", "storage", "kv", "key", "get", NS, "k"])
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(6), ""));
    assert_eq!(server.received().len(), 3);
    insta::assert_snapshot!(shown(&stderr), @"
    Retrying GET in [SECS] after: HTTP 503 Service Unavailable (retry 1 of 2)
    Retrying GET in [SECS] after: HTTP 503 Service Unavailable (retry 2 of 2)
    error: failed to get key `k` from KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: HTTP 503 Service Unavailable
      Request id: req-503 (quote it to Telnyx support)
    hint: The service is having trouble; try again later.
    ");
}

#[test]
fn a_hang_past_the_timeout_exits_6() {
    let server = FaultServer::start(vec![Fault::Hang]);
    let home = tempfile::tempdir().expect("tempdir");
    let output = against(&server, home.path())
        .args([
            "--timeout",
            "1s",
            "--retries",
            "0",
            "storage",
            "kv",
            "get",
            NS,
        ])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(6));
    insta::assert_snapshot!(shown(&stderr), @"
    error: failed to get KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: no complete response from http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000 within 1s (see `--timeout`)
    hint: Try again, or allow more time with `--timeout`.
    ");
}

#[test]
fn a_reset_connection_exits_6() {
    let server = FaultServer::start(vec![Fault::Reset]);
    let home = tempfile::tempdir().expect("tempdir");
    let output = against(&server, home.path())
        .args(["--retries", "1", "storage", "kv", "get", NS])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(6));
    insta::assert_snapshot!(shown(&stderr), @"
    Retrying GET in [SECS] after: the connection to http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000 failed: connection closed before message completed (retry 1 of 1)
    error: failed to get KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: the connection to http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000 failed: connection closed before message completed
    ");
    assert_eq!(server.received().len(), 2);
}

#[test]
fn malformed_or_empty_bodies_exit_1_with_a_readable_message() {
    let mut transcript = String::new();
    for body in ["{\"data\": [", "", "{\"data\": 5}"] {
        let server = FaultServer::start(vec![Fault::json(200, body)]);
        let home = tempfile::tempdir().expect("tempdir");
        let output = against(&server, home.path())
            .args(["storage", "kv", "get", NS])
            .output()
            .expect("runs");
        let (code, _, stderr) = outcome(&output);
        assert_eq!(code, Some(1), "{body}: {stderr}");
        transcript.push_str(&format!("$ (answered {body:?})\n{stderr}"));
    }
    insta::assert_snapshot!(shown(&transcript), @r#"
    $ (answered "{\"data\": [")
    error: failed to get KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: the response from http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000 is not what the API sends: invalid JSON (EOF while parsing a list at line 1 column 10)
      Request id: req-200 (quote it to Telnyx support)
    $ (answered "")
    error: failed to get KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: the response from http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000 is not what the API sends: the body is empty
      Request id: req-200 (quote it to Telnyx support)
    $ (answered "{\"data\": 5}")
    error: failed to get KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: the response from http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000 is not what the API sends: invalid JSON (invalid type: integer `5`, expected struct Namespace at line 1 column 10)
      Request id: req-200 (quote it to Telnyx support)
    "#);
}

#[test]
fn server_side_4xx_map_to_their_exit_codes() {
    let mut transcript = String::new();
    for (status, code) in [
        (401, 4),
        (403, 4),
        (404, 3),
        (409, 5),
        (413, 1),
        (422, 1),
        (400, 1),
    ] {
        let body = format!(
            "{{\"errors\":[{{\"code\":\"1\",\"title\":\"T\",\"detail\":\"detail {status}\"}}]}}"
        );
        let server = FaultServer::start(vec![Fault::json(status, &body)]);
        let home = tempfile::tempdir().expect("tempdir");
        let output = against(&server, home.path())
            .args(["storage", "kv", "put", NS, "k", "v"])
            .output()
            .expect("runs");
        let (got, _, stderr) = outcome(&output);
        assert_eq!(got, Some(code), "{status}: {stderr}");
        transcript.push_str(&format!("$ (answered {status})\n{stderr}"));
        assert_eq!(server.received().len(), 1, "{status} is not retried");
    }
    insta::assert_snapshot!(shown(&transcript), @"
    $ (answered 401)
    error: failed to put key `k` in KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: detail 401 (HTTP 401)
      Request id: req-401 (quote it to Telnyx support)
    hint: Check the key with `telnyx-edge auth status`; set one with `telnyx-edge auth api-key set` or TELNYX_API_KEY.
    $ (answered 403)
    error: failed to put key `k` in KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: detail 403 (HTTP 403)
      Request id: req-403 (quote it to Telnyx support)
    hint: Check the key with `telnyx-edge auth status`; set one with `telnyx-edge auth api-key set` or TELNYX_API_KEY.
    $ (answered 404)
    error: failed to put key `k` in KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: detail 404 (HTTP 404)
      Request id: req-404 (quote it to Telnyx support)
    $ (answered 409)
    error: failed to put key `k` in KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: detail 409 (HTTP 409)
      Request id: req-409 (quote it to Telnyx support)
    $ (answered 413)
    error: failed to put key `k` in KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: detail 413 (HTTP 413)
      Request id: req-413 (quote it to Telnyx support)
    $ (answered 422)
    error: failed to put key `k` in KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: detail 422 (HTTP 422)
      Request id: req-422 (quote it to Telnyx support)
    $ (answered 400)
    error: failed to put key `k` in KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: detail 400 (HTTP 400)
      Request id: req-400 (quote it to Telnyx support)
    ");
}

#[test]
fn create_is_not_retried_after_an_ambiguous_failure_but_looks_the_name_up() {
    let found = format!(
        "{{\"data\":[{{\"record_type\":\"storage_kv\",\"id\":\"{NS}\",\"name\":\"maybe\",\"status\":\"provision_ok\",\"created_at\":\"2026-01-01T00:00:00Z\",\"updated_at\":\"2026-01-01T00:00:00Z\"}}],\"meta\":{{\"page_number\":1,\"page_size\":250,\"total_pages\":1,\"total_results\":1}}}}"
    );
    let server = FaultServer::start(vec![Fault::status(503, ""), Fault::json(200, &found)]);
    let home = tempfile::tempdir().expect("tempdir");
    let output = against(&server, home.path())
        .args(["-o", "ids", "storage", "kv", "create", "--name", "maybe"])
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, format!("{NS}\n"));
    let methods: Vec<String> = server.received().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["POST", "GET"]);

    let server = FaultServer::start(vec![
        Fault::status(503, ""),
        Fault::json(
            200,
            "{\"data\":[],\"meta\":{\"page_number\":1,\"page_size\":250,\"total_pages\":0,\"total_results\":0}}",
        ),
    ]);
    let output = against(&server, home.path())
        .args(["storage", "kv", "create", "--name", "maybe"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(6));
    let methods: Vec<String> = server.received().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["POST", "GET"], "the POST was not repeated");
}

#[test]
fn requests_carry_the_user_agent_and_a_redacted_free_bearer() {
    let server = FaultServer::start(vec![Fault::json(
        200,
        "{\"data\":[],\"meta\":{\"page_number\":1,\"page_size\":250,\"total_pages\":0,\"total_results\":0}}",
    )]);
    let home = tempfile::tempdir().expect("tempdir");
    let output = against(&server, home.path())
        .args(["storage", "kv", "list"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let request = &server.received()[0];
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header("authorization"), Some(format!("Bearer {TOKEN}")));
    assert_eq!(
        header("user-agent"),
        Some(format!("telnyx-edge/{}", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(
        request.target,
        "/v2/storage/kvs?page[number]=1&page[size]=250"
    );
}

#[test]
fn a_closed_stdout_ends_quietly_with_exit_0() {
    let kv = Kv::start();
    let id = kv.namespace("piped");
    let big: Vec<u8> = vec![b'x'; 1024 * 1024];
    std::fs::write(kv.path().join("big"), &big).expect("write");
    kv.ok(&["storage", "kv", "put", &id, "big", "--path", "big"]);
    let mut child = crate::support::cli::scrubbed(&kv.path())
        .env("TELNYX_BASE_URL", kv.api.base_url())
        .env("TELNYX_API_KEY", TOKEN)
        .args(["storage", "kv", "get", &id, "big"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 10];
    stdout.read_exact(&mut first).expect("reads");
    drop(stdout);
    let output = child.wait_with_output().expect("exits");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    let _ = Duration::ZERO;
}

#[test]
fn every_answer_the_official_sdks_retry_is_retried_and_final_ones_are_not() {
    let home = tempfile::tempdir().expect("tempdir");
    let value = || {
        Fault::Respond(
            200,
            vec![("content-type", "text/plain".into())],
            "value".into(),
        )
    };
    let not_ready = |status: &str| {
        format!(
            r#"{{"errors":[{{"code":"10015","title":"Conflict","detail":"Namespace is not ready (status: {status})"}}]}}"#
        )
    };
    let retried = [
        Fault::json(
            500,
            r#"{"errors":[{"code":"10007","title":"Unexpected error"}]}"#,
        ),
        Fault::status(408, ""),
        Fault::json(409, &not_ready("pending")),
        Fault::status(502, ""),
        Fault::Reset,
    ];
    for fault in retried {
        let shown = format!("{fault:?}");
        let server = FaultServer::start(vec![fault, value()]);
        let output = against(&server, home.path())
            .args(["storage", "kv", "get", NS, "k"])
            .output()
            .expect("runs");
        let (code, stdout, stderr) = outcome(&output);
        assert_eq!(
            (code, stdout.as_str()),
            (Some(0), "value"),
            "{shown}: {stderr}"
        );
        assert_eq!(server.received().len(), 2, "{shown}: retried once");
    }
    for (fault, exit) in [
        (Fault::json(409, &not_ready("deleting")), 5),
        (Fault::status(400, ""), 1),
    ] {
        let shown = format!("{fault:?}");
        let server = FaultServer::start(vec![fault, value()]);
        let output = against(&server, home.path())
            .args(["storage", "kv", "get", NS, "k"])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(exit), "{shown}");
        assert_eq!(server.received().len(), 1, "{shown}: not retried");
    }
}

#[test]
fn a_cursor_sent_twice_ends_every_listing_with_exit_1_and_keeps_what_was_read() {
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        home.path().join("func.toml"),
        format!("[storage.kv.CACHE]\nid = \"{NS}\"\n"),
    )
    .expect("write");
    let page = r#"{"record_type":"storage_kv_key","data":[{"key":"a","size_bytes":1,"updated_at":"2026-01-01T00:00:00Z"}],"meta":{"has_more":true,"cursor":"c1"}}"#;
    let again = r#"{"record_type":"storage_kv_key","data":[{"key":"b","size_bytes":1,"updated_at":"2026-01-01T00:00:00Z"}],"meta":{"has_more":true,"cursor":"c1"}}"#;
    let cases: [&[&str]; 6] = [
        &["export", NS, "--output-file", "backup.ndjson"],
        &["bulk", "get", NS, "--all"],
        &["key", "list", NS],
        &["pull", "CACHE", "--dry-run"],
        &["diff", "remote:CACHE", "local:CACHE"],
        &["--yes", "bulk", "delete", NS, "--all"],
    ];
    let mut transcript = String::new();
    for args in cases {
        let server = FaultServer::answering(move |request| {
            if request.target.ends_with(NS) {
                return Fault::json(
                    200,
                    &format!(
                        r#"{{"data":{{"record_type":"storage_kv","id":"{NS}","name":"cache","status":"provision_ok","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}}}}"#
                    ),
                );
            }
            if request.target.contains("/keys?") {
                if request.target.contains("cursor=c1") {
                    return Fault::json(200, again);
                }
                return Fault::json(200, page);
            }
            Fault::Respond(
                200,
                vec![("content-type", "text/plain".into())],
                "value".into(),
            )
        });
        let mut command = against(&server, home.path());
        command.args(["storage", "kv"]).args(args);
        command.timeout(Duration::from_secs(20));
        let output = command.output().expect("runs");
        let (code, _, stderr) = outcome(&output);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        transcript.push_str(&format!("$ {}\n{stderr}", args.join(" ")));
        let listings = server
            .received()
            .iter()
            .filter(|r| r.target.contains("/keys?"))
            .count();
        assert!(listings <= 3, "{args:?}: {listings} listing requests");
    }
    insta::assert_snapshot!(shown(&transcript), @"
    $ export 00000000-0000-0000-0000-000000000000 --output-file backup.ndjson
    warning: key list: the key listing of http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys cannot be followed to its end: the service sent the cursor `c1` a second time
    warning: `backup.ndjson` was left as it was; the 2 keys read are in `backup.ndjson.partial`
    Read 2 keys in [SECS] ([RATE]/s); 1 failed, 0 skipped
    error: 1 item failed and 0 were skipped
    hint: 1 item was not read; pass `--failed-file FILE` to keep them and feed FILE back to resume.
    $ bulk get 00000000-0000-0000-0000-000000000000 --all
    warning: key list: the key listing of http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys cannot be followed to its end: the service sent the cursor `c1` a second time
    Read 2 keys in [SECS] ([RATE]/s); 1 failed, 0 skipped
    error: 1 item failed and 0 were skipped
    hint: 1 item was not read; pass `--failed-file FILE` to keep them and feed FILE back to resume.
    $ key list 00000000-0000-0000-0000-000000000000
    error: failed to list keys of KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: the key listing of http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys cannot be followed to its end: the service sent the cursor `c1` a second time
    hint: The keys listed before it were dealt with, but not the rest. Run the command again, and report it to Telnyx if it persists.
    $ pull CACHE --dry-run
    error: failed to list the keys of KV namespace `CACHE`
      Caused by: the key listing of http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys cannot be followed to its end: the service sent the cursor `c1` a second time
    hint: The keys listed before it were dealt with, but not the rest. Run the command again, and report it to Telnyx if it persists.
    $ diff remote:CACHE local:CACHE
    error: failed to list the keys of KV namespace `CACHE`
      Caused by: the key listing of http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys cannot be followed to its end: the service sent the cursor `c1` a second time
    hint: The keys listed before it were dealt with, but not the rest. Run the command again, and report it to Telnyx if it persists.
    $ --yes bulk delete 00000000-0000-0000-0000-000000000000 --all
    error: key list: the key listing of http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys cannot be followed to its end: the service sent the cursor `c1` a second time
    ");
    // What export read before the listing failed is kept apart, never as the backup.
    assert!(!home.path().join("backup.ndjson").exists());
    let partial = std::fs::read_to_string(home.path().join("backup.ndjson.partial"))
        .expect("the partial file");
    assert_eq!(
        partial,
        "{\"key\":\"a\",\"value\":\"value\",\"base64\":false,\"content_type\":\"text/plain\"}\n{\"key\":\"b\",\"value\":\"value\",\"base64\":false,\"content_type\":\"text/plain\"}\n"
    );
}

#[test]
fn a_listing_that_repeats_a_page_under_fresh_cursors_or_lacks_a_cursor_ends_too() {
    let home = tempfile::tempdir().expect("tempdir");
    let counter = std::sync::atomic::AtomicU64::new(0);
    let server = FaultServer::answering(move |_| {
        // Every page names a new cursor, and every page starts over at `a`.
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Fault::json(
            200,
            &format!(
                r#"{{"record_type":"storage_kv_key","data":[{{"key":"a","size_bytes":1,"updated_at":"2026-01-01T00:00:00Z"}}],"meta":{{"has_more":true,"cursor":"c{n}"}}}}"#
            ),
        )
    });
    let mut command = against(&server, home.path());
    command.args(["-o", "ids", "storage", "kv", "key", "list", NS]);
    command.timeout(Duration::from_secs(20));
    let output = command.output().expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stdout, "a\n");
    insta::assert_snapshot!(shown(&stderr), @"
    error: failed to list keys of KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: the key listing of http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys cannot be followed to its end: the service sent a page it had sent before (from `a` to `a`)
    hint: The keys listed before it were dealt with, but not the rest. Run the command again, and report it to Telnyx if it persists.
    ");
    assert_eq!(server.received().len(), 2);

    // More keys, says the page, but no cursor to them: not a complete listing.
    let server = FaultServer::start(vec![Fault::json(
        200,
        r#"{"record_type":"storage_kv_key","data":[{"key":"a","size_bytes":1,"updated_at":"2026-01-01T00:00:00Z"}],"meta":{"has_more":true}}"#,
    )]);
    let mut transcript = String::new();
    for args in [
        &["-o", "ids", "storage", "kv", "key", "list", NS][..],
        &[
            "-o", "ids", "storage", "kv", "key", "list", NS, "--limit", "1",
        ][..],
        &["--yes", "storage", "kv", "bulk", "delete", NS, "--all"][..],
    ] {
        let output = against(&server, home.path())
            .args(args)
            .output()
            .expect("runs");
        let (code, _, stderr) = outcome(&output);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        transcript.push_str(&format!("$ {}\n{stderr}", args.join(" ")));
    }
    insta::assert_snapshot!(shown(&transcript), @"
    $ -o ids storage kv key list 00000000-0000-0000-0000-000000000000
    error: failed to list keys of KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: the key listing of http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys cannot be followed to its end: a page says more keys follow but gives no cursor to them
    hint: The keys listed before it were dealt with, but not the rest. Run the command again, and report it to Telnyx if it persists.
    $ -o ids storage kv key list 00000000-0000-0000-0000-000000000000 --limit 1
    error: failed to list keys of KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: the key listing of http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys cannot be followed to its end: a page says more keys follow but gives no cursor to them
    hint: The keys listed before it were dealt with, but not the rest. Run the command again, and report it to Telnyx if it persists.
    $ --yes storage kv bulk delete 00000000-0000-0000-0000-000000000000 --all
    error: key list: the key listing of http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys cannot be followed to its end: a page says more keys follow but gives no cursor to them
    ");
    assert!(
        server.received().iter().all(|r| r.method == "GET"),
        "nothing was deleted on an unfinished listing"
    );
}

#[test]
fn a_namespace_delete_whose_answer_was_lost_is_found_deleting_not_failed() {
    let home = tempfile::tempdir().expect("tempdir");
    let deletes = std::sync::atomic::AtomicU64::new(0);
    let server = FaultServer::answering(move |request| {
        let namespace = |status: &str| {
            Fault::json(
                200,
                &format!(
                    r#"{{"data":{{"record_type":"storage_kv","id":"{NS}","name":"gone","status":"{status}","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}}}}"#
                ),
            )
        };
        let seen = deletes.load(std::sync::atomic::Ordering::SeqCst);
        match request.method.as_str() {
            "DELETE" => {
                deletes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if seen == 0 {
                    // Applied, but the answer is lost.
                    return Fault::Reset;
                }
                Fault::json(
                    409,
                    r#"{"errors":[{"code":"10015","title":"Conflict","detail":"KV namespace is already being deleted (status: deleting)"}]}"#,
                )
            }
            _ if request.target.contains("/keys") => Fault::json(
                200,
                r#"{"record_type":"storage_kv_key","data":[],"meta":{"has_more":false}}"#,
            ),
            _ if seen > 0 => namespace("deleting"),
            _ => namespace("provision_ok"),
        }
    });
    let output = against(&server, home.path())
        .args(["--json", "--yes", "storage", "kv", "delete", NS])
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    let deleted: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(deleted["status"], "deleting", "{stdout}");
}

#[test]
fn a_408_after_every_retry_is_unavailable() {
    let home = tempfile::tempdir().expect("tempdir");
    let server = FaultServer::start(vec![Fault::status(408, "")]);
    let output = against(&server, home.path())
        .args(["--retries", "1", "storage", "kv", "get", NS, "k"])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(6), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    Retrying GET in [SECS] after: HTTP 408 Request Timeout (retry 1 of 1)
    error: failed to get key `k` from KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: HTTP 408 Request Timeout
      Request id: req-408 (quote it to Telnyx support)
    hint: The service is having trouble; try again later.
    ");
    assert_eq!(server.received().len(), 2);
}
