//! What a file or an input line says about the value it holds: the content type of a file
//! (`key put --path`, `bulk put --dir`), the `ttl` and `content-type` spellings of NDJSON
//! fields, and a bad line that spends the error budget only for the items after it.

use serde_json::json;

use crate::support::cli::{Kv, against, outcome};
use crate::support::fault::{Fault, FaultServer};

/// The first bytes of a PNG image.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";

/// The content type the emulator stored for `key`, as a GET answers it.
fn stored_type(kv: &Kv, id: &str, key: &str) -> String {
    let response = kv.api.get(&format!("/storage/kvs/{id}/keys/{key}"));
    assert_eq!(response.status(), 200, "{key}");
    response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().expect("ASCII").to_owned())
        .unwrap_or_default()
}

/// `stderr` with the run's duration and rate, which vary, as `[time]`:
/// `Wrote 1 key in [time]; 1 failed, 0 skipped`.
fn timeless(stderr: &str) -> String {
    stderr
        .lines()
        .map(|line| match (line.find(" in "), line.find("/s);")) {
            (Some(start), Some(end)) if start < end => {
                format!("{} in [time]{}\n", &line[..start], &line[end + 3..])
            }
            _ => format!("{line}\n"),
        })
        .collect()
}

#[test]
fn key_put_path_stores_the_type_the_files_name_or_first_bytes_suggest() {
    let kv = Kv::start();
    let id = kv.namespace("typed-files");
    for (name, bytes) in [
        ("logo.png", PNG),
        ("logo", PNG),
        ("notes.txt", b"hello" as &[u8]),
        ("blob", b"\0\x01\x02"),
    ] {
        std::fs::write(kv.path().join(name), bytes).expect("write");
    }
    let output = kv.run(&[
        "storage", "kv", "put", &id, "logo.png", "--path", "logo.png",
    ]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(0), ""), "{stderr}");
    assert_eq!(
        stderr,
        format!("Created key `logo.png` in namespace `{id}` (20 bytes, image/png)\n")
    );
    // The JSON result says what was stored.
    let put = kv.json(&["storage", "kv", "put", &id, "logo", "--path", "logo"]);
    assert_eq!(put["content_type"], "image/png");
    kv.ok(&["storage", "kv", "put", &id, "notes", "--path", "notes.txt"]);
    kv.ok(&["storage", "kv", "put", &id, "blob", "--path", "blob"]);
    // An explicit type always wins; a VALUE keeps the default; stdin (`--path -`) is known by
    // its first bytes alone.
    let explicit = ["--content-type", "text/x-explicit"];
    kv.ok(&[
        &[
            "storage", "kv", "put", &id, "explicit", "--path", "logo.png",
        ],
        &explicit[..],
    ]
    .concat());
    kv.ok(&["storage", "kv", "put", &id, "value", "<svg/>"]);
    let piped = kv
        .cmd()
        .args(["storage", "kv", "put", &id, "piped", "--path", "-"])
        .write_stdin(PNG)
        .output()
        .expect("runs");
    assert_eq!(piped.status.code(), Some(0));
    let types: Vec<(&str, String)> = [
        "logo.png", "logo", "notes", "blob", "explicit", "value", "piped",
    ]
    .into_iter()
    .map(|key| (key, stored_type(&kv, &id, key)))
    .collect();
    assert_eq!(
        types,
        [
            ("logo.png", "image/png".to_owned()),
            ("logo", "image/png".to_owned()),
            ("notes", "text/plain".to_owned()),
            ("blob", "application/octet-stream".to_owned()),
            ("explicit", "text/x-explicit".to_owned()),
            ("value", "application/octet-stream".to_owned()),
            ("piped", "image/png".to_owned()),
        ]
    );
}

#[test]
fn bulk_put_dir_stores_each_files_type() {
    let kv = Kv::start();
    let id = kv.namespace("typed-dir");
    let root = kv.path().join("site");
    std::fs::create_dir_all(root.join("img")).expect("mkdir");
    std::fs::write(root.join("index.html"), "<h1>hi</h1>").expect("write");
    std::fs::write(root.join("data.json"), "{}").expect("write");
    std::fs::write(root.join("img/logo.png"), PNG).expect("write");
    std::fs::write(root.join("img/favicon"), PNG).expect("write");
    std::fs::write(root.join("raw"), b"\0\x01").expect("write");
    kv.ok(&["storage", "kv", "bulk", "put", &id, "--dir", "site"]);
    let types: Vec<(&str, String)> = [
        "data.json",
        "img/favicon",
        "img/logo.png",
        "index.html",
        "raw",
    ]
    .into_iter()
    .map(|key| (key, stored_type(&kv, &id, key)))
    .collect();
    assert_eq!(
        types,
        [
            ("data.json", "application/json".to_owned()),
            ("img/favicon", "image/png".to_owned()),
            ("img/logo.png", "image/png".to_owned()),
            ("index.html", "text/html".to_owned()),
            ("raw", "application/octet-stream".to_owned()),
        ]
    );
    // `bulk get` (and so `export`) carries the types on, and `import` puts them back.
    let lines = kv.ok(&[
        "storage",
        "kv",
        "bulk",
        "get",
        &id,
        "img/favicon",
        "index.html",
    ]);
    assert_eq!(
        String::from_utf8(lines).expect("UTF-8"),
        concat!(
            r#"{"key":"img/favicon","value":"iVBORw0KGgoAAAANSUhEUgAAAAE=","base64":true,"content_type":"image/png"}"#,
            "\n",
            r#"{"key":"index.html","value":"<h1>hi</h1>","base64":false,"content_type":"text/html"}"#,
            "\n",
        )
    );
}

#[test]
fn ndjson_and_arrays_read_ttl_and_content_type_as_their_flags_and_headers_are_spelt() {
    let server = FaultServer::start(vec![Fault::status(201, "")]);
    let home = tempfile::tempdir().expect("tempdir");
    let ns = "550e8400-e29b-41d4-a716-446655440000";
    // An array, then NDJSON lines after it.
    let input = format!(
        "{}\n{}\n",
        json!([{"key": "b", "value": "2", "ttl": 60, "content-type": "application/json"}]),
        json!({"key": "a", "value": "1", "ttl": 5, "content-type": "text/plain"}),
    );
    std::fs::write(home.path().join("in.ndjson"), input).expect("write");
    let output = against(&server, home.path())
        .args(["storage", "kv", "bulk", "put", ns, "in.ndjson"])
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(0), ""), "{stderr}");
    // No warning about unknown fields: they are known.
    assert_eq!(
        timeless(&stderr),
        "Wrote 2 keys in [time]; 0 failed, 0 skipped\n"
    );
    let mut sent: Vec<(String, String)> = server
        .received()
        .into_iter()
        .map(|request| {
            let content_type = request
                .headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
                .map(|(_, value)| value.clone())
                .unwrap_or_default();
            (request.target, content_type)
        })
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        [
            (
                format!("/v2/storage/kvs/{ns}/keys/a?ttl_secs=5"),
                "text/plain".to_owned()
            ),
            (
                format!("/v2/storage/kvs/{ns}/keys/b?ttl_secs=60"),
                "application/json".to_owned()
            ),
        ]
    );
}

#[test]
fn a_bad_line_with_default_settings_fails_alone_and_every_good_line_is_written() {
    let kv = Kv::start();
    let id = kv.namespace("bad-in-place");
    // Many good lines, so that reading is far ahead of writing when the bad line is read.
    let mut input: String = (0..300)
        .map(|i| format!("{}\n", json!({"key": format!("k{i:03}"), "value": "v"})))
        .collect();
    input.push_str("{not json\n");
    input.push_str(&format!("{}\n", json!({"key": "after", "value": "v"})));
    std::fs::write(kv.path().join("in.ndjson"), input).expect("write");
    let output = kv.run(&[
        "storage",
        "kv",
        "bulk",
        "put",
        &id,
        "in.ndjson",
        "--failed-file",
        "rest.ndjson",
    ]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(1), ""), "{stderr}");
    assert_eq!(
        timeless(&stderr),
        "warning: line 301: not a JSON object with `key` and `value`: key must be a string at line 1 column 2\n\
         Wrote 301 keys in [time]; 1 failed, 0 skipped\n\
         error: 1 item failed and 0 were skipped\n\
         hint: The 1 item not written is in `rest.ndjson`; feed it back as input to finish the job.\n"
    );
    // The line after the bad one is written too: a bad line spends no budget.
    let keys = kv.ok(&["-o", "ids", "storage", "kv", "key", "list", &id]);
    let expected: String = std::iter::once("after\n".to_owned())
        .chain((0..300).map(|i| format!("k{i:03}\n")))
        .collect();
    assert_eq!(String::from_utf8(keys).expect("UTF-8"), expected);
    assert_eq!(
        String::from_utf8(std::fs::read(kv.path().join("rest.ndjson")).expect("rest"))
            .expect("UTF-8"),
        concat!(
            r#"{"origin":"line 301","error":"not a JSON object with `key` and `value`: key must be a string at line 1 column 2","input":"{not json"}"#,
            "\n",
        )
    );
}

#[test]
fn a_line_that_is_not_a_key_fails_alone_and_every_other_key_is_deleted() {
    let kv = Kv::start();
    let id = kv.namespace("bad-key-in-place");
    let keys: Vec<String> = (0..=100).map(|i| format!("k{i:03}")).collect();
    for key in &keys {
        kv.api
            .put(&format!("/storage/kvs/{id}/keys/{key}"), "v")
            .error_for_status()
            .expect("stored");
    }
    let mut file = keys[..100].join("\n");
    file.push_str("\n..\nk100\n");
    std::fs::write(kv.path().join("keys.txt"), file).expect("write");
    let output = kv.run(&[
        "--yes",
        "storage",
        "kv",
        "bulk",
        "delete",
        &id,
        "--from-file",
        "keys.txt",
    ]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(1), "{stderr}");
    // The key after the bad line is deleted too.
    assert_eq!(
        timeless(&stderr),
        "warning: line 101: key `..` cannot be sent: `.` and `..` are path segments that HTTP clients and proxies rewrite (the official SDKs refuse them too); use another name\n\
         Deleted 101 keys in [time]; 1 failed, 0 skipped\n\
         error: 1 item failed and 0 were skipped\n\
         hint: 1 item was not deleted; pass `--failed-file FILE` to keep them and feed FILE back to resume.\n"
    );
    let left = kv.ok(&["-o", "ids", "storage", "kv", "key", "list", &id]);
    assert_eq!(String::from_utf8(left).expect("UTF-8"), "");
}
