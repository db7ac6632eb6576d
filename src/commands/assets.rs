//! Files generated from the command definition and committed: the completion scripts
//! (`completions/`), one man page per command (`docs/man/`) and the command reference
//! (`docs/reference.md`). `telnyx-edge generate-assets DIR` (or `scripts/generate.sh`) writes them;
//! a test fails when the committed copies differ from what the code generates.

use std::fmt::Write as _;
use std::path::Path;

use clap::{Arg, ArgAction, Command, CommandFactory as _};

use crate::cli::complete::{Shell, write_script};

/// Every generated file, as (path relative to the repository root, contents).
pub fn files() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::Powershell,
        Shell::Elvish,
    ] {
        let mut script = Vec::new();
        write_script(shell, &mut script)?;
        files.push((format!("completions/{}", shell.file_name()), script));
    }
    let man = tempfile::tempdir()?;
    clap_mangen::generate_to(command(), man.path())?;
    let mut pages: Vec<_> = std::fs::read_dir(man.path())?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(|entry| entry.path())
        .collect();
    pages.sort();
    for page in pages {
        let name = page
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        files.push((format!("docs/man/{name}"), std::fs::read(&page)?));
    }
    files.push(("docs/reference.md".into(), reference().into_bytes()));
    Ok(files)
}

/// Writes every generated file under `root`, replacing the old man pages.
pub(crate) fn write_all(root: &Path) -> std::io::Result<Vec<String>> {
    let files = files()?;
    let man = root.join("docs/man");
    if man.is_dir() {
        std::fs::remove_dir_all(&man)?;
    }
    for (relative, contents) in &files {
        let path = root.join(relative);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, contents)?;
    }
    Ok(files.into_iter().map(|(path, _)| path).collect())
}

fn command() -> Command {
    let mut cmd = crate::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The command reference in Markdown: every command, argument, option, default and
/// environment variable, from the clap definitions.
pub(crate) fn reference() -> String {
    let cmd = command();
    let mut out = String::from(
        "# Command reference (generated)\n\n\
         Generated from the command definitions by `telnyx-edge generate-assets`; do not edit by hand\n\
         (`bash scripts/generate.sh` refreshes it). The guides in this directory explain the\n\
         behaviour behind the commands: [configuration.md](configuration.md) (credentials,\n\
         proxies, certificates, timeouts and retries), [output.md](output.md),\n\
         [exit-codes.md](exit-codes.md), [func-toml.md](func-toml.md), [bulk.md](bulk.md) and\n\
         [emulator.md](emulator.md).\n\n\
         Every command accepts the global options and `--json`. Results go to stdout; status\n\
         lines, progress, warnings and errors go to stderr.\n\n\
         `NAMESPACE` is a namespace's UUID, a binding name from the func.toml in use, or the\n\
         namespace's name (looked up across every page of the namespace list), tried in that\n\
         order. Nothing found exits 3 and says what was tried.\n",
    );
    let globals: Vec<&Arg> = cmd.get_arguments().filter(|a| a.is_global_set()).collect();
    out.push_str("\n## Global options\n\nAccepted by every command.\n\n");
    options_table(&mut out, &globals);
    out.push_str(
        "\n## Environment\n\n\
         Boolean variables accept `1`, `true`, `yes`, `on` (and `0`, `false`, `no`, `off`);\n\
         durations take plain seconds or units: `500ms`, `30s`, `5m`, `1h30m`.\n\n\
         | Variable | Meaning |\n|---|---|\n",
    );
    for (name, meaning) in crate::env::ALL {
        let _ = writeln!(out, "| `{name}` | {meaning} |");
    }
    section(&mut out, &cmd, "telnyx-edge");
    out
}

fn section(out: &mut String, cmd: &Command, path: &str) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{path} {}", sub.get_name());
        let _ = write!(out, "\n## `{name}`\n\n");
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            let _ = writeln!(out, "{about}\n");
        }
        let usage = sub
            .clone()
            .bin_name(&name)
            .render_usage()
            .to_string()
            .replace("Usage: ", "");
        let _ = writeln!(out, "```\n{usage}\n```");
        let positionals: Vec<&Arg> = sub
            .get_arguments()
            .filter(|a| a.is_positional() && !a.is_hide_set())
            .collect();
        if !positionals.is_empty() {
            out.push_str("\n| Argument | Description |\n|---|---|\n");
            for arg in positionals {
                let value = arg
                    .get_value_names()
                    .and_then(|names| names.first())
                    .map_or_else(
                        || arg.get_id().to_string().to_uppercase(),
                        |n| n.to_string(),
                    );
                let required = if arg.is_required_set() {
                    ""
                } else {
                    " (optional)"
                };
                let _ = writeln!(out, "| `{value}`{required} | {} |", describe(arg));
            }
        }
        let options: Vec<&Arg> = sub
            .get_arguments()
            .filter(|a| !a.is_positional() && !a.is_global_set() && !a.is_hide_set())
            .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
            .collect();
        if !options.is_empty() {
            out.push('\n');
            options_table(out, &options);
        }
        section(out, sub, &name);
    }
}

fn options_table(out: &mut String, args: &[&Arg]) {
    out.push_str("| Option | Description |\n|---|---|\n");
    for arg in args {
        let mut flag = String::new();
        if let Some(short) = arg.get_short() {
            let _ = write!(flag, "-{short}, ");
        }
        if let Some(long) = arg.get_long() {
            let _ = write!(flag, "--{long}");
        }
        if takes_value(arg) {
            let value = arg
                .get_value_names()
                .and_then(|names| names.first())
                .map_or_else(|| "VALUE".to_owned(), |n| n.to_string());
            let _ = write!(flag, " {value}");
        }
        let _ = writeln!(out, "| `{flag}` | {} |", describe(arg));
    }
}

fn takes_value(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Set | ArgAction::Append)
}

/// Help text, then possible values, default and environment variable.
fn describe(arg: &Arg) -> String {
    let mut text = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default()
        .replace('\n', " ")
        .replace('|', "\\|");
    if !text.is_empty() && !text.ends_with(['.', ')', ']']) {
        text.push('.');
    }
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| format!("`{}`", v.get_name()))
        .collect();
    if !values.is_empty() && takes_value(arg) {
        let _ = write!(text, " Values: {}.", values.join(", "));
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .filter(|v| !v.is_empty())
        .collect();
    if !defaults.is_empty() && takes_value(arg) {
        let _ = write!(text, " Default: `{}`.", defaults.join(","));
    }
    if let Some(env) = arg.get_env() {
        let _ = write!(text, " Environment: `{}`.", env.to_string_lossy());
    }
    text.trim().to_owned()
}
