//! `--local`: the embedded emulator over the project's state directory, no account needed.

use std::io::BufRead as _;
use std::process::{Command, Stdio};

use crate::support::cli::{BIN, bare, outcome};
use crate::support::output::shown;

#[test]
fn the_main_job_runs_locally_next_to_func_toml() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("fn");
    let nested = project.join("src");
    std::fs::create_dir_all(&nested).expect("mkdir");
    std::fs::write(
        project.join("func.toml"),
        "[edge_compute]\nfunc_name = \"f\"\n",
    )
    .expect("write");
    let run = |args: &[&str]| {
        bare(&nested)
            .arg("--local")
            .args(args)
            .output()
            .expect("runs")
    };
    let created = run(&["--json", "storage", "kv", "create", "--name", "my-cache"]);
    let (code, stdout, stderr) = outcome(&created);
    assert_eq!(code, Some(0), "{stderr}");
    let ns: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(ns["status"], "provision_ok");
    let state = project.join(".telnyx-edge/state");
    insta::assert_snapshot!(shown(&stderr), @"
    Created namespace `my-cache` (00000000-0000-0000-0000-000000000000)
    Waiting for namespace `my-cache` to be ready (pending)
    Namespace `my-cache` is ready ([SECS])
    ");
    assert_eq!(
        run(&["storage", "kv", "put", "my-cache", "greeting", "hello"])
            .status
            .code(),
        Some(0)
    );
    let got = run(&["storage", "kv", "get", "my-cache", "greeting"]);
    assert_eq!(got.stdout, b"hello");
    assert!(state.join("kv.sqlite3").is_file());
    // The environment variable is the same as the flag, and no key is needed.
    let by_env = bare(&nested)
        .env("TELNYX_EDGE_LOCAL", "1")
        .args(["-o", "ids", "storage", "kv", "key", "list", "my-cache"])
        .output()
        .expect("runs");
    assert_eq!(String::from_utf8_lossy(&by_env.stdout), "greeting\n");
    let status = run(&["--json", "auth", "status"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON");
    assert_eq!(status["local"], true);
}

#[test]
fn local_commands_and_a_running_serve_share_the_same_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("shared-state");
    let mut serve = Command::new(BIN)
        .env_clear()
        .current_dir(dir.path())
        .args([
            "-q",
            "--json",
            "storage",
            "kv",
            "serve",
            "--port",
            "0",
            "--provision-delay",
            "0",
        ])
        .arg("--state-dir")
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    std::io::BufReader::new(serve.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("reads");
    let base = serde_json::from_str::<serde_json::Value>(&line).expect("JSON")["base_url"]
        .as_str()
        .expect("base_url")
        .to_owned();

    let local = |args: &[&str]| {
        bare(dir.path())
            .env("TELNYX_EDGE_STATE_DIR", &state)
            .arg("--local")
            .args(args)
            .output()
            .expect("runs")
    };
    let created = local(&["-o", "ids", "storage", "kv", "create", "--name", "both"]);
    assert_eq!(
        created.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let id = String::from_utf8(created.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned();
    assert_eq!(
        local(&["storage", "kv", "put", "both", "k", "from local"])
            .status
            .code(),
        Some(0)
    );

    // The running server sees what --local wrote…
    let client = reqwest::blocking::Client::new();
    let value = client
        .get(format!("{base}/storage/kvs/{id}/keys/k"))
        .bearer_auth("any")
        .send()
        .expect("answered");
    assert_eq!(value.bytes().expect("body").as_ref(), b"from local");
    // …and --local sees what was written through the server.
    let put = client
        .put(format!("{base}/storage/kvs/{id}/keys/k2"))
        .bearer_auth("any")
        .body("from serve")
        .send()
        .expect("answered");
    assert_eq!(put.status(), 201);
    assert_eq!(
        local(&["storage", "kv", "get", "both", "k2"]).stdout,
        b"from serve"
    );
    serve.kill().expect("kill");
    serve.wait().expect("reaped");
}

/// Runs `script` (shell commands, `$BIN` the binary) in one terminal session, as a person types
/// commands in one shell, and returns what the terminal showed.
fn in_one_terminal_session(home: &std::path::Path, script: &str) -> String {
    let driver = r#"
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv("/bin/sh", ["sh", "-c", sys.argv[1]])
out = b""
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace").replace("\r\n", "\n"))
"#;
    let output = Command::new("python3")
        .arg("-c")
        .arg(driver)
        .arg(script)
        .env_clear()
        .current_dir(home)
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        .env("BIN", BIN)
        .env("TELNYX_CONFIG_PATH", home.join(".telnyx-edge/config.toml"))
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .output()
        .expect("python3 runs");
    String::from_utf8_lossy(&output.stdout).replace(&home.display().to_string(), "[HOME]")
}

#[test]
fn a_terminal_session_is_told_where_local_state_is_once_and_scripts_never() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("other")).expect("mkdir");
    let screen = in_one_terminal_session(
        dir.path(),
        r#"$BIN --local storage kv create --name my-cache >/dev/null
$BIN --local storage kv put my-cache greeting hello
$BIN --local storage kv get my-cache greeting
cd other && $BIN --local -q storage kv list
$BIN --local storage kv list
$BIN --local -v storage kv list 2>&1 | grep Running
$BIN --local storage kv list"#,
    );
    // The first command in the project and the first in `other` say where their state is (a
    // `-q` run, which says nothing, does not count); `-v` always does (there through a pipe).
    insta::assert_snapshot!(shown(&screen), @"
    Running locally (emulator state in `[HOME]/.telnyx-edge/state`)
    Created namespace `my-cache` (00000000-0000-0000-0000-000000000000)
    Namespace `my-cache` is ready ([SECS])
    Created key `greeting` in namespace `my-cache` (5 bytes)
    hello
    Running locally (no emulator state yet; a write creates it in `[HOME]/other/.telnyx-edge/state`)
    No KV namespaces yet; create one with `telnyx-edge storage kv create --name NAME`
    Running locally (no emulator state yet; a write creates it in `[HOME]/other/.telnyx-edge/state`)
    No KV namespaces yet; create one with `telnyx-edge storage kv create --name NAME`
    ");
    // Without a terminal (a script, CI), nothing is said.
    let (code, _, stderr) = outcome(
        &bare(dir.path())
            .args(["--local", "storage", "kv", "get", "my-cache", "greeting"])
            .output()
            .expect("runs"),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr, "");
}
