//! A value printed by `get NAMESPACE KEY` / `key get`: on a terminal it ends with a newline so
//! the prompt is not glued to it; to a pipe or a file it stays byte-exact.
//!
//! The terminal is a real pseudo-terminal from util-linux's `script`. The line discipline of a
//! terminal turns each `\n` into `\r\n`, so that is what a terminal shows.

use std::process::Command;

use crate::support::cli::{BIN, Kv, outcome};

/// Runs `telnyx-edge ARGS` with its stdout on a pseudo-terminal (stderr to /dev/null, so only
/// stdout is seen) and returns what the terminal received.
fn on_a_terminal(kv: &Kv, args: &[&str]) -> Vec<u8> {
    let mut line = shlex::try_quote(BIN).expect("quotable").into_owned();
    for arg in args {
        line.push(' ');
        line.push_str(&shlex::try_quote(arg).expect("quotable"));
    }
    line.push_str(" 2>/dev/null");
    let std = kv.std_cmd();
    let mut command = Command::new("script");
    command.env_clear();
    for (name, value) in std.get_envs() {
        if let Some(value) = value {
            command.env(name, value);
        }
    }
    let output = command
        .env("SHELL", "/bin/sh")
        .env("PATH", "/usr/bin:/bin")
        .current_dir(kv.path())
        .args(["--quiet", "--return", "--command", &line, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "`{line}` on a terminal: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn store(kv: &Kv, key: &str, value: &str) {
    kv.ok(&["storage", "kv", "put", "ns", key, value]);
}

#[test]
fn a_value_on_a_terminal_ends_with_a_newline() {
    let kv = Kv::start();
    kv.namespace("ns");
    store(&kv, "user/123", r#"{"name": "Ada"}"#);
    store(&kv, "line", "ends here\n");
    assert_eq!(
        on_a_terminal(&kv, &["storage", "kv", "get", "ns", "user/123"]),
        b"{\"name\": \"Ada\"}\r\n",
        "one newline added"
    );
    assert_eq!(
        on_a_terminal(&kv, &["storage", "kv", "key", "get", "ns", "user/123"]),
        b"{\"name\": \"Ada\"}\r\n",
        "`key get` too"
    );
    assert_eq!(
        on_a_terminal(&kv, &["storage", "kv", "get", "ns", "line"]),
        b"ends here\r\n",
        "a value that ends with a newline gets no second one"
    );
}

#[test]
fn a_value_to_a_pipe_or_a_file_stays_byte_exact() {
    let kv = Kv::start();
    kv.namespace("ns");
    store(&kv, "user/123", r#"{"name": "Ada"}"#);
    store(&kv, "line", "ends here\n");
    let piped = kv.run(&["storage", "kv", "get", "ns", "user/123"]);
    let (code, _, stderr) = outcome(&piped);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        piped.stdout, br#"{"name": "Ada"}"#,
        "nothing added to a pipe"
    );
    assert_eq!(
        kv.ok(&["storage", "kv", "key", "get", "ns", "line"]),
        b"ends here\n"
    );
    // A redirection to a file, as a shell does it.
    let file = kv.path().join("value.json");
    let stdout = std::fs::File::create(&file).expect("create");
    let status = kv
        .std_cmd()
        .args(["storage", "kv", "get", "ns", "user/123"])
        .stdout(stdout)
        .status()
        .expect("runs");
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        std::fs::read(&file).expect("read"),
        br#"{"name": "Ada"}"#,
        "nothing added to a file"
    );
}
