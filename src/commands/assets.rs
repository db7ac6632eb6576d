//! Files generated from the command definition and committed: the completion scripts
//! (`completions/`), one man page per command (`docs/man/`) and the command reference
//! (`docs/reference.md`). `telnyx-edge generate-assets DIR` (or `scripts/generate.sh`) writes them;
//! a test fails when the committed copies differ from what the code generates.

use std::fmt::Write as _;
use std::path::Path;

use clap::{Arg, ArgAction, Command};
use clap_mangen::roff::{Roff, bold, roman};

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
    for page in man_pages()? {
        files.push((format!("docs/man/{}", page.file), page.roff));
    }
    files.push(("docs/reference.md".into(), reference().into_bytes()));
    Ok(files)
}

/// Every man page, as (file name, roff), sorted by name: one per command, each with the
/// sections clap_mangen renders from the definitions (NAME, SYNOPSIS, DESCRIPTION, OPTIONS,
/// SUBCOMMANDS) and ours: EXAMPLES, NOTES, EXIT STATUS, ENVIRONMENT, FILES, SEE ALSO.
pub(crate) fn man_pages() -> std::io::Result<Vec<ManPage>> {
    fn collect(
        cmd: &Command,
        path: &str,
        parent: Option<&str>,
        pages: &mut Vec<ManPage>,
    ) -> std::io::Result<()> {
        let name = page_name(cmd);
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let sub_path = format!("{path} {}", sub.get_name()).trim().to_owned();
            collect(sub, &sub_path, Some(&name), pages)?;
        }
        pages.push(ManPage {
            file: format!("{name}.1"),
            command: path.to_owned(),
            roff: man_page(cmd, path, parent)?,
        });
        Ok(())
    }
    let mut pages = Vec::new();
    collect(&command(), "", None, &mut pages)?;
    pages.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(pages)
}

/// One man page.
pub(crate) struct ManPage {
    /// `telnyx-edge-storage-kv-put.1`
    pub file: String,
    /// `storage kv put`; empty for `telnyx-edge` itself.
    pub command: String,
    pub roff: Vec<u8>,
}

/// `telnyx-edge-storage-kv-put`: the page's name, as `man` looks it up.
fn page_name(cmd: &Command) -> String {
    cmd.get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_owned()
}

/// What every exit code means, for EXIT STATUS (docs/exit-codes.md says it at length).
const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "Success, and --help, -h and --version (also when stdout is closed early, as in `… | head`).",
    ),
    (
        "1",
        "diff found differences; pull or push left conflicts; a confirmation was answered no; any other error: a bad response, a rejected certificate, I/O, an invalid file.",
    ),
    (
        "2",
        "Usage error: bad flags or arguments, caught before anything is sent or written.",
    ),
    (
        "3",
        "Not found: the namespace, key or binding does not exist.",
    ),
    (
        "4",
        "Authentication: no credentials, or the service refused them (401, 403).",
    ),
    (
        "5",
        "Conflict: 409, a binding clash in func.toml, or a namespace that holds keys deleted without --force.",
    ),
    (
        "6",
        "Rate limited or unavailable after all retries (429, 5xx, timeouts), or asked to wait over 2 minutes.",
    ),
    (
        "7",
        "Waiting failed: provisioning ended in provision_failed, or the wait timed out.",
    ),
    (
        "130",
        "Interrupted: Ctrl-C or SIGTERM while waiting, during bulk work, pull or push (after its summary), or during any other command.",
    ),
];

const FILES: &[(&str, &str)] = &[
    (
        "~/.telnyx-edge/config.toml",
        "The config file shared with the official CLI: the API key (mode 0600), profiles, the API endpoint. TELNYX_CONFIG_PATH moves it.",
    ),
    (
        "func.toml",
        "The function's manifest: the nearest one up from the working directory, or --func-toml. Bindings live in its [storage.kv.BINDING] tables.",
    ),
    (
        ".telnyx-edge/state/",
        "The local emulator's data (kv.sqlite3), next to the func.toml in use (else in the working directory), for --local and serve. TELNYX_EDGE_STATE_DIR moves it.",
    ),
    (
        "~/.cache/telnyx-edge/completion/",
        "Namespace names and keys the service gave shell completion, reused for a minute (mode 0600). XDG_CACHE_HOME moves it.",
    ),
    (
        "~/.bashrc, ~/.zshrc",
        "completions SHELL --install adds one line ending in `# telnyx-edge completion` when the shell would not load the script otherwise, after a yes on a terminal (ZDOTDIR moves ~/.zshrc).",
    ),
];

fn man_page(cmd: &Command, path: &str, parent: Option<&str>) -> std::io::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone())
        .source(format!("telnyx-edge {}", env!("CARGO_PKG_VERSION")))
        .manual("telnyx-edge manual");
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    // Each part comes with roff's two-line preamble; the page needs it once.
    let mut part = |render: &dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()>| {
        let mut chunk = Vec::new();
        render(&mut chunk)?;
        let text = String::from_utf8_lossy(&chunk);
        for line in text
            .lines()
            .filter(|line| !line.starts_with(".ie \\n(.g") && !line.starts_with(".el .ds Aq"))
        {
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
        std::io::Result::Ok(())
    };
    part(&|w| man.render_name_section(w))?;
    part(&|w| man.render_synopsis_section(w))?;
    part(&|w| man.render_description_section(w))?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        part(&|w| man.render_options_section(w))?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        part(&|w| man.render_subcommands_section(w))?;
    }
    let roff = closing_sections(cmd, path, parent);
    part(&|w| roff.to_writer(w))?;
    part(&|w| man.render_version_section(w))?;
    Ok(out)
}

/// The sections after clap's: examples, notes, exit status, environment, files, see also.
fn closing_sections(cmd: &Command, path: &str, parent: Option<&str>) -> Roff {
    let mut roff = Roff::new();
    if let Some(text) = crate::cli::examples::of(path) {
        examples_section(&mut roff, text);
    }
    if let Some(notes) = notes(cmd) {
        roff.control("SH", ["NOTES"]);
        roff.control("nf", []);
        for line in notes.lines() {
            roff.text([roman(line)]);
        }
        roff.control("fi", []);
    }
    let owned = |(term, meaning): &(&'static str, &str)| (*term, (*meaning).to_owned());
    definitions(&mut roff, "EXIT STATUS", EXIT_STATUS.iter().map(owned));
    let environment = crate::env::ALL
        .iter()
        .map(|(name, meaning)| (*name, meaning.replace('`', "")));
    definitions(&mut roff, "ENVIRONMENT", environment);
    definitions(&mut roff, "FILES", FILES.iter().map(owned));
    see_also_section(&mut roff, cmd, parent);
    roff
}

/// Comments (`# …`) as paragraphs, commands as indented bold lines.
fn examples_section(roff: &mut Roff, text: &str) {
    roff.control("SH", ["EXAMPLES"]);
    for line in text.lines().map(str::trim) {
        match line.strip_prefix("# ") {
            Some(comment) => {
                roff.control("PP", []);
                roff.text([roman(comment)]);
            }
            None => {
                roff.control("RS", ["4"]);
                roff.control("nf", []);
                roff.text([bold(line)]);
                roff.control("fi", []);
                roff.control("RE", []);
            }
        }
    }
}

/// A section of terms in bold, each with its meaning.
fn definitions(roff: &mut Roff, title: &str, items: impl Iterator<Item = (&'static str, String)>) {
    roff.control("SH", [title]);
    for (term, meaning) in items {
        roff.control("TP", []);
        roff.text([bold(term)]);
        roff.text([roman(meaning)]);
    }
}

/// The parent's page, the subcommands' pages, the root page, and the guides.
fn see_also_section(roff: &mut Roff, cmd: &Command, parent: Option<&str>) {
    let mut see_also: Vec<String> = parent.into_iter().map(str::to_owned).collect();
    see_also.extend(
        cmd.get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(page_name),
    );
    if parent.is_some_and(|p| p != "telnyx-edge") {
        see_also.push("telnyx-edge".into());
    }
    roff.control("SH", ["SEE ALSO"]);
    let mut refs = Vec::new();
    for (index, name) in see_also.iter().enumerate() {
        if index > 0 {
            refs.push(roman(", "));
        }
        refs.push(bold(name.as_str()));
        refs.push(roman("(1)"));
    }
    refs.push(roman(
        "; the guides in docs/ and docs/reference.md of the telnyx-edge repository.",
    ));
    roff.text(refs);
}

/// A command's long help after its examples (input formats and the like), for NOTES. Its last
/// line, which points `--help` readers to the global options, is left out: every page lists
/// them under GLOBAL OPTIONS.
fn notes(cmd: &Command) -> Option<String> {
    let text = cmd.get_after_long_help()?.to_string();
    let text = text
        .strip_suffix(crate::cli::GLOBAL_OPTIONS_NOTE)
        .unwrap_or(&text)
        .trim_end()
        .to_owned();
    let notes = match text.strip_prefix("Examples:\n") {
        Some(rest) => rest.split_once("\n\n")?.1.to_owned(),
        None => text,
    };
    (!notes.trim().is_empty()).then_some(notes)
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
    let mut cmd = crate::cli::command().disable_help_subcommand(true);
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
        let command_path = name.trim_start_matches("telnyx-edge").trim();
        if let Some(examples) = crate::cli::examples::of(command_path) {
            let text: Vec<&str> = examples.lines().map(str::trim).collect();
            let _ = writeln!(out, "\nExamples:\n\n```sh\n{}\n```", text.join("\n"));
        }
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
