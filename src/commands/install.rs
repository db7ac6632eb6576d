//! `completions` and `man`: what a `cargo install` user needs beside the binary, from the
//! binary itself; and the hidden `generate-assets`, which writes all of it for packagers.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::ValueEnum as _;
use serde::Serialize;

use crate::cli::complete::{Shell, write_script};
use crate::cli::{CompletionsArgs, GenerateAssetsArgs, ManArgs};
use crate::error::{Exit, UserError};
use crate::local::atomic::AtomicFile;
use crate::ui::OutputFormat;
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

/// `telnyx-edge completions [SHELL] [--install]`
pub(crate) fn completions(args: &CompletionsArgs, printer: &Printer) -> anyhow::Result<()> {
    match (args.shell, args.install) {
        (None, _) => list_shells(printer),
        (Some(shell), false) => {
            let mut stdout = std::io::stdout().lock();
            write_script(shell, &mut stdout)?;
            Ok(())
        }
        (Some(shell), true) => install(shell, printer),
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

/// Where each shell looks for a user's completion scripts, and what, if anything, the user
/// must add to the shell's start-up file for it to.
fn install_target(shell: Shell, home: &Path) -> (PathBuf, Option<String>) {
    let xdg = |var: &str, default: &str| {
        std::env::var_os(var)
            .filter(|dir| !dir.is_empty() && Path::new(dir).is_absolute())
            .map_or_else(|| home.join(default), PathBuf::from)
    };
    match shell {
        // bash-completion loads scripts from here on demand.
        Shell::Bash => (
            xdg("XDG_DATA_HOME", ".local/share").join("bash-completion/completions/telnyx-edge"),
            None,
        ),
        Shell::Zsh => (
            home.join(".zfunc/_telnyx-edge"),
            Some(
                "Unless ~/.zfunc is already on fpath, add this to ~/.zshrc before `compinit`: fpath=(~/.zfunc $fpath); autoload -Uz compinit && compinit".into(),
            ),
        ),
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

#[derive(Serialize)]
struct Installed<'a> {
    shell: String,
    path: String,
    next_step: Option<&'a str>,
}

fn install(shell: Shell, printer: &Printer) -> anyhow::Result<()> {
    let home = dirs::home_dir()
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
        })?;
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
    if matches!(printer.format(), OutputFormat::Json | OutputFormat::Ndjson) {
        printer.json_line(&Installed {
            shell: name.clone(),
            path: path.display().to_string(),
            next_step: next_step.as_deref(),
        })?;
    }
    printer.status(&format!(
        "Installed {name} completion in `{}`; it works in new shells",
        path.display()
    ));
    if let Some(step) = next_step {
        printer.status(&step);
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
    printer.out_bytes(&page.roff)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(step.is_some_and(|s| s.contains("fpath=(~/.zfunc $fpath)")));
    }
}
