//! `storage kv copy SRC DST` (issue #26): between two local namespaces, from the service into
//! local state and back, with `--prefix`, `--delete`, `--dry-run`, faults and bad sides.

use serde_json::{Value, json};

use crate::support::cli::outcome;
use crate::support::output::shown;
use crate::support::project::Project;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\xff\xfe";

/// Creates a local namespace and returns its id.
fn local_namespace(project: &Project, name: &str) -> String {
    let (code, id, stderr) =
        project.local(&["-o", "ids", "storage", "kv", "create", "--name", name]);
    assert_eq!(code, Some(0), "{stderr}");
    id.trim().to_owned()
}

/// A local namespace's keys: value, content type and expiry (Unix ms), read from its store.
fn local_rows(project: &Project, ns: &str) -> Vec<(String, Vec<u8>, String, Option<i64>)> {
    let db = rusqlite::Connection::open(project.state().join("kv.sqlite3")).expect("db");
    let mut statement = db
        .prepare("SELECT key, value, content_type, expires_ms FROM kv WHERE ns = ?1 ORDER BY key")
        .expect("query");
    statement
        .query_map([ns], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn local_put(project: &Project, ns: &str, key: &str, value: &str, extra: &[&str]) {
    let mut args = vec!["storage", "kv", "put", ns, key, value];
    args.extend(extra);
    let (code, _, stderr) = project.local(&args);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn local_to_local_copies_values_content_types_and_ttls_and_a_second_copy_writes_nothing() {
    let project = Project::new();
    local_put(
        &project,
        "MY_CACHE",
        "greeting",
        "hello",
        &["--content-type", "text/plain"],
    );
    local_put(
        &project,
        "MY_CACHE",
        "doc",
        "{\"a\":1}",
        &["--content-type", "application/json"],
    );
    local_put(&project, "MY_CACHE", "session", "s", &["--ttl", "1h"]);
    let other = local_namespace(&project, "other");
    let (code, stdout, stderr) = project.local(&["storage", "kv", "copy", "MY_CACHE", "other"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "");
    insta::assert_snapshot!(shown(&stderr), @"Copied `local:MY_CACHE` to `local:other` in [SECS]: 3 added, 0 changed, 0 deleted, 0 unchanged");
    let from = local_rows(&project, &project.id);
    let to = local_rows(&project, &other);
    assert_eq!(from.len(), 3);
    for (a, b) in from.iter().zip(&to) {
        assert_eq!(
            (&a.0, &a.1, &a.2),
            (&b.0, &b.1, &b.2),
            "bytes and content type"
        );
        match (a.3, b.3) {
            (None, None) => {}
            // Rounded up to the second, from when the write arrived.
            (Some(x), Some(y)) => assert!((0..2000).contains(&(y - x)), "{x} {y}"),
            other => panic!("expiry of `{}` not copied: {other:?}", a.0),
        }
    }
    assert!(to.iter().any(|row| row.0 == "session" && row.3.is_some()));
    let writes = local_rows(&project, &other);
    let (code, _, stderr) = project.local(&["storage", "kv", "copy", "MY_CACHE", "other"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"Copied `local:MY_CACHE` to `local:other` in [SECS]: 0 added, 0 changed, 0 deleted, 3 unchanged");
    assert_eq!(local_rows(&project, &other), writes);
}

#[test]
fn remote_to_local_copies_bytes_and_content_types_and_overwrites_what_differs() {
    let project = Project::new();
    project.service_put_typed("logo.png", PNG, "image/png");
    project.service_put_typed("doc", b"{\"v\":2}", "application/json");
    let other = local_namespace(&project, "other");
    local_put(
        &project,
        "other",
        "doc",
        "{\"v\":1}",
        &["--content-type", "application/json"],
    );
    local_put(&project, "other", "mine", "kept", &[]);
    let (code, _, stderr) = project.run(&[
        "--json",
        "storage",
        "kv",
        "copy",
        "remote:my-cache",
        "local:other",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"Copied `remote:my-cache` to `local:other` in [SECS]: 1 added, 1 changed, 0 deleted, 0 unchanged; 1 deletion not made in `local:other` (`--delete` makes them)");
    let rows = local_rows(&project, &other);
    let got: Vec<(&str, &[u8], &str)> = rows
        .iter()
        .map(|(key, value, content_type, _)| {
            (key.as_str(), value.as_slice(), content_type.as_str())
        })
        .collect();
    assert_eq!(
        got,
        [
            ("doc", b"{\"v\":2}".as_slice(), "application/json"),
            ("logo.png", PNG, "image/png"),
            ("mine", b"kept".as_slice(), "application/octet-stream"),
        ]
    );
}

#[test]
fn the_json_outcome_names_both_sides_and_counts_like_push() {
    let project = Project::new();
    project.service_put("a", b"1");
    let other = local_namespace(&project, "other");
    let (code, stdout, stderr) =
        project.run(&["--json", "storage", "kv", "copy", "my-cache", "local:other"]);
    assert_eq!(code, Some(0), "{stderr}");
    let mut document: Value = serde_json::from_str(&stdout).expect("JSON");
    document["seconds"] = json!(0);
    assert_eq!(
        document,
        json!({
            "from": {"side": "remote", "namespace": "my-cache", "id": project.id},
            "to": {"side": "local", "namespace": "other", "id": other},
            "namespace": "other", "id": other,
            "added": 1, "changed": 0, "deleted": 0, "unchanged": 0,
            "kept": 0, "held": 0, "conflicts": 0, "uncopyable": 0,
            "failed": 0, "skipped": 0, "vanished": 0, "seconds": 0,
            "interrupted": false, "left_alone": []
        })
    );
}

#[test]
fn local_to_remote_carries_content_types_and_remaining_ttls() {
    let project = Project::with_settled_writes();
    let staging = project.kv.api.create("staging");
    local_put(&project, "MY_CACHE", "session", "s", &["--ttl", "2s"]);
    local_put(
        &project,
        "MY_CACHE",
        "doc",
        "{}",
        &["--content-type", "application/json"],
    );
    let (code, _, stderr) =
        project.run(&["storage", "kv", "copy", "local:MY_CACHE", "remote:staging"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"Copied `local:MY_CACHE` to `remote:staging` in [SECS]: 2 added, 0 changed, 0 deleted, 0 unchanged");
    let path = |key: &str| format!("/storage/kvs/{staging}/keys/{key}");
    let doc = project.kv.api.get(&path("doc"));
    assert_eq!(doc.status(), 200);
    assert_eq!(doc.headers()["content-type"], "application/json");
    assert_eq!(doc.bytes().expect("body").as_ref(), b"{}");
    assert_eq!(project.kv.api.get(&path("session")).status(), 200);
    // The service 2.3 s later, by its clock: the key expired there too.
    let later = project.service_later(2300);
    assert_eq!(later.get(&path("session")).status(), 404);
    assert_eq!(later.get(&path("doc")).status(), 200);
}

#[test]
fn prefix_copies_only_the_keys_under_it() {
    let project = Project::new();
    for key in ["a/1", "a/2", "b/1"] {
        local_put(&project, "MY_CACHE", key, key, &[]);
    }
    let other = local_namespace(&project, "other");
    local_put(&project, "other", "b/9", "x", &[]);
    let (code, _, stderr) = project.local(&[
        "storage", "kv", "copy", "MY_CACHE", "other", "--prefix", "a/", "--delete",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"Copied `local:MY_CACHE` to `local:other` in [SECS]: 2 added, 0 changed, 0 deleted, 0 unchanged");
    let keys: Vec<String> = local_rows(&project, &other)
        .into_iter()
        .map(|row| row.0)
        .collect();
    assert_eq!(keys, ["a/1", "a/2", "b/9"]);
}

#[test]
fn delete_asks_first_and_without_a_terminal_needs_yes() {
    let project = Project::new();
    local_put(&project, "MY_CACHE", "a", "1", &[]);
    let other = local_namespace(&project, "other");
    local_put(&project, "other", "gone", "x", &[]);
    let copy = ["storage", "kv", "copy", "MY_CACHE", "other", "--delete"];
    let (code, stdout, stderr) = project.local(&copy);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stdout, "");
    insta::assert_snapshot!(shown(&stderr), @"
    error: refusing to delete 1 key from `local:other` (not in `local:MY_CACHE`) without confirmation: there is no terminal to ask on
    hint: Pass --yes (or set TELNYX_EDGE_SKIP_CONFIRMATIONS=1) to go ahead without asking.
    ");
    let keys: Vec<String> = local_rows(&project, &other)
        .into_iter()
        .map(|row| row.0)
        .collect();
    assert_eq!(keys, ["gone"], "nothing written");
    let mut with_yes = copy.to_vec();
    with_yes.push("--yes");
    let (code, _, stderr) = project.local(&with_yes);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"Copied `local:MY_CACHE` to `local:other` in [SECS]: 1 added, 0 changed, 1 deleted, 0 unchanged");
    let keys: Vec<String> = local_rows(&project, &other)
        .into_iter()
        .map(|row| row.0)
        .collect();
    assert_eq!(keys, ["a"]);
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let project = Project::new();
    local_put(&project, "MY_CACHE", "new", "12345", &[]);
    local_put(&project, "MY_CACHE", "same", "s", &[]);
    local_put(&project, "MY_CACHE", "other-bytes", "v2", &[]);
    let other = local_namespace(&project, "other");
    local_put(&project, "other", "same", "s", &[]);
    local_put(&project, "other", "other-bytes", "v1", &[]);
    local_put(&project, "other", "extra", "xyz", &[]);
    let before = local_rows(&project, &other);
    let (code, stdout, stderr) =
        project.local(&["storage", "kv", "copy", "MY_CACHE", "other", "--dry-run"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(stdout, @"
    CHANGE   KEY          DST_SIZE  SRC_SIZE
    added    new                 -         5
    changed  other-bytes         2         2
    ");
    insta::assert_snapshot!(shown(&stderr), @"Dry run: copying `local:MY_CACHE` to `local:other` would make 1 added, 1 changed, 0 deleted, 1 unchanged; 1 key only in `local:other` kept (`--delete` deletes it); nothing was written");
    let (code, stdout, stderr) = project.local(&[
        "storage",
        "kv",
        "copy",
        "MY_CACHE",
        "other",
        "--dry-run",
        "--delete",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(stdout, @"
    CHANGE   KEY          DST_SIZE  SRC_SIZE
    removed  extra               3         -
    added    new                 -         5
    changed  other-bytes         2         2
    ");
    insta::assert_snapshot!(shown(&stderr), @"Dry run: copying `local:MY_CACHE` to `local:other` would make 1 added, 1 changed, 1 deleted, 1 unchanged; nothing was written");
    assert_eq!(local_rows(&project, &other), before);
}

#[test]
fn a_copy_with_failures_lists_them_and_running_it_again_finishes() {
    use crate::support::chaos::{ChaosProxy, FaultKind, Schedule};
    let project = Project::new();
    let keys: Vec<String> = (0..20).map(|i| format!("k{i:02}")).collect();
    for key in &keys {
        project.service_put(key, key.as_bytes());
    }
    let other = local_namespace(&project, "other");
    let proxy = ChaosProxy::start(
        &project.kv.api.base_url(),
        Schedule::new(11, 500)
            .only(&[FaultKind::ServerError])
            .values_only(),
    );
    let output = project
        .kv
        .cmd()
        .env("TELNYX_BASE_URL", &proxy.base_url)
        .args([
            "--retries",
            "0",
            "storage",
            "kv",
            "copy",
            "remote:my-cache",
            "local:other",
        ])
        .args(["--continue-on-error", "--failed-file", "left.ndjson"])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(6), "{stderr}");
    assert!(
        stderr.contains("error: copy of `other` finished with failures"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Run the same `copy` again to finish"),
        "{stderr}"
    );
    let left: Vec<Value> = std::fs::read_to_string(project.kv.path().join("left.ndjson"))
        .expect("failed file")
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect();
    assert!(!left.is_empty(), "{stderr}");
    assert!(left.iter().all(|line| line["origin"] == "copy"));
    let copied = local_rows(&project, &other).len();
    assert!(copied > 0, "some keys were copied: {stderr}");
    assert_eq!(
        copied + left.len(),
        keys.len(),
        "every key is copied or listed"
    );
    // Again, without the faults: only what is still missing is copied.
    let (code, _, stderr) =
        project.run(&["storage", "kv", "copy", "remote:my-cache", "local:other"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        shown(&stderr),
        format!(
            "Copied `remote:my-cache` to `local:other` in [SECS]: {} added, 0 changed, 0 deleted, {copied} unchanged\n",
            left.len()
        )
    );
    let rows = local_rows(&project, &other);
    let got: Vec<&str> = rows.iter().map(|row| row.0.as_str()).collect();
    assert_eq!(got, keys);
}

#[test]
fn the_same_namespace_on_both_sides_is_refused_before_any_request() {
    let project = Project::new();
    let before = project.requests();
    let (code, stdout, stderr) = project.run(&[
        "storage",
        "kv",
        "copy",
        "my-cache",
        "remote:my-cache",
        "--delete",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stdout, "");
    insta::assert_snapshot!(shown(&stderr), @"
    error: SRC and DST are the same namespace (remote:my-cache)
    hint: Name two different namespaces; `local:NAMESPACE` and `remote:NAMESPACE` are two sides.
    ");
    assert_eq!(project.requests(), before);
    // The same namespace named two ways is found once both are resolved, before any key.
    let (code, _, stderr) = project.run(&["storage", "kv", "copy", "my-cache", &project.id]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: SRC and DST are the same namespace"),
        "{stderr}"
    );
}

#[test]
fn a_side_that_names_no_namespace_is_a_usage_error_and_sends_nothing() {
    let project = Project::new();
    let before = project.requests();
    for side in ["local:", "remote:"] {
        let (code, stdout, stderr) = project.run(&["storage", "kv", "copy", side, "my-cache"]);
        assert_eq!(code, Some(2), "{stderr}");
        assert_eq!(stdout, "");
        assert_eq!(
            shown(&stderr),
            format!(
                "error: `{side}` names no namespace\nhint: Write a side as `local:NAMESPACE`, `remote:NAMESPACE` or NAMESPACE (a UUID, a binding or a name).\n"
            )
        );
    }
    // A misspelt side is not taken for a namespace's name (no name has a `:`).
    let (code, _, stderr) = project.run(&["storage", "kv", "copy", "remte:my-cache", "local:x"]);
    assert_eq!(code, Some(2), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: `remte:my-cache` is not a side
    hint: Write a side as `local:NAMESPACE`, `remote:NAMESPACE` or NAMESPACE (a UUID, a binding or a name).
    ");
    assert_eq!(project.requests(), before);
    assert!(!project.state().exists(), "no local state written");
}

#[test]
fn a_missing_namespace_is_said_with_its_side() {
    let project = Project::new();
    local_namespace(&project, "here");
    for (args, said) in [
        (["local:nope", "local:here"], "local:nope"),
        (["local:here", "remote:nope"], "remote:nope"),
    ] {
        let (code, stdout, stderr) =
            project.run(&[&["storage", "kv", "copy"][..], &args[..]].concat());
        assert_eq!((code, stdout.as_str()), (Some(3), ""), "{stderr}");
        let local = if said.starts_with("local") {
            " --local"
        } else {
            ""
        };
        assert_eq!(
            shown(&stderr),
            format!(
                "error: `{said}`: no KV namespace `nope`: not a UUID, and no namespace has that name\nhint: List the namespaces of that side with `telnyx-edge{local} storage kv list`.\n"
            )
        );
    }
}

#[test]
fn both_sides_complete_to_the_bindings_plain_local_and_remote() {
    let home = tempfile::tempdir().expect("home");
    std::fs::write(
        home.path().join("func.toml"),
        "[storage.kv.MY_CACHE]\nid = \"550e8400-e29b-41d4-a716-446655440000\"\n",
    )
    .expect("write");
    for words in [
        &["telnyx-edge", "storage", "kv", "copy", ""][..],
        &["telnyx-edge", "storage", "kv", "copy", "MY_CACHE", ""][..],
    ] {
        let output = crate::support::cli::scrubbed(home.path())
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .env("_TELNYX_EDGE_COMPLETE", "fish")
            .arg("--")
            .args(words)
            .output()
            .expect("runs");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "");
        let offered: Vec<String> = String::from_utf8(output.stdout)
            .expect("UTF-8")
            .lines()
            .map(|line| line.split('\t').next().unwrap_or("").to_owned())
            .filter(|candidate| !candidate.starts_with('-'))
            .collect();
        assert_eq!(offered, ["MY_CACHE", "local:MY_CACHE", "remote:MY_CACHE"]);
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_copy_lists_the_keys_not_copied_and_running_it_again_finishes() {
    use crate::support::cli::Kv;
    let kv = Kv::with(telnyx_edge::emulator::Config {
        latency: Some(telnyx_edge::emulator::Latency {
            base: std::time::Duration::from_millis(20),
            jitter: std::time::Duration::ZERO,
        }),
        ..telnyx_edge::emulator::Config::in_memory()
    });
    let id = kv.api.create("slow");
    let input: String = (0..3000)
        .map(|i| format!("{}\n", json!({"key": format!("k{i:04}"), "value": "v"})))
        .collect();
    std::fs::write(kv.path().join("in.ndjson"), input).expect("write");
    let (code, _, stderr) = outcome(&kv.run(&["storage", "kv", "import", &id, "in.ndjson"]));
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) =
        outcome(&kv.run(&["--local", "storage", "kv", "create", "--name", "here"]));
    assert_eq!(code, Some(0), "{stderr}");
    let before = kv.api.stats().requests;
    let child = kv
        .std_cmd()
        .args(["storage", "kv", "copy", "remote:slow", "local:here"])
        .args(["--concurrency", "4", "--failed-file", "left.ndjson"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    // Past the namespace and its three pages of keys, into the values (4 at a time, 20 ms
    // each: far from the 3,000).
    kv.api.wait_for_requests_beyond(before + 30);
    let (code, stderr) = crate::support::cli::interrupt(child);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("copy of `here` interrupted"), "{stderr}");
    assert!(
        stderr.contains("Run the same `copy` again to finish"),
        "{stderr}"
    );
    let left: Vec<Value> = std::fs::read_to_string(kv.path().join("left.ndjson"))
        .expect("failed file")
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect();
    assert!(!left.is_empty());
    assert!(left.iter().all(|line| line["origin"] == "copy"));
    let (_, export, _) = outcome(&kv.run(&["--local", "storage", "kv", "export", "here"]));
    assert_eq!(
        export.lines().count() + left.len(),
        3000,
        "every key is copied or listed"
    );
    let (code, _, stderr) =
        outcome(&kv.run(&["storage", "kv", "copy", "remote:slow", "local:here"]));
    assert_eq!(code, Some(0), "{stderr}");
    let (_, export, _) = outcome(&kv.run(&["--local", "storage", "kv", "export", "here"]));
    assert_eq!(export.lines().count(), 3000);
}

#[test]
fn between_two_service_namespaces_bytes_and_content_types_are_kept() {
    let project = Project::new();
    project.service_put_typed("logo.png", PNG, "image/png");
    let staging = project.kv.api.create("staging");
    let (code, _, stderr) = project.run(&["storage", "kv", "copy", "my-cache", "staging"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"Copied `remote:my-cache` to `remote:staging` in [SECS]: 1 added, 0 changed, 0 deleted, 0 unchanged");
    let got = project
        .kv
        .api
        .get(&format!("/storage/kvs/{staging}/keys/logo.png"));
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.bytes().expect("body").as_ref(), PNG);
    assert!(!project.state().exists(), "local state untouched");
}
