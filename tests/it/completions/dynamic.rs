//! Completion of namespace names and keys: from local state with `--local`, else from the
//! service behind a short deadline and a cache; never an error, never a prompt.

use std::path::Path;
use std::process::Command;

use crate::support::api::{Api, TOKEN};
use crate::support::cli::scrubbed;

/// The binary answering a completion request as fish makes it (the words up to the cursor),
/// with `dir` as HOME and working directory and the cache under it. Returns the candidates'
/// values, and asserts that nothing went to stderr and the exit was clean.
fn complete(command: &mut Command, words: &[&str]) -> Vec<String> {
    let output = command
        .env("_TELNYX_EDGE_COMPLETE", "fish")
        .arg("--")
        .args(words)
        .output()
        .expect("runs");
    assert_eq!(
        output.stderr,
        b"",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(0));
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .map(|line| line.split('\t').next().unwrap_or("").to_owned())
        .collect()
}

fn in_home(home: &Path) -> Command {
    let mut command = scrubbed(home);
    command.env("XDG_CACHE_HOME", home.join("cache"));
    command
}

fn local(home: &Path, args: &[&str]) {
    let output = in_home(home)
        .env("TELNYX_EDGE_LOCAL", "1")
        .args(args)
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn local_state_completes_namespace_names_and_keys_by_prefix() {
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    // Nothing written yet: nothing offered, and completing creates no state.
    let mut command = in_home(home);
    command.env("TELNYX_EDGE_LOCAL", "1");
    assert_eq!(
        complete(&mut command, &["telnyx-edge", "storage", "kv", "get", "my"]),
        Vec::<String>::new()
    );
    assert!(!home.join(".telnyx-edge").exists());

    local(home, &["storage", "kv", "create", "--name", "my-cache"]);
    local(home, &["storage", "kv", "create", "--name", "other"]);
    for key in ["user/1", "user/2", "order/9"] {
        local(home, &["storage", "kv", "put", "my-cache", key, "v"]);
    }
    let mut command = in_home(home);
    command.env("TELNYX_EDGE_LOCAL", "1");
    assert_eq!(
        complete(&mut command, &["telnyx-edge", "storage", "kv", "get", "my"]),
        ["my-cache"]
    );
    let mut command = in_home(home);
    command.env("TELNYX_EDGE_LOCAL", "1");
    assert_eq!(
        complete(
            &mut command,
            &["telnyx-edge", "storage", "kv", "get", "my-cache", "us"]
        ),
        ["user/1", "user/2"]
    );
    // `--local` on the command line counts as much as the environment, wherever it is.
    assert_eq!(
        complete(
            &mut in_home(home),
            &[
                "telnyx-edge",
                "storage",
                "kv",
                "key",
                "delete",
                "--local",
                "my-cache",
                "o"
            ]
        ),
        ["order/9"]
    );
    // Local state is read in-process: no service is asked, so nothing is cached.
    assert!(!home.join("cache").exists());
}

#[test]
fn the_service_completes_names_and_keys_and_a_second_tab_uses_the_cache() {
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    let api = Api::start();
    let id = api.create("my-cache");
    api.create("sessions");
    for key in ["user/1", "user/2", "order/9"] {
        let status = api
            .put(&format!("/storage/kvs/{id}/keys/{key}"), "v")
            .status();
        assert!(status.is_success(), "{status}");
    }
    std::fs::write(
        home.join("func.toml"),
        format!("[storage.kv.MY_CACHE]\nid = \"{id}\"\n"),
    )
    .expect("write");
    let base_url = api.base_url();
    let service = || {
        let mut command = in_home(home);
        command
            .env("TELNYX_BASE_URL", &base_url)
            .env("TELNYX_API_KEY", TOKEN);
        command
    };
    let names = ["telnyx-edge", "storage", "kv", "get", "m"];
    let keys = ["telnyx-edge", "storage", "kv", "get", "MY_CACHE", "us"];
    // The binding first (from func.toml), then the names the service lists.
    let all = complete(&mut service(), &["telnyx-edge", "storage", "kv", "get", ""]);
    assert_eq!(all[..3], ["MY_CACHE", "my-cache", "sessions"]);
    assert_eq!(complete(&mut service(), &names), ["my-cache"]);
    assert_eq!(complete(&mut service(), &keys), ["user/1", "user/2"]);
    let cached = std::fs::read_dir(home.join("cache/telnyx-edge/completion"))
        .expect("cache folder")
        .count();
    assert_eq!(cached, 2);

    drop(api);
    // The service is gone: what was asked before comes from the cache…
    assert_eq!(complete(&mut service(), &names), ["my-cache"]);
    assert_eq!(complete(&mut service(), &keys), ["user/1", "user/2"]);
    // …and what was not is simply not offered, with no error and no delay past the deadline.
    assert_eq!(
        complete(
            &mut service(),
            &["telnyx-edge", "storage", "kv", "get", "MY_CACHE", "or"]
        ),
        Vec::<String>::new()
    );
}

#[test]
fn no_credentials_or_no_service_offer_only_the_bindings_and_print_nothing() {
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    std::fs::write(
        home.join("func.toml"),
        "[storage.kv.MY_CACHE]\nid = \"550e8400-e29b-41d4-a716-446655440000\"\n",
    )
    .expect("write");
    let words = ["telnyx-edge", "storage", "kv", "get", ""];
    let offered = complete(&mut in_home(home), &words);
    assert_eq!(offered.first().map(String::as_str), Some("MY_CACHE"));
    assert!(
        offered.iter().skip(1).all(|c| c.starts_with('-')),
        "{offered:?}"
    );
    let mut refused = in_home(home);
    refused
        .env("TELNYX_BASE_URL", "http://127.0.0.1:1/v2")
        .env("TELNYX_API_KEY", TOKEN);
    assert_eq!(
        complete(
            &mut refused,
            &["telnyx-edge", "storage", "kv", "get", "MY_CACHE", "u"]
        ),
        Vec::<String>::new()
    );
    assert!(!home.join("cache").exists());
}

#[test]
fn bash_says_which_word_is_completed() {
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    local(home, &["storage", "kv", "create", "--name", "my-cache"]);
    local(home, &["storage", "kv", "put", "my-cache", "user/1", "v"]);
    // The cursor on the namespace, with a key already typed after it.
    let output = in_home(home)
        .env("TELNYX_EDGE_LOCAL", "1")
        .env("_TELNYX_EDGE_COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "4")
        .env("_CLAP_IFS", "\n")
        .args(["--", "telnyx-edge", "storage", "kv", "get", "my", "user/1"])
        .output()
        .expect("runs");
    assert_eq!(output.stdout, b"my-cache");
    let output = in_home(home)
        .env("TELNYX_EDGE_LOCAL", "1")
        .env("_TELNYX_EDGE_COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "5")
        .env("_CLAP_IFS", "\n")
        .args(["--", "telnyx-edge", "storage", "kv", "get", "my-cache", "u"])
        .output()
        .expect("runs");
    assert_eq!(output.stdout, b"user/1");
}

#[test]
fn copy_and_diff_sides_complete_names_of_the_side_being_written() {
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    let api = Api::start();
    let remote_id = api.create("remote-only");
    local(home, &["storage", "kv", "create", "--name", "local-only"]);
    std::fs::write(
        home.join("func.toml"),
        format!("[storage.kv.CACHE]\nid = \"{remote_id}\"\n"),
    )
    .expect("write");
    let base_url = api.base_url();
    let complete_side = |words: &[&str]| {
        let mut command = in_home(home);
        command
            .env("TELNYX_BASE_URL", &base_url)
            .env("TELNYX_API_KEY", TOKEN);
        let line = [&["telnyx-edge", "storage", "kv"][..], words].concat();
        complete(&mut command, &line)
            .into_iter()
            .filter(|candidate| !candidate.starts_with('-'))
            .collect::<Vec<_>>()
    };
    // A bare name is on the service (no `--local`); each binding is offered on both sides.
    assert_eq!(
        complete_side(&["copy", ""]),
        ["CACHE", "local:CACHE", "remote:CACHE", "remote-only"]
    );
    assert_eq!(
        complete_side(&["--local", "copy", ""]),
        ["CACHE", "local:CACHE", "remote:CACHE", "local-only"]
    );
    // `local:` and `remote:`, written or begun, name the side whatever `--local` says (a bare
    // name that starts the same way is offered too).
    assert_eq!(
        complete_side(&["copy", "local:"]),
        ["local:CACHE", "local:local-only"]
    );
    assert_eq!(
        complete_side(&["copy", "loc"]),
        ["local:CACHE", "local:local-only"]
    );
    assert_eq!(
        complete_side(&["--local", "diff", "remote:r"]),
        ["remote:remote-only"]
    );
    assert_eq!(
        complete_side(&["copy", "local:x", "re"]),
        ["remote:CACHE", "remote-only", "remote:remote-only"]
    );
}
