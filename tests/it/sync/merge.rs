//! `pull` and `push` as a three-way merge (issue #23): each bullet of the report that lost a
//! write, as a test. An in-process emulator plays the service; the binary's `--local` emulator
//! holds local state in the project's state directory.

use std::io::BufRead as _;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::cli::{Kv, outcome};
use crate::support::output::{shown, sorted};
use crate::support::project::Project;

/// Waits until the next second of the wall clock has just begun, so that the next few steps
/// (well under a second) share one `updated_at`.
fn start_of_a_second() {
    let ms = telnyx_edge::emulator::now_ms().rem_euclid(1000);
    std::thread::sleep(Duration::from_millis(
        u64::try_from(1000 - ms).unwrap_or(0) + 5,
    ));
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|err| panic!("{err}: {stdout}"))
}

#[test]
fn push_does_not_undo_a_service_write_made_in_the_same_second_as_the_pull() {
    let project = Project::new();
    start_of_a_second();
    project.service_put("k", b"v1");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    // Someone writes a value of the same size within the same second.
    project.service_put("k", b"v2");
    let (code, stdout, stderr) = project.run(&["--json", "storage", "kv", "push", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(project.service_get("k"), Some(b"v2".to_vec()));
    let summary = json(&stdout);
    assert_eq!(summary[0]["changed"], 0, "{stderr}");
    assert_eq!(summary[0]["held"], 1, "{stderr}");
    // The next pull takes it.
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(project.local_get("k"), Some(b"v2".to_vec()));
}

#[test]
fn without_the_sync_record_differences_are_conflicts_not_overwrites() {
    let project = Project::new();
    project.service_put("k", b"old");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    project.service_put("k", b"service edit");
    std::fs::remove_file(project.state().join("sync.sqlite3")).expect("remove the record");
    let (code, stdout, stderr) = project.run(&["--json", "storage", "kv", "push", "--yes"]);
    assert_eq!(code, Some(1), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @r#"
    Pushing `MY_CACHE` would make 0 added, 0 changed, 0 deleted, 0 unchanged on the service; 1 key left alone (1 conflict)
      left alone: `k` (different in local state and on the service, and no sync left them equal)
    Pushed `MY_CACHE` to the service in [SECS]: 0 added, 0 changed, 0 deleted, 0 unchanged; 1 key left alone (1 conflict)
    {"error":{"message":"1 key changed on both sides since the last sync was left alone","code":"failure","exit_code":1,"hint":"Compare them with `telnyx-edge storage kv diff remote:NAMESPACE local:NAMESPACE`; `push --force` sends local state's values, for the keys left alone only.","request_id":null}}
    "#);
    assert_eq!(json(&stdout)[0]["conflicts"], 1);
    assert_eq!(project.service_get("k"), Some(b"service edit".to_vec()));
    // Nor does a pull overwrite local state's copy.
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(project.local_get("k"), Some(b"old".to_vec()));
    // `pull --force` takes the service's, and the two are in sync again.
    let (code, _, stderr) = project.run(&["storage", "kv", "pull", "--force"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(project.local_get("k"), Some(b"service edit".to_vec()));
    let (code, _, stderr) = project.run(&["storage", "kv", "push", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    Pushing `MY_CACHE` would make 0 added, 0 changed, 0 deleted, 1 unchanged on the service
    Nothing to push: the service has every change local state made
    Pushed `MY_CACHE` to the service in [SECS]: 0 added, 0 changed, 0 deleted, 1 unchanged
    ");
}

#[test]
fn a_pull_through_another_url_of_the_service_keeps_the_first_urls_record() {
    let project = Project::new();
    project.service_put("k", b"old");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    let localhost = project.kv.api.base_url().replace("127.0.0.1", "localhost");
    let output = project
        .kv
        .cmd()
        .env("TELNYX_BASE_URL", &localhost)
        .args(["storage", "kv", "pull"])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    project.service_put("k", b"new");
    let (code, _, stderr) = project.run(&["storage", "kv", "push", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    Pushing `MY_CACHE` would make 0 added, 0 changed, 0 deleted, 0 unchanged on the service; 1 key left alone
      left alone: `k` (changed on the service since the last sync; `pull` takes it)
    Pushed `MY_CACHE` to the service in [SECS]: 0 added, 0 changed, 0 deleted, 0 unchanged; 1 key left alone
    ");
    assert_eq!(project.service_get("k"), Some(b"new".to_vec()));
}

#[test]
fn two_pulls_at_once_both_keep_what_they_saw() {
    let project = Project::new();
    for i in 0..300 {
        project.service_put(&format!("a/{i:03}"), b"a");
        project.service_put(&format!("b/{i:03}"), b"b");
    }
    let children: Vec<_> = ["a/", "b/"]
        .iter()
        .map(|prefix| {
            project
                .kv
                .std_cmd()
                .args(["-q", "storage", "kv", "pull", "--prefix", prefix])
                .spawn()
                .expect("spawns")
        })
        .collect();
    for mut child in children {
        // Both may race to create the mirror; the one that loses says so and is run again.
        let status = child.wait().expect("waits");
        if !status.success() {
            let (code, _, stderr) = project.run(&["-q", "storage", "kv", "pull"]);
            assert_eq!(code, Some(0), "{stderr}");
        }
    }
    // The service changes one key under each prefix; a push leaves both alone.
    project.service_put("a/000", b"A");
    project.service_put("b/000", b"B");
    let (code, stdout, stderr) = project.run(&["--json", "storage", "kv", "push", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(json(&stdout)[0]["held"], 2, "{stderr}");
    assert_eq!(project.service_get("a/000"), Some(b"A".to_vec()));
    assert_eq!(project.service_get("b/000"), Some(b"B".to_vec()));
}

#[test]
fn pull_keeps_local_edits_that_were_not_pushed() {
    let project = Project::new();
    project.service_put("edited", b"service");
    project.service_put("theirs", b"1");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    project.local_put("edited", "local edit");
    let (code, _, _) = project.local(&["storage", "kv", "delete", "MY_CACHE", "theirs", "--yes"]);
    assert_eq!(code, Some(0));
    let (code, stdout, stderr) = project.run(&["--json", "storage", "kv", "pull", "--delete"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(project.local_get("edited"), Some(b"local edit".to_vec()));
    assert_eq!(
        project.local_get("theirs"),
        None,
        "a local deletion is an edit too"
    );
    let summary = json(&stdout);
    assert_eq!(summary[0]["held"], 2);
    assert_eq!(summary[0]["left_alone"][0]["key"], "edited");
    assert_eq!(summary[0]["left_alone"][0]["changed"], "local");
    // And `push` sends them, as the hint says.
    let (code, _, stderr) = project.run(&["storage", "kv", "push", "--delete", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(project.service_get("edited"), Some(b"local edit".to_vec()));
    assert_eq!(project.service_get("theirs"), None);
}

#[test]
fn a_service_clock_behind_this_one_does_not_make_a_racy_listing_trusted() {
    let project = Project::with(telnyx_edge::emulator::Config {
        clock_offset_ms: -3000,
        ..telnyx_edge::emulator::Config::in_memory()
    });
    start_of_a_second();
    project.service_put("k", b"v1");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    // The same second by the service's clock, three seconds ago by this machine's.
    project.service_put("k", b"v2");
    let (code, stdout, stderr) = project.run(&[
        "-o",
        "ids",
        "storage",
        "kv",
        "diff",
        "remote:MY_CACHE",
        "local:MY_CACHE",
    ]);
    assert_eq!((code, stdout.as_str()), (Some(1), "k\n"), "{stderr}");
    let (code, stdout, stderr) = project.run(&["--json", "storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(json(&stdout)[0]["changed"], 1);
    assert_eq!(project.local_get("k"), Some(b"v2".to_vec()));
}

#[test]
fn writes_made_on_the_service_during_a_push_are_left_alone_and_listed() {
    const KEYS: usize = 12;
    let project = Project::with(telnyx_edge::emulator::Config {
        latency: Some(telnyx_edge::emulator::Latency {
            base: Duration::from_millis(150),
            jitter: Duration::ZERO,
        }),
        ..telnyx_edge::emulator::Config::in_memory()
    });
    let key = |i: usize| format!("k{i:02}");
    for i in 0..KEYS {
        project.service_put(&key(i), b"base");
    }
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    for i in 0..KEYS {
        project.local_put(&key(i), "local edit");
    }
    // One key at a time, so the push takes a few seconds.
    let mut child = project
        .kv
        .std_cmd()
        .args([
            "--json",
            "storage",
            "kv",
            "push",
            "--yes",
            "--concurrency",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    // Once the plan is shown, a teammate writes every key on the service.
    while !seen.contains("Pushing `MY_CACHE` would make") && Instant::now() < deadline {
        let mut line = String::new();
        if stderr.read_line(&mut line).expect("reads") == 0 {
            break;
        }
        seen.push_str(&line);
    }
    std::thread::scope(|scope| {
        for i in 0..KEYS {
            let project = &project;
            scope.spawn(move || project.service_put(&key(i), b"teammate"));
        }
    });
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("reads");
    let output = child.wait_with_output().expect("waits");
    let stderr = format!("{seen}{rest}");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let summary = json(&String::from_utf8_lossy(&output.stdout));
    let left: Vec<String> = summary[0]["left_alone"]
        .as_array()
        .expect("left_alone")
        .iter()
        .map(|left| {
            assert_eq!(left["why"], "changed on the service during the push");
            left["key"].as_str().expect("key").to_owned()
        })
        .collect();
    let mut lost = 0;
    for i in 0..KEYS {
        let value = project.service_get(&key(i));
        if value == Some(b"teammate".to_vec()) {
            assert!(
                left.contains(&key(i)),
                "{} kept but not listed: {stderr}",
                key(i)
            );
        } else {
            // The remaining window: a write that lands between the check and the push's write.
            assert_eq!(value, Some(b"local edit".to_vec()));
            lost += 1;
        }
    }
    // With one key in flight, only the key being pushed as the teammate wrote can fall in it.
    assert!(lost <= 1, "{lost} teammate writes overwritten: {stderr}");
    assert_eq!(summary[0]["conflicts"], left.len());
}

#[test]
fn continue_on_error_runs_say_they_finished_not_that_they_stopped() {
    use crate::support::chaos::{ChaosProxy, FaultKind, Schedule};
    let project = Project::new();
    project.service_put("a", b"1");
    project.service_put("b", b"2");
    let proxy = ChaosProxy::start(
        &project.kv.api.base_url(),
        Schedule::new(7, 1000)
            .only(&[FaultKind::ServerError])
            .values_only(),
    );
    // Every value read fails, with no retry.
    let pull = |extra: &[&str]| {
        let output = project
            .kv
            .cmd()
            .env("TELNYX_BASE_URL", &proxy.base_url)
            .args(["--retries", "0", "storage", "kv", "pull"])
            .args(extra)
            .output()
            .expect("runs");
        outcome(&output)
    };
    let (code, _, stderr) = pull(&["--continue-on-error"]);
    assert_eq!(code, Some(6), "{stderr}");
    // Failures are reported as the workers meet them.
    insta::assert_snapshot!(sorted(&shown(&stderr), "warning: "), @"
    warning: pull: key `a`: Unexpected error (HTTP 500)
    warning: pull: key `b`: Unexpected error (HTTP 500)
    Pulled `MY_CACHE` into local state in [SECS]: 0 added, 0 changed, 0 deleted, 0 unchanged, 2 failed, 0 skipped
    error: pull of `MY_CACHE` finished with failures: 2 keys failed and 0 were skipped
    hint: Run the same `pull` again to finish: it copies only what still differs.
    ");
    // Without it, the hint names the way past keys that keep failing.
    let (code, _, stderr) = pull(&["--concurrency", "1"]);
    assert_eq!(code, Some(6), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    warning: pull: key `a`: Unexpected error (HTTP 500)
    Pulled `MY_CACHE` into local state in [SECS]: 0 added, 0 changed, 0 deleted, 0 unchanged, 1 failed, 1 skipped
    error: pull of `MY_CACHE` stopped: 1 key failed and 1 was skipped
    hint: Run the same `pull` again to finish: it copies only what still differs. If the same keys keep failing, `--continue-on-error` copies the rest past them.
    ");
}

#[test]
fn diff_says_when_one_name_is_two_namespaces() {
    let kv = Kv::start();
    let remote_id = kv.api.create("shared");
    let local = kv.json(&["--local", "storage", "kv", "create", "--name", "shared"]);
    let local_id = local["id"].as_str().expect("id").to_owned();
    // Pulled by name, the service's namespace lands beside the local one of that name.
    let (code, _, stderr) = outcome(&kv.run(&["storage", "kv", "pull", "shared"]));
    assert_eq!(code, Some(0), "{stderr}");
    // The two ids, and the start of the service's that names its local copy, by what they are.
    let short = &remote_id[..8];
    let named = |stderr: &str| {
        stderr
            .replace(&remote_id, "[remote id]")
            .replace(&local_id, "[local id]")
            .replace(short, "[remote id start]")
    };
    insta::assert_snapshot!(shown(&named(&stderr)), @"
    warning: local state already has another namespace named `shared`; namespace [remote id] is `shared-[remote id start]` there
    Pulled `shared` into local state in [SECS]: 0 added, 0 changed, 0 deleted, 0 unchanged
    ");
    let (_, _, stderr) =
        outcome(&kv.run(&["storage", "kv", "diff", "remote:shared", "local:shared"]));
    insta::assert_snapshot!(shown(&named(&stderr)), @"
    warning: `shared` names two different namespaces: [local id] locally and [remote id] on the service; the local copy of the service's is `shared-[remote id start]` (`local:shared-[remote id start]`)
    remote:shared and local:shared are equal (0 keys)
    ");
}

#[test]
fn diff_reports_a_ttl_difference_and_push_and_pull_carry_the_expiry() {
    let project = Project::new();
    let (code, _, stderr) = project.local(&["storage", "kv", "create", "--name", "other"]);
    assert_eq!(code, Some(0), "{stderr}");
    for (ns, ttl) in [("MY_CACHE", Some("1h")), ("other", None)] {
        let mut args = vec!["storage", "kv", "put", ns, "session", "s"];
        if let Some(ttl) = ttl {
            args.extend(["--ttl", ttl]);
        }
        let (code, _, stderr) = project.local(&args);
        assert_eq!(code, Some(0), "{stderr}");
    }
    let (code, stdout, stderr) =
        project.local(&["--json", "storage", "kv", "diff", "MY_CACHE", "other"]);
    assert_eq!(code, Some(1), "{stderr}");
    let report = json(&stdout);
    assert_eq!(report["ttl"], 1);
    assert_eq!(report["differences"][0]["change"], "ttl");
    let left = report["differences"][0]["a_ttl_secs"]
        .as_u64()
        .expect("a TTL");
    assert!((3590..=3600).contains(&left), "{left}");
    assert!(report["differences"][0].get("b_ttl_secs").is_none());

    // Pushed with its TTL, deleted locally, and taken back with `pull --force`: the expiry the
    // push gave it comes back with it.
    let (code, _, stderr) = project.run(&["storage", "kv", "push", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, _) = project.local(&["storage", "kv", "delete", "MY_CACHE", "session", "--yes"]);
    assert_eq!(code, Some(0));
    let (code, _, stderr) = project.run(&["storage", "kv", "pull", "--force", "--delete"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (value, expires_ms) = project.local_row("session").expect("pulled back");
    assert_eq!(value, b"s");
    let left_ms = expires_ms.expect("an expiry") - telnyx_edge::emulator::now_ms();
    assert!((3_500_000..=3_601_000).contains(&left_ms), "{left_ms}");
}

#[test]
fn a_pull_with_nothing_new_writes_nothing() {
    let project = Project::with_settled_writes();
    project.service_put("k", b"v");
    // A listing that has settled: the first pull notes it…
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    let record = project.state().join("sync.sqlite3");
    let before = std::fs::metadata(&record).expect("record");
    let bytes = std::fs::read(&record).expect("record");
    // …and then has nothing to note.
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    let after = std::fs::metadata(&record).expect("record");
    assert_eq!(before.modified().ok(), after.modified().ok());
    assert_eq!(std::fs::read(&record).expect("record"), bytes);
}

#[test]
fn a_second_run_waits_for_the_first_so_a_slow_run_cannot_roll_the_record_back() {
    // Written long enough before a run lists them for it to note `k` as it lists it.
    let project = Project::with_settled_writes_and(telnyx_edge::emulator::Config {
        latency: Some(telnyx_edge::emulator::Latency {
            base: Duration::from_millis(150),
            jitter: Duration::ZERO,
        }),
        ..telnyx_edge::emulator::Config::in_memory()
    });
    for i in 0..40 {
        project.service_put(&format!("o{i:02}"), b"a");
    }
    project.service_put("k", b"v1");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    for i in 0..40 {
        project.service_put_now(&format!("o{i:02}"), b"b", "text/plain");
    }
    // A slow pull with work to do…
    let slow = project
        .kv
        .std_cmd()
        .args(["storage", "kv", "pull", "--concurrency", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    let deadline = Instant::now() + Duration::from_secs(30);
    while project.local_get("o00") != Some(b"b".to_vec()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // …while the service changes `k` and a quick pull of it starts: it waits its turn (see
    // `a_pull_waits_while_another_run_holds_the_namespace`), so the slow one's notes cannot
    // overwrite the quick one's.
    project.service_put_now("k", b"v2", "text/plain");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull", "--prefix", "k"]);
    let output = slow.wait_with_output().expect("waits");
    let slow_stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(project.local_get("k"), Some(b"v2".to_vec()));
    assert_eq!(output.status.code(), Some(0), "{slow_stderr}");
    // A teammate sets `k` back to v1: a change on the service, which push leaves alone.
    // (on the clock the binary sees: a write after every other one, as a real one is)
    project.service_put_now("k", b"v1", "text/plain");
    let (code, stdout, stderr) = project.run(&["--json", "storage", "kv", "push", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(json(&stdout)[0]["held"], 1, "{stderr}");
    assert_eq!(project.service_get("k"), Some(b"v1".to_vec()));
}

/// The digest an earlier version kept in `seen/<id>.json`: SHA-256 of content type, NUL, bytes.
fn old_digest(content_type: &str, value: &[u8]) -> String {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    hasher.update(content_type.as_bytes());
    hasher.update([0]);
    hasher.update(value);
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[test]
fn the_record_an_earlier_version_kept_is_taken_over_so_deletions_stay_deleted() {
    let project = Project::new();
    project.service_put("gone-on-service", b"x");
    project.service_put("gone-locally", b"y");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    // As an earlier version left it: `seen/<id>.json`, no sync.sqlite3.
    std::fs::remove_file(project.state().join("sync.sqlite3")).expect("remove the record");
    let listed = project
        .kv
        .api
        .get(&format!("/storage/kvs/{}/keys", project.id))
        .json::<Value>()
        .expect("list");
    let mut keys = serde_json::Map::new();
    for entry in listed["data"].as_array().expect("data") {
        let key = entry["key"].as_str().expect("key");
        let value = project.service_get(key).expect("value");
        keys.insert(
            key.to_owned(),
            serde_json::json!({
                "updated_at": entry["updated_at"],
                "size": entry["size_bytes"],
                "digest": old_digest("text/plain", &value),
                "settled": false,
            }),
        );
    }
    std::fs::create_dir_all(project.state().join("seen")).expect("dir");
    let old = project
        .state()
        .join("seen")
        .join(format!("{}.json", project.id));
    std::fs::write(
        &old,
        serde_json::to_vec(
            &serde_json::json!({"base_url": project.kv.api.base_url(), "keys": keys}),
        )
        .expect("JSON"),
    )
    .expect("write");
    project.service_delete("gone-on-service");
    let (code, _, _) = project.local(&[
        "storage",
        "kv",
        "delete",
        "MY_CACHE",
        "gone-locally",
        "--yes",
    ]);
    assert_eq!(code, Some(0));
    // A dry run writes nothing, not even the taken-over record.
    let (code, _, stderr) = project.run(&["storage", "kv", "push", "--dry-run"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(old.exists() && !project.state().join("sync.sqlite3").exists());
    let (code, _, stderr) = project.run(&["storage", "kv", "push", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(project.service_get("gone-on-service"), None, "{stderr}");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(project.local_get("gone-locally"), None, "{stderr}");
    assert!(!old.exists(), "taken over once");
}

#[test]
fn a_record_a_killed_run_was_writing_is_rolled_back_not_a_dead_end() {
    let project = Project::new();
    project.service_put("k", b"v");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    let path = project.state().join("sync.sqlite3");
    // A process killed in the middle of a large transaction leaves a hot journal.
    let script = format!(
        r#"
import sqlite3, os
c = sqlite3.connect({path:?}, isolation_level=None)
c.execute("PRAGMA cache_size=1")
c.execute("BEGIN IMMEDIATE")
for i in range(2000):
    c.execute("INSERT OR REPLACE INTO base VALUES ('o','n',?, '', 1, x'00', 0, 0, NULL)", (str(i)*20,))
os._exit(9)
"#,
        path = path.display().to_string()
    );
    let status = std::process::Command::new("python3")
        .args(["-c", &script])
        .status()
        .expect("python3 runs");
    assert_eq!(status.code(), Some(9));
    assert!(project.state().join("sync.sqlite3-journal").exists());
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = project.run(&["storage", "kv", "push", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    Pushing `MY_CACHE` would make 0 added, 0 changed, 0 deleted, 1 unchanged on the service
    Nothing to push: the service has every change local state made
    Pushed `MY_CACHE` to the service in [SECS]: 0 added, 0 changed, 0 deleted, 1 unchanged
    ");
}

#[test]
fn a_local_expiry_change_is_pushed_so_a_key_made_permanent_stays() {
    let project = Project::with_settled_writes();
    let (code, _, stderr) =
        project.local(&["storage", "kv", "put", "MY_CACHE", "k", "v", "--ttl", "3s"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = project.run(&["storage", "kv", "push", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    // The same value, made permanent locally: pull leaves it, push sends it.
    project.local_put("k", "v");
    let (code, stdout, stderr) = project.run(&["--json", "storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        json(&stdout)[0]["left_alone"][0]["why"],
        "expiry changed in local state since the last sync; `push` sends it"
    );
    let (code, stdout, stderr) = project.run(&["--json", "storage", "kv", "push", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(json(&stdout)[0]["changed"], 1, "{stderr}");
    // The service 3.5 s later, by its clock, past the old expiry.
    let later = project.service_later(3500);
    let got = later.get(&format!("/storage/kvs/{}/keys/k", project.id));
    assert_eq!(got.status(), 200, "permanent now");
    assert_eq!(got.bytes().expect("body").as_ref(), b"v");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull", "--delete"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(project.local_get("k"), Some(b"v".to_vec()));
}

#[test]
fn deleting_the_local_namespace_lets_the_next_pull_start_over() {
    let project = Project::new();
    project.service_put("a", b"1");
    project.service_put("b", b"2");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = project.local(&[
        "storage",
        "kv",
        "delete",
        "MY_CACHE",
        "--yes",
        "--force",
        "--keep-binding",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stdout, stderr) = project.run(&["--json", "storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(json(&stdout)[0]["added"], 2, "{stderr}");
    assert_eq!(project.local_get("b"), Some(b"2".to_vec()));
    // And a push that follows plans to delete nothing.
    let (code, stdout, _) = project.run(&["storage", "kv", "push", "--delete", "--dry-run"]);
    assert_eq!((code, stdout.as_str()), (Some(0), ""));
}

#[test]
fn nothing_to_push_is_said_only_when_nothing_is_left_alone() {
    let project = Project::new();
    project.service_put("k", b"1");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    project.service_put("k", b"service");
    let (code, _, stderr) = project.run(&["storage", "kv", "push", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    Pushing `MY_CACHE` would make 0 added, 0 changed, 0 deleted, 0 unchanged on the service; 1 key left alone
      left alone: `k` (changed on the service since the last sync; `pull` takes it)
    Pushed `MY_CACHE` to the service in [SECS]: 0 added, 0 changed, 0 deleted, 0 unchanged; 1 key left alone
    ");
}

#[cfg(unix)]
#[test]
fn the_scratch_copy_of_the_listing_is_never_left_behind_even_by_ctrl_c() {
    let project = Project::with(telnyx_edge::emulator::Config {
        latency: Some(telnyx_edge::emulator::Latency {
            base: Duration::from_millis(300),
            jitter: Duration::ZERO,
        }),
        ..telnyx_edge::emulator::Config::in_memory()
    });
    let input: String = (0..3000)
        .map(|i| format!("{{\"key\": \"k{i:05}\", \"value\": \"v\"}}\n"))
        .collect();
    std::fs::write(project.kv.path().join("in.ndjson"), input).expect("write");
    let (code, _, stderr) =
        project.run(&["-q", "storage", "kv", "import", "MY_CACHE", "in.ndjson"]);
    assert_eq!(code, Some(0), "{stderr}");
    let scratch = tempfile::tempdir().expect("dir");
    let (code, _, stderr) = outcome(
        &project
            .kv
            .cmd()
            .env("TMPDIR", scratch.path())
            .args(["storage", "kv", "diff", "remote:MY_CACHE", "local:MY_CACHE"])
            .output()
            .expect("runs"),
    );
    assert_eq!(code, Some(1), "{stderr}");
    let left = |dir: &std::path::Path| std::fs::read_dir(dir).expect("dir").count();
    assert_eq!(left(scratch.path()), 0);
    // A temporary directory that cannot be written is named, with the way out.
    let (code, _, stderr) = outcome(
        &project
            .kv
            .cmd()
            .env("TMPDIR", scratch.path().join("missing"))
            .args(["storage", "kv", "diff", "remote:MY_CACHE", "local:MY_CACHE"])
            .output()
            .expect("runs"),
    );
    assert_eq!(code, Some(1), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @r#"
    error: failed to list the keys of KV namespace `MY_CACHE`
      Caused by: cannot create a scratch file in `[TEMP]/missing` for the service's key list: No such file or directory (os error 2) at path "[TEMP]/missing/telnyx-edge-listing-[RANDOM].sqlite3"
    hint: Set TMPDIR to a writable directory with room for about 100 bytes a key.
    "#);

    // Interrupted while it lists (three pages of 300 ms each).
    let child = project
        .kv
        .std_cmd()
        .env("TMPDIR", scratch.path())
        .args(["storage", "kv", "pull"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    // Into the listing's second page. Its scratch file leaves no trace to wait for (that is
    // what this test checks), so a fixed time stands in.
    std::thread::sleep(Duration::from_millis(700));
    let (code, stderr) = crate::support::cli::interrupt(child);
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(left(scratch.path()), 0, "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_pull_waits_while_another_run_holds_the_namespace() {
    use std::io::Read as _;
    let project = Project::new();
    project.service_put("k", b"v");
    let (code, _, stderr) = project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    // This test holds the namespace's sync lock, as a running pull or push would.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(project.state().join(format!("sync-{}.lock", project.id)))
        .expect("the lock file");
    lock.lock().expect("locks");
    let mut child = project
        .kv
        .std_cmd()
        .args(["storage", "kv", "pull"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    let mut stderr = child.stderr.take().expect("stderr");
    let wanted = "Waiting for another pull or push of `MY_CACHE` to finish\n";
    let seen = crate::support::cli::read_until(&mut stderr, wanted);
    assert!(seen.ends_with(wanted), "{seen}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().expect("polls").is_none(), "it waits");
    lock.unlock().expect("unlocks");
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).expect("reads");
    assert_eq!(child.wait().expect("exits").code(), Some(0), "{rest}");
    insta::assert_snapshot!(shown(&rest), @"Pulled `MY_CACHE` into local state in [SECS]: 0 added, 0 changed, 0 deleted, 1 unchanged");
}
