//! `func.toml` bindings end to end: `create --bind`, `bind`, `unbind`, `delete --unbind`,
//! binding names as NAMESPACE, and the local mirrors of bound namespaces.

use std::io::BufRead as _;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::cli::{BIN, Kv, bare, outcome};
use crate::support::output::shown;

const ORIGINAL: &str = "# my function\n[edge_compute]\nfunc_name = \"f\"   # keep this comment\n\n[env_vars]\nA = 'b'\n";

/// A project directory with a func.toml and a `src/` to run commands from.
fn project(kv: &Kv) -> std::path::PathBuf {
    let src = kv.path().join("fn/src");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(kv.path().join("fn/func.toml"), ORIGINAL).expect("write");
    src
}

/// The func.toml's path as messages show it (absolute: it is above the working directory).
fn func_toml_path(kv: &Kv) -> String {
    kv.path().join("fn/func.toml").display().to_string()
}

fn func_toml(kv: &Kv) -> String {
    std::fs::read_to_string(kv.path().join("fn/func.toml")).expect("read")
}

#[test]
fn create_bind_adds_the_binding_once_the_namespace_is_ready() {
    let kv = Kv::start();
    let src = project(&kv);
    let output = kv.run_in(
        &src,
        &[
            "--json", "storage", "kv", "create", "--name", "my-cache", "--bind",
        ],
    );
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    let ns: Value = serde_json::from_str(&stdout).expect("the namespace as JSON");
    let id = ns["id"].as_str().expect("id");
    assert_eq!(
        func_toml(&kv),
        format!("{ORIGINAL}\n[storage.kv.MY_CACHE]\nid = \"{id}\"\n")
    );
    insta::assert_snapshot!(shown(&stderr), @"
    Created namespace `my-cache` (00000000-0000-0000-0000-000000000000)
    Waiting for namespace `my-cache` to be ready (pending)
    Namespace `my-cache` is ready ([SECS])
    Bound `MY_CACHE` to namespace `my-cache` (00000000-0000-0000-0000-000000000000) in `[TEMP]/fn/func.toml`
    ");
    // The binding now works wherever a namespace is expected.
    let put = kv.run_in(&src, &["storage", "kv", "put", "MY_CACHE", "k", "v"]);
    assert_eq!(
        put.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let got = kv.run_in(&src, &["storage", "kv", "get", "MY_CACHE", "k"]);
    assert_eq!(got.stdout, b"v");
    // A custom binding name.
    let custom = kv.run_in(
        &src,
        &[
            "storage",
            "kv",
            "create",
            "--name",
            "sessions",
            "--bind",
            "SESSION_STORE",
        ],
    );
    assert_eq!(custom.status.code(), Some(0));
    assert!(func_toml(&kv).contains("[storage.kv.SESSION_STORE]\nid = "));
}

#[test]
fn create_bind_without_a_func_toml_fails_before_creating_anything() {
    let kv = Kv::start();
    let output = kv.run(&["storage", "kv", "create", "--name", "orphan", "--bind"]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(2), ""));
    insta::assert_snapshot!(shown(&stderr), @"
    error: no func.toml in the working directory or above it
    hint: Run it from your function's directory, or pass `--func-toml func.toml` to create one here (any PATH: a missing file is created).
    ");
    let list: Value = kv.api.get("/storage/kvs").json().expect("JSON");
    assert_eq!(list["meta"]["total_results"], 0, "nothing was created");
    // A named file that does not exist is created, but not its directory.
    let no_dir = kv.run(&[
        "--func-toml",
        "new/func.toml",
        "storage",
        "kv",
        "create",
        "--name",
        "orphan",
        "--bind",
    ]);
    let (code, _, stderr) = outcome(&no_dir);
    assert_eq!(code, Some(2));
    insta::assert_snapshot!(shown(&stderr), @"error: cannot create `new/func.toml`: the directory `new` does not exist");
    let list: Value = kv.api.get("/storage/kvs").json().expect("JSON");
    assert_eq!(list["meta"]["total_results"], 0, "nothing was created");
    std::fs::create_dir_all(kv.path().join("new")).expect("mkdir");
    let created = kv.json(&[
        "--func-toml",
        "new/func.toml",
        "storage",
        "kv",
        "create",
        "--name",
        "orphan",
        "--bind",
        "ORPHAN",
    ]);
    let id = created["id"].as_str().expect("id");
    let path = kv.path().join("new/func.toml");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        format!("[storage.kv.ORPHAN]\nid = \"{id}\"\n")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
}

#[test]
fn bind_is_idempotent_refuses_clashes_and_forces() {
    let kv = Kv::start();
    let src = project(&kv);
    let first = kv.namespace("first");
    let second = kv.namespace("second");
    let run = |args: &[&str]| kv.run_in(&src, args);
    assert_eq!(
        run(&["storage", "kv", "bind", "first", "CACHE"])
            .status
            .code(),
        Some(0)
    );
    let after_bind = func_toml(&kv);
    let again = run(&["storage", "kv", "bind", "first", "CACHE"]);
    let (code, _, stderr) = outcome(&again);
    assert_eq!(code, Some(0));
    insta::assert_snapshot!(shown(&stderr), @"`CACHE` already points to namespace `first` in `[TEMP]/fn/func.toml`; nothing to change");
    assert_eq!(func_toml(&kv), after_bind);

    let clash = run(&["storage", "kv", "bind", &second, "CACHE"]);
    let (code, _, stderr) = outcome(&clash);
    assert_eq!(code, Some(5));
    let stderr = stderr
        .replace(&first, "[first]")
        .replace(&second, "[second]");
    insta::assert_snapshot!(shown(&stderr), @"
    error: binding `CACHE` in `[TEMP]/fn/func.toml` points to namespace `[first]`
    hint: Pass `--force` to point `CACHE` at `[second]` instead of `[first]`, or choose another binding name.
    ");
    assert_eq!(func_toml(&kv), after_bind);

    let dry = run(&[
        "storage",
        "kv",
        "bind",
        &second,
        "CACHE",
        "--force",
        "--dry-run",
    ]);
    let (code, stdout, _) = outcome(&dry);
    assert_eq!(code, Some(0));
    assert_eq!(
        stdout,
        format!(
            "--- {0}\n+++ {0}\n@@ -6,4 +6,4 @@\n A = 'b'\n \n [storage.kv.CACHE]\n-id = \"{first}\"\n+id = \"{second}\"\n",
            func_toml_path(&kv)
        )
    );
    assert_eq!(func_toml(&kv), after_bind, "a dry run writes nothing");

    let forced = run(&[
        "--json", "storage", "kv", "bind", &second, "CACHE", "--force",
    ]);
    let change: Value = serde_json::from_slice(&forced.stdout).expect("JSON");
    assert_eq!(change["previous"], first.as_str());
    assert_eq!(change["id"], second.as_str());
    assert_eq!(change["changed"], true);
    assert_eq!(func_toml(&kv), after_bind.replace(&first, &second));
}

#[test]
fn unbind_removes_only_the_table() {
    let kv = Kv::start();
    let src = project(&kv);
    let id = kv.namespace("gone-soon");
    let run = |args: &[&str]| kv.run_in(&src, args);
    assert_eq!(run(&["storage", "kv", "bind", &id]).status.code(), Some(0));
    assert!(func_toml(&kv).contains("[storage.kv.GONE_SOON]"));
    let dry = run(&["storage", "kv", "unbind", "GONE_SOON", "--dry-run"]);
    assert!(String::from_utf8_lossy(&dry.stdout).contains("-[storage.kv.GONE_SOON]"));
    assert!(func_toml(&kv).contains("[storage.kv.GONE_SOON]"));
    let removed = run(&["storage", "kv", "unbind", "GONE_SOON"]);
    assert_eq!(removed.status.code(), Some(0));
    assert_eq!(func_toml(&kv), ORIGINAL);
    let missing = run(&["storage", "kv", "unbind", "GONE_SOON"]);
    let (code, _, stderr) = outcome(&missing);
    assert_eq!(code, Some(3));
    insta::assert_snapshot!(shown(&stderr), @"error: no binding `GONE_SOON` in `[TEMP]/fn/func.toml`: it has no bindings");
    let bad = run(&["storage", "kv", "unbind", "gone-soon"]);
    let (code, _, stderr) = outcome(&bad);
    assert_eq!(code, Some(2));
    insta::assert_snapshot!(shown(&stderr), @"
    error: invalid value 'gone-soon' for '<BINDING>': `gone-soon` is not a binding name; use upper-case letters, digits and `_`, not starting with a digit, such as `GONE_SOON`

    For more information, try '--help'.
    ");
}

#[test]
fn delete_unbind_removes_bindings_and_keep_binding_keeps_them() {
    let kv = Kv::start();
    let src = project(&kv);
    let id = kv.namespace("bound");
    let run = |args: &[&str]| kv.run_in(&src, args);
    assert_eq!(run(&["storage", "kv", "bind", &id]).status.code(), Some(0));
    let deleted = run(&["--yes", "storage", "kv", "delete", "BOUND", "--unbind"]);
    let (code, _, stderr) = outcome(&deleted);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    Deleting namespace `bound` (00000000-0000-0000-0000-000000000000)
    Removed binding `BOUND` from `[TEMP]/fn/func.toml`
    ");
    assert_eq!(func_toml(&kv), ORIGINAL);

    let kept = kv.namespace("kept");
    assert_eq!(
        run(&["storage", "kv", "bind", &kept]).status.code(),
        Some(0)
    );
    let with_binding = func_toml(&kv);
    let deleted = run(&["--yes", "storage", "kv", "delete", "kept", "--keep-binding"]);
    let (_, _, stderr) = outcome(&deleted);
    insta::assert_snapshot!(shown(&stderr), @"
    Deleting namespace `kept` (00000000-0000-0000-0000-000000000000)
    Kept binding `KEPT` in `[TEMP]/fn/func.toml`: it names a namespace that no longer exists
    ");
    assert_eq!(
        func_toml(&kv),
        with_binding,
        "with --keep-binding the file is left alone"
    );
}

#[test]
fn a_malformed_func_toml_is_reported_and_left_untouched() {
    let kv = Kv::start();
    let src = project(&kv);
    let broken = "[edge_compute\nfunc_name = \"f\"\n";
    std::fs::write(kv.path().join("fn/func.toml"), broken).expect("write");
    let id = kv.namespace("any");
    let output = kv.run_in(&src, &["storage", "kv", "bind", &id]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(1));
    insta::assert_snapshot!(shown(&stderr), @"error: `[TEMP]/fn/func.toml` is not valid TOML: line 1, column 14: unclosed table, expected `]`");
    assert_eq!(func_toml(&kv), broken);
}

#[test]
fn permissions_and_crlf_survive_an_edit() {
    let kv = Kv::start();
    let src = project(&kv);
    let path = kv.path().join("fn/func.toml");
    std::fs::write(&path, "[edge_compute]\r\nfunc_name = \"f\"\r\n").expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    }
    let id = kv.namespace("crlf");
    let output = kv.run_in(&src, &["storage", "kv", "bind", &id]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        format!(
            "[edge_compute]\r\nfunc_name = \"f\"\r\n\r\n[storage.kv.CRLF]\r\nid = \"{id}\"\r\n"
        )
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }
}

const BOUND_ID: &str = "3f2a9c4e-1b7d-4e8a-9f00-5c6d7e8f9a0b";

#[test]
fn local_mode_mirrors_bound_namespaces_under_the_same_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("func.toml"),
        format!(
            "[storage.kv.MY_CACHE]\nid = \"{BOUND_ID}\"\n\n[storage.kv.BAD]\nid = \"not-a-uuid\"\n"
        ),
    )
    .expect("write");
    let output = bare(dir.path())
        .args(["--local", "--json", "storage", "kv", "get", "MY_CACHE"])
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    let ns: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(ns["id"], BOUND_ID);
    assert_eq!(ns["name"], "my-cache");
    assert_eq!(ns["status"], "provision_ok");
    insta::assert_snapshot!(shown(&stderr), @"warning: binding `BAD` has id `not-a-uuid`, which is not a namespace UUID; it is not mirrored locally");
    let put = bare(dir.path())
        .args(["--local", "storage", "kv", "put", BOUND_ID, "k", "v"])
        .output()
        .expect("runs");
    assert_eq!(put.status.code(), Some(0));
}

#[test]
fn serve_exports_each_binding_and_serves_its_mirror() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("func.toml"),
        format!("[storage.kv.MY_CACHE]\nid = \"{BOUND_ID}\"\n"),
    )
    .expect("write");
    let mut child = Command::new(BIN)
        .env_clear()
        .current_dir(dir.path())
        .args(["-q", "storage", "kv", "serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut reader = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        reader.read_line(&mut line).expect("reads");
        lines.push(line.trim_end().to_owned());
    }
    assert_eq!(lines[2], format!("export KV_MY_CACHE_ID={BOUND_ID}"));
    let base = lines[0]
        .strip_prefix("export TELNYX_BASE_URL=")
        .expect("base url")
        .to_owned();
    let ns: Value = reqwest::blocking::Client::new()
        .get(format!("{base}/storage/kvs/{BOUND_ID}"))
        .bearer_auth("any")
        .send()
        .expect("answered")
        .json()
        .expect("JSON");
    assert_eq!(ns["data"]["name"], "my-cache");
    assert_eq!(ns["data"]["status"], "provision_ok");
    child.kill().expect("kill");
    child.wait().expect("reaped");
    assert!(dir.path().join(".telnyx-edge/state/kv.sqlite3").is_file());
}
