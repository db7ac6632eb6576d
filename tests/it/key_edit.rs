//! `storage kv key edit` (with a script standing in for the editor) and `storage kv key patch`.

use std::path::{Path, PathBuf};

use crate::support::cli::{BIN, Kv, against, bare, outcome};
use crate::support::fault::{Fault, FaultServer, Received};
use crate::support::output::shown;

/// Writes an executable shell script that the test sets as `$VISUAL`; `$1` is the file to edit.
fn editor(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\nPATH=/usr/bin:/bin\n{body}\n")).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// Runs `key edit` with `$VISUAL` set to `visual`.
fn edit(kv: &Kv, visual: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let output = kv
        .cmd()
        .env("VISUAL", visual)
        .args(["storage", "kv", "key", "edit"])
        .args(args)
        .output()
        .expect("runs");
    outcome(&output)
}

fn get(kv: &Kv, id: &str, key: &str) -> Vec<u8> {
    kv.ok(&["storage", "kv", "key", "get", id, key])
}

/// The path the kept-file hint names.
fn kept_path(stderr: &str) -> PathBuf {
    let start = stderr.find("kept in `").expect("a kept file") + "kept in `".len();
    let end = start + stderr[start..].find('`').expect("closing quote");
    PathBuf::from(&stderr[start..end])
}

#[test]
fn an_edit_is_saved_with_its_content_type_in_a_private_file() {
    let kv = Kv::start();
    kv.namespace("edits");
    let id = "edits".to_owned();
    kv.ok(&[
        "storage",
        "kv",
        "put",
        &id,
        "cfg",
        r#"{"a":1}"#,
        "--content-type",
        "application/json",
    ]);
    let seen = kv.path().join("seen");
    let script = editor(
        &kv.path(),
        "ed.sh",
        &format!(
            "echo \"$1\" > {seen}; stat -c %a \"$1\" >> {seen}; cat \"$1\" >> {seen}\nprintf '{{\"a\":2}}' > \"$1\"",
            seen = seen.display()
        ),
    );
    // The command line is split as a shell splits it.
    let visual = format!("sh '{}'", script.display());
    let (code, stdout, stderr) = edit(&kv, &visual, &[&id, "cfg"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "");
    insta::assert_snapshot!(shown(&stderr), @"Saved key `cfg` in namespace `edits` (7 bytes)");
    assert_eq!(get(&kv, &id, "cfg"), br#"{"a":2}"#);
    let seen = std::fs::read_to_string(&seen).expect("seen");
    let lines: Vec<&str> = seen.lines().collect();
    assert!(lines[0].ends_with(".json"), "{seen}");
    assert_eq!(&lines[1..], ["600", r#"{"a":1}"#]);
    // The scratch file is gone once saved.
    assert!(!Path::new(lines[0]).exists());
    let json = kv.json(&["storage", "kv", "key", "get", &id, "cfg"]);
    assert_eq!(json["content_type"], "application/json");
}

#[test]
fn an_unchanged_value_is_not_written() {
    let kv = Kv::start();
    kv.namespace("same");
    let id = "same".to_owned();
    kv.ok(&["storage", "kv", "put", &id, "k", "v"]);
    let before = kv.json(&["storage", "kv", "key", "list", &id]);
    let script = editor(&kv.path(), "ed.sh", "true");
    let visual = script.display().to_string();
    let (code, stdout, stderr) = edit(&kv, &visual, &[&id, "k"]);
    assert_eq!((code, stdout.as_str()), (Some(0), ""), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"No change to key `k` in namespace `same`; nothing saved");
    // Not written: the update time is the one before.
    assert_eq!(kv.json(&["storage", "kv", "key", "list", &id]), before);

    // Nor when the editor adds the final newline the value did not have (vi does on `:wq`).
    let vi = editor(&kv.path(), "vi.sh", "printf '\\n' >> \"$1\"");
    let (code, _, stderr) = edit(&kv, &vi.display().to_string(), &[&id, "k"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"No change to key `k` in namespace `same`; nothing saved");
    assert_eq!(get(&kv, &id, "k"), b"v");

    // A new `--ttl` is written although the value is the same.
    let (code, _, stderr) = edit(&kv, &visual, &[&id, "k", "--ttl", "1h"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"Saved key `k` in namespace `same` (1 byte)");
    assert_eq!(get(&kv, &id, "k"), b"v");

    let output = kv
        .cmd()
        .env("VISUAL", &visual)
        .args(["--json", "storage", "kv", "key", "edit", &id, "k"])
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["changed"], false);
    assert_eq!(json["size_bytes"], 1);
}

#[test]
fn binary_values_are_refused_unless_hex_and_hex_round_trips() {
    let kv = Kv::start();
    kv.namespace("bin");
    let id = "bin".to_owned();
    std::fs::write(kv.path().join("v.bin"), [0xff, 0x00, 0x41]).expect("write");
    kv.ok(&["storage", "kv", "put", &id, "b", "--path", "v.bin"]);
    let script = editor(
        &kv.path(),
        "ed.sh",
        "sed -i 's/ff 00 41/fe 00 41 42/' \"$1\"",
    );
    let visual = script.display().to_string();

    let (code, stdout, stderr) = edit(&kv, &visual, &[&id, "b"]);
    assert_eq!((code, stdout.as_str()), (Some(1), ""));
    insta::assert_snapshot!(shown(&stderr), @"
    error: the value of `b` is binary (3 bytes); not opening it in an editor
    hint: Edit it as hex with `--hex`.
    ");

    let (code, _, stderr) = edit(&kv, &visual, &[&id, "b", "--hex"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"Saved key `b` in namespace `bin` (4 bytes)");
    assert_eq!(get(&kv, &id, "b"), [0xfe, 0x00, 0x41, 0x42]);

    // Hex that is not hex saves nothing and keeps the file.
    let bad = editor(&kv.path(), "bad.sh", "printf 'fe 0g' > \"$1\"");
    let (code, _, stderr) = edit(&kv, &bad.display().to_string(), &[&id, "b", "--hex"]);
    assert_eq!(code, Some(1));
    let kept = kept_path(&stderr);
    assert_eq!(std::fs::read(&kept).expect("kept"), b"fe 0g");
    std::fs::remove_file(&kept).expect("rm");
    // The hint says how to turn the kept digits back into bytes before storing them.
    let shown_err = shown(&stderr.replace(&kept.display().to_string(), "[KEPT]"));
    insta::assert_snapshot!(shown_err, @"
    error: the edited hex has `0g`, which is not a hex byte; nothing saved
    hint: Your edit is kept in `[KEPT]` as hex digits; once it is right, turn it back into bytes (`xxd -r -p FILE > value.bin`) and store them with `key put --path value.bin`.
    ");
    assert_eq!(get(&kv, &id, "b"), [0xfe, 0x00, 0x41, 0x42]);
}

#[test]
fn json_that_no_longer_parses_is_kept_unless_no_check() {
    let kv = Kv::start();
    kv.namespace("json");
    let id = "json".to_owned();
    kv.ok(&["storage", "kv", "put", &id, "j", r#"{"a":1}"#]);
    let script = editor(&kv.path(), "ed.sh", "printf '{\"a\":' > \"$1\"");
    let visual = script.display().to_string();

    let (code, stdout, stderr) = edit(&kv, &visual, &[&id, "j"]);
    assert_eq!((code, stdout.as_str()), (Some(1), ""));
    let kept = kept_path(&stderr);
    let shown_err = shown(&stderr.replace(&kept.display().to_string(), "[KEPT]"));
    insta::assert_snapshot!(shown_err, @"
    error: the edited value is not valid JSON: EOF while parsing a value at line 1 column 5; nothing saved
    hint: Your edit is kept in `[KEPT]`; store it with `key put --path` once it is right.
    ");
    assert_eq!(std::fs::read(&kept).expect("kept"), br#"{"a":"#);
    std::fs::remove_file(&kept).expect("rm");
    assert_eq!(get(&kv, &id, "j"), br#"{"a":1}"#);

    let (code, _, stderr) = edit(&kv, &visual, &[&id, "j", "--no-check"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(get(&kv, &id, "j"), br#"{"a":"#);
}

#[test]
fn a_key_changed_while_the_editor_is_open_is_not_overwritten() {
    let kv = Kv::start();
    kv.namespace("race");
    let id = "race".to_owned();
    kv.ok(&["storage", "kv", "put", &id, "k", "first"]);
    // The "editor" changes the key through the CLI, as someone else would, then edits.
    let script = editor(
        &kv.path(),
        "ed.sh",
        &format!("'{BIN}' storage kv put {id} k theirs 2>/dev/null\nprintf mine > \"$1\""),
    );
    let (code, stdout, stderr) = edit(&kv, &script.display().to_string(), &[&id, "k"]);
    assert_eq!((code, stdout.as_str()), (Some(5), ""));
    let kept = kept_path(&stderr);
    let shown_err = shown(&stderr.replace(&kept.display().to_string(), "[KEPT]"));
    insta::assert_snapshot!(shown_err, @"
    error: key `k` in namespace `race` changed since it was read; nothing saved
    hint: Your edit is kept in `[KEPT]`; store it with `key put --path` once it is right.
    ");
    assert_eq!(std::fs::read(&kept).expect("kept"), b"mine");
    std::fs::remove_file(&kept).expect("rm");
    assert_eq!(get(&kv, &id, "k"), b"theirs");
}

#[test]
fn a_missing_key_and_a_failing_editor_save_nothing() {
    let kv = Kv::start();
    kv.namespace("gone");
    let id = "gone".to_owned();
    let script = editor(&kv.path(), "ed.sh", "printf x > \"$1\"; exit 3");
    let visual = script.display().to_string();
    let (code, _, stderr) = edit(&kv, &visual, &[&id, "nope"]);
    assert_eq!(code, Some(3));
    insta::assert_snapshot!(shown(&stderr), @"
    error: key `nope` not found in namespace `gone`
    hint: Create it with `storage kv key put gone nope VALUE`.
    ");
    kv.ok(&["storage", "kv", "put", &id, "k", "v"]);
    let (code, _, stderr) = edit(&kv, &visual, &[&id, "k"]);
    assert_eq!(code, Some(1));
    // What was typed before the editor failed is kept, as for every edit not saved.
    let kept = kept_path(&stderr);
    assert_eq!(std::fs::read(&kept).expect("kept"), b"x");
    std::fs::remove_file(&kept).expect("rm");
    let shown_err = shown(&stderr.replace(&kept.display().to_string(), "[KEPT]"));
    let shown_err = shown_err.replace(&visual, "[EDITOR]");
    insta::assert_snapshot!(shown_err, @"
    error: the editor `[TEMP]/ed.sh` exited with status 3; nothing saved
    hint: Your edit is kept in `[KEPT]`; store it with `key put --path` once it is right.
    ");
    assert_eq!(get(&kv, &id, "k"), b"v");
}

/// Runs `key patch` with `args` after NAMESPACE KEY.
fn patch(kv: &Kv, id: &str, key: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["storage", "kv", "key", "patch", id, key];
    all.extend(args);
    outcome(&kv.run(&all))
}

#[test]
fn a_merge_patch_sets_and_removes_members_and_keeps_the_content_type() {
    let kv = Kv::start();
    kv.namespace("patches");
    let id = "patches".to_owned();
    kv.ok(&[
        "storage",
        "kv",
        "put",
        &id,
        "u",
        r#"{"name":"Ann","age":30,"tags":{"a":1,"b":2}}"#,
        "--content-type",
        "application/json",
    ]);
    let (code, stdout, stderr) = patch(
        &kv,
        &id,
        "u",
        &[
            "--merge",
            r#"{"age":null,"tags":{"b":null,"c":3},"city":"Oslo"}"#,
        ],
    );
    assert_eq!((code, stdout.as_str()), (Some(0), ""), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"Patched key `u` in namespace `patches` (49 bytes)");
    assert_eq!(
        String::from_utf8(get(&kv, &id, "u")).expect("utf8"),
        r#"{"name":"Ann","tags":{"a":1,"c":3},"city":"Oslo"}"#
    );
    let json = kv.json(&["storage", "kv", "key", "get", &id, "u"]);
    assert_eq!(json["content_type"], "application/json");

    // The same patch again changes nothing, and nothing is written.
    let (code, _, stderr) = patch(&kv, &id, "u", &["--merge", r#"{"city":"Oslo"}"#]);
    assert_eq!(code, Some(0));
    insta::assert_snapshot!(shown(&stderr), @"No change to key `u` in namespace `patches`; nothing saved");

    // From a file, and from stdin.
    std::fs::write(kv.path().join("p.json"), r#"{"name":"Bo"}"#).expect("write");
    let (code, _, _) = patch(&kv, &id, "u", &["--merge", "@p.json"]);
    assert_eq!(code, Some(0));
    let output = kv
        .cmd()
        .args([
            "--json", "storage", "kv", "key", "patch", &id, "u", "--merge", "-",
        ])
        .write_stdin(r#"{"tags":null}"#)
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["changed"], true);
    assert_eq!(get(&kv, &id, "u"), br#"{"name":"Bo","city":"Oslo"}"#);
}

#[test]
fn a_patch_replaces_values_that_are_not_objects_and_refuses_what_is_not_json() {
    let kv = Kv::start();
    kv.namespace("shapes");
    let id = "shapes".to_owned();
    kv.ok(&["storage", "kv", "put", &id, "list", "[1,2]"]);
    kv.ok(&["storage", "kv", "put", &id, "text", "hello"]);
    let (code, _, _) = patch(&kv, &id, "list", &["--merge", r#"{"a":1,"b":null}"#]);
    assert_eq!(code, Some(0));
    assert_eq!(get(&kv, &id, "list"), br#"{"a":1}"#);
    let (code, _, _) = patch(&kv, &id, "list", &["--merge", "[3]"]);
    assert_eq!(code, Some(0));
    assert_eq!(get(&kv, &id, "list"), b"[3]");

    let (code, _, stderr) = patch(&kv, &id, "text", &["--merge", r#"{"a":1}"#]);
    assert_eq!(code, Some(1));
    insta::assert_snapshot!(shown(&stderr), @"
    error: the value of `text` is not JSON; a merge patch needs a JSON value
    hint: Change it with `storage kv key edit` or `storage kv key put`.
    ");
    assert_eq!(get(&kv, &id, "text"), b"hello");

    // A patch that is not JSON is refused before any request.
    let (code, _, stderr) = patch(&kv, &id, "missing", &["--merge", "{a:1}"]);
    assert_eq!(code, Some(2));
    insta::assert_snapshot!(shown(&stderr), @r#"
    error: the patch in --merge is not JSON: key must be a string at line 1 column 2
    hint: Give a JSON object such as `{"field": "value"}`; `null` removes a field.
    "#);
    let (code, _, stderr) = patch(&kv, &id, "missing", &["--merge", "{}"]);
    assert_eq!(code, Some(3));
    insta::assert_snapshot!(shown(&stderr), @"
    error: key `missing` not found in namespace `shapes`
    hint: Create it with `storage kv key put shapes missing VALUE`.
    ");
}

#[test]
fn a_patch_keeps_a_local_key_ttl_and_pretty_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        let output = bare(dir.path())
            .current_dir(dir.path())
            .arg("--local")
            .args(args)
            .output()
            .expect("runs");
        outcome(&output)
    };
    let (code, _, stderr) = run(&["storage", "kv", "create", "--name", "here"]);
    assert_eq!(code, Some(0), "{stderr}");
    let value = "{\n  \"a\": 1\n}\n";
    let (code, _, stderr) = run(&["storage", "kv", "put", "here", "k", value, "--ttl", "1h"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stdout, stderr) = run(&[
        "--json",
        "storage",
        "kv",
        "key",
        "patch",
        "here",
        "k",
        "--merge",
        r#"{"b":[true]}"#,
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let ttl = json["ttl_secs"].as_u64().expect("a TTL kept");
    assert!((3500..=3600).contains(&ttl), "{ttl}");
    let (_, stdout, _) = run(&["storage", "kv", "get", "here", "k"]);
    assert_eq!(stdout, "{\n  \"a\": 1,\n  \"b\": [\n    true\n  ]\n}\n");
}

#[test]
fn a_patch_does_not_overwrite_a_key_changed_meanwhile() {
    // The second read of the key (just before the write) finds other bytes than the first.
    let reads = std::sync::atomic::AtomicUsize::new(0);
    let server = FaultServer::answering(move |request: &Received| {
        if request.method != "GET" {
            return Fault::status(500, "unexpected");
        }
        let body = if reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            r#"{"a":1}"#
        } else {
            r#"{"a":2}"#
        };
        Fault::json(200, body)
    });
    let home = tempfile::tempdir().expect("tempdir");
    let ns = "6a3e5c7e-0000-4000-8000-000000000001";
    let output = against(&server, home.path())
        .args([
            "storage",
            "kv",
            "key",
            "patch",
            ns,
            "k",
            "--merge",
            r#"{"b":1}"#,
        ])
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(5), ""));
    insta::assert_snapshot!(shown(&stderr), @"
    error: key `k` in namespace `00000000-0000-0000-0000-000000000000` changed since it was read; nothing saved
    hint: Run the patch again to apply it to the value as it is now.
    ");
    let methods: Vec<String> = server.received().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["GET", "GET"]);
}

#[test]
fn edit_and_patch_complete_namespaces_and_keys() {
    let home = tempfile::tempdir().expect("home");
    let local = |args: &[&str]| {
        let output = bare(home.path())
            .current_dir(home.path())
            .env("TELNYX_EDGE_LOCAL", "1")
            .args(args)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(0), "{args:?}");
    };
    local(&["storage", "kv", "create", "--name", "my-cache"]);
    local(&["storage", "kv", "put", "my-cache", "user/1", "{}"]);
    local(&["storage", "kv", "put", "my-cache", "order/9", "{}"]);
    for command in ["edit", "patch"] {
        let complete = |words: &[&str]| {
            let output = bare(home.path())
                .current_dir(home.path())
                .env("TELNYX_EDGE_LOCAL", "1")
                .env("XDG_CACHE_HOME", home.path().join("cache"))
                .env("_TELNYX_EDGE_COMPLETE", "fish")
                .arg("--")
                .args(words)
                .output()
                .expect("runs");
            assert_eq!(output.stderr, b"");
            String::from_utf8(output.stdout)
                .expect("UTF-8")
                .lines()
                .map(|line| line.split('\t').next().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
        };
        let base = ["telnyx-edge", "storage", "kv", "key", command];
        assert_eq!(complete(&[&base[..], &["my"]].concat()), ["my-cache"]);
        assert_eq!(
            complete(&[&base[..], &["my-cache", "us"]].concat()),
            ["user/1"]
        );
    }
}
