//! Whether a shell will load the completion script `completions SHELL --install` wrote, asked
//! of the shell itself where it is installed, and otherwise the one guarded line for the
//! shell's start-up file that loads it.
//!
//! bash reads `~/.local/share/bash-completion/completions` only through the bash-completion
//! package's loader; zsh reads `~/.zfunc` only when it is on `fpath` before `compinit`; fish
//! reads its completions folder by itself.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::complete::Shell;
use crate::local::atomic::{AtomicFile, EditLock};

/// Ends the line written into a start-up file, so that a second install finds it.
pub(crate) const MARKER: &str = "# telnyx-edge completion";
/// How long a shell asked about its set-up may take to start.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Starts the probe's answer, so that whatever a start-up file prints is told apart from it.
const PROBE_TAG: &str = "@@telnyx-edge-probe:";
/// Where the bash-completion package puts its loader (Debian, Fedora, Arch, Homebrew, BSDs).
const BASH_LOADERS: &[&str] = &[
    "/usr/share/bash-completion/bash_completion",
    "/etc/bash_completion",
    "/usr/local/share/bash-completion/bash_completion",
    "/opt/homebrew/etc/profile.d/bash_completion.sh",
    "/usr/local/etc/profile.d/bash_completion.sh",
];

/// What the shell will do with the installed script in a new interactive session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Loading {
    /// It loads it by itself; the reason, for the message.
    ByItself(String),
    /// It does not; the reason, for the message.
    Not(String),
}

/// A shell's start-up file and the line in it that loads the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RcLine {
    pub file: PathBuf,
    pub line: String,
}

/// Where `shell` reads its start-up file: `~/.bashrc`, `$ZDOTDIR/.zshrc` (else `~/.zshrc`),
/// fish's `config.fish`. `None` for shells whose start-up file this tool does not edit.
pub(crate) fn rc_line(shell: Shell, script: &Path, home: &Path) -> Option<RcLine> {
    let path = shell_path(script, home);
    let (file, line) = match shell {
        Shell::Bash => (
            home.join(".bashrc"),
            format!("[ -f {path} ] && . {path}  {MARKER}"),
        ),
        Shell::Zsh => (
            zsh_dotdir(home).join(".zshrc"),
            format!(
                "[[ -f {path} ]] && {{ (( $+functions[compdef] )) || {{ autoload -Uz compinit && compinit }}; source {path} }}  {MARKER}"
            ),
        ),
        Shell::Fish => (
            absolute_var("XDG_CONFIG_HOME")
                .unwrap_or_else(|| home.join(".config"))
                .join("fish/config.fish"),
            format!("test -f {path}; and source {path}  {MARKER}"),
        ),
        Shell::Powershell | Shell::Elvish => return None,
    };
    Some(RcLine { file, line })
}

/// `script` as the start-up file names it: `"$HOME/…"` under the home directory, else quoted.
fn shell_path(script: &Path, home: &Path) -> String {
    let plain = |text: &str| !text.contains(['"', '$', '`', '\\', '\n']);
    if let Ok(rest) = script.strip_prefix(home)
        && let Some(rest) = rest.to_str()
        && plain(rest)
    {
        return format!("\"$HOME/{rest}\"");
    }
    let text = script.to_string_lossy();
    shlex::try_quote(&text).map_or_else(|_| format!("'{text}'"), |quoted| quoted.into_owned())
}

fn absolute_var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|dir| !dir.is_empty() && Path::new(dir).is_absolute())
        .map(PathBuf::from)
}

/// Whether the start-up file already holds a line this tool wrote.
pub(crate) fn has_line(rc: &RcLine) -> bool {
    std::fs::read_to_string(&rc.file)
        .is_ok_and(|text| text.lines().any(|line| line.trim_end().ends_with(MARKER)))
}

/// Appends the line to the start-up file (created if missing), atomically, unless a line this
/// tool wrote is already there. Returns whether it wrote.
pub(crate) fn append(rc: &RcLine) -> std::io::Result<bool> {
    let _lock = EditLock::acquire(&rc.file)?;
    let mut text = match std::fs::read_to_string(&rc.file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(err),
    };
    if text.lines().any(|line| line.trim_end().ends_with(MARKER)) {
        return Ok(false);
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&rc.line);
    text.push('\n');
    if let Some(dir) = rc.file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = AtomicFile::new(&rc.file)?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    file.commit()?;
    Ok(true)
}

/// Whether a new interactive `shell` loads `script` by itself. `None` for shells not checked.
pub(crate) fn loading(shell: Shell, script: &Path, home: &Path) -> Option<Loading> {
    match shell {
        Shell::Bash => Some(bash_loading()),
        Shell::Zsh => Some(zsh_loading(script, home)),
        Shell::Fish => Some(fish_loading(script)),
        Shell::Powershell | Shell::Elvish => None,
    }
}

fn bash_loading() -> Loading {
    // An interactive bash reads the user's start-up files, as a new terminal would.
    let probe = format!("printf '\\n{PROBE_TAG}%s\\n' \"${{BASH_COMPLETION_VERSINFO[0]-}}\"");
    match probe_shell("bash", &["-i", "-c", &probe]) {
        Some(answer) if !answer.is_empty() => {
            Loading::ByItself("interactive bash loads bash-completion, which reads it".into())
        }
        Some(_) => Loading::Not(
            "interactive bash does not load bash-completion, which alone reads that folder".into(),
        ),
        None if BASH_LOADERS.iter().any(|path| Path::new(path).is_file()) => {
            Loading::ByItself("bash-completion is installed, and it reads that folder".into())
        }
        None => {
            Loading::Not("bash-completion, which alone reads that folder, is not installed".into())
        }
    }
}

/// Where zsh reads `.zshrc`: `$ZDOTDIR` as this process sees it, else as `~/.zshenv` sets it
/// (asked of zsh itself, which reads only that file for `zsh -c`: a bash terminal or a script
/// does not see a `ZDOTDIR` that zsh sets for itself), else home.
fn zsh_dotdir(home: &Path) -> PathBuf {
    if let Some(dir) = absolute_var("ZDOTDIR") {
        return dir;
    }
    if home.join(".zshenv").is_file() {
        let probe = format!("print -r -- ''; print -r -- \"{PROBE_TAG}${{ZDOTDIR}}\"");
        if let Some(answer) = probe_shell("zsh", &["-c", &probe]) {
            let dir = PathBuf::from(answer.lines().next().unwrap_or_default().trim());
            if dir.is_absolute() {
                return dir;
            }
        }
    }
    home.to_owned()
}

fn zsh_loading(script: &Path, home: &Path) -> Loading {
    let Some(dir) = script.parent() else {
        return Loading::Not("the script has no folder".into());
    };
    let rc = zsh_dotdir(home).join(".zshrc");
    let probe = format!(
        "print -r -- ''; print -r -- \"{PROBE_TAG}${{+functions[compdef]}}\"; print -rl -- $fpath"
    );
    let (compinit, on_fpath) = if !rc.is_file() {
        // No start-up file sets fpath, and asking would start zsh's new-user menu.
        (false, false)
    } else if let Some(answer) = probe_shell("zsh", &["-i", "-c", &probe]) {
        let mut lines = answer.lines();
        let compinit = lines.next() == Some("1");
        (compinit, lines.any(|entry| same_dir(Path::new(entry), dir)))
    } else {
        // No zsh to ask: read the start-up file.
        let text = std::fs::read_to_string(&rc).unwrap_or_default();
        let named = |line: &&str| {
            line.contains("fpath")
                && (line.contains(&*dir.to_string_lossy())
                    || dir.file_name().is_some_and(|name| {
                        line.contains(&format!("~/{}", name.to_string_lossy()))
                    }))
        };
        (
            text.contains("compinit"),
            text.lines().any(|line| named(&line)),
        )
    };
    match (on_fpath, compinit) {
        (true, true) => Loading::ByItself(format!("`{}` is on zsh's fpath", dir.display())),
        (false, _) => Loading::Not(format!("`{}` is not on zsh's fpath", dir.display())),
        (true, false) => Loading::Not("zsh's completion system (compinit) is not started".into()),
    }
}

fn fish_loading(script: &Path) -> Loading {
    let Some(dir) = script.parent() else {
        return Loading::Not("the script has no folder".into());
    };
    let probe = format!("echo; echo {PROBE_TAG}; string join \\n -- $fish_complete_path");
    match probe_shell("fish", &["-c", &probe]) {
        Some(answer) if !answer.lines().any(|entry| same_dir(Path::new(entry), dir)) => {
            Loading::Not(format!("`{}` is not on fish_complete_path", dir.display()))
        }
        _ => Loading::ByItself("fish reads its completions folder by itself".into()),
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    let real = |path: &Path| std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    a == b || real(a) == real(b)
}

/// Runs `program args` and returns what it printed after [`PROBE_TAG`] (the rest of that line,
/// then the following lines). `None` when the program is missing, fails, says nothing tagged
/// or takes longer than [`PROBE_TIMEOUT`].
fn probe_shell(program: &str, args: &[&str]) -> Option<String> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // An interactive shell takes over the terminal it runs on; in a session of its own it has
    // none and leaves ours alone.
    #[cfg(unix)]
    crate::signals::in_own_session(&mut command);
    let mut child = command.spawn().ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < PROBE_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let text = reader.join().ok()?;
    if !status?.success() {
        return None;
    }
    let (_, answer) = text.split_once(PROBE_TAG)?;
    Some(answer.trim_end_matches('\n').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_the_script_under_home_through_home() {
        let home = Path::new("/home/u");
        let script = home.join(".local/share/bash-completion/completions/telnyx-edge");
        let rc = rc_line(Shell::Bash, &script, home).expect("bash");
        assert_eq!(rc.file, Path::new("/home/u/.bashrc"));
        assert_eq!(
            rc.line,
            "[ -f \"$HOME/.local/share/bash-completion/completions/telnyx-edge\" ] && . \"$HOME/.local/share/bash-completion/completions/telnyx-edge\"  # telnyx-edge completion"
        );
        let elsewhere = rc_line(Shell::Bash, Path::new("/data/it's/te"), home).expect("bash");
        assert_eq!(
            elsewhere.line,
            "[ -f \"/data/it's/te\" ] && . \"/data/it's/te\"  # telnyx-edge completion"
        );
        assert_eq!(rc_line(Shell::Powershell, &script, home), None);
    }

    #[test]
    fn appending_twice_writes_one_line_and_keeps_the_rest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rc = RcLine {
            file: dir.path().join(".bashrc"),
            line: format!("source x  {MARKER}"),
        };
        std::fs::write(&rc.file, "alias ll='ls -l'").expect("write");
        assert!(!has_line(&rc));
        assert!(append(&rc).expect("append"));
        assert!(has_line(&rc));
        assert!(!append(&rc).expect("append again"));
        assert_eq!(
            std::fs::read_to_string(&rc.file).expect("read"),
            "alias ll='ls -l'\nsource x  # telnyx-edge completion\n"
        );
        let fresh = RcLine {
            file: dir.path().join("fish/config.fish"),
            ..rc
        };
        assert!(append(&fresh).expect("append"));
        assert_eq!(
            std::fs::read_to_string(&fresh.file).expect("read"),
            "source x  # telnyx-edge completion\n"
        );
    }

    #[test]
    fn a_probe_reads_only_what_follows_its_tag() {
        let answer = probe_shell(
            "sh",
            &["-c", &format!("echo welcome; echo '{PROBE_TAG}1'; echo /a")],
        );
        assert_eq!(answer.as_deref(), Some("1\n/a"));
        assert_eq!(probe_shell("sh", &["-c", "echo untagged"]), None);
        assert_eq!(probe_shell("sh", &["-c", "exit 3"]), None);
        assert_eq!(probe_shell("/nonexistent/shell", &[]), None);
    }
}
