//! `telnyx-edge storage kv serve` as a user runs it: the real binary on `127.0.0.1:0`.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::blocking::Client;
use serde_json::Value;

use crate::support::cli::scrubbed as telnyx_edge;
use crate::support::output::shown;

/// A running `serve` and what it printed on stdout before serving.
struct Served {
    child: Child,
    stdout_lines: Vec<String>,
    /// The rest of stdout, read once it stops.
    stdout: std::thread::JoinHandle<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Served {
    fn start(cwd: &Path, args: &[&str], stdout_lines: usize) -> Self {
        let mut child = telnyx_edge(cwd)
            .args(["storage", "kv", "serve", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut lines = Vec::new();
        for _ in 0..stdout_lines {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("reads stdout");
            assert!(
                line.ends_with('\n'),
                "serve printed {lines:?} then {line:?}"
            );
            lines.push(line.trim_end().to_owned());
        }
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            text
        });
        let mut stderr = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Self {
            child,
            stdout_lines: lines,
            stdout,
            stderr,
        }
    }

    /// The value of `export NAME=value` in the printed exports.
    fn export(&self, name: &str) -> String {
        let prefix = format!("export {name}=");
        self.stdout_lines
            .iter()
            .find_map(|line| line.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.stdout_lines))
            .to_owned()
    }

    /// Stops it with SIGTERM; returns the exit code and stderr.
    fn terminate(self) -> (Option<i32>, String) {
        let (code, _, stderr) = self.stop();
        (code, stderr)
    }

    /// Stops it with SIGTERM; returns the exit code, the rest of stdout and stderr.
    fn stop(mut self) -> (Option<i32>, String, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let code = self.child.wait().expect("serve exits").code();
        (
            code,
            self.stdout.join().expect("stdout thread"),
            self.stderr.join().expect("stderr thread"),
        )
    }

    /// Kills it with SIGKILL, as a crash would.
    fn crash(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

fn create(base: &str, token: &str, name: &str) -> String {
    let response = client()
        .post(format!("{base}/storage/kvs"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "name": name }))
        .send()
        .expect("answered");
    assert_eq!(response.status(), 201);
    let body: Value = response.json().expect("JSON");
    body["data"]["id"].as_str().expect("id").to_owned()
}

fn is_port_url(url: &str) -> bool {
    url.strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix("/v2"))
        .and_then(|port| port.parse::<u16>().ok())
        .is_some_and(|port| port != 0)
}

#[test]
fn serve_prints_exports_logs_requests_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let served = Served::start(dir.path(), &["--in-memory"], 2);
    let base = served.export("TELNYX_BASE_URL");
    assert!(is_port_url(&base), "{base}");
    assert_eq!(served.export("TELNYX_API_KEY"), "KEYlocal-emulator");
    let response = client()
        .get(format!("{base}/storage/kvs"))
        .bearer_auth("anything")
        .send()
        .expect("answered");
    assert_eq!(response.status(), 200);
    let (code, stderr) = served.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 5, "{stderr}");
    assert_eq!(
        lines[0],
        format!("Serving the KV emulator at {base} (in memory, nothing is saved)")
    );
    // The explorer's page, on the same port, with a token of 64 hex digits.
    let explorer = lines[1]
        .strip_prefix(&format!(
            "Explorer: {}/?token=",
            base.trim_end_matches("/v2")
        ))
        .expect("the explorer's URL");
    assert!(
        explorer.len() == 64 && explorer.bytes().all(|b| b.is_ascii_hexdigit()),
        "{explorer}"
    );
    assert_eq!(lines[2], "Press Ctrl-C to stop");
    let log = lines[3]
        .strip_prefix("GET /v2/storage/kvs 200 ")
        .expect("a request log line");
    assert!(
        log.ends_with("ms") && log.trim_end_matches("ms").parse::<f64>().is_ok(),
        "{log}"
    );
    assert_eq!(
        lines[4],
        "Stopped the KV emulator after 1 request (0 answered 429; at most 1 at once)"
    );
    assert!(
        !dir.path().join(".telnyx-edge").exists(),
        "in-memory writes nothing"
    );
}

#[test]
fn serve_json_prints_one_document_and_quiet_logs_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let served = Served::start(
        dir.path(),
        &["--json", "--quiet", "--api-key", "KEY with space"],
        1,
    );
    let doc: Value = serde_json::from_str(&served.stdout_lines[0]).expect("JSON line");
    let base = doc["base_url"].as_str().expect("base_url").to_owned();
    assert!(is_port_url(&base), "{doc}");
    assert_eq!(doc["api_key"], "KEY with space");
    let state = dir.path().join(".telnyx-edge/state");
    assert_eq!(doc["state_dir"], state.display().to_string());
    assert_eq!(
        doc["address"],
        base.trim_start_matches("http://").trim_end_matches("/v2")
    );
    let wrong = client()
        .get(format!("{base}/storage/kvs"))
        .bearer_auth("KEYother")
        .send()
        .expect("answered");
    assert_eq!(wrong.status(), 401);
    create(&base, "KEY with space", "quiet");
    let (code, stderr) = served.terminate();
    assert_eq!(code, Some(0));
    assert_eq!(stderr, "", "--quiet prints nothing on stderr");
    assert!(state.join("kv.sqlite3").is_file());
}

#[test]
fn latency_delays_every_answer_and_the_stop_line_counts_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let served = Served::start(
        dir.path(),
        &[
            "--json",
            "--in-memory",
            "--latency",
            "150ms±30ms",
            "--rate-limit",
            "2",
        ],
        1,
    );
    let doc: Value = serde_json::from_str(&served.stdout_lines[0]).expect("JSON line");
    let base = doc["base_url"].as_str().expect("base_url").to_owned();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let response = client()
            .get(format!("{base}/storage/kvs"))
            .bearer_auth("anything")
            .send()
            .expect("answered");
        // A lower bound, not a speed: the answer cannot come before the delay.
        assert!(
            start.elapsed() >= Duration::from_millis(120),
            "{:?}",
            start.elapsed()
        );
        statuses.push(response.status().as_u16());
    }
    assert_eq!(
        statuses,
        [200, 200, 429],
        "the 429 is as late as any answer"
    );
    let (code, rest, stderr) = served.stop();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        rest,
        "{\"stopped\":true,\"requests\":3,\"rate_limited\":1,\"peak_in_flight\":1}\n"
    );
    insta::assert_snapshot!(shown(&stderr), @"
    Serving the KV emulator at http://127.0.0.1:[PORT]/v2 (in memory, nothing is saved)
    Explorer: http://127.0.0.1:[PORT]/?token=[TOKEN]
    Press Ctrl-C to stop
    GET /v2/storage/kvs 200 [MS]
    GET /v2/storage/kvs 200 [MS]
    GET /v2/storage/kvs 429 [MS]
    Stopped the KV emulator after 3 requests (1 answered 429; at most 1 at once)
    ");
}

#[test]
fn a_jitter_larger_than_the_latency_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = telnyx_edge(dir.path())
        .args(["storage", "kv", "serve", "--latency", "10ms±20ms"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(output.stdout, b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    insta::assert_snapshot!(shown(&stderr), @"
    error: invalid value '10ms±20ms' for '--latency <DUR>': `10ms±20ms`: the jitter cannot be larger than the delay (no answer comes before it is asked); use, say, `100ms±20ms`

    For more information, try '--help'.
    ");
}

#[test]
fn exports_quote_keys_for_the_shell() {
    let dir = tempfile::tempdir().expect("tempdir");
    let served = Served::start(
        dir.path(),
        &["--in-memory", "--api-key", "KEY with space"],
        2,
    );
    assert_eq!(served.export("TELNYX_API_KEY"), "'KEY with space'");
    served.terminate();
}

#[test]
fn state_lives_next_to_the_nearest_func_toml_unless_overridden() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("project");
    let nested = project.join("src/handlers");
    std::fs::create_dir_all(&nested).expect("mkdir");
    std::fs::write(project.join("func.toml"), "[edge_compute]\n").expect("write");
    let served = Served::start(&nested, &["--quiet"], 2);
    served.terminate();
    assert!(project.join(".telnyx-edge/state/kv.sqlite3").is_file());
    assert!(!nested.join(".telnyx-edge").exists());

    let elsewhere = dir.path().join("elsewhere");
    let mut child = telnyx_edge(&nested)
        .env("TELNYX_EDGE_STATE_DIR", &elsewhere)
        .args(["-q", "storage", "kv", "serve", "--port", "0", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("reads");
    let doc: Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(doc["state_dir"], elsewhere.display().to_string());
    child.kill().expect("kill");
    child.wait().expect("reaped");
    assert!(elsewhere.join("kv.sqlite3").is_file());
}

#[test]
fn acknowledged_writes_survive_sigkill_and_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let state_arg = state.to_str().expect("UTF-8 path");
    let args = [
        "--quiet",
        "--provision-delay",
        "0",
        "--state-dir",
        state_arg,
    ];
    let served = Served::start(dir.path(), &args, 2);
    let base = served.export("TELNYX_BASE_URL");
    let id = create(&base, "t", "durable");
    let value: Vec<u8> = (0..=255).collect();
    for i in 0..50 {
        let put = client()
            .put(format!("{base}/storage/kvs/{id}/keys/k{i}"))
            .bearer_auth("t")
            .body(value.clone())
            .send()
            .expect("answered");
        assert_eq!(put.status(), 201);
    }
    served.crash();

    let served = Served::start(dir.path(), &args, 2);
    let base = served.export("TELNYX_BASE_URL");
    for i in 0..50 {
        let got = client()
            .get(format!("{base}/storage/kvs/{id}/keys/k{i}"))
            .bearer_auth("t")
            .send()
            .expect("answered");
        assert_eq!(got.status(), 200, "k{i}");
        assert_eq!(got.bytes().expect("body").to_vec(), value);
    }
    let ns: Value = client()
        .get(format!("{base}/storage/kvs/{id}"))
        .bearer_auth("t")
        .send()
        .expect("answered")
        .json()
        .expect("JSON");
    assert_eq!(ns["data"]["name"], "durable");
    assert_eq!(ns["data"]["status"], "provision_ok");
    served.terminate();
}

#[test]
fn a_port_in_use_fails_with_a_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let output = telnyx_edge(dir.path())
        .args(["storage", "kv", "serve", "--in-memory", "--port", &port])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "error: cannot listen on 127.0.0.1:{port}: the port is in use\nhint: Stop the other server, or pass `--port 0` to pick a free port.\n"
        )
    );
}

#[test]
fn bad_serve_flags_are_usage_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut transcript = String::new();
    for args in [
        &["--fail-provision", "Bad_Name"][..],
        &["--rate-limit", "0"][..],
        &["--provision-delay", "soon"][..],
        &["--in-memory", "--state-dir", "x"][..],
        &["--host", "localhost:80"][..],
        &["--port", "70000"][..],
    ] {
        let output = telnyx_edge(dir.path())
            .args(["storage", "kv", "serve"])
            .args(args)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        transcript.push_str(&format!("$ {}\n{stderr}", args.join(" ")));
        assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    }
    insta::assert_snapshot!(shown(&transcript), @"
    $ --fail-provision Bad_Name
    error: invalid value 'Bad_Name' for '--fail-provision <NAME>': namespace name `Bad_Name` has characters that are not allowed; use lowercase letters a-z, digits and `-`

    For more information, try '--help'.
    $ --rate-limit 0
    error: invalid value '0' for '--rate-limit <N>': 0 is not in 1..=4294967295

    For more information, try '--help'.
    $ --provision-delay soon
    error: invalid value 'soon' for '--provision-delay <DUR>': `soon` is not a duration; use whole seconds or units such as `500ms`, `30s`, `5m`, `1h30m`

    For more information, try '--help'.
    $ --in-memory --state-dir x
    error: the argument '--in-memory' cannot be used with '--state-dir <DIR>'

    Usage: telnyx-edge storage kv serve --in-memory

    For more information, try '--help'.
    $ --host localhost:80
    error: invalid value 'localhost:80' for '--host <HOST>': invalid IP address syntax

    For more information, try '--help'.
    $ --port 70000
    error: invalid value '70000' for '--port <PORT>': 70000 is not in 0..=65535

    For more information, try '--help'.
    ");
    assert!(
        !dir.path().join(".telnyx-edge").exists(),
        "nothing was written"
    );
}
