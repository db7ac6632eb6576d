//! `storage kv key …` and the `get|put|delete NAMESPACE KEY` shorthands, against the emulator.

use serde_json::json;

use telnyx_edge::emulator::{Config, Storage};

use crate::support::api::Api;
use crate::support::cli::{Kv, outcome};
use crate::support::output::shown;

#[test]
fn values_round_trip_byte_for_byte() {
    let kv = Kv::start();
    let id = kv.namespace("bytes");
    let every_byte: Vec<u8> = (0..=255).collect();
    std::fs::write(kv.path().join("every-byte.bin"), &every_byte).expect("write");
    kv.ok(&[
        "storage",
        "kv",
        "key",
        "put",
        &id,
        "bin",
        "--path",
        "every-byte.bin",
    ]);
    assert_eq!(
        kv.ok(&["storage", "kv", "key", "get", &id, "bin"]),
        every_byte
    );

    let utf8 = "κλειδί ✓ 🗝️ line\nbreak";
    kv.ok(&["storage", "kv", "put", &id, "utf8", utf8]);
    assert_eq!(
        kv.ok(&["storage", "kv", "get", &id, "utf8"]),
        utf8.as_bytes()
    );

    kv.ok(&["storage", "kv", "put", &id, "empty", ""]);
    assert_eq!(kv.ok(&["storage", "kv", "get", &id, "empty"]), b"");

    let one_mib: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    let output = kv
        .cmd()
        .args(["storage", "kv", "key", "put", &id, "big", "--path", "-"])
        .write_stdin(one_mib.clone())
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(kv.ok(&["storage", "kv", "key", "get", &id, "big"]), one_mib);

    // And as the emulator stored them.
    let stored = kv.api.get(&format!("/storage/kvs/{id}/keys/bin"));
    assert_eq!(stored.bytes().expect("body").to_vec(), every_byte);
}

#[test]
fn output_file_gets_the_exact_bytes_and_stdout_nothing() {
    let kv = Kv::start();
    let id = kv.namespace("files");
    let value: Vec<u8> = (0..=255).rev().collect();
    std::fs::write(kv.path().join("in.bin"), &value).expect("write");
    kv.ok(&["storage", "kv", "put", &id, "k", "--path", "in.bin"]);
    let output = kv.run(&[
        "storage",
        "kv",
        "key",
        "get",
        &id,
        "k",
        "--output-file",
        "out.bin",
    ]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "");
    insta::assert_snapshot!(shown(&stderr), @"Wrote 256 bytes to `out.bin`");
    assert_eq!(
        std::fs::read(kv.path().join("out.bin")).expect("read"),
        value
    );
    // A missing key leaves an existing output file untouched.
    let output = kv.run(&[
        "storage",
        "kv",
        "get",
        &id,
        "nope",
        "--output-file",
        "out.bin",
    ]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(3));
    insta::assert_snapshot!(shown(&stderr), @"
    error: failed to get key `nope` from KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: Key not found (HTTP 404)
      Request id: [id] (quote it to Telnyx support)
    ");
    assert_eq!(
        std::fs::read(kv.path().join("out.bin")).expect("read"),
        value
    );
}

#[test]
fn output_file_dash_is_stdout_for_get_export_and_bulk_get() {
    let kv = Kv::start();
    let id = kv.namespace("dash");
    let value: Vec<u8> = (0..=255).collect();
    std::fs::write(kv.path().join("in.bin"), &value).expect("write");
    kv.ok(&["storage", "kv", "put", &id, "k", "--path", "in.bin"]);
    for get in [
        &["storage", "kv", "get"][..],
        &["storage", "kv", "key", "get"],
    ] {
        let output = kv.run(&[get, &[&id, "k", "--output-file", "-"]].concat());
        assert_eq!(output.status.code(), Some(0));
        assert_eq!(output.stdout, value);
        assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    }
    let export = kv.ok(&["storage", "kv", "export", &id, "--output-file", "-"]);
    let line = String::from_utf8(export).expect("NDJSON is text");
    assert!(line.starts_with(r#"{"key":"k","value":""#), "{line}");
    let bulk = kv.ok(&[
        "storage",
        "kv",
        "bulk",
        "get",
        &id,
        "--all",
        "--output-file",
        "-",
    ]);
    assert_eq!(String::from_utf8(bulk).expect("text"), line);
    // No file named `-` was written.
    assert!(!kv.path().join("-").exists());
}

#[test]
fn keys_at_the_edges_of_the_allowed_set_reach_the_service_intact() {
    let kv = Kv::start();
    let id = kv.namespace("edges");
    let long = "k".repeat(256);
    let keys = [
        "user/123",
        "a=b",
        "...",
        "a.",
        ".a",
        "a/../b",
        "./x",
        "x/.",
        "x/..",
        long.as_str(),
    ];
    for key in keys {
        kv.ok(&[
            "storage",
            "kv",
            "key",
            "put",
            &id,
            key,
            &format!("value of {key}"),
        ]);
    }
    for key in keys {
        let value = kv.ok(&["storage", "kv", "key", "get", &id, key]);
        assert_eq!(value, format!("value of {key}").as_bytes(), "{key}");
    }
    let listed = kv.ok(&["-o", "ids", "storage", "kv", "key", "list", &id]);
    let mut expected: Vec<&str> = keys.to_vec();
    expected.sort();
    let expected: String = expected.iter().map(|k| format!("{k}\n")).collect();
    assert_eq!(String::from_utf8(listed).expect("UTF-8"), expected);
}

#[test]
fn put_reports_created_then_replaced_and_json_has_the_fields() {
    let kv = Kv::start();
    let id = kv.namespace("puts");
    let output = kv.run(&["storage", "kv", "key", "put", &id, "k", "v1"]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(0), ""));
    insta::assert_snapshot!(shown(&stderr), @"Created key `k` in namespace `00000000-0000-0000-0000-000000000000` (2 bytes)");
    let replaced = kv.json(&[
        "storage",
        "kv",
        "put",
        "puts",
        "k",
        "value2",
        "--ttl",
        "1h",
        "--content-type",
        "text/plain",
    ]);
    assert_eq!(
        replaced,
        json!({"key": "k", "namespace_id": id, "created": false, "size_bytes": 6,
               "ttl_secs": 3600, "content_type": "text/plain"})
    );
    let got = kv.json(&["storage", "kv", "key", "get", &id, "k"]);
    assert_eq!(
        got,
        json!({"key": "k", "value": "value2", "base64": false, "content_type": "text/plain", "size_bytes": 6})
    );
    let bin = kv
        .cmd()
        .args(["--json", "storage", "kv", "put", &id, "bin", "--path", "-"])
        .write_stdin(vec![0xff, 0x00, 0xfe])
        .output()
        .expect("runs");
    assert_eq!(bin.status.code(), Some(0));
    let got = kv.json(&["storage", "kv", "get", &id, "bin"]);
    assert_eq!(got["value"], "/wD+");
    assert_eq!(got["base64"], true);
}

#[test]
fn ttl_expiry_makes_the_key_absent() {
    let store = tempfile::tempdir().expect("tempdir");
    let kv = Kv::with(Config {
        storage: Storage::Dir(store.path().to_path_buf()),
        ..Config::in_memory()
    });
    let id = kv.namespace("ttl");
    kv.ok(&[
        "storage", "kv", "key", "put", &id, "short", "v", "--ttl", "1s",
    ]);
    assert_eq!(kv.ok(&["storage", "kv", "key", "get", &id, "short"]), b"v");
    // The same service 1.2 s later, by its clock.
    let later = Api::on_disk(store.path(), 1200);
    let output = kv
        .cmd()
        .env("TELNYX_BASE_URL", later.base_url())
        .args(["storage", "kv", "key", "get", &id, "short"])
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(3));
    assert_eq!(stdout, "");
    insta::assert_snapshot!(shown(&stderr), @"
    error: failed to get key `short` from KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: Key not found (HTTP 404)
      Request id: [id] (quote it to Telnyx support)
    ");
}

#[test]
fn deleting_a_key_is_idempotent_and_needs_yes_without_a_terminal() {
    let kv = Kv::start();
    let id = kv.namespace("deletes");
    kv.ok(&["storage", "kv", "put", &id, "k", "v"]);
    let refused = kv.run(&["storage", "kv", "key", "delete", &id, "k"]);
    let (code, _, stderr) = outcome(&refused);
    assert_eq!(code, Some(2));
    insta::assert_snapshot!(shown(&stderr), @"
    error: refusing to delete key `k` from namespace `00000000-0000-0000-0000-000000000000` without confirmation: there is no terminal to ask on
    hint: Pass --yes (or set TELNYX_EDGE_SKIP_CONFIRMATIONS=1) to go ahead without asking.
    ");
    assert_eq!(
        kv.ok(&["storage", "kv", "get", &id, "k"]),
        b"v",
        "nothing was deleted"
    );
    kv.ok(&["--yes", "storage", "kv", "key", "delete", &id, "k"]);
    let again = kv.json(&["--yes", "storage", "kv", "delete", &id, "k"]);
    assert_eq!(
        again,
        json!({"key": "k", "namespace_id": id, "deleted": true})
    );
    let skipped = kv
        .cmd()
        .env("TELNYX_EDGE_SKIP_CONFIRMATIONS", "1")
        .args(["storage", "kv", "key", "delete", &id, "k"])
        .output()
        .expect("runs");
    assert_eq!(skipped.status.code(), Some(0));
    assert_eq!(
        kv.run(&["storage", "kv", "get", &id, "k"]).status.code(),
        Some(3)
    );
}

#[test]
fn key_list_walks_every_page_and_limit_stops_with_a_cursor() {
    let kv = Kv::start();
    let id = kv.namespace("many");
    for i in 0..1005 {
        let put = kv.api.put(&format!("/storage/kvs/{id}/keys/k{i:04}"), "v");
        assert_eq!(put.status(), 201);
    }
    let ids = kv.ok(&["-o", "ids", "storage", "kv", "key", "list", &id]);
    let lines: Vec<&str> = std::str::from_utf8(&ids).expect("UTF-8").lines().collect();
    assert_eq!(lines.len(), 1005);
    assert_eq!(lines[0], "k0000");
    assert_eq!(lines[1004], "k1004");

    let ndjson = kv.ok(&[
        "-o", "ndjson", "storage", "kv", "key", "list", &id, "--prefix", "k100",
    ]);
    let objects: Vec<serde_json::Value> = std::str::from_utf8(&ndjson)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(objects.len(), 5);
    assert_eq!(objects[0]["key"], "k1000");
    assert_eq!(objects[0]["size_bytes"], 1);

    let output = kv.run(&[
        "-o", "ids", "storage", "kv", "key", "list", &id, "--limit", "3",
    ]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(0));
    assert_eq!(stdout, "k0000\nk0001\nk0002\n");
    let cursor = stderr
        .trim_end()
        .strip_prefix("More keys follow; continue with `--cursor ")
        .and_then(|rest| rest.strip_suffix('`'))
        .expect("a continue hint");
    let next = kv.ok(&[
        "-o", "ids", "storage", "kv", "key", "list", &id, "--limit", "2", "--cursor", cursor,
    ]);
    assert_eq!(next, b"k0003\nk0004\n");

    let array = kv.json(&["storage", "kv", "key", "list", &id, "--prefix", "k0001"]);
    assert_eq!(array.as_array().expect("array").len(), 1);
    let empty = kv.json(&["storage", "kv", "key", "list", &id, "--prefix", "zzz"]);
    assert_eq!(empty, json!([]));
}

#[test]
fn names_work_wherever_a_namespace_is_expected() {
    let kv = Kv::start();
    kv.namespace("by-name");
    kv.ok(&["storage", "kv", "put", "by-name", "k", "v"]);
    assert_eq!(kv.ok(&["storage", "kv", "get", "by-name", "k"]), b"v");
    let output = kv.run(&["storage", "kv", "get", "no-such-name", "k"]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(3), ""));
    insta::assert_snapshot!(shown(&stderr), @"
    error: no KV namespace `no-such-name`: not a UUID, and no namespace has that name
    hint: List the namespaces with `telnyx-edge storage kv list`, or create it with `telnyx-edge storage kv create --name NAME`.
    ");
}
