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
    Running locally (emulator state in `[TEMP]/fn/.telnyx-edge/state`)
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
