//! Safe and precise in scripts: what a CI job with no terminal (stdin empty) meets, and the
//! slips people make on the command line.

use serde_json::{Value, json};

use crate::support::cli::{Kv, bare, outcome};
use crate::support::output::shown;

#[test]
fn an_empty_key_variable_cannot_delete_a_namespace_with_keys() {
    let kv = Kv::start();
    let id = kv.namespace("scratch");
    kv.ok(&["storage", "kv", "put", &id, "a", "1"]);
    kv.ok(&["storage", "kv", "put", &id, "b", "2"]);
    // `KEY=""; telnyx-edge storage kv delete scratch $KEY --yes`
    let output = kv.run(&["storage", "kv", "delete", "scratch", "--yes"]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(5), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: namespace `scratch` holds 2 keys; refusing to delete them without `--force`
    hint: Pass `--force` too to delete the namespace with its keys, or delete keys first (`telnyx-edge storage kv bulk delete scratch --all`).
    ");
    assert_eq!(
        kv.json(&["storage", "kv", "get", &id])["status"],
        "provision_ok"
    );
    assert_eq!(
        kv.ok(&["storage", "kv", "get", &id, "a"]),
        b"1",
        "nothing deleted"
    );
    // `--unbind` follows the same rule.
    let output = kv.run(&["storage", "kv", "delete", "scratch", "--yes", "--unbind"]);
    assert_eq!(output.status.code(), Some(5));
    kv.ok(&["storage", "kv", "delete", "scratch", "--yes", "--force"]);
    let output = kv.run(&["storage", "kv", "get", &id]);
    assert_eq!(output.status.code(), Some(3));
    // An empty namespace goes with `--yes` alone.
    kv.namespace("empty");
    kv.ok(&["storage", "kv", "delete", "empty", "--yes"]);
}

#[test]
fn local_mode_is_instant_and_a_read_leaves_no_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = |args: &[&str]| {
        bare(dir.path())
            .arg("--local")
            .args(args)
            .output()
            .expect("runs")
    };
    let output = local(&["storage", "kv", "list"]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"No KV namespaces yet; create one with `telnyx-edge storage kv create --name NAME`");
    assert!(
        !dir.path().join(".telnyx-edge").exists(),
        "a read creates nothing"
    );
    let output = local(&["--json", "storage", "kv", "create", "--name", "quick"]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    let created: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(created["status"], "provision_ok");
    insta::assert_snapshot!(shown(&stderr), @"
    Created namespace `quick` (00000000-0000-0000-0000-000000000000)
    Waiting for namespace `quick` to be ready (pending)
    Namespace `quick` is ready ([SECS])
    ");
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".telnyx-edge/state/.gitignore")).expect("ignore"),
        "# Written by telnyx-edge: local emulator data.\n*\n"
    );
}

#[test]
fn a_flag_beats_the_environment_and_both_flags_are_a_usage_error() {
    let kv = Kv::start();
    let id = kv.namespace("precedence");
    kv.ok(&["storage", "kv", "put", &id, "k", "remote"]);
    // TELNYX_EDGE_LOCAL=1 exported, as the README does, and an explicit --base-url.
    let output = kv
        .cmd()
        .env("TELNYX_EDGE_LOCAL", "1")
        .args([
            "--base-url",
            &kv.api.base_url(),
            "storage",
            "kv",
            "get",
            &id,
            "k",
        ])
        .output()
        .expect("runs");
    assert_eq!(
        output.stdout,
        b"remote",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // --local beats TELNYX_BASE_URL.
    let output = kv.run(&["--local", "storage", "kv", "list", "--json"]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).expect("JSON"),
        json!([])
    );
    let output = kv.run(&[
        "--local",
        "--base-url",
        "http://127.0.0.1:9/v2",
        "storage",
        "kv",
        "list",
    ]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(2), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: `--local` and `--base-url` cannot be used together: `--local` runs against the embedded emulator, `--base-url` against a server

    Usage: telnyx-edge [OPTIONS] <COMMAND>

    For more information, try '--help'.
    ");
}

#[test]
fn machine_output_of_a_limited_list_carries_the_cursor() {
    let kv = Kv::start();
    let id = kv.namespace("paging");
    for key in ["a", "b", "c"] {
        kv.ok(&["storage", "kv", "put", &id, key, "v"]);
    }
    let page = kv.json(&["storage", "kv", "key", "list", &id, "--limit", "2"]);
    assert_eq!(page["keys"].as_array().map(Vec::len), Some(2));
    let cursor = page["cursor"].as_str().expect("a cursor").to_owned();
    let rest = kv.json(&[
        "storage", "kv", "key", "list", &id, "--limit", "2", "--cursor", &cursor,
    ]);
    assert_eq!(rest["keys"][0]["key"], "c");
    assert_eq!(rest["cursor"], Value::Null);
    let ndjson = kv.ok(&[
        "-o", "ndjson", "storage", "kv", "key", "list", &id, "--limit", "2",
    ]);
    let lines: Vec<Value> = String::from_utf8_lossy(&ndjson)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2], json!({"cursor": cursor}));
    // Without --limit, JSON stays the plain array of every key.
    let all = kv.json(&["storage", "kv", "key", "list", &id]);
    assert_eq!(all.as_array().map(Vec::len), Some(3));
}

#[test]
fn put_without_a_value_reads_a_piped_stdin() {
    let kv = Kv::start();
    let id = kv.namespace("piped");
    let output = kv
        .cmd()
        .args(["storage", "kv", "put", &id, "k"])
        .write_stdin("hi\n")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(kv.ok(&["storage", "kv", "get", &id, "k"]), b"hi\n");
}

#[test]
fn usage_lines_show_only_what_was_typed() {
    let home = tempfile::tempdir().expect("tempdir");
    let output = bare(home.path())
        .env("TELNYX_BASE_URL", "http://127.0.0.1:9/v2")
        .env("TELNYX_PROFILE", "ci")
        .args(["storage", "kv", "key", "get", "ns"])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(2));
    insta::assert_snapshot!(shown(&stderr), @"
    error: the following required arguments were not provided:
      <KEY>

    Usage: telnyx-edge storage kv key get <NAMESPACE> <KEY>

    For more information, try '--help'.
    ");
    assert!(
        !stderr.contains("--base-url") && !stderr.contains("--profile"),
        "{stderr}"
    );
}

#[test]
fn slips_are_answered_with_the_command_meant() {
    let kv = Kv::start();
    let id = kv.namespace("my-cache");
    kv.ok(&["storage", "kv", "put", &id, "k", "v"]);
    let output = kv.run(&["storage", "kv", "get", "my-cach"]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(3));
    insta::assert_snapshot!(shown(&stderr), @"
    error: no KV namespace `my-cach`: not a UUID, and no namespace has that name
    hint: Did you mean `my-cache`?
    ");
    let output = kv.run(&["storage", "kv", "create", "foo"]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(2));
    insta::assert_snapshot!(shown(&stderr), @"
    error: `create` takes the name as an option, not `foo`
    hint: Did you mean `telnyx-edge storage kv create --name foo`?
    ");
    let output = kv.run(&["kv", "list", "--json"]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(2));
    insta::assert_snapshot!(shown(&stderr), @"
    error: there is no `telnyx-edge kv`; the KV commands are under `storage`
    hint: Did you mean `telnyx-edge storage kv list --json`?
    ");
    assert_eq!(
        kv.json(&["storage", "kv", "ls"]),
        kv.json(&["storage", "kv", "list"])
    );
    let listed = kv.ok(&["-o", "ids", "storage", "kv", "key", "ls", &id]);
    assert_eq!(listed, b"k\n");
    kv.ok(&["--yes", "storage", "kv", "key", "rm", &id, "k"]);
    kv.ok(&["--yes", "storage", "kv", "rm", "my-cache"]);
}

#[test]
fn an_empty_prefix_match_says_so() {
    let kv = Kv::start();
    let id = kv.namespace("prefixes");
    kv.ok(&["storage", "kv", "put", &id, "a", "v"]);
    let output = kv.run(&[
        "storage", "kv", "key", "list", "prefixes", "--prefix", "zzz",
    ]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(0), ""));
    assert_eq!(stderr, "No key in namespace `prefixes` starts with `zzz`\n");
}

/// Runs `args` on a pseudo-terminal, typing `answer` at the prompt: the typed-name confirmation
/// as a person meets it. Python's `pty` module drives it (CI has Python 3).
#[cfg(unix)]
fn on_a_terminal(kv: &Kv, args: &[&str], answer: &str) -> (Option<i32>, String) {
    let script = r#"
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
deadline = time.time() + 30
answered = False
while time.time() < deadline:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if not answered and b"to confirm:" in out:
        os.write(fd, os.environ["ANSWER"].encode() + b"\n")
        answered = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(crate::support::cli::BIN)
        .args(args)
        .env_clear()
        .env("HOME", kv.path())
        .env("TELNYX_CONFIG_PATH", kv.path().join("config.toml"))
        .env("TELNYX_BASE_URL", kv.api.base_url())
        .env("TELNYX_API_KEY", crate::support::api::TOKEN)
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .env("ANSWER", answer)
        .output()
        .expect("python3 runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[cfg(unix)]
#[test]
fn the_prompt_shows_the_key_count_and_wants_the_name_typed() {
    let kv = Kv::start();
    let id = kv.namespace("typed");
    for key in ["a", "b", "c"] {
        kv.ok(&["storage", "kv", "put", &id, key, "v"]);
    }
    let (code, screen) = on_a_terminal(&kv, &["storage", "kv", "delete", "typed"], "nope");
    assert_eq!(code, Some(1), "{screen}");
    assert!(
        screen.contains("Delete namespace `typed` and its 3 keys? Type its name to confirm:"),
        "{screen}"
    );
    assert!(screen.contains("cancelled"), "{screen}");
    assert_eq!(kv.ok(&["storage", "kv", "get", &id, "a"]), b"v");
    let (code, screen) = on_a_terminal(&kv, &["storage", "kv", "delete", "typed"], "typed");
    assert_eq!(code, Some(0), "{screen}");
    assert_eq!(
        kv.run(&["storage", "kv", "get", &id]).status.code(),
        Some(3)
    );
}

#[cfg(unix)]
#[test]
fn a_binary_value_is_not_printed_to_a_terminal() {
    let kv = Kv::start();
    let id = kv.namespace("binary-tty");
    std::fs::write(kv.path().join("bin"), b"\xff\xfe\x00raw").expect("write");
    kv.ok(&["storage", "kv", "put", &id, "b", "--path", "bin"]);
    let (code, screen) = on_a_terminal(&kv, &["storage", "kv", "get", &id, "b"], "");
    assert_eq!(code, Some(1), "{screen}");
    assert!(
        screen.contains("the value of `b` is binary (6 bytes); not printing it to the terminal"),
        "{screen}"
    );
    assert!(screen.contains("--output-file PATH"), "{screen}");
    // Piped, the bytes flow as they are.
    assert_eq!(
        kv.ok(&["storage", "kv", "get", &id, "b"]),
        b"\xff\xfe\x00raw"
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_a_hung_poll_ends_the_wait_with_130() {
    use crate::support::fault::{Fault, FaultServer};
    const NS: &str = "550e8400-e29b-41d4-a716-446655440000";
    let pending = format!(
        r#"{{"data":{{"record_type":"storage_kv","id":"{NS}","name":"slow","status":"pending","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}}}}"#
    );
    let server = FaultServer::start(vec![Fault::json(200, &pending), Fault::Hang]);
    let home = tempfile::tempdir().expect("tempdir");
    let child = crate::support::cli::scrubbed(home.path())
        .env("TELNYX_BASE_URL", &server.base_url)
        .env("TELNYX_API_KEY", crate::support::api::TOKEN)
        .args(["storage", "kv", "wait", NS, "--timeout", "60s"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    // Past the first (immediate) check and the first sleep: into the hung request, once the
    // server has it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while server.received().len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(server.received().len(), 2, "the second poll arrived");
    let start = std::time::Instant::now();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let output = child.wait_with_output().expect("exits");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    Waiting for namespace `slow` to be ready (pending)
    error: interrupted while waiting for namespace `slow`
    hint: Provisioning goes on at the service; resume with `telnyx-edge storage kv wait slow`.
    ");
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_a_hung_request_with_json_says_so_in_json() {
    use crate::support::fault::{Fault, FaultServer};
    const NS: &str = "550e8400-e29b-41d4-a716-446655440000";
    let server = FaultServer::start(vec![Fault::Hang]);
    let home = tempfile::tempdir().expect("tempdir");
    let child = crate::support::cli::scrubbed(home.path())
        .env("TELNYX_BASE_URL", &server.base_url)
        .env("TELNYX_API_KEY", crate::support::api::TOKEN)
        .args(["--json", "storage", "kv", "key", "get", NS, "k"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    // Nothing stops cleanly in a single read: the signal ends the run at once, and a script
    // reading JSON errors still gets one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while server.received().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(server.received().len(), 1, "the request arrived");
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let output = child.wait_with_output().expect("exits");
    assert_eq!(output.status.code(), Some(130));
    assert_eq!(output.stdout, b"");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "{\"error\":{\"message\":\"interrupted\",\"code\":\"interrupted\",\"exit_code\":130,\"hint\":null,\"request_id\":null}}\n"
    );
}
