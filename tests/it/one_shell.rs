//! The first hour in one shell: the README's ```console blocks run in order by one bash, from a
//! fresh directory with no func.toml, so an exported variable or a `cd` carries over to the
//! blocks after it as it does for a reader; `bind` on a fresh directory says how to start a
//! func.toml; and an exported TELNYX_EDGE_LOCAL=1 does not stop `pull`.

use std::path::{Path, PathBuf};
use std::process::Command;

use telnyx_edge::emulator::Config;

use crate::doc_examples::{matches, normalized, sessions};
use crate::support::api::{Api, TOKEN};
use crate::support::cli::{BIN, outcome, scrubbed};

fn bin_dir() -> String {
    Path::new(BIN)
        .parent()
        .expect("bin dir")
        .display()
        .to_string()
}

/// The README's console sessions as one bash script: each command's output (stdout and stderr
/// together, as a terminal shows them) and exit code go to files in `out`.
fn script(commands: &[String], out: &Path) -> String {
    let mut script = String::new();
    for (index, command) in commands.iter().enumerate() {
        let output = out.join(format!("{index}.out"));
        let code = out.join(format!("{index}.code"));
        // A group, not a subshell: `export` and `cd` stay for the commands after it.
        script.push_str(&format!(
            "{{ {command}\n}} >'{}' 2>&1 </dev/null; echo $? >'{}'\n",
            output.display(),
            code.display()
        ));
    }
    script
}

/// The quick start's one line, after the build (the test has built the binary and puts it on
/// `PATH` itself; the line's own `export PATH=…` then adds a folder that does not exist here).
fn quick_start(readme: &Path) -> String {
    let text = std::fs::read_to_string(readme).expect("README");
    let line = text
        .split("## Two commands")
        .nth(1)
        .and_then(|section| section.split("```sh\n").nth(1))
        .and_then(|block| block.lines().next())
        .expect("the quick start's block");
    let build = "cargo build --release && ";
    line.strip_prefix(build)
        .unwrap_or_else(|| panic!("the quick start builds first: {line}"))
        .to_owned()
}

#[test]
fn the_readme_runs_in_order_in_one_shell_from_a_fresh_directory() {
    let readme = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let quick_start = quick_start(&readme);
    let sessions = sessions(&readme);
    assert!(
        sessions.len() >= 10,
        "only {} commands found",
        sessions.len()
    );
    // The emulator stands in for the service: the only thing this shell has that a reader's
    // does not is where the service is. It takes one key, so a command that runs without the
    // README's `export` having carried over fails.
    let service = Api::with(Config {
        api_key: Some(TOKEN.into()),
        ..Config::in_memory()
    });
    let fresh = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    // The one placeholder a reader fills in: their API key.
    let placeholder = "TELNYX_API_KEY=KEY…";
    // The quick start first, then every console session: what a reader does top to bottom.
    let commands: Vec<String> = std::iter::once(quick_start)
        .chain(sessions.iter().map(|s| {
            s.command
                .replace(placeholder, &format!("TELNYX_API_KEY={TOKEN}"))
        }))
        .collect();
    assert_eq!(
        sessions
            .iter()
            .filter(|s| s.command.contains(placeholder))
            .count(),
        1,
        "the README exports the key once"
    );
    let path = out.path().join("readme.sh");
    std::fs::write(&path, script(&commands, out.path())).expect("write");
    let status = Command::new("bash")
        .arg("--noprofile")
        .arg("--norc")
        .arg(&path)
        .current_dir(fresh.path())
        .env_clear()
        .env("HOME", fresh.path())
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir()))
        .env("TELNYX_BASE_URL", service.base_url())
        .status()
        .expect("bash runs");
    assert!(status.success(), "the script itself failed");
    // Where the README works: `~/my-function`, shown as the page shows it.
    let function_dir = fresh.path().join("my-function");
    let ran = |index: usize| {
        let printed = std::fs::read(out.path().join(format!("{index}.out"))).expect("ran");
        let code: i32 = std::fs::read_to_string(out.path().join(format!("{index}.code")))
            .expect("ran")
            .trim()
            .parse()
            .expect("an exit code");
        (code, printed)
    };
    let (code, printed) = ran(0);
    let printed = String::from_utf8_lossy(&printed);
    assert_eq!(code, 0, "the quick start: {printed}");
    assert!(printed.ends_with("\nhello, world"), "{printed}");
    let mut failures = Vec::new();
    for (index, session) in sessions.iter().enumerate() {
        let (code, printed) = ran(index + 1);
        let actual = normalized(&String::from_utf8_lossy(&printed), &function_dir);
        let expected = normalized(&session.expected.join("\n"), Path::new("/nowhere"));
        let same = actual.len() == expected.len()
            && expected.iter().zip(&actual).all(|(e, a)| matches(e, a));
        if code != session.exit || !same {
            failures.push(format!(
                "README.md:{}: $ {}\n  exit {code} (the page says {})\n  the page shows:\n    {}\n  it printed:\n    {}",
                session.line,
                session.command,
                session.exit,
                expected.join("\n    "),
                actual.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // What the README leaves behind: one func.toml, in the function's directory, and one
    // `my-cache` in its local state: the service's, mirrored under its own id (the quick
    // start's is in the directory it ran in).
    assert!(!fresh.path().join("func.toml").exists());
    let toml = std::fs::read_to_string(function_dir.join("func.toml")).expect("func.toml");
    let listed = scrubbed(&function_dir)
        .env("HOME", fresh.path())
        .args(["--local", "--json", "storage", "kv", "list"])
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&listed);
    assert_eq!(code, Some(0), "{stderr}");
    let local: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let names: Vec<&str> = local
        .as_array()
        .expect("array")
        .iter()
        .map(|ns| ns["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["my-cache"], "one `my-cache` locally");
    let id = local[0]["id"].as_str().expect("id");
    assert_eq!(
        toml,
        format!("[storage.kv.MY_CACHE]\nid = \"{id}\"\n"),
        "the binding names the namespace local state holds"
    );
}

#[test]
fn bind_on_a_fresh_directory_says_how_to_start_a_func_toml() {
    let service = Api::with(Config::in_memory());
    let fresh = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        scrubbed(fresh.path())
            .env("TELNYX_BASE_URL", service.base_url())
            .env("TELNYX_API_KEY", TOKEN)
            .args(args)
            .output()
            .expect("runs")
    };
    let created = run(&["--json", "storage", "kv", "create", "--name", "my-cache"]);
    assert_eq!(created.status.code(), Some(0));
    let id = serde_json::from_slice::<serde_json::Value>(&created.stdout).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let before = service.stats().requests;
    let refused = run(&["storage", "kv", "bind", "my-cache"]);
    assert_eq!(
        outcome(&refused),
        (
            Some(2),
            String::new(),
            "error: no func.toml in the working directory or above it\n\
             hint: Run it from your function's directory, or pass `--func-toml func.toml` to create one here (any PATH: a missing file is created).\n"
                .to_owned()
        )
    );
    assert_eq!(service.stats().requests, before, "no request sent");
    assert!(!fresh.path().join("func.toml").exists(), "nothing written");
    // The hint, followed.
    let bound = run(&[
        "storage",
        "kv",
        "bind",
        "my-cache",
        "--func-toml",
        "func.toml",
    ]);
    assert_eq!(
        outcome(&bound),
        (
            Some(0),
            String::new(),
            format!("Bound `MY_CACHE` to namespace `my-cache` ({id}) in `func.toml`\n")
        )
    );
    assert_eq!(
        std::fs::read_to_string(fresh.path().join("func.toml")).expect("created"),
        format!("[storage.kv.MY_CACHE]\nid = \"{id}\"\n")
    );
}

#[test]
fn an_exported_local_mode_does_not_stop_pull_but_the_flag_still_does() {
    let service = Api::with(Config::in_memory());
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        scrubbed(dir.path())
            .env("TELNYX_BASE_URL", service.base_url())
            .env("TELNYX_API_KEY", TOKEN)
            .env("TELNYX_EDGE_LOCAL", "1")
            .args(args)
            .output()
            .expect("runs")
    };
    std::fs::write(dir.path().join("func.toml"), "").expect("write");
    // With TELNYX_EDGE_LOCAL=1 exported, `create` is local; the service's namespace is made
    // with `--base-url`, which beats it.
    let url = service.base_url();
    let created = run(&[
        "--base-url",
        &url,
        "--json",
        "storage",
        "kv",
        "create",
        "--name",
        "my-cache",
        "--bind",
    ]);
    assert_eq!(created.status.code(), Some(0), "{:?}", outcome(&created));
    let put = run(&[
        "--base-url",
        &url,
        "storage",
        "kv",
        "put",
        "MY_CACHE",
        "k",
        "v",
    ]);
    assert_eq!(put.status.code(), Some(0), "{:?}", outcome(&put));

    let pulled = run(&["storage", "kv", "pull"]);
    let (code, _, stderr) = outcome(&pulled);
    assert_eq!(code, Some(0), "{stderr}");
    let got = run(&["storage", "kv", "get", "MY_CACHE", "k"]);
    assert_eq!(
        (got.status.code(), got.stdout.as_slice()),
        (Some(0), b"v".as_slice()),
        "pulled into local state"
    );

    let refused = run(&["--local", "storage", "kv", "pull"]);
    assert_eq!(
        outcome(&refused),
        (
            Some(2),
            String::new(),
            "error: `pull` copies between the service and local state; `--local` has no meaning here\n\
             hint: Drop `--local`: `pull` always uses both. To compare two local namespaces, use `telnyx-edge --local storage kv diff A B`.\n"
                .to_owned()
        )
    );
}
