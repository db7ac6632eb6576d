//! `pull`, `push` and `diff` (issue #16): an in-process emulator plays the service, and the
//! binary's `--local` emulator holds local state in the project's state directory.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::cli::{Kv, outcome};
use crate::support::output::shown;
use crate::support::project::Project;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\xff\xfe";

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("read")
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect()
}

#[test]
fn pull_copies_bytes_and_content_types_and_a_second_pull_reads_only_the_key_list() {
    // Written long enough before the pull lists them for it to trust their `updated_at`.
    let project = Project::with_settled_writes();
    project.service_put_typed("greeting", b"hello", "text/plain");
    project.service_put_typed("logo.png", PNG, "image/png");
    let (code, stdout, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "");
    insta::assert_snapshot!(shown(&stderr), @"Pulled `MY_CACHE` into local state in [SECS]: 2 added, 0 changed, 0 deleted, 0 unchanged");
    let got = project
        .kv
        .run(&["--local", "storage", "kv", "get", "MY_CACHE", "logo.png"]);
    assert_eq!(got.stdout, PNG);
    let (_, text, _) = project.local(&["storage", "kv", "get", "MY_CACHE", "greeting"]);
    assert_eq!(text, "hello");
    let (_, export, _) = project.local(&["storage", "kv", "export", "MY_CACHE"]);
    let exported: Vec<Value> = export
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON"))
        .collect();
    assert_eq!(
        exported,
        [
            json!({"key": "greeting", "value": "hello", "base64": false, "content_type": "text/plain"}),
            json!({"key": "logo.png", "value": "iVBORw0KGgoA//4=", "base64": true, "content_type": "image/png"}),
        ]
    );

    // Nothing new: the namespace and one key list are read, no value, and nothing is written.
    let writes = project.local_writes();
    let before = project.requests();
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"Pulled `MY_CACHE` into local state in [SECS]: 0 added, 0 changed, 0 deleted, 2 unchanged");
    assert_eq!(project.requests() - before, 2);
    assert_eq!(project.local_writes(), writes);

    // A change of the same size is seen by its `updated_at`, and only that key is written.
    project.service_put_now("greeting", b"hallo", "text/plain");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull", "MY_CACHE"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"Pulled `MY_CACHE` into local state in [SECS]: 0 added, 1 changed, 0 deleted, 1 unchanged");
    let (_, text, _) = project.local(&["storage", "kv", "get", "MY_CACHE", "greeting"]);
    assert_eq!(text, "hallo");
    let after = project.local_writes();
    assert_eq!(after[1], writes[1], "logo.png is not rewritten");
    assert_ne!(after[0], writes[0]);
}

#[test]
fn without_what_the_last_pull_saw_values_are_compared_and_equal_ones_not_rewritten() {
    let project = Project::new();
    project.service_put_typed("a", b"one", "text/plain");
    project.service_put_typed("b", b"two", "application/json");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    let writes = project.local_writes();
    std::fs::remove_dir_all(project.state().join("seen")).ok();
    let before = project.requests();
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"Pulled `MY_CACHE` into local state in [SECS]: 0 added, 0 changed, 0 deleted, 2 unchanged");
    // The namespace, the key list and each value.
    assert_eq!(project.requests() - before, 4);
    assert_eq!(project.local_writes(), writes);
    // A content type alone is a change.
    project.service_put_typed("b", b"two", "text/plain");
    let (_, _, stderr) = project.run(&["storage", "kv", "pull"]);
    insta::assert_snapshot!(shown(&stderr), @"Pulled `MY_CACHE` into local state in [SECS]: 0 added, 1 changed, 0 deleted, 1 unchanged");
}

#[test]
fn local_only_keys_stay_even_with_delete_and_a_prefix_limits_the_pull() {
    let project = Project::new();
    project.service_put_typed("config/a", b"1", "text/plain");
    project.service_put_typed("users/1", b"u", "text/plain");
    let (code, _, stderr) =
        project.local(&["storage", "kv", "put", "MY_CACHE", "config/local", "x"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull", "--prefix", "config/"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
      left alone: `config/local` (new in local state since the last sync; `push` sends it)
    Pulled `MY_CACHE` into local state in [SECS]: 1 added, 0 changed, 0 deleted, 0 unchanged; 1 key left alone
    ");
    let (_, keys, _) = project.local(&["-o", "ids", "storage", "kv", "key", "list", "MY_CACHE"]);
    assert_eq!(keys, "config/a\nconfig/local\n");
    // `--delete` takes the service's deletions, never an edit local state has not pushed.
    let (code, _, stderr) = project.run(&["storage", "kv", "pull", "--delete"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
      left alone: `config/local` (new in local state since the last sync; `push` sends it)
    Pulled `MY_CACHE` into local state in [SECS]: 1 added, 0 changed, 0 deleted, 1 unchanged; 1 key left alone
    ");
    let (_, keys, _) = project.local(&["-o", "ids", "storage", "kv", "key", "list", "MY_CACHE"]);
    assert_eq!(keys, "config/a\nconfig/local\nusers/1\n");
    // `--force --delete` makes local state a copy of the service.
    let (code, _, stderr) = project.run(&["storage", "kv", "pull", "--delete", "--force"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"Pulled `MY_CACHE` into local state in [SECS]: 0 added, 0 changed, 1 deleted, 2 unchanged");
    let (_, keys, _) = project.local(&["-o", "ids", "storage", "kv", "key", "list", "MY_CACHE"]);
    assert_eq!(keys, "config/a\nusers/1\n");
}

#[test]
fn a_dry_run_pull_prints_the_diff_and_writes_nothing() {
    let project = Project::new();
    project.service_put_typed("k", b"v", "text/plain");
    let (code, stdout, stderr) = project.run(&["storage", "kv", "pull", "--dry-run"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout,
        "CHANGE  KEY  LOCAL_SIZE  SERVICE_SIZE\nadded   k             -             1\n"
    );
    insta::assert_snapshot!(shown(&stderr), @"Dry run: pulling `MY_CACHE` would make 1 added, 0 changed, 0 deleted, 0 unchanged; nothing was written");
    assert!(!project.state().exists(), "no state directory is created");
    // The same keys as `diff local:… remote:…`.
    let (code, ids, _) = project.run(&[
        "-o",
        "ids",
        "storage",
        "kv",
        "diff",
        "local:MY_CACHE",
        "remote:MY_CACHE",
    ]);
    assert_eq!((code, ids.as_str()), (Some(1), "k\n"));
}

#[test]
fn push_shows_its_plan_refuses_without_a_terminal_and_with_yes_makes_the_service_equal() {
    let project = Project::new();
    project.service_put_typed("same", b"s", "text/plain");
    project.service_put_typed("old", b"o", "text/plain");
    project.service_put_typed("edited", b"before", "text/plain");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    for (key, value) in [("new", "n"), ("edited", "after!")] {
        let (code, _, stderr) = project.local(&["storage", "kv", "put", "MY_CACHE", key, value]);
        assert_eq!(code, Some(0), "{stderr}");
    }
    let (code, _, _) = project.local(&["storage", "kv", "delete", "MY_CACHE", "old", "--yes"]);
    assert_eq!(code, Some(0));

    let before = project.requests();
    let (code, stdout, stderr) = project.run(&["storage", "kv", "push", "--delete"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stdout, "");
    insta::assert_snapshot!(shown(&stderr), @"
    Pushing `MY_CACHE` would make 1 added, 1 changed, 1 deleted, 1 unchanged on the service
    CHANGE   KEY     SERVICE_SIZE  LOCAL_SIZE
    changed  edited             6           6
    added    new                -           1
    removed  old                1           -
    error: refusing to push 3 changes to the service without confirmation: there is no terminal to ask on
    hint: Pass --yes (or set TELNYX_EDGE_SKIP_CONFIRMATIONS=1) to go ahead without asking.
    ");
    // Only reads: the namespace, the key list and the three values whose sides depend on them
    // (the pull saw them written less than two seconds before, so it did not vouch for them).
    assert_eq!(project.requests() - before, 5);
    assert_eq!(project.service_get_raw("edited"), (200, b"before".to_vec()));
    assert_eq!(project.service_get_raw("new").0, 404);
    assert_eq!(project.service_get_raw("old").0, 200);

    let (code, dry, stderr) = project.run(&["storage", "kv", "push", "--delete", "--dry-run"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        dry,
        "CHANGE   KEY     SERVICE_SIZE  LOCAL_SIZE\nchanged  edited             6           6\nadded    new                -           1\nremoved  old                1           -\n"
    );

    let (code, stdout, stderr) =
        project.run(&["--json", "storage", "kv", "push", "--delete", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(summary[0]["added"], 1);
    assert_eq!(summary[0]["changed"], 1);
    assert_eq!(summary[0]["deleted"], 1);
    assert_eq!(summary[0]["unchanged"], 1);
    assert_eq!(summary[0]["failed"], 0);
    assert_eq!(project.service_get_raw("edited"), (200, b"after!".to_vec()));
    assert_eq!(project.service_get_raw("new"), (200, b"n".to_vec()));
    assert_eq!(project.service_get_raw("old").0, 404);
    let (code, stdout, stderr) =
        project.run(&["storage", "kv", "diff", "remote:MY_CACHE", "local:MY_CACHE"]);
    assert_eq!((code, stdout.as_str()), (Some(0), ""), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"remote:MY_CACHE and local:MY_CACHE are equal (3 keys)");
    let (code, _, stderr) = project.run(&["storage", "kv", "push", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    Pushing `MY_CACHE` would make 0 added, 0 changed, 0 deleted, 3 unchanged on the service
    Nothing to push: the service has every change local state made
    Pushed `MY_CACHE` to the service in [SECS]: 0 added, 0 changed, 0 deleted, 3 unchanged
    ");
}

#[test]
fn diff_exits_0_when_equal_1_when_different_and_prints_json() {
    let project = Project::new();
    let other = project.kv.api.create("other");
    let put = |ns: &str, key: &str, value: &str| {
        let response = project
            .kv
            .api
            .put(&format!("/storage/kvs/{ns}/keys/{key}"), value.to_owned());
        assert!(response.status().is_success());
    };
    for ns in [&project.id, &other] {
        put(ns, "same", "1");
        put(ns, "size", if ns == &other { "22" } else { "1" });
        put(ns, "bytes", if ns == &other { "b" } else { "a" });
    }
    put(&project.id, "only-a", "x");
    put(&other, "only-b", "y");
    let (code, stdout, stderr) =
        project.run(&["--json", "storage", "kv", "diff", "my-cache", "other"]);
    assert_eq!(code, Some(1), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(
        report,
        json!({
            "a": {"side": "remote", "namespace": "my-cache", "id": project.id},
            "b": {"side": "remote", "namespace": "other", "id": other},
            "added": 1, "changed": 2, "removed": 1, "ttl": 0, "equal": 1,
            "differences": [
                {"key": "bytes", "change": "changed", "a_size": 1, "b_size": 1},
                {"key": "only-a", "change": "removed", "a_size": 1, "b_size": null},
                {"key": "only-b", "change": "added", "a_size": null, "b_size": 1},
                {"key": "size", "change": "changed", "a_size": 1, "b_size": 2},
            ]
        })
    );
    insta::assert_snapshot!(shown(&stderr), @"A is remote:my-cache, B is remote:other: 1 added, 2 changed, 1 removed, 1 equal");
    let (code, table, _) = project.run(&["storage", "kv", "diff", "my-cache", "other"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        table,
        "CHANGE   KEY     A_SIZE  B_SIZE\nchanged  bytes        1       1\nremoved  only-a       1       -\nadded    only-b       -       1\nchanged  size         1       2\n"
    );
    let (code, stdout, _) = project.run(&["storage", "kv", "diff", "my-cache", "my-cache"]);
    assert_eq!((code, stdout.as_str()), (Some(0), ""));
    let (code, stdout, _) = project.run(&[
        "storage", "kv", "diff", "--prefix", "same", "my-cache", "other",
    ]);
    assert_eq!((code, stdout.as_str()), (Some(0), ""));
    // Two local namespaces with `--local`; neither exists yet.
    let (code, _, stderr) =
        project.run(&["--local", "storage", "kv", "diff", "MY_CACHE", "MY_CACHE"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = project.run(&["storage", "kv", "diff", "local:", "my-cache"]);
    assert_eq!(code, Some(2), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: `local:` names no namespace
    hint: Write a side as `local:NAMESPACE`, `remote:NAMESPACE` or NAMESPACE (a UUID, a binding or a name).
    ");
    let (code, _, stderr) = project.run(&["storage", "kv", "diff", "my-cache", "nope"]);
    assert_eq!(code, Some(3), "{stderr}");
}

#[test]
fn pull_refuses_local_and_needs_a_namespace_or_a_binding() {
    let project = Project::new();
    let (code, _, stderr) = project.run(&["--local", "storage", "kv", "pull"]);
    assert_eq!(code, Some(2), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: `pull` copies between the service and local state; `--local` has no meaning here
    hint: Drop `--local`: `pull` always uses both. To compare two local namespaces, use `telnyx-edge --local storage kv diff A B`.
    ");
    std::fs::write(project.kv.path().join("func.toml"), "[edge_compute]\n").expect("write");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(2), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: no NAMESPACE given, and `func.toml` has no [storage.kv.*] bindings
    hint: Name the namespaces, or bind one first: `telnyx-edge storage kv bind NAMESPACE BINDING`.
    ");
    let (code, _, stderr) = project.run(&["storage", "kv", "push", "--yes"]);
    assert_eq!(code, Some(3), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: there is no local state to push: `[TEMP]/.telnyx-edge/state` does not exist
    hint: Write something with `--local` first, or `telnyx-edge storage kv pull` to start from the service.
    ");
    assert!(!project.state().exists());
}

#[test]
fn a_namespace_pulled_by_name_lands_in_a_local_namespace_with_the_same_id_and_name() {
    let project = Project::new();
    let other = project.kv.api.create("sessions");
    let response = project
        .kv
        .api
        .put(&format!("/storage/kvs/{other}/keys/s1"), "token");
    assert!(response.status().is_success());
    let (code, _, stderr) = project.run(&["storage", "kv", "pull", "sessions"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (_, listed, _) = project.local(&["--json", "storage", "kv", "get", "sessions"]);
    let ns: Value = serde_json::from_str(&listed).expect("JSON");
    assert_eq!(ns["id"], other.as_str());
    let (_, value, _) = project.local(&["storage", "kv", "get", &other, "s1"]);
    assert_eq!(value, "token");
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_pull_and_lists_the_keys_not_copied() {
    let kv = Kv::with(telnyx_edge::emulator::Config {
        latency: Some(telnyx_edge::emulator::Latency {
            base: Duration::from_millis(20),
            jitter: Duration::ZERO,
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
    let before = kv.api.stats().requests;
    let child = kv
        .std_cmd()
        .args([
            "storage",
            "kv",
            "pull",
            &id,
            "--concurrency",
            "4",
            "--failed-file",
            "left.ndjson",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    // Past the namespace and its three pages of keys, into the values (4 at a time, 20 ms
    // each: far from the 3,000).
    kv.api.wait_for_requests_beyond(before + 30);
    let (code, stderr) = crate::support::cli::interrupt(child);
    assert_eq!(code, Some(130), "{stderr}");
    // How far the pull got when the signal came varies, and so does what it printed: only the
    // lines that must be there are checked.
    assert!(stderr.contains("pull of `slow` interrupted"), "{stderr}");
    assert!(
        stderr.contains("Run the same `pull` again to finish"),
        "{stderr}"
    );
    let left = lines(&kv.path().join("left.ndjson"));
    assert!(!left.is_empty());
    assert!(left.iter().all(|line| line["origin"] == "pull"));
    let (_, export, _) = outcome(&kv.run(&["--local", "storage", "kv", "export", &id]));
    let copied = export.lines().count();
    assert_eq!(copied + left.len(), 3000, "every key is copied or listed");
    // Running it again finishes the job.
    let (code, _, stderr) = outcome(&kv.run(&["storage", "kv", "pull", &id]));
    assert_eq!(code, Some(0), "{stderr}");
    let (_, export, _) = outcome(&kv.run(&["--local", "storage", "kv", "export", &id]));
    assert_eq!(export.lines().count(), 3000);
}

#[test]
fn push_leaves_alone_what_the_service_changed_since_the_last_pull_unless_forced() {
    let project = Project::with_settled_writes();
    project.service_put_typed("flag", b"off", "text/plain");
    project.service_put_typed("stale", b"s", "text/plain");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    // Production moves on (a new `updated_at`), and a key appears there.
    project.service_put_now("flag", b"on-prod", "text/plain");
    project.service_put_now("theirs", b"t", "text/plain");
    project
        .kv
        .api
        .delete(&format!("/storage/kvs/{}/keys/stale", project.id));
    let (code, _, _) = project.local(&["storage", "kv", "put", "MY_CACHE", "mine", "m"]);
    assert_eq!(code, Some(0));

    let (code, stdout, stderr) =
        project.run(&["--json", "storage", "kv", "push", "--delete", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    Pushing `MY_CACHE` would make 1 added, 0 changed, 0 deleted, 0 unchanged on the service; 3 keys left alone
      left alone: `flag` (changed on the service since the last sync; `pull` takes it)
      left alone: `stale` (deleted on the service since the last sync; `pull --delete` takes that)
      left alone: `theirs` (new on the service since the last sync; `pull` takes it)
    CHANGE  KEY   SERVICE_SIZE  LOCAL_SIZE
    added   mine             -           1
    Pushed `MY_CACHE` to the service in [SECS]: 1 added, 0 changed, 0 deleted, 0 unchanged; 3 keys left alone
    ");
    let summary: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(summary[0]["added"], 1);
    assert_eq!(summary[0]["held"], 3);
    assert_eq!(project.service_get_raw("flag"), (200, b"on-prod".to_vec()));
    assert_eq!(project.service_get_raw("theirs").0, 200);
    assert_eq!(project.service_get_raw("stale").0, 404);
    assert_eq!(project.service_get_raw("mine"), (200, b"m".to_vec()));

    // A push's own writes are not taken for someone else's the next time.
    let (code, _, _) = project.local(&["storage", "kv", "put", "MY_CACHE", "mine", "m2"]);
    assert_eq!(code, Some(0));
    let (code, _, stderr) = project.run(&["storage", "kv", "push", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(project.service_get_raw("mine"), (200, b"m2".to_vec()));

    // --force makes the service a copy of local state.
    let (code, _, stderr) = project.run(&["storage", "kv", "push", "--delete", "--force", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(project.service_get_raw("flag"), (200, b"off".to_vec()));
    assert_eq!(project.service_get_raw("theirs").0, 404);
    assert_eq!(project.service_get_raw("stale"), (200, b"s".to_vec()));
}

#[test]
fn a_dry_run_pull_creates_no_local_namespace_even_with_state() {
    let project = Project::new();
    let other = project.kv.api.create("fourth");
    let response = project
        .kv
        .api
        .put(&format!("/storage/kvs/{other}/keys/f"), "v");
    assert!(response.status().is_success());
    let (code, _, _) = project.local(&["storage", "kv", "put", "MY_CACHE", "k", "v"]);
    assert_eq!(code, Some(0));
    let (code, stdout, stderr) = project.run(&[
        "-o",
        "ndjson",
        "storage",
        "kv",
        "pull",
        "fourth",
        "--dry-run",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout,
        "{\"namespace\":\"fourth\",\"key\":\"f\",\"change\":\"added\",\"a_size\":null,\"b_size\":1}\n"
    );
    let (_, listed, _) = project.local(&["-o", "ids", "storage", "kv", "list"]);
    assert_eq!(listed, format!("{}\n", project.id), "only the bound mirror");
    // One summary object per line with -o ndjson.
    let (code, stdout, stderr) = project.run(&[
        "-o", "ndjson", "storage", "kv", "pull", "fourth", "MY_CACHE",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("one object per line"))
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0]["namespace"], "fourth");
    assert_eq!(lines[0]["added"], 1);
    assert_eq!(lines[1]["namespace"], "MY_CACHE");
}

#[test]
fn diff_under_local_mode_still_finds_the_service_at_its_base_url() {
    let project = Project::new();
    project.service_put_typed("k", b"v", "text/plain");
    let output = project
        .kv
        .cmd()
        .env("TELNYX_EDGE_LOCAL", "1")
        .args([
            "-o",
            "ids",
            "storage",
            "kv",
            "diff",
            "MY_CACHE",
            "remote:MY_CACHE",
        ])
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(1), "k\n"), "{stderr}");
}

#[test]
fn a_key_no_request_can_address_is_reported_once_and_listed_without_stopping_the_pull() {
    let project = Project::new();
    project.service_put_typed("good", b"g", "text/plain");
    // `.` and `..` are stored by a raw client; the CLI refuses to address them.
    for encoded in ["%2E", "%2E%2E"] {
        let (status, _) = crate::support::api::raw_request(
            &project.kv.api,
            "PUT",
            &format!("/storage/kvs/{}/keys/{encoded}", project.id),
            b"dot",
        );
        assert!((200..300).contains(&status), "{status}");
    }
    let failed = project.kv.path().join("failed.ndjson");
    // The default error budget (one) is not spent by them.
    let (code, stdout, stderr) = project.run(&[
        "--json",
        "storage",
        "kv",
        "pull",
        "--failed-file",
        failed.to_str().expect("path"),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    warning: key `.` of `MY_CACHE` cannot be copied: no request can address it; it is left alone
    warning: key `..` of `MY_CACHE` cannot be copied: no request can address it; it is left alone
    Pulled `MY_CACHE` into local state in [SECS]: 1 added, 0 changed, 0 deleted, 0 unchanged, 2 that no request can address
    ");
    let summary: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(
        (
            summary[0]["added"].as_u64(),
            summary[0]["uncopyable"].as_u64()
        ),
        (Some(1), Some(2))
    );
    let keys: Vec<Value> = lines(&failed)
        .iter()
        .map(|line| line["key"].clone())
        .collect();
    assert_eq!(keys, [json!("."), json!("..")]);
    let (_, value, _) = project.local(&["storage", "kv", "get", "MY_CACHE", "good"]);
    assert_eq!(value, "g");
}

#[test]
fn push_carries_a_local_keys_remaining_ttl() {
    let project = Project::with_settled_writes();
    let (code, _, stderr) = project.local(&[
        "storage", "kv", "put", "MY_CACHE", "session", "s", "--ttl", "2s",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, _) = project.local(&["storage", "kv", "put", "MY_CACHE", "kept", "k"]);
    assert_eq!(code, Some(0));
    let (code, _, stderr) = project.run(&["storage", "kv", "push", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(project.service_get_raw("session"), (200, b"s".to_vec()));
    // The service 2.3 s later, by its clock.
    let later = project.service_later(2300);
    let path = |key: &str| format!("/storage/kvs/{}/keys/{key}", project.id);
    assert_eq!(
        later.get(&path("session")).status(),
        404,
        "it expires on the service too"
    );
    assert_eq!(later.get(&path("kept")).status(), 200);
}

#[cfg(unix)]
#[test]
fn ctrl_c_between_copies_still_stops_a_pull() {
    let kv = Kv::with(telnyx_edge::emulator::Config {
        latency: Some(telnyx_edge::emulator::Latency {
            base: Duration::from_millis(300),
            jitter: Duration::ZERO,
        }),
        ..telnyx_edge::emulator::Config::in_memory()
    });
    let small = kv.api.create("small");
    let big = kv.api.create("big");
    let input: String = (0..4000)
        .map(|i| format!("{}\n", json!({"key": format!("k{i:04}"), "value": "v"})))
        .collect();
    std::fs::write(kv.path().join("in.ndjson"), input).expect("write");
    let (code, _, stderr) = outcome(&kv.run(&["-q", "storage", "kv", "import", &big, "in.ndjson"]));
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, _) = outcome(&kv.run(&["storage", "kv", "put", &small, "k", "v"]));
    assert_eq!(code, Some(0));
    let started = std::time::Instant::now();
    let child = kv
        .std_cmd()
        .args(["storage", "kv", "pull", &small, &big])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    // The small namespace is copied (its copy installs a signal handler) and the big one is
    // being listed, 1,000 keys per 300 ms page.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let seen = kv.path().join(".telnyx-edge/state/sync.sqlite3");
    while !seen.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let (code, stderr) = crate::support::cli::interrupt(child);
    assert_eq!(code, Some(130), "{stderr}");
    // How far the big namespace's listing got varies: only the lines that must be there are
    // checked.
    assert!(
        stderr.contains("Pulled `small` into local state"),
        "{stderr}"
    );
    assert!(stderr.contains("error: pull interrupted"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_key_the_service_deleted_and_a_pull_kept_is_not_pushed_back() {
    let project = Project::new();
    project.service_put_typed("old", b"o", "text/plain");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    project
        .kv
        .api
        .delete(&format!("/storage/kvs/{}/keys/old", project.id));
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"Pulled `MY_CACHE` into local state in [SECS]: 0 added, 0 changed, 0 deleted, 0 unchanged; 1 deletion not made in local state (`--delete` makes them)");
    let (code, _, stderr) = project.run(&["storage", "kv", "push", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    Pushing `MY_CACHE` would make 0 added, 0 changed, 0 deleted, 0 unchanged on the service; 1 key left alone
      left alone: `old` (deleted on the service since the last sync; `pull --delete` takes that)
    Pushed `MY_CACHE` to the service in [SECS]: 0 added, 0 changed, 0 deleted, 0 unchanged; 1 key left alone
    ");
    assert_eq!(project.service_get_raw("old").0, 404);
}
