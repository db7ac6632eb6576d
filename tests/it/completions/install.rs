//! `completions SHELL --install` checks that the shell will load what it wrote, and otherwise
//! offers one line for the shell's start-up file; `--print-rc-line` prints that line alone.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::support::cli::scrubbed;

const LOADER: &str = "/usr/share/bash-completion/bash_completion";
const BASH_LINE: &str = "[ -f \"$HOME/.local/share/bash-completion/completions/telnyx-edge\" ] && . \"$HOME/.local/share/bash-completion/completions/telnyx-edge\"  # telnyx-edge completion\n";
const ZSH_LINE: &str = "[[ -f \"$HOME/.zfunc/_telnyx-edge\" ]] && { (( $+functions[compdef] )) || { autoload -Uz compinit && compinit }; source \"$HOME/.zfunc/_telnyx-edge\" }  # telnyx-edge completion\n";

/// The binary in `home`, with the system's shells on PATH to be asked.
fn cmd(home: &Path) -> Command {
    let mut command = scrubbed(home);
    command.env("PATH", "/usr/local/bin:/usr/bin:/bin");
    command
}

fn run(command: &mut Command, args: &[&str]) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.args(args).output().expect("runs");
    (
        status.code(),
        String::from_utf8(stdout).expect("UTF-8"),
        String::from_utf8(stderr).expect("UTF-8"),
    )
}

fn require_loader() {
    assert!(
        Path::new(LOADER).is_file(),
        "bash-completion must be installed (scripts/test.sh installs it)"
    );
}

#[test]
fn bash_without_bash_completion_gets_the_line_printed_and_its_rc_left_alone() {
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    std::fs::write(home.join(".bashrc"), "alias ll='ls -l'\n").expect("write");
    let script = home.join(".local/share/bash-completion/completions/telnyx-edge");
    let expected_err = format!(
        "Installed bash completion in `{}`, but bash will not load it by itself: interactive bash does not load bash-completion, which alone reads that folder. `{rc}` was left unchanged; add the line printed on stdout to it, for example with `telnyx-edge completions bash --print-rc-line >> {rc}`\n",
        script.display(),
        rc = home.join(".bashrc").display()
    );
    // Without a terminal nobody agreed to a change of ~/.bashrc.
    assert_eq!(
        run(&mut cmd(home), &["completions", "bash", "--install"]),
        (Some(0), BASH_LINE.to_owned(), expected_err.clone())
    );
    assert!(script.is_file());
    assert_eq!(
        std::fs::read_to_string(home.join(".bashrc")).expect("read"),
        "alias ll='ls -l'\n"
    );
    let (code, stdout, stderr) = run(
        &mut cmd(home),
        &["--json", "completions", "bash", "--install"],
    );
    assert_eq!(
        (code, stderr),
        (
            Some(0),
            expected_err.replace("the line printed on stdout", "its `rc_line` in the JSON")
        )
    );
    let described: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(
        described,
        json!({
            "shell": "bash",
            "path": script.display().to_string(),
            "loaded_by_shell": false,
            "reason": "interactive bash does not load bash-completion, which alone reads that folder",
            "rc_file": home.join(".bashrc").display().to_string(),
            "rc_line": BASH_LINE.trim_end(),
            "rc_action": "printed",
            "next_step": null,
        })
    );
}

#[test]
fn yes_agrees_to_the_rc_line_as_to_every_confirmation() {
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    std::fs::write(home.join(".bashrc"), "alias ll='ls -l'\n").expect("write");
    let script = home.join(".local/share/bash-completion/completions/telnyx-edge");
    let (code, stdout, stderr) = run(
        &mut cmd(home),
        &["--yes", "completions", "bash", "--install"],
    );
    assert_eq!(
        (code, stdout, stderr),
        (
            Some(0),
            String::new(),
            format!(
                "Installed bash completion in `{}`, and added one line to `{}` that loads it: it works in new bash shells\n",
                script.display(),
                home.join(".bashrc").display()
            )
        )
    );
    assert_eq!(
        std::fs::read_to_string(home.join(".bashrc")).expect("read"),
        format!("alias ll='ls -l'\n{BASH_LINE}")
    );
}

#[test]
fn a_line_already_in_the_rc_file_is_not_added_again() {
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    let rc = format!("export EDITOR=vi\n{BASH_LINE}");
    std::fs::write(home.join(".bashrc"), &rc).expect("write");
    let (code, stdout, stderr) = run(&mut cmd(home), &["completions", "bash", "--install"]);
    assert_eq!(
        (code, stdout, stderr),
        (
            Some(0),
            String::new(),
            format!(
                "Installed bash completion in `{}`; `{}` already loads it in new shells\n",
                home.join(".local/share/bash-completion/completions/telnyx-edge")
                    .display(),
                home.join(".bashrc").display()
            )
        )
    );
    let (_, stdout, _) = run(
        &mut cmd(home),
        &["--json", "completions", "bash", "--install"],
    );
    let described: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(described["rc_action"], "already_present");
    assert_eq!(
        std::fs::read_to_string(home.join(".bashrc")).expect("read"),
        rc
    );
}

#[test]
fn bash_that_loads_bash_completion_needs_no_line() {
    require_loader();
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    let bashrc = format!(". {LOADER}\n");
    std::fs::write(home.join(".bashrc"), &bashrc).expect("write");
    // XDG_DATA_HOME moves the script, and bash-completion looks there too.
    let data = home.join("data");
    let (code, stdout, stderr) = run(
        cmd(home).env("XDG_DATA_HOME", &data),
        &["--json", "completions", "bash", "--install"],
    );
    let script = data.join("bash-completion/completions/telnyx-edge");
    assert_eq!(
        (code, stderr),
        (
            Some(0),
            format!(
                "Installed bash completion in `{}`; new bash shells load it (interactive bash loads bash-completion, which reads it)\n",
                script.display()
            )
        )
    );
    let described: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(described["loaded_by_shell"], true);
    assert_eq!(described["rc_action"], "not_needed");
    assert!(script.is_file());
    assert_eq!(
        std::fs::read_to_string(home.join(".bashrc")).expect("read"),
        bashrc
    );
    // bash-completion's own variable for the folder wins over XDG_DATA_HOME.
    let own = home.join("bc");
    let (code, stdout, _) = run(
        cmd(home)
            .env("XDG_DATA_HOME", &data)
            .env("BASH_COMPLETION_USER_DIR", &own),
        &["--json", "completions", "bash", "--install"],
    );
    assert_eq!(code, Some(0));
    let described: Value = serde_json::from_str(&stdout).expect("JSON");
    let script = own.join("completions/telnyx-edge");
    assert_eq!(described["path"], script.display().to_string());
    assert!(script.is_file());
}

#[test]
fn without_bash_to_ask_the_loader_file_decides() {
    require_loader();
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    let empty = tempfile::tempdir().expect("empty PATH");
    let (code, _, stderr) = run(
        cmd(home).env("PATH", empty.path()),
        &["completions", "bash", "--install"],
    );
    assert_eq!(code, Some(0));
    assert!(
        stderr.ends_with(
            "; new bash shells load it (bash-completion is installed, and it reads that folder)\n"
        ),
        "{stderr}"
    );
}

#[test]
fn a_zdotdir_that_zshenv_sets_is_where_the_line_goes() {
    // Set by zsh for itself, so the bash terminal or script that installs does not see it.
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    let zdotdir = home.join(".config/zsh");
    std::fs::create_dir_all(&zdotdir).expect("mkdir");
    std::fs::write(
        home.join(".zshenv"),
        "export ZDOTDIR=\"$HOME/.config/zsh\"\n",
    )
    .expect("write");
    std::fs::write(
        zdotdir.join(".zshrc"),
        "autoload -Uz compinit && compinit -u\n",
    )
    .expect("write");
    let (code, stdout, _) = run(
        &mut cmd(home),
        &["--json", "completions", "zsh", "--install"],
    );
    assert_eq!(code, Some(0));
    let described: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(
        described["rc_file"],
        zdotdir.join(".zshrc").display().to_string()
    );
    assert!(!home.join(".zshrc").exists());
}

#[test]
fn zsh_is_asked_about_its_fpath_and_zdotdir_is_respected() {
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    let zdotdir = home.join("zdot");
    std::fs::create_dir_all(&zdotdir).expect("mkdir");
    let zshrc = zdotdir.join(".zshrc");
    std::fs::write(&zshrc, "setopt no_beep\n").expect("write");
    let (code, stdout, _) = run(
        cmd(home).env("ZDOTDIR", &zdotdir),
        &["--json", "completions", "zsh", "--install"],
    );
    assert_eq!(code, Some(0));
    let described: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(
        described,
        json!({
            "shell": "zsh",
            "path": home.join(".zfunc/_telnyx-edge").display().to_string(),
            "loaded_by_shell": false,
            "reason": format!("`{}` is not on zsh's fpath", home.join(".zfunc").display()),
            "rc_file": zshrc.display().to_string(),
            "rc_line": ZSH_LINE.trim_end(),
            "rc_action": "printed",
            "next_step": null,
        })
    );

    std::fs::write(
        &zshrc,
        "fpath=(~/.zfunc $fpath)\nautoload -Uz compinit && compinit -u\n",
    )
    .expect("write");
    let (code, stdout, stderr) = run(
        cmd(home).env("ZDOTDIR", &zdotdir),
        &["completions", "zsh", "--install"],
    );
    assert_eq!(
        (code, stdout, stderr),
        (
            Some(0),
            String::new(),
            format!(
                "Installed zsh completion in `{}`; new zsh shells load it (`{}` is on zsh's fpath)\n",
                home.join(".zfunc/_telnyx-edge").display(),
                home.join(".zfunc").display()
            )
        )
    );
}

#[test]
fn the_zsh_line_loads_the_script_in_a_new_shell() {
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    let (code, line, _) = run(&mut cmd(home), &["completions", "zsh", "--print-rc-line"]);
    assert_eq!((code, line.as_str()), (Some(0), ZSH_LINE));
    std::fs::write(home.join(".zshrc"), &line).expect("write");
    run(&mut cmd(home), &["completions", "zsh", "--install"]);
    let output = Command::new("zsh")
        .args(["-i", "-c", "print -r -- ${_comps[telnyx-edge]}"])
        .env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("zsh must be installed (scripts/test.sh installs it)");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "_clap_dynamic_completer_telnyx_edge\n"
    );
}

#[test]
fn print_rc_line_prints_the_line_alone_and_writes_nothing() {
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    assert_eq!(
        run(&mut cmd(home), &["completions", "bash", "--print-rc-line"]),
        (Some(0), BASH_LINE.to_owned(), String::new())
    );
    let config = home.join("conf");
    let (code, stdout, stderr) = run(
        cmd(home).env("XDG_CONFIG_HOME", &config),
        &["--json", "completions", "fish", "--print-rc-line"],
    );
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
    let printed: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(
        printed,
        json!({
            "shell": "fish",
            "rc_file": config.join("fish/config.fish").display().to_string(),
            "rc_line": "test -f \"$HOME/conf/fish/completions/telnyx-edge.fish\"; and source \"$HOME/conf/fish/completions/telnyx-edge.fish\"  # telnyx-edge completion",
        })
    );
    let entries: Vec<_> = std::fs::read_dir(home).expect("home").collect();
    assert!(entries.is_empty(), "{entries:?}");

    let (code, stdout, stderr) = run(
        &mut cmd(home),
        &["completions", "elvish", "--print-rc-line"],
    );
    assert_eq!(
        (code, stdout, stderr),
        (
            Some(2),
            String::new(),
            "error: no start-up line for elvish\nhint: Run `telnyx-edge completions elvish --install`: it says what to add, and where.\n".into()
        )
    );
    let (code, _, stderr) = run(
        &mut cmd(home),
        &["completions", "bash", "--install", "--print-rc-line"],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}
