//! Completion scripts, man pages and the command reference: generated from the code, committed,
//! and exercised in real shells.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::cli::BIN;

const FUNC_TOML: &str = "[storage.kv.MY_CACHE]\nid = \"550e8400-e29b-41d4-a716-446655440000\"\n\n[storage.kv.SESSIONS]\nid = \"7819cf01-39a8-400e-9bce-3d792ffa4017\"\n";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn generated_files_are_up_to_date() {
    let generated = telnyx_edge::generated_files().expect("generates");
    let mut stale = Vec::new();
    for (relative, contents) in &generated {
        match std::fs::read(root().join(relative)) {
            Ok(committed) if &committed == contents => {}
            Ok(_) => stale.push(format!("{relative} differs")),
            Err(_) => stale.push(format!("{relative} is missing")),
        }
    }
    let pages: Vec<String> = std::fs::read_dir(root().join("docs/man"))
        .expect("docs/man")
        .map(|e| {
            format!(
                "docs/man/{}",
                e.expect("entry").file_name().to_string_lossy()
            )
        })
        .collect();
    for page in pages {
        if !generated.iter().any(|(path, _)| *path == page) {
            stale.push(format!("{page} is no longer generated"));
        }
    }
    assert!(
        stale.is_empty(),
        "generated files are stale; run `bash scripts/generate.sh` and commit:\n{}",
        stale.join("\n")
    );
}

#[test]
fn the_completions_command_prints_the_committed_scripts() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (shell, file) in [
        ("bash", "telnyx-edge.bash"),
        ("zsh", "_telnyx-edge"),
        ("fish", "telnyx-edge.fish"),
        ("powershell", "_telnyx-edge.ps1"),
        ("elvish", "telnyx-edge.elv"),
    ] {
        let output = crate::support::cli::bare(dir.path())
            .args(["completions", shell])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(0));
        let committed = std::fs::read(root().join("completions").join(file)).expect("committed");
        assert_eq!(output.stdout, committed, "{shell}");
        // The scripts call the binary by name, not by a build path.
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(!text.contains("target/"), "{shell}: {text}");
    }
}

#[test]
fn completions_alone_lists_the_shells_and_the_line_for_yours() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |shell: Option<&str>, json: bool| {
        let mut command = crate::support::cli::bare(dir.path());
        if let Some(shell) = shell {
            command.env("SHELL", shell);
        }
        if json {
            command.arg("--json");
        }
        let output = command.arg("completions").output().expect("runs");
        assert_eq!(output.status.code(), Some(0));
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    assert_eq!(
        run(Some("/usr/bin/zsh"), false),
        "Shells: bash, zsh, fish, powershell, elvish\n\nFor zsh (your $SHELL), install completion with:\n  telnyx-edge completions zsh --install\n"
    );
    assert_eq!(
        run(None, false),
        "Shells: bash, zsh, fish, powershell, elvish\n\nInstall completion with `telnyx-edge completions SHELL --install`, or print the script with `telnyx-edge completions SHELL`.\n"
    );
    assert_eq!(
        run(Some("/opt/homebrew/bin/fish"), true),
        "{\"shells\":[\"bash\",\"zsh\",\"fish\",\"powershell\",\"elvish\"],\"detected\":\"fish\",\"install\":\"telnyx-edge completions fish --install\"}\n"
    );
}

/// `completions SHELL --install` into a fresh home: the folder is created, the file is the
/// committed script, and the message says where.
fn install(home: &Path, shell: &str, expected: &str) -> PathBuf {
    let output = crate::support::cli::bare(home)
        .args(["completions", shell, "--install"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    // Without a terminal, a shell that would not load the script gets its start-up line on
    // stdout (`completions::install` covers that in full).
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.is_empty() || stdout.ends_with("# telnyx-edge completion\n"),
        "{shell}: {stdout}"
    );
    let path = home.join(expected);
    assert!(
        stderr.starts_with(&format!(
            "Installed {shell} completion in `{}`",
            path.display()
        )),
        "{stderr}"
    );
    path
}

#[test]
fn installed_scripts_complete_in_real_shells() {
    let (dir, path) = project();
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    let bash = install(
        home,
        "bash",
        ".local/share/bash-completion/completions/telnyx-edge",
    );
    let zsh = install(home, "zsh", ".zfunc/_telnyx-edge");
    let fish = install(home, "fish", ".config/fish/completions/telnyx-edge.fish");
    assert_eq!(
        std::fs::read(&bash).expect("bash"),
        std::fs::read(root().join("completions/telnyx-edge.bash")).expect("committed")
    );

    // bash: bash-completion's own loader finds the script where it was installed.
    let out = |program: &str, script: &str| {
        let output = Command::new(program)
            .current_dir(dir.path())
            .env_clear()
            .env("HOME", home)
            .env("PATH", &path)
            .args(shell_args(program))
            .arg(script)
            .output()
            .unwrap_or_else(|err| {
                panic!("`{program}` must be installed (scripts/test.sh installs it): {err}")
            });
        assert!(
            output.status.success(),
            "{program}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let loader = "/usr/share/bash-completion/bash_completion";
    assert!(
        Path::new(loader).is_file(),
        "bash-completion must be installed (scripts/test.sh installs it)"
    );
    let offered = out(
        "bash",
        &format!(
            "source {loader}; __load_completion telnyx-edge || exit 3; COMP_WORDS=(telnyx-edge storage kv unbind SE); COMP_CWORD=4; _clap_complete_telnyx_edge telnyx-edge SE unbind; printf '%s\\n' \"${{COMPREPLY[@]}}\""
        ),
    );
    assert_eq!(offered, "SESSIONS\n");

    // zsh: from the folder the install named, as `fpath` would load it.
    let offered = out(
        "zsh",
        &format!(
            "compdef() {{ : }}; _describe() {{ local arr=$3; print -l -- \"${{(@P)arr}}\" }}; source '{}'; words=(telnyx-edge storage kv unbind SE); CURRENT=5; _clap_dynamic_completer_telnyx_edge",
            zsh.display()
        ),
    );
    assert_eq!(offered, "SESSIONS:7819cf01-39a8-400e-9bce-3d792ffa4017\n");

    // fish: loads completions from ~/.config/fish/completions by itself.
    assert!(fish.is_file());
    let offered = out("fish", "complete -C 'telnyx-edge storage kv unbind SE'");
    assert_eq!(offered, "SESSIONS\t7819cf01-39a8-400e-9bce-3d792ffa4017\n");
}

/// A project directory with a func.toml, and a PATH on which `telnyx-edge` is this build.
fn project() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("func.toml"), FUNC_TOML).expect("write");
    let bin_dir = Path::new(BIN)
        .parent()
        .expect("bin dir")
        .display()
        .to_string();
    let path = format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default());
    (dir, path)
}

fn shell(program: &str, dir: &Path, path: &str, script: &str) -> Vec<String> {
    let output = Command::new(program)
        .current_dir(dir)
        .env("PATH", path)
        .args(shell_args(program))
        .arg(script)
        .output()
        .unwrap_or_else(|err| {
            panic!(
                "`{program}` must be installed for this test (scripts/test.sh installs it): {err}"
            )
        });
    assert!(
        output.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn shell_args(program: &str) -> &'static [&'static str] {
    match program {
        "zsh" => &["-f", "-c"],
        "bash" => &["--norc", "-c"],
        _ => &["-c"],
    }
}

fn bash_complete(dir: &Path, path: &str, words: &[&str]) -> Vec<String> {
    let script = root().join("completions/telnyx-edge.bash");
    let cword = words.len() - 1;
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    shell(
        "bash",
        dir,
        path,
        &format!(
            "source '{}'; COMP_WORDS=({}); COMP_CWORD={cword}; _clap_complete_telnyx_edge telnyx-edge '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            quoted.join(" "),
            words[cword],
            words[cword - 1]
        ),
    )
}

#[test]
fn bash_completes_subcommands_values_and_bindings() {
    let (dir, path) = project();
    let subcommands = bash_complete(dir.path(), &path, &["telnyx-edge", "storage", "kv", ""]);
    for expected in [
        "create", "list", "get", "put", "delete", "key", "bind", "unbind", "serve",
    ] {
        assert!(
            subcommands.iter().any(|c| c == expected),
            "{expected} in {subcommands:?}"
        );
    }
    let namespace = bash_complete(
        dir.path(),
        &path,
        &["telnyx-edge", "storage", "kv", "get", ""],
    );
    assert_eq!(&namespace[..2], ["MY_CACHE", "SESSIONS"]);
    let prefix = bash_complete(
        dir.path(),
        &path,
        &["telnyx-edge", "storage", "kv", "unbind", "SE"],
    );
    assert_eq!(prefix, ["SESSIONS"]);
    let formats = bash_complete(dir.path(), &path, &["telnyx-edge", "--output", ""]);
    assert_eq!(formats, ["table", "json", "ndjson", "ids"]);
    let shells = bash_complete(dir.path(), &path, &["telnyx-edge", "completions", ""]);
    assert_eq!(
        &shells[..5],
        ["bash", "zsh", "fish", "powershell", "elvish"]
    );
    std::fs::write(dir.path().join("value.bin"), b"x").expect("write");
    let files = bash_complete(
        dir.path(),
        &path,
        &[
            "telnyx-edge",
            "storage",
            "kv",
            "put",
            "MY_CACHE",
            "k",
            "--path",
            "val",
        ],
    );
    assert_eq!(files, ["value.bin"]);
}

#[test]
fn zsh_completes_through_its_script() {
    let (dir, path) = project();
    let script = root().join("completions/_telnyx-edge");
    // `_describe` only exists inside zsh's completion widget; a stand-in prints what the
    // script would offer, so the script's own logic runs in real zsh.
    let run = |words: &str, current: usize| {
        shell(
            "zsh",
            dir.path(),
            &path,
            &format!(
                "compdef() {{ : }}; _describe() {{ local arr=$3; print -l -- \"${{(@P)arr}}\" }}; source '{}'; words=({words}); CURRENT={current}; _clap_dynamic_completer_telnyx_edge",
                script.display()
            ),
        )
    };
    let subcommands = run("telnyx-edge storage kv ''", 4);
    assert!(
        subcommands
            .iter()
            .any(|c| c.starts_with("create:Create a namespace")),
        "{subcommands:?}"
    );
    let bindings = run("telnyx-edge storage kv key list ''", 6);
    assert_eq!(
        &bindings[..2],
        [
            "MY_CACHE:550e8400-e29b-41d4-a716-446655440000",
            "SESSIONS:7819cf01-39a8-400e-9bce-3d792ffa4017"
        ]
    );
}

#[test]
fn fish_completes_through_its_script() {
    let (dir, path) = project();
    let script = root().join("completions/telnyx-edge.fish");
    let run = |line: &str| {
        shell(
            "fish",
            dir.path(),
            &path,
            &format!("source '{}'; complete -C '{line}'", script.display()),
        )
    };
    let subcommands = run("telnyx-edge storage kv ");
    assert!(
        subcommands.iter().any(|c| c.starts_with("create\t")),
        "{subcommands:?}"
    );
    let bindings = run("telnyx-edge storage kv delete ");
    assert_eq!(
        &bindings[..2],
        [
            "MY_CACHE\t550e8400-e29b-41d4-a716-446655440000",
            "SESSIONS\t7819cf01-39a8-400e-9bce-3d792ffa4017"
        ]
    );
    let colors = run("telnyx-edge --color ");
    assert_eq!(
        colors
            .iter()
            .map(|c| c.split('\t').next().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["auto", "always", "never"]
    );
}
