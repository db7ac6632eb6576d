//! How a failure is reported: one line for a connection failure (its library's chain only with
//! `-v`), no request id for the local emulator, one JSON object with `--json`, every exit code
//! documented, and a man page as roff when it is not shown on a terminal.

use crate::support::cli::{bare, outcome};
use crate::support::output::shown;

/// A loopback port with nothing listening on it.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    listener.local_addr().expect("addr").port()
}

fn refused(home: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = bare(home)
        .env(
            "TELNYX_BASE_URL",
            format!("http://127.0.0.1:{}/v2", closed_port()),
        )
        .env("TELNYX_API_KEY", crate::support::api::TOKEN)
        .args(["--retries", "0"])
        .args(args)
        .output()
        .expect("runs");
    outcome(&output)
}

#[test]
fn a_refused_connection_is_one_line_and_its_chain_only_verbose() {
    let home = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) = refused(home.path(), &["storage", "kv", "get", "ns"]);
    assert_eq!((code, stdout.as_str()), (Some(6), ""));
    insta::assert_snapshot!(shown(&stderr), @"
    error: failed to look up KV namespace `ns`
      Caused by: cannot connect to 127.0.0.1:[PORT]: connection refused
    hint: Check the network and the API address (`--base-url` or TELNYX_BASE_URL); for the local emulator use `--local`.
    ");
    let (code, _, stderr) = refused(home.path(), &["-v", "storage", "kv", "get", "ns"]);
    assert_eq!(code, Some(6));
    insta::assert_snapshot!(shown(&stderr), @"
    > GET http://127.0.0.1:[PORT]/v2/storage/kvs?page[number]=1&page[size]=250
    > authorization: Bearer [redacted]
    error: failed to look up KV namespace `ns`
      Caused by: cannot connect to 127.0.0.1:[PORT]: connection refused
      Caused by: error sending request
      Caused by: client error (Connect)
      Caused by: tcp connect error
      Caused by: Connection refused (os error 111)
    hint: Check the network and the API address (`--base-url` or TELNYX_BASE_URL); for the local emulator use `--local`.
    ");
}

#[test]
fn a_local_failure_has_no_request_id_nor_support_hint() {
    let home = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        outcome(
            &bare(home.path())
                .args(["--local", "-q"])
                .args(args)
                .output()
                .expect("runs"),
        )
    };
    let (code, _, stderr) = run(&["storage", "kv", "create", "--name", "ns"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stdout, stderr) = run(&["storage", "kv", "key", "get", "ns", "missing"]);
    assert_eq!((code, stdout.as_str()), (Some(3), ""));
    insta::assert_snapshot!(shown(&stderr), @"
    error: failed to get key `missing` from KV namespace `ns`
      Caused by: Key not found (HTTP 404)
    ");
    let (code, _, stderr) = run(&["--json", "storage", "kv", "key", "get", "ns", "missing"]);
    assert_eq!(code, Some(3));
    insta::assert_snapshot!(shown(&stderr), @r#"{"error":{"message":"failed to get key `missing` from KV namespace `ns`: Key not found (HTTP 404)","code":"not_found","exit_code":3,"hint":null,"request_id":null}}"#);
}

/// Stderr as the one JSON object a script reads.
fn error_object(stderr: &str) -> serde_json::Value {
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    serde_json::from_str(stderr).expect("stderr is JSON")
}

#[test]
fn with_json_an_error_is_one_json_object_on_stderr() {
    let home = tempfile::tempdir().expect("tempdir");
    for output_flag in [
        &["--json"][..],
        &["-o", "ndjson"],
        &["--output=json"],
        &["-ojson"],
    ] {
        let mut args = output_flag.to_vec();
        args.extend(["storage", "kv", "get", "ns"]);
        let (code, _, stderr) = refused(home.path(), &args);
        assert_eq!(code, Some(6), "{output_flag:?}");
        let error = error_object(&shown(&stderr));
        assert_eq!(
            error,
            serde_json::json!({"error": {
                "message": "failed to look up KV namespace `ns`: cannot connect to 127.0.0.1:[PORT]: connection refused",
                "code": "unavailable",
                "exit_code": 6,
                "hint": "Check the network and the API address (`--base-url` or TELNYX_BASE_URL); for the local emulator use `--local`.",
                "request_id": null,
            }}),
            "{output_flag:?}"
        );
    }
    // `-o table` or `ids` keep the text.
    let (_, _, stderr) = refused(home.path(), &["-o", "ids", "storage", "kv", "get", "ns"]);
    assert!(
        stderr.starts_with("error: failed to look up KV namespace `ns`\n"),
        "{stderr}"
    );
}

#[test]
fn with_json_a_usage_error_is_one_json_object_too() {
    let home = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| outcome(&bare(home.path()).args(args).output().expect("runs"));
    let (code, stdout, stderr) = run(&["storage", "kv", "key", "get", "--json"]);
    assert_eq!((code, stdout.as_str()), (Some(2), ""));
    insta::assert_snapshot!(stderr, @r#"{"error":{"message":"the following required arguments were not provided: <NAMESPACE> <KEY>","code":"usage","exit_code":2,"hint":"For more information, try `--help`.","request_id":null}}"#);
    let (code, _, stderr) = run(&["storage", "kv", "lst", "-o", "json"]);
    assert_eq!(code, Some(2));
    insta::assert_snapshot!(stderr, @r#"{"error":{"message":"unrecognized subcommand 'lst'","code":"usage","exit_code":2,"hint":"Some similar subcommands exist: 'ls', 'list'.","request_id":null}}"#);
    let (code, _, stderr) = run(&["storage", "kv", "--json"]);
    assert_eq!(code, Some(2));
    insta::assert_snapshot!(stderr, @r#"{"error":{"message":"'telnyx-edge storage kv' requires a subcommand but one was not provided [subcommands: create, list, ls, get, put, delete, rm, wait, bind, unbind, key, du, bulk, export, import, pull, push, diff, copy, ui, serve, help]","code":"usage","exit_code":2,"hint":"For more information, try `--help`.","request_id":null}}"#);
    // A refused local name check: the command's own usage error.
    let (code, _, stderr) = run(&[
        "--local", "--json", "storage", "kv", "create", "--name", "a b",
    ]);
    assert_eq!(code, Some(2));
    assert_eq!(error_object(&stderr)["error"]["code"], "usage", "{stderr}");
    // Help and version are not errors, whatever the output format.
    for args in [
        &["--json", "--help"][..],
        &["--json", "-h"],
        &["--json", "--version"],
    ] {
        let (code, stdout, stderr) = run(args);
        assert_eq!((code, stderr.as_str()), (Some(0), ""), "{args:?}");
        assert!(!stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn every_exit_code_and_its_name_is_documented() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/exit-codes.md"))
        .expect("docs/exit-codes.md");
    let output = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/output.md"))
        .expect("docs/output.md");
    for (code, name) in [
        (0, "ok"),
        (1, "failure"),
        (2, "usage"),
        (3, "not_found"),
        (4, "auth"),
        (5, "conflict"),
        (6, "unavailable"),
        (7, "wait_failed"),
        (130, "interrupted"),
    ] {
        assert!(
            docs.contains(&format!("\n| {code} | `{name}` | ")),
            "{code} {name}"
        );
        if code != 0 {
            assert!(
                output.contains(&format!("`{name}` ({code})")),
                "{code} {name}"
            );
        }
    }
}

#[test]
fn a_man_page_to_a_pipe_is_its_roff_byte_for_byte() {
    let home = tempfile::tempdir().expect("tempdir");
    let output = bare(home.path())
        .args(["man", "storage", "kv", "put"])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
    let page = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/man/telnyx-edge-storage-kv-put.1"
    ))
    .expect("the committed page");
    assert!(output.stdout == page, "the page differs from docs/man");
}
