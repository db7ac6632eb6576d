//! `storage kv create|list|get|delete|wait`, against the emulator.

use std::io::Read as _;
use std::time::Duration;

use serde_json::json;
use telnyx_edge::emulator::Config;

use crate::support::cli::{Kv, outcome, read_until, send_signal};
use crate::support::output::{settings, shown};

#[test]
fn create_waits_for_provisioning_and_prints_the_namespace() {
    let kv = Kv::with(Config {
        provision_delay: Duration::from_millis(600),
        ..Config::in_memory()
    });
    let output = kv.run(&["storage", "kv", "create", "--name", "my-cache"]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    settings().bind(|| {
        insta::assert_snapshot!("create_stdout", stdout);
        insta::assert_snapshot!("create_stderr", stderr);
    });
}

#[test]
fn human_output_of_the_main_commands() {
    let kv = Kv::start();
    let id = kv.namespace("snap");
    kv.ok(&["storage", "kv", "put", "snap", "user/1", "hello"]);
    kv.ok(&["storage", "kv", "put", "snap", "user/22", "hello again"]);
    let text = |args: &[&str]| {
        let output = kv.run(args);
        let (code, stdout, stderr) = outcome(&output);
        assert_eq!(code, Some(0), "{stderr}");
        format!(
            "$ telnyx-edge {}\n{stdout}--- stderr\n{stderr}",
            args.join(" ")
        )
    };
    settings().bind(|| {
        insta::assert_snapshot!("list", text(&["storage", "kv", "list"]));
        insta::assert_snapshot!("get", text(&["storage", "kv", "get", &id]));
        insta::assert_snapshot!("key_list", text(&["storage", "kv", "key", "list", "snap"]));
        insta::assert_snapshot!(
            "key_put",
            text(&[
                "storage", "kv", "key", "put", "snap", "k", "v", "--ttl", "90"
            ])
        );
        insta::assert_snapshot!(
            "key_delete",
            text(&["--yes", "storage", "kv", "key", "delete", "snap", "k"])
        );
    });
}

#[test]
fn create_json_is_the_namespace_object() {
    let kv = Kv::start();
    let ns = kv.json(&["storage", "kv", "create", "--name", "orders"]);
    assert_eq!(ns["record_type"], "storage_kv");
    assert_eq!(ns["name"], "orders");
    assert_eq!(ns["status"], "provision_ok");
    assert!(ns["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(ns["updated_at"].as_str().is_some());
    let id = ns["id"].as_str().expect("id");
    let fetched = kv.json(&["storage", "kv", "get", id]);
    assert_eq!(fetched, ns);
    let by_name = kv.json(&["storage", "kv", "get", "orders"]);
    assert_eq!(by_name, ns);
}

#[test]
fn no_wait_returns_pending_and_wait_finishes_the_job() {
    let kv = Kv::with(Config {
        provision_delay: Duration::from_millis(700),
        ..Config::in_memory()
    });
    let ns = kv.json(&["storage", "kv", "create", "--name", "later", "--no-wait"]);
    assert_eq!(ns["status"], "pending");
    let ids = kv.ok(&["-o", "ids", "storage", "kv", "wait", "later"]);
    assert_eq!(
        String::from_utf8(ids).expect("UTF-8"),
        format!("{}\n", ns["id"].as_str().expect("id"))
    );
}

#[test]
fn a_taken_name_is_a_conflict_unless_if_not_exists() {
    let kv = Kv::start();
    let first = kv.namespace("taken");
    let output = kv.run(&["storage", "kv", "create", "--name", "taken"]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(5), ""));
    insta::assert_snapshot!(shown(&stderr), @"
    error: failed to create KV namespace `taken`
      Caused by: A KV namespace named `taken` already exists (HTTP 409)
      Request id: [id] (quote it to Telnyx support)
    hint: Pass `--if-not-exists` to use the existing namespace, or choose another name.
    ");
    let again = kv.json(&[
        "storage",
        "kv",
        "create",
        "--name",
        "taken",
        "--if-not-exists",
    ]);
    assert_eq!(again["id"], first.as_str());
}

#[test]
fn failed_provisioning_exits_7() {
    let kv = Kv::with(Config {
        fail_provision: vec!["doomed".into()],
        provision_delay: Duration::from_millis(200),
        ..Config::in_memory()
    });
    let output = kv.run(&["storage", "kv", "create", "--name", "doomed"]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(7), ""));
    insta::assert_snapshot!(shown(&stderr), @"
    Created namespace `doomed` (00000000-0000-0000-0000-000000000000)
    Waiting for namespace `doomed` to be ready (pending)
    error: provisioning of namespace `doomed` failed (status: provision_failed)
    hint: Delete it with `telnyx-edge storage kv delete doomed --yes` and create it again.
    ");
}

#[test]
fn waiting_past_the_timeout_exits_7() {
    let kv = Kv::with(Config {
        provision_delay: Duration::from_secs(60),
        ..Config::in_memory()
    });
    let output = kv.run(&[
        "storage",
        "kv",
        "create",
        "--name",
        "slow",
        "--wait-timeout",
        "1s",
    ]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(7));
    insta::assert_snapshot!(shown(&stderr), @"
    Created namespace `slow` (00000000-0000-0000-0000-000000000000)
    Waiting for namespace `slow` to be ready (pending)
    error: namespace `slow` is still pending after 1s
    hint: It may still become ready; keep waiting with `telnyx-edge storage kv wait slow`.
    ");
    let output = kv.run(&["storage", "kv", "wait", "slow", "--timeout", "1s"]);
    assert_eq!(output.status.code(), Some(7));
}

/// Runs `args` until it waits for a namespace and has polled it once more (so it is in its
/// polling loop), sends it the signal `name`; returns its exit code and all its stderr.
#[cfg(unix)]
fn signalled_while_polling(kv: &Kv, args: &[&str], name: &str) -> (Option<i32>, String) {
    let mut child = kv
        .std_cmd()
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let mut from = child.stderr.take().expect("stderr");
    let mut stderr = read_until(&mut from, "to be ready (pending)\n");
    kv.api.wait_for_requests_beyond(kv.api.stats().requests);
    send_signal(&child, name);
    from.read_to_string(&mut stderr).expect("reads");
    (child.wait().expect("exits").code(), stderr)
}

#[cfg(unix)]
#[test]
fn ctrl_c_while_waiting_exits_130_and_says_how_to_resume() {
    let kv = Kv::with(Config {
        provision_delay: Duration::from_secs(60),
        ..Config::in_memory()
    });
    let (code, stderr) = signalled_while_polling(
        &kv,
        &["storage", "kv", "create", "--name", "interrupted"],
        "INT",
    );
    assert_eq!(code, Some(130), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    Created namespace `interrupted` (00000000-0000-0000-0000-000000000000)
    Waiting for namespace `interrupted` to be ready (pending)
    error: interrupted while waiting for namespace `interrupted`
    hint: Provisioning goes on at the service; resume with `telnyx-edge storage kv wait interrupted`.
    ");
}

#[test]
fn list_reads_every_page_in_every_format() {
    let kv = Kv::start();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(kv.namespace(&format!("ns-{i}")));
    }
    let all = kv.json(&["storage", "kv", "list", "--page-size", "2"]);
    let listed: Vec<&str> = all
        .as_array()
        .expect("array")
        .iter()
        .map(|ns| ns["id"].as_str().expect("id"))
        .collect();
    let mut sorted_listed = listed.clone();
    sorted_listed.sort();
    let mut sorted_ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    sorted_ids.sort();
    assert_eq!(sorted_listed, sorted_ids);

    let page = kv.json(&["storage", "kv", "list", "--page", "3", "--page-size", "2"]);
    assert_eq!(page.as_array().expect("array").len(), 1);
    assert_eq!(page[0]["id"], listed[4]);

    let plain = kv.ok(&["-o", "ids", "storage", "kv", "list", "--page-size", "2"]);
    let plain: Vec<String> = String::from_utf8(plain)
        .expect("UTF-8")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(plain, listed);
    let ndjson = kv.ok(&["-o", "ndjson", "storage", "kv", "list"]);
    assert_eq!(String::from_utf8(ndjson).expect("UTF-8").lines().count(), 5);

    let table = String::from_utf8(kv.ok(&["storage", "kv", "list"])).expect("UTF-8");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "ID                                    NAME  STATUS        CREATED_AT"
    );
    assert_eq!(lines.len(), 6);
}

#[test]
fn an_empty_list_is_an_empty_array_or_a_hint() {
    let kv = Kv::start();
    assert_eq!(kv.json(&["storage", "kv", "list"]), json!([]));
    let output = kv.run(&["storage", "kv", "list"]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(0), ""));
    insta::assert_snapshot!(shown(&stderr), @"No KV namespaces yet; create one with `telnyx-edge storage kv create --name NAME`");
}

#[test]
fn delete_asks_for_yes_then_waits_until_gone() {
    let kv = Kv::with(Config {
        delete_delay: Duration::from_millis(600),
        ..Config::in_memory()
    });
    let id = kv.namespace("going");
    let refused = kv.run(&["storage", "kv", "delete", "going"]);
    let (code, _, stderr) = outcome(&refused);
    assert_eq!(code, Some(2));
    insta::assert_snapshot!(shown(&stderr), @"
    error: refusing to delete namespace `going` (it holds no keys) without confirmation: there is no terminal to ask on
    hint: Pass --yes (or set TELNYX_EDGE_SKIP_CONFIRMATIONS=1) to go ahead without asking.
    ");
    assert_eq!(
        kv.json(&["storage", "kv", "get", &id])["status"],
        "provision_ok"
    );
    let output = kv.run(&["--yes", "storage", "kv", "delete", "going", "--wait"]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(0), ""));
    insta::assert_snapshot!(shown(&stderr), @"
    Deleting namespace `going` (00000000-0000-0000-0000-000000000000)
    Deleted namespace `going` ([SECS])
    ");
    assert_eq!(
        kv.run(&["storage", "kv", "get", &id]).status.code(),
        Some(3)
    );
}

#[test]
fn delete_json_is_the_deleting_namespace() {
    let kv = Kv::start();
    let id = kv.namespace("gone");
    let deleted = kv.json(&["--yes", "storage", "kv", "delete", &id]);
    assert_eq!(deleted["id"], id.as_str());
    assert_eq!(deleted["status"], "deleting");
}

/// One stop for every command (issue #24): `wait` stops on SIGTERM as on Ctrl-C, and a command
/// with nothing to finish ends at once with 130 on either.
#[cfg(unix)]
#[test]
fn sigterm_stops_a_wait_and_any_command_with_exit_130() {
    let kv = Kv::with(Config {
        provision_delay: Duration::from_secs(60),
        ..Config::in_memory()
    });
    let id = kv.api.create("slow");
    let (code, stderr) = signalled_while_polling(&kv, &["storage", "kv", "wait", &id], "TERM");
    assert_eq!(code, Some(130), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    Waiting for namespace `slow` to be ready (pending)
    error: interrupted while waiting for namespace `slow`
    hint: Provisioning goes on at the service; resume with `telnyx-edge storage kv wait slow`.
    ");
    // `key put --path -` on a pipe that never ends holds no guard: it ends at once.
    for signal in ["INT", "TERM"] {
        let mut child = kv
            .std_cmd()
            .args(["storage", "kv", "key", "put", &id, "k", "--path", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starts");
        std::thread::sleep(Duration::from_millis(300));
        crate::support::cli::send_signal(&child, signal);
        let stderr = crate::support::cli::stderr_of(&mut child);
        assert_eq!(
            child.wait().expect("exits").code(),
            Some(130),
            "{signal}: {stderr}"
        );
    }
}
