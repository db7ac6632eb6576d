//! Completion as a person meets it: typed into a new interactive bash that does not load
//! bash-completion, under tmux. `completions bash --install` asks to add its line to
//! ~/.bashrc; after a yes, a new shell completes `telnyx-edge stor<Tab>` and a namespace name.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support::cli::BIN;

/// How long the pane may take to show what is awaited before the test gives up (a hang, not a
/// measurement: everything shows up in far less).
const PATIENCE: Duration = Duration::from_secs(60);

/// A tmux server of the test's own (its own socket), killed when dropped.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux must be installed (scripts/test.sh installs it)")
    }

    /// Types `keys` (tmux key names, such as `Enter` and `Tab`, or literal text).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        let output = self.run(&args);
        assert!(output.status.success(), "{output:?}");
    }

    fn pane(&self) -> String {
        let output = self.run(&["capture-pane", "-p", "-J", "-t", "t"]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits until the pane shows `text`, and returns the pane.
    fn wait_for(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let pane = self.pane();
            if pane.contains(text) {
                return pane;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the pane never showed {text:?}:\n{pane}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The environment of the shells in the pane: a home of the test's own, this build first on
/// PATH, local state.
fn environment(home: &Path) -> Vec<(&'static str, String)> {
    let bin_dir = Path::new(BIN)
        .parent()
        .expect("bin dir")
        .display()
        .to_string();
    vec![
        ("HOME", home.display().to_string()),
        ("PATH", format!("{bin_dir}:/usr/local/bin:/usr/bin:/bin")),
        ("TERM", "screen".into()),
        ("TELNYX_EDGE_LOCAL", "1".into()),
        (
            "TELNYX_CONFIG_PATH",
            home.join(".telnyx-edge/config.toml").display().to_string(),
        ),
        ("NO_COLOR", "1".into()),
    ]
}

#[test]
fn a_new_bash_without_bash_completion_completes_after_install() {
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    let env = environment(home);
    // A ~/.bashrc that does not load bash-completion, with a prompt to recognise.
    std::fs::write(home.join(".bashrc"), "PS1='ready$ '\n").expect("write");
    let probe = Command::new("bash")
        .args(["-i", "-c", "echo \"loaded:${BASH_COMPLETION_VERSINFO-}\""])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(home)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("bash");
    assert_eq!(
        String::from_utf8_lossy(&probe.stdout),
        "loaded:\n",
        "this system's bash loads bash-completion for every user, so the case cannot be made"
    );
    let created = Command::new(BIN)
        .args(["storage", "kv", "create", "--name", "my-cache"])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(home)
        .output()
        .expect("runs");
    assert!(created.status.success(), "{created:?}");

    let tmux = Tmux {
        socket: home.join("tmux.sock"),
    };
    let mut start = vec![
        "new-session".to_owned(),
        "-d".into(),
        "-s".into(),
        "t".into(),
        "-x".into(),
        "200".into(),
        "-y".into(),
        "50".into(),
        "-c".into(),
        home.display().to_string(),
        "env".into(),
        "-i".into(),
    ];
    start.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
    start.extend(["bash".into(), "-i".into()]);
    let start: Vec<&str> = start.iter().map(String::as_str).collect();
    let output = tmux.run(&start);
    assert!(output.status.success(), "{output:?}");
    tmux.wait_for("ready$");

    // Before the install, TAB completes nothing (the `Z` typed after it shows it was handled).
    tmux.keys(&["telnyx-edge stor", "Tab", "Z"]);
    let pane = tmux.wait_for("ready$ telnyx-edge storZ");
    assert!(!pane.contains("storage"), "{pane}");
    tmux.keys(&["C-u", "clear", "Enter"]);
    tmux.keys(&["telnyx-edge completions bash --install", "Enter"]);
    let pane = tmux.wait_for("[y/N]");
    assert!(
        pane.contains("bash will not load the completion script by itself. Add this line to"),
        "{pane}"
    );
    tmux.keys(&["y", "Enter"]);
    tmux.wait_for("that loads it: it works in new bash shells");
    let bashrc = std::fs::read_to_string(home.join(".bashrc")).expect("read");
    assert_eq!(
        bashrc,
        "PS1='ready$ '\n[ -f \"$HOME/.local/share/bash-completion/completions/telnyx-edge\" ] && . \"$HOME/.local/share/bash-completion/completions/telnyx-edge\"  # telnyx-edge completion\n"
    );

    // A second install finds the line and adds none.
    tmux.keys(&["clear", "Enter"]);
    tmux.keys(&["telnyx-edge completions bash --install", "Enter"]);
    tmux.wait_for("already loads it in new shells");
    assert_eq!(
        std::fs::read_to_string(home.join(".bashrc")).expect("read"),
        bashrc
    );

    // A new interactive bash: the command, then a namespace name from local state.
    tmux.keys(&["clear; exec bash -i", "Enter"]);
    tmux.keys(&["echo new-shell-$((6 * 7))", "Enter"]);
    tmux.wait_for("new-shell-42");
    tmux.keys(&["clear", "Enter"]);
    tmux.keys(&["telnyx-edge stor", "Tab"]);
    tmux.wait_for("ready$ telnyx-edge storage ");
    tmux.keys(&["kv get my", "Tab"]);
    tmux.wait_for("ready$ telnyx-edge storage kv get my-cache ");
    tmux.keys(&["C-u", "exit", "Enter"]);
}
