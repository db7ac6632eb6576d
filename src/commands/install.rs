//! `completions` and `man`: what a `cargo install` user needs beside the binary, from the
//! binary itself; and the hidden `generate-assets`, which writes all of it for packagers.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::ValueEnum as _;
use serde::Serialize;

use crate::cli::complete::{Shell, write_script};
use crate::cli::{CompletionsArgs, GenerateAssetsArgs, ManArgs};
use crate::commands::shell_rc::{self, Loading, RcLine};
use crate::error::{Exit, UserError};
use crate::local::atomic::AtomicFile;
use crate::ui::OutputFormat;
use crate::ui::confirm::{Answer, confirm};
use crate::ui::printer::Printer;

/// `telnyx-edge generate-assets [DIR]`: the completion scripts, man pages and command
/// reference, written under DIR.
pub(crate) fn generate_assets(args: &GenerateAssetsArgs, printer: &Printer) -> anyhow::Result<()> {
    let written = crate::commands::assets::write_all(&args.dir)
        .with_context(|| format!("cannot write into `{}`", args.dir.display()))?;
    printer.status(&format!(
        "Wrote {} files under `{}`",
        written.len(),
        args.dir.display()
    ));
    Ok(())
}

/// `telnyx-edge completions [SHELL] [--install | --print-rc-line]`
pub(crate) fn completions(
    args: &CompletionsArgs,
    yes: bool,
    printer: &Printer,
) -> anyhow::Result<()> {
    match args.shell {
        None => list_shells(printer),
        Some(shell) if args.install => install(shell, yes, printer),
        Some(shell) if args.print_rc_line => print_rc_line(shell, printer),
        Some(shell) => {
            let mut stdout = std::io::stdout().lock();
            write_script(shell, &mut stdout)?;
            Ok(())
        }
    }
}

/// The name clap gives a shell on the command line (`bash`, `powershell`).
fn shell_name(shell: Shell) -> String {
    shell
        .to_possible_value()
        .map(|value| value.get_name().to_owned())
        .unwrap_or_default()
}

/// The shell `$SHELL` names, when it is one of ours.
fn detected_shell() -> Option<Shell> {
    let shell = std::env::var_os("SHELL")?;
    let name = Path::new(&shell).file_name()?.to_str()?;
    let name = name.strip_suffix(".exe").unwrap_or(name);
    Shell::value_variants()
        .iter()
        .copied()
        .find(|shell| shell_name(*shell) == name || (name == "pwsh" && *shell == Shell::Powershell))
}

#[derive(Serialize)]
struct Shells {
    shells: Vec<String>,
    /// The shell `$SHELL` names, and the line that installs completion for it.
    detected: Option<String>,
    install: Option<String>,
}

fn list_shells(printer: &Printer) -> anyhow::Result<()> {
    let shells: Vec<String> = Shell::value_variants()
        .iter()
        .map(|s| shell_name(*s))
        .collect();
    let detected = detected_shell().map(shell_name);
    let install = detected
        .as_ref()
        .map(|shell| format!("telnyx-edge completions {shell} --install"));
    if matches!(printer.format(), OutputFormat::Json | OutputFormat::Ndjson) {
        printer.json_line(&Shells {
            shells,
            detected,
            install,
        })?;
        return Ok(());
    }
    let mut text = format!("Shells: {}\n", shells.join(", "));
    match (&detected, &install) {
        (Some(shell), Some(line)) => {
            text.push_str(&format!(
                "\nFor {shell} (your $SHELL), install completion with:\n  {line}\n"
            ));
        }
        _ => text.push_str(
            "\nInstall completion with `telnyx-edge completions SHELL --install`, or print the script with `telnyx-edge completions SHELL`.\n",
        ),
    }
    printer.out(&text)?;
    Ok(())
}

/// Where each shell looks for a user's completion scripts, and for the shells `shell_rc` does
/// not check, what the user must add to the shell's start-up file.
fn install_target(shell: Shell, home: &Path) -> (PathBuf, Option<String>) {
    let xdg = |var: &str, default: &str| {
        std::env::var_os(var)
            .filter(|dir| !dir.is_empty() && Path::new(dir).is_absolute())
            .map_or_else(|| home.join(default), PathBuf::from)
    };
    match shell {
        // bash-completion loads scripts from here on demand (its own variable first).
        Shell::Bash => (
            std::env::var_os("BASH_COMPLETION_USER_DIR")
                .filter(|dir| Path::new(dir).is_absolute())
                .map_or_else(
                    || xdg("XDG_DATA_HOME", ".local/share").join("bash-completion"),
                    PathBuf::from,
                )
                .join("completions/telnyx-edge"),
            None,
        ),
        // On `fpath`, or loaded by the line `shell_rc` offers for ~/.zshrc.
        Shell::Zsh => (home.join(".zfunc/_telnyx-edge"), None),
        // fish loads every file here by itself.
        Shell::Fish => (
            xdg("XDG_CONFIG_HOME", ".config").join("fish/completions/telnyx-edge.fish"),
            None,
        ),
        Shell::Powershell => {
            let path = xdg("XDG_CONFIG_HOME", ".config").join("powershell/telnyx-edge.ps1");
            let line = format!("Add this line to your $PROFILE: . '{}'", path.display());
            (path, Some(line))
        }
        Shell::Elvish => (
            xdg("XDG_CONFIG_HOME", ".config").join("elvish/lib/telnyx-edge.elv"),
            Some("Add this line to ~/.config/elvish/rc.elv: use telnyx-edge".into()),
        ),
    }
}

/// What `--install` did about the shell loading the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum RcAction {
    /// The shell loads the script by itself.
    NotNeeded,
    /// The start-up file already holds the line.
    AlreadyPresent,
    /// The line was appended, the user having said yes (or `--yes`).
    Added,
    /// The user said no: the line was printed.
    Declined,
    /// Nobody could be asked (no terminal) and `--yes` was not given: the line was printed.
    Printed,
}

#[derive(Serialize)]
struct Installed<'a> {
    shell: String,
    path: String,
    /// Whether a new shell loads the script by itself (`null` for shells not checked).
    loaded_by_shell: Option<bool>,
    /// Why it does or does not.
    reason: Option<&'a str>,
    rc_file: Option<String>,
    rc_line: Option<&'a str>,
    rc_action: Option<RcAction>,
    next_step: Option<&'a str>,
}

fn install(shell: Shell, yes: bool, printer: &Printer) -> anyhow::Result<()> {
    let home = home_dir(shell)?;
    let (path, next_step) = install_target(shell, &home);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    let mut script = Vec::new();
    write_script(shell, &mut script)?;
    let cannot = || format!("cannot write `{}`", path.display());
    let mut file = AtomicFile::new(&path).with_context(cannot)?;
    std::io::Write::write_all(&mut file, &script).with_context(cannot)?;
    file.commit().with_context(cannot)?;
    let name = shell_name(shell);
    let loading = shell_rc::loading(shell, &path, &home);
    let rc = shell_rc::rc_line(shell, &path, &home);
    let action = match (&loading, &rc) {
        (Some(Loading::Not(_)), Some(rc)) => Some(rc_action(&name, rc, yes)?),
        (Some(Loading::ByItself(_)), _) => Some(RcAction::NotNeeded),
        _ => None,
    };
    let reason = match &loading {
        Some(Loading::ByItself(why) | Loading::Not(why)) => Some(why.as_str()),
        None => None,
    };
    let json = matches!(printer.format(), OutputFormat::Json | OutputFormat::Ndjson);
    if json {
        printer.json_line(&Installed {
            shell: name.clone(),
            path: path.display().to_string(),
            loaded_by_shell: loading
                .as_ref()
                .map(|loading| matches!(loading, Loading::ByItself(_))),
            reason,
            rc_file: rc.as_ref().map(|rc| rc.file.display().to_string()),
            rc_line: rc.as_ref().map(|rc| rc.line.as_str()),
            rc_action: action,
            next_step: next_step.as_deref(),
        })?;
    }
    let installed = format!("Installed {name} completion in `{}`", path.display());
    match (action, &rc) {
        (Some(RcAction::NotNeeded), _) => printer.status(&format!(
            "{installed}; new {name} shells load it ({})",
            reason.unwrap_or_default()
        )),
        (Some(RcAction::AlreadyPresent), Some(rc)) => printer.status(&format!(
            "{installed}; `{}` already loads it in new shells",
            rc.file.display()
        )),
        (Some(RcAction::Added), Some(rc)) => printer.status(&format!(
            "{installed}, and added one line to `{}` that loads it: it works in new {name} shells",
            rc.file.display()
        )),
        (Some(RcAction::Declined | RcAction::Printed), Some(rc)) => {
            if !json {
                printer.out(&format!("{}\n", rc.line))?;
            }
            let printed = if json {
                "its `rc_line` in the JSON"
            } else {
                "the line printed on stdout"
            };
            printer.status(&format!(
                "{installed}, but {name} will not load it by itself: {}. `{}` was left unchanged; add {printed} to it, for example with `telnyx-edge completions {name} --print-rc-line >> {}`",
                reason.unwrap_or_default(),
                rc.file.display(),
                rc.file.display()
            ));
        }
        _ => {
            printer.status(&format!("{installed}; it works in new shells"));
            if let Some(step) = next_step {
                printer.status(&step);
            }
        }
    }
    Ok(())
}

fn home_dir(shell: Shell) -> anyhow::Result<PathBuf> {
    dirs::home_dir()
        .filter(|home| home.is_absolute())
        .ok_or_else(|| {
            UserError::new(
                Exit::Failure,
                "no home directory to install completion into",
            )
            .hint(format!(
                "Print the script instead: `telnyx-edge completions {}`.",
                shell_name(shell)
            ))
            .into()
        })
}

/// The shell will not load the script by itself: the start-up file's line is added when a
/// person on a terminal says yes, or with `--yes` (as every confirmation); without a terminal
/// and without `--yes` the file is left alone, since nobody agreed to a change in it.
fn rc_action(name: &str, rc: &RcLine, yes: bool) -> anyhow::Result<RcAction> {
    if shell_rc::has_line(rc) {
        return Ok(RcAction::AlreadyPresent);
    }
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !yes && !terminal {
        return Ok(RcAction::Printed);
    }
    let question = format!(
        "{name} will not load the completion script by itself. Add this line to `{}`?\n  {}\n[y/N]",
        rc.file.display(),
        rc.line
    );
    let action = format!("change `{}`", rc.file.display());
    if confirm(yes, &action, &question, Answer::Yes).is_err() {
        return Ok(RcAction::Declined);
    }
    let cannot = || format!("cannot write `{}`", rc.file.display());
    Ok(if shell_rc::append(rc).with_context(cannot)? {
        RcAction::Added
    } else {
        RcAction::AlreadyPresent
    })
}

#[derive(Serialize)]
struct PrintedLine<'a> {
    shell: String,
    rc_file: String,
    rc_line: &'a str,
}

/// `completions SHELL --print-rc-line`: the start-up file's line alone, to add by hand.
fn print_rc_line(shell: Shell, printer: &Printer) -> anyhow::Result<()> {
    let home = home_dir(shell)?;
    let (path, _) = install_target(shell, &home);
    let Some(rc) = shell_rc::rc_line(shell, &path, &home) else {
        return Err(UserError::new(
            Exit::Usage,
            format!("no start-up line for {}", shell_name(shell)),
        )
        .hint(format!(
            "Run `telnyx-edge completions {} --install`: it says what to add, and where.",
            shell_name(shell)
        ))
        .into());
    };
    if matches!(printer.format(), OutputFormat::Json | OutputFormat::Ndjson) {
        printer.json_line(&PrintedLine {
            shell: shell_name(shell),
            rc_file: rc.file.display().to_string(),
            rc_line: &rc.line,
        })?;
    } else {
        printer.out(&format!("{}\n", rc.line))?;
    }
    Ok(())
}

#[derive(Serialize)]
struct Written {
    dir: String,
    pages: Vec<String>,
}

/// `telnyx-edge man [COMMAND…] [--dir DIR]`
pub(crate) fn man(args: &ManArgs, printer: &Printer) -> anyhow::Result<()> {
    let pages = crate::commands::assets::man_pages()?;
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
        let mut names = Vec::new();
        for page in &pages {
            let path = dir.join(&page.file);
            let cannot = || format!("cannot write `{}`", path.display());
            let mut file = AtomicFile::new(&path).with_context(cannot)?;
            std::io::Write::write_all(&mut file, &page.roff).with_context(cannot)?;
            file.commit().with_context(cannot)?;
            names.push(page.file.clone());
        }
        if matches!(printer.format(), OutputFormat::Json | OutputFormat::Ndjson) {
            printer.json_line(&Written {
                dir: dir.display().to_string(),
                pages: names.clone(),
            })?;
        }
        printer.status(&format!(
            "Wrote {} man pages into `{}`",
            names.len(),
            dir.display()
        ));
        return Ok(());
    }
    let wanted = args.command.join(" ");
    let Some(page) = pages.iter().find(|page| page.command == wanted) else {
        let mut commands: Vec<&str> = pages
            .iter()
            .map(|page| page.command.as_str())
            .filter(|command| !command.is_empty())
            .collect();
        commands.sort_unstable();
        return Err(UserError::new(
            Exit::Usage,
            format!("no man page for `{}`", args.command.join(" ")),
        )
        .hint(format!("Pages exist for: {}.", commands.join(", ")))
        .into());
    };
    if let Some(mut viewer) = page_viewer(std::io::stdout().is_terminal()) {
        match show_in(&mut viewer, &page.roff) {
            Ok(()) => return Ok(()),
            // No `man` here: the page as text is still better than nothing.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => printer.warn(
                "no `man` program to show the page with: printing its roff source (for `man -l -`)",
            ),
            Err(err) => return Err(err).context("cannot show the page with `man -l -`"),
        }
    }
    printer.out_bytes(&page.roff)?;
    Ok(())
}

/// `telnyx-edge global-options`: the help of the options every command accepts, as
/// `telnyx-edge help global-options` prints it.
pub(crate) fn global_options(printer: &Printer) -> anyhow::Result<()> {
    let mut cmd = crate::cli::command();
    let help = cmd
        .find_subcommand_mut("global-options")
        .map(|sub| sub.render_long_help().to_string())
        .unwrap_or_default();
    printer.out(&help)?;
    Ok(())
}

/// How a page is shown: on a terminal, opened with `man -l -` (which formats it and pages it
/// with the user's `MANPAGER` or `PAGER`); to a pipe or a file, as roff for whatever reads it.
fn page_viewer(stdout_is_terminal: bool) -> Option<std::process::Command> {
    stdout_is_terminal.then(|| {
        let mut man = std::process::Command::new("man");
        man.args(["-l", "-"]);
        man
    })
}

/// Feeds `roff` to `viewer` and waits for the reader to close it.
fn show_in(viewer: &mut std::process::Command, roff: &[u8]) -> std::io::Result<()> {
    let mut child = viewer.stdin(std::process::Stdio::piped()).spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        // A reader that quits before reading it all closes the pipe: not a failure.
        match std::io::Write::write_all(&mut stdin, roff) {
            Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => return Err(err),
            _ => {}
        }
    }
    child.wait()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_opens_in_man_on_a_terminal_and_is_roff_elsewhere() {
        assert!(page_viewer(false).is_none());
        let man = page_viewer(true).expect("a viewer on a terminal");
        assert_eq!(man.get_program(), "man");
        assert_eq!(man.get_args().collect::<Vec<_>>(), ["-l", "-"]);
    }

    #[test]
    fn each_shell_installs_where_it_looks() {
        let home = Path::new("/home/u");
        // The test process may have XDG variables set; only their absence is compared here.
        if std::env::var_os("XDG_DATA_HOME").is_none() {
            assert_eq!(
                install_target(Shell::Bash, home).0,
                Path::new("/home/u/.local/share/bash-completion/completions/telnyx-edge")
            );
        }
        if std::env::var_os("XDG_CONFIG_HOME").is_none() {
            assert_eq!(
                install_target(Shell::Fish, home).0,
                Path::new("/home/u/.config/fish/completions/telnyx-edge.fish")
            );
        }
        let (zsh, step) = install_target(Shell::Zsh, home);
        assert_eq!(zsh, Path::new("/home/u/.zfunc/_telnyx-edge"));
        assert_eq!(step, None);
    }
}
