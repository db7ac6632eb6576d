//! Deleting a namespace that func.toml binds: refused (exit 2, nothing changed) unless the user
//! says what becomes of the binding, `--unbind` or `--keep-binding`; with `--local` the message
//! says that a kept binding brings the mirror back.

use std::path::Path;
use std::process::Output;

use crate::support::cli::{Kv, outcome, scrubbed};

const FUNC_TOML: &str = "[edge_compute]\nfunc_name = \"my-function\"\n";

/// Exit code, stdout and stderr, without the one line every `--local` command starts with (it
/// names the temporary state directory).
fn shown(output: &Output) -> (Option<i32>, String, String) {
    let (code, stdout, stderr) = outcome(output);
    let stderr = stderr
        .lines()
        .filter(|line| !line.starts_with("Running locally ("))
        .map(|line| format!("{line}\n"))
        .collect();
    (code, stdout, stderr)
}

fn local(dir: &Path, args: &[&str]) -> Output {
    scrubbed(dir)
        .arg("--local")
        .args(args)
        .output()
        .expect("runs")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read")
}

#[test]
fn a_bound_local_namespace_is_not_deleted_without_a_choice_about_its_binding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = dir.path().join("func.toml");
    std::fs::write(&toml, FUNC_TOML).expect("write");
    let created = local(
        dir.path(),
        &[
            "--json", "storage", "kv", "create", "--name", "gone", "--bind",
        ],
    );
    assert_eq!(created.status.code(), Some(0));
    let id = serde_json::from_slice::<serde_json::Value>(&created.stdout).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let bound = read(&toml);
    assert_eq!(
        local(dir.path(), &["storage", "kv", "put", "gone", "k", "v"])
            .status
            .code(),
        Some(0)
    );

    let refused = local(dir.path(), &["storage", "kv", "delete", "gone", "--yes"]);
    assert_eq!(
        shown(&refused),
        (
            Some(2),
            String::new(),
            "error: namespace `gone` is bound as `GONE` in `func.toml`; refusing to delete it without `--unbind` or `--keep-binding`\n\
             hint: Pass `--unbind` to delete it and remove the binding, or `--keep-binding` to delete it and leave the binding (local state mirrors every binding, so with it kept the namespace comes back, empty, on the next command).\n"
                .to_owned()
        )
    );
    assert_eq!(read(&toml), bound, "func.toml untouched");
    let value = local(dir.path(), &["storage", "kv", "get", "gone", "k"]);
    assert_eq!(
        (value.status.code(), value.stdout.as_slice()),
        (Some(0), b"v".as_slice()),
        "nothing deleted"
    );

    let kept = local(
        dir.path(),
        &[
            "storage",
            "kv",
            "delete",
            "GONE",
            "--yes",
            "--force",
            "--keep-binding",
        ],
    );
    assert_eq!(
        shown(&kept),
        (
            Some(0),
            String::new(),
            format!(
                "Deleting namespace `gone` ({id})\n\
                 Kept binding `GONE` in `func.toml`: local state mirrors it, so the namespace comes back empty on the next command\n"
            )
        )
    );
    assert_eq!(read(&toml), bound, "the binding is kept");
    // What the message said: the mirror is back, with the same id, and empty.
    let listed = local(dir.path(), &["storage", "kv", "list", "-o", "ids"]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout), format!("{id}\n"));
    let keys = local(
        dir.path(),
        &["storage", "kv", "key", "list", "GONE", "-o", "ids"],
    );
    assert_eq!(
        (keys.status.code(), keys.stdout.as_slice()),
        (Some(0), b"".as_slice())
    );

    let unbound = local(
        dir.path(),
        &["storage", "kv", "delete", "GONE", "--yes", "--unbind"],
    );
    assert_eq!(
        shown(&unbound),
        (
            Some(0),
            String::new(),
            format!("Deleting namespace `gone` ({id})\nRemoved binding `GONE` from `func.toml`\n")
        )
    );
    assert_eq!(read(&toml), FUNC_TOML, "the binding is gone");
    let listed = local(dir.path(), &["storage", "kv", "list", "-o", "ids"]);
    assert_eq!(
        (listed.status.code(), listed.stdout.as_slice()),
        (Some(0), b"".as_slice()),
        "and the namespace stays deleted"
    );
}

#[test]
fn a_bound_namespace_on_the_service_is_not_deleted_without_a_choice_about_its_binding() {
    let kv = Kv::start();
    let toml = kv.path().join("func.toml");
    std::fs::write(&toml, FUNC_TOML).expect("write");
    let id = kv.namespace("kept");
    kv.ok(&["storage", "kv", "bind", "kept"]);
    let bound = read(&toml);

    let refused = kv.run(&["storage", "kv", "delete", "kept", "--yes"]);
    assert_eq!(
        outcome(&refused),
        (
            Some(2),
            String::new(),
            "error: namespace `kept` is bound as `KEPT` in `func.toml`; refusing to delete it without `--unbind` or `--keep-binding`\n\
             hint: Pass `--unbind` to delete it and remove the binding, or `--keep-binding` to delete it and leave the binding (with it kept, the binding names a namespace that no longer exists).\n"
                .to_owned()
        )
    );
    assert_eq!(read(&toml), bound, "func.toml untouched");
    assert_eq!(
        kv.json(&["storage", "kv", "get", &id])["status"],
        "provision_ok",
        "nothing deleted"
    );

    let both = kv.run(&[
        "storage",
        "kv",
        "delete",
        "kept",
        "--yes",
        "--unbind",
        "--keep-binding",
    ]);
    assert_eq!(both.status.code(), Some(2), "one choice, not two");
    assert_eq!(read(&toml), bound);

    let kept = kv.run(&["storage", "kv", "delete", "KEPT", "--yes", "--keep-binding"]);
    assert_eq!(
        outcome(&kept),
        (
            Some(0),
            String::new(),
            format!(
                "Deleting namespace `kept` ({id})\n\
                 Kept binding `KEPT` in `func.toml`: it names a namespace that no longer exists\n"
            )
        )
    );
    assert_eq!(read(&toml), bound, "the binding is kept");
}

#[test]
fn a_namespace_nothing_binds_needs_neither_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("func.toml"), FUNC_TOML).expect("write");
    assert_eq!(
        local(dir.path(), &["storage", "kv", "create", "--name", "free"])
            .status
            .code(),
        Some(0)
    );
    let deleted = local(dir.path(), &["storage", "kv", "delete", "free", "--yes"]);
    let (code, _, stderr) = shown(&deleted);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.starts_with("Deleting namespace `free` ("),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
