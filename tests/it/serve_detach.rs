//! `storage kv serve --detach`, `--status`, `--stop` and `--env-file`: the real binary, a
//! background server on `127.0.0.1:0`, always stopped again.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::cli::{outcome, scrubbed as telnyx_edge};

/// Runs `storage kv serve ARGS --state-dir st` in `home`: exit code, stdout, stderr.
fn serve(home: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = telnyx_edge(home)
        .args(["storage", "kv", "serve", "--state-dir", "st"])
        .args(args)
        .output()
        .expect("serve runs");
    outcome(&output)
}

/// A temporary home whose background server is stopped when the test ends, passed or not.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn state(&self) -> PathBuf {
        self.path().join("st")
    }

    /// The record the running server wrote.
    fn record(&self) -> Value {
        let bytes = std::fs::read(self.state().join("serve.json")).expect("the record");
        serde_json::from_slice(&bytes).expect("JSON")
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let record = std::fs::read(self.state().join("serve.json")).ok();
        let pid = record
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .and_then(|record| record["pid"].as_u64());
        if let Some(pid) = pid {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

#[test]
fn a_detached_server_is_found_used_refused_twice_and_stopped() {
    let home = Home::new();
    let (code, stdout, stderr) = serve(
        home.path(),
        &["--detach", "--port", "0", "--env-file", ".env"],
    );
    let record = home.record();
    let pid = record["pid"].as_u64().expect("pid");
    let port = record["port"].as_u64().expect("port");
    let base_url = format!("http://127.0.0.1:{port}/v2");
    let state = home.state().display().to_string();
    let exports =
        format!("export TELNYX_BASE_URL={base_url}\nexport TELNYX_API_KEY=KEYlocal-emulator\n");
    assert_eq!(
        (code, stdout.as_str(), stderr),
        (
            Some(0),
            exports.as_str(),
            format!(
                "The KV emulator runs in the background: pid {pid}, {base_url} (log in `st/serve.log`); stop it with `serve --stop`\n"
            )
        )
    );
    assert_eq!(
        std::fs::read_to_string(home.path().join(".env")).expect("the env file"),
        exports
    );

    assert_eq!(
        serve(home.path(), &["--status", "--json"]),
        (
            Some(0),
            format!(
                "{{\"pid\":{pid},\"port\":{port},\"base_url\":\"{base_url}\",\"state_dir\":\"{state}\"}}\n"
            ),
            String::new()
        )
    );
    assert_eq!(
        serve(home.path(), &["--status"]),
        (
            Some(0),
            format!(
                "PID        {pid}\nPORT       {port}\nBASE URL   {base_url}\nSTATE DIR  {state}\n"
            ),
            String::new()
        )
    );

    let answer = reqwest::blocking::Client::new()
        .get(format!("{base_url}/storage/kvs"))
        .bearer_auth("KEYlocal-emulator")
        .send()
        .expect("the server answers");
    assert_eq!(answer.status(), 200);

    assert_eq!(
        serve(home.path(), &["--detach", "--port", "0"]),
        (
            Some(5),
            String::new(),
            format!(
                "error: a KV emulator already runs on `{state}`: pid {pid}, port {port}\nhint: Use it (`serve --status` prints its address), or stop it with `serve --stop`.\n"
            )
        )
    );
    // A foreground server on the same state is refused too.
    assert_eq!(serve(home.path(), &["--port", "0"]).0, Some(5));

    assert_eq!(
        serve(home.path(), &["--stop", "--json"]),
        (
            Some(0),
            format!("{{\"stopped\":true,\"pid\":{pid}}}\n"),
            format!("Stopped the KV emulator (pid {pid}, port {port})\n")
        )
    );
    assert!(!home.state().join("serve.json").exists());
    assert_eq!(
        serve(home.path(), &["--status", "--json"]),
        (
            Some(3),
            String::new(),
            format!(
                "{{\"error\":{{\"message\":\"no KV emulator runs on `{state}`\",\"code\":\"not_found\",\"exit_code\":3,\"hint\":\"Start one with `serve --detach`.\",\"request_id\":null}}}}\n"
            )
        )
    );
    assert_eq!(
        serve(home.path(), &["--stop", "--json"]),
        (
            Some(0),
            "{\"stopped\":false,\"pid\":null}\n".to_owned(),
            format!("No KV emulator runs on `{state}`\n")
        )
    );
}

#[test]
fn a_record_whose_process_is_gone_is_removed() {
    let home = Home::new();
    let mut gone = std::process::Command::new("true")
        .spawn()
        .expect("true runs");
    gone.wait().expect("true exits");
    let pid = gone.id();
    std::fs::create_dir_all(home.state()).expect("state dir");
    std::fs::write(
        home.state().join("serve.json"),
        format!(
            "{{\"pid\":{pid},\"port\":1,\"base_url\":\"http://127.0.0.1:1/v2\",\"state_dir\":\"st\"}}\n"
        ),
    )
    .expect("a stale record");
    let state = home.state().display().to_string();
    assert_eq!(
        serve(home.path(), &["--status"]),
        (
            Some(3),
            String::new(),
            format!(
                "Removed the stale record `st/serve.json` (pid {pid}): that server is gone\nerror: no KV emulator runs on `{state}`\nhint: Start one with `serve --detach`.\n"
            )
        )
    );
    assert!(!home.state().join("serve.json").exists());
}

#[test]
fn a_record_whose_pid_went_to_another_process_is_stale_and_that_process_is_left_alone() {
    let home = Home::new();
    // A server killed with SIGKILL (its lock let go of), and its pid given to an unrelated
    // process since: here a `sleep` stands in for it.
    let (code, _, stderr) = serve(home.path(), &["--detach", "--port", "0"]);
    assert_eq!(code, Some(0), "{stderr}");
    let server = home.record()["pid"].as_i64().expect("a pid");
    std::process::Command::new("kill")
        .args(["-KILL", &server.to_string()])
        .status()
        .expect("kill runs");
    let mut other = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("sleep runs");
    let record = home.state().join("serve.json");
    let mut json = home.record();
    json["pid"] = other.id().into();
    // The killed server's lock goes with its last file descriptor; wait for the kernel (not
    // for the process to be reaped: where nothing reaps it, it stays a zombie).
    let running = std::fs::File::open(home.state().join("serve.running")).expect("the lock file");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while running.try_lock().is_err() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(running);
    std::fs::write(&record, format!("{json}\n")).expect("the record");
    let state = home.state().display().to_string();
    for (args, code, said) in [
        (
            &["--status"][..],
            3,
            "error: no KV emulator runs on `{state}`\nhint: Start one with `serve --detach`.\n",
        ),
        (&["--stop"][..], 0, "No KV emulator runs on `{state}`\n"),
    ] {
        std::fs::write(&record, format!("{json}\n")).expect("the record");
        let (got, stdout, stderr) = serve(home.path(), args);
        assert_eq!(got, Some(code), "{args:?}: {stderr}");
        assert_eq!(stdout, "");
        assert_eq!(
            stderr,
            format!(
                "Removed the stale record `st/serve.json` (pid {}): that server is gone\n{}",
                other.id(),
                said.replace("{state}", &state)
            ),
            "{args:?}"
        );
        assert!(!record.exists());
    }
    assert_eq!(
        other.try_wait().expect("wait"),
        None,
        "the unrelated process was signalled"
    );
    other.kill().expect("kill");
    other.wait().expect("wait");
}

#[test]
fn a_server_that_cannot_listen_fails_with_its_log() {
    let home = Home::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = taken.local_addr().expect("address").port().to_string();
    let (code, stdout, stderr) = serve(home.path(), &["--detach", "--port", &port]);
    assert_eq!(
        (code, stdout.as_str(), stderr),
        (
            Some(1),
            "",
            format!(
                "error: the server exited before it listened (exit status: 1)\nhint: Its log (`st/serve.log`) ends:\nerror: cannot listen on 127.0.0.1:{port}: the port is in use\nhint: Stop the other server, or pass `--port 0` to pick a free port.\n"
            )
        )
    );
    assert!(!home.state().join("serve.json").exists());
}

#[test]
fn of_two_servers_started_at_once_on_one_state_one_runs() {
    let home = Home::new();
    let start = || {
        telnyx_edge(home.path())
            .args(["storage", "kv", "serve", "--state-dir", "st", "--detach"])
            .args(["--port", "0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("serve starts")
    };
    let (mut first, mut second) = (start(), start());
    let mut codes = [
        first.wait().expect("exits").code(),
        second.wait().expect("exits").code(),
    ];
    codes.sort();
    assert_eq!(codes, [Some(0), Some(5)]);
    let pid = home.record()["pid"].as_u64().expect("pid");
    assert_eq!(
        serve(home.path(), &["--stop", "--json"]).1,
        format!("{{\"stopped\":true,\"pid\":{pid}}}\n")
    );
}

#[test]
fn a_server_that_loses_the_race_for_a_state_prints_no_address() {
    let home = Home::new();
    let servers: Vec<std::process::Child> = (0..4)
        .map(|_| {
            telnyx_edge(home.path())
                .args(["--json", "storage", "kv", "serve", "--state-dir", "st"])
                .args(["--port", "0"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("serve starts")
        })
        .collect();
    // One wins and serves; every other exits 5 without an address on stdout (a script that read
    // one would talk to a port nobody serves).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !home.state().join("serve.json").exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let winner = home.record()["pid"].as_u64().expect("pid");
    let mut losers = 0;
    for child in servers {
        if u64::from(child.id()) == winner {
            std::process::Command::new("kill")
                .args(["-TERM", &winner.to_string()])
                .status()
                .expect("kill");
            let output = child.wait_with_output().expect("exits");
            assert_eq!(output.status.code(), Some(0));
            let first = String::from_utf8_lossy(&output.stdout);
            assert!(first.starts_with("{\"base_url\":"), "{first}");
            continue;
        }
        let output = child.wait_with_output().expect("exits");
        assert_eq!(output.status.code(), Some(5));
        assert_eq!(String::from_utf8_lossy(&output.stdout), "");
        losers += 1;
    }
    assert_eq!(losers, 3);
}
