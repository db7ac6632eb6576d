//! From the words typed to a [`Cli`]: the command definition with examples in its long help,
//! and the two things clap cannot do alone (usage lines without environment values, and a
//! flag beating the environment between `--local` and `--base-url`).

use super::{Cli, GlobalArgs, examples};

/// What every help says in place of the global options, which would bury the command's own
/// options and examples: where to read them.
pub(crate) const GLOBAL_OPTIONS_NOTE: &str =
    "Global options (--local, --json, -o, -q, -v, --yes, …): see `telnyx-edge help global-options`";

/// The command definition as users see it: clap's, with each command's examples in its long
/// help (`--help`, `-h` points to it) and the global options left out of every help but that of
/// `telnyx-edge help global-options`. They stay visible to completion and to the man pages
/// and reference, which document them. Parsing, completion and the generated files all start
/// here.
pub(crate) fn command() -> clap::Command {
    use clap::CommandFactory as _;
    let cmd = Cli::command()
        .mut_args(|arg| {
            if arg.is_global_set() {
                arg.hide_short_help(true).hide_long_help(true)
            } else {
                arg
            }
        })
        .mut_subcommand("global-options", |sub| {
            sub.override_help(global_options_help())
        });
    with_examples(cmd, "")
}

/// The help of `telnyx-edge help global-options`: the global options as clap renders them.
fn global_options_help() -> String {
    use clap::Args as _;
    let options = GlobalArgs::augment_args(
        clap::Command::new("telnyx-edge")
            .disable_help_flag(true)
            .help_template("{all-args}"),
    )
    .render_long_help();
    format!(
        "The options every command accepts, before or after its name\n\n{}\n",
        options.to_string().trim_end()
    )
}

fn with_examples(mut cmd: clap::Command, path: &str) -> clap::Command {
    let mut long = String::new();
    if let Some(text) = examples::of(path) {
        long = format!("Examples:\n{text}\n\n");
        cmd = cmd.after_help(format!("Examples: see --help\n{GLOBAL_OPTIONS_NOTE}"));
    } else {
        cmd = cmd.after_help(GLOBAL_OPTIONS_NOTE);
    }
    if let Some(notes) = cmd.get_after_long_help() {
        long.push_str(&format!("{notes}\n\n"));
    }
    cmd = cmd.after_long_help(format!("{long}{GLOBAL_OPTIONS_NOTE}"));
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    for name in names {
        let sub_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        cmd = cmd.mut_subcommand(&name, |sub| with_examples(sub, &sub_path));
    }
    cmd
}

/// Parses the command line. Two things clap cannot do alone: usage lines in errors show only
/// what was typed (not flags whose value came from the environment), and a flag beats the
/// environment between `--local` and `--base-url` (both typed is a usage error).
pub(crate) fn parse() -> Result<Cli, clap::Error> {
    use clap::FromArgMatches as _;
    let matches = match command().try_get_matches() {
        Ok(matches) => matches,
        Err(err) => return Err(without_environment(err)),
    };
    let mut cli = Cli::from_arg_matches(&matches)?;
    settle_local_and_base_url(&mut cli.global, &matches)?;
    Ok(cli)
}

/// The same error, reported as if no environment variable had given a value, so that its
/// usage line does not list `--base-url <URL>` because `TELNYX_BASE_URL` is set.
fn without_environment(err: clap::Error) -> clap::Error {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        return err;
    }
    fn strip(command: clap::Command) -> clap::Command {
        command.mut_args(|arg| arg.env(None)).mut_subcommands(strip)
    }
    match strip(command()).try_get_matches_from(std::env::args_os()) {
        Err(clean) if clean.kind() == err.kind() => clean,
        _ => err,
    }
}

/// Whether the words of a command line (without the program's name) ask for JSON output
/// (`--json`, `-o json`, `--output=ndjson`, `--jq EXPR`, …), read without clap for a command line that clap
/// refused, so that its error can be given as JSON too.
pub(crate) fn asks_for_json(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    let (mut flag, mut output) = (false, false);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let Some(arg) = arg.to_str().map(str::to_owned) else {
            continue;
        };
        let value = match arg.as_str() {
            "--" => break,
            "--json" => {
                flag = true;
                continue;
            }
            // `--jq` implies JSON; its expression is not an option.
            "--jq" => {
                flag = true;
                args.next();
                continue;
            }
            _ if arg.starts_with("--jq=") => {
                flag = true;
                continue;
            }
            "-o" | "--output" => args.next().and_then(|next| next.into_string().ok()),
            _ => ["--output=", "-o=", "-o"]
                .iter()
                .find_map(|prefix| arg.strip_prefix(prefix))
                .map(str::to_owned),
        };
        // As with clap, the last `--output` counts.
        if let Some(value) = value {
            output = matches!(value.as_str(), "json" | "ndjson");
        }
    }
    flag || output
}

/// A clap error as one line of message and a hint: its first paragraph without `error: `, its
/// indented lines joined on, and its `tip:` (else a pointer to `--help`).
pub(crate) fn usage_error_parts(err: &clap::Error) -> (String, Option<String>) {
    // Its text is the group's help, for a person.
    if err.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return (
            "a command is missing".to_owned(),
            Some("See the commands with `--help`.".to_owned()),
        );
    }
    let text = err.render().to_string();
    let mut message = Vec::new();
    let mut tip = None;
    let mut first_paragraph = true;
    for line in text.lines().map(str::trim) {
        if let Some(found) = line.strip_prefix("tip: ") {
            tip = tip.or(Some(found.to_owned()));
        } else if line.is_empty() {
            first_paragraph = false;
        } else if first_paragraph {
            message.push(line.strip_prefix("error: ").unwrap_or(line));
        }
    }
    let hint = match tip {
        Some(tip) => {
            let mut chars = tip.chars();
            let first = chars.next().map(|c| c.to_uppercase().to_string());
            format!("{}{}.", first.unwrap_or_default(), chars.as_str())
        }
        None => "For more information, try `--help`.".to_owned(),
    };
    (message.join(" "), Some(hint))
}

/// Where a global option's value came from, looking at every level it may be given at.
fn source(matches: &clap::ArgMatches, id: &str) -> Option<clap::parser::ValueSource> {
    let mut found = matches.value_source(id);
    let mut level = matches;
    while let Some((_, sub)) = level.subcommand() {
        found = found.max(sub.value_source(id));
        level = sub;
    }
    found
}

fn settle_local_and_base_url(
    global: &mut GlobalArgs,
    matches: &clap::ArgMatches,
) -> Result<(), clap::Error> {
    use clap::parser::ValueSource::{CommandLine, EnvVariable};
    let local = source(matches, "local").filter(|_| global.local);
    let base_url = source(matches, "base_url").filter(|_| global.base_url.is_some());
    match (local, base_url) {
        (Some(CommandLine), Some(CommandLine)) => {
            Err(command().error(
                clap::error::ErrorKind::ArgumentConflict,
                "`--local` and `--base-url` cannot be used together: `--local` runs against the embedded emulator, `--base-url` against a server",
            ))
        }
        // A flag beats the environment.
        (Some(EnvVariable), Some(CommandLine)) => {
            global.local = false;
            Ok(())
        }
        // `--local`, or TELNYX_EDGE_LOCAL=1 beside TELNYX_BASE_URL: the emulator. The base URL
        // stays for what is on the service whatever `--local` says (`diff`'s `remote:` sides).
        _ => {
            global.local_from_env = local == Some(EnvVariable);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asks(line: &str) -> bool {
        asks_for_json(line.split_whitespace().map(std::ffi::OsString::from))
    }

    #[test]
    fn json_output_is_seen_however_it_is_spelled() {
        for line in [
            "storage kv list --json",
            "-o json storage kv list",
            "storage kv list --output ndjson",
            "storage kv list --output=json",
            "storage kv list -ojson",
            "storage kv list -o=ndjson",
            "storage kv list -o table --json",
            "storage kv list -o table -o json",
            "storage kv list --jq .[0]",
            "storage kv list --jq=.[",
            "storage kv list -o table --jq .",
        ] {
            assert!(asks(line), "{line}");
        }
        for line in [
            "storage kv list",
            "storage kv list -o table",
            "storage kv list -o ids",
            "storage kv list -o json -o table",
            "storage kv key get ns -- --json",
        ] {
            assert!(!asks(line), "{line}");
        }
    }

    #[test]
    fn a_clap_error_becomes_one_line_and_a_hint() {
        let err = command()
            .try_get_matches_from(["telnyx-edge", "storage", "kv", "key", "get"])
            .expect_err("arguments are missing");
        assert_eq!(
            usage_error_parts(&err),
            (
                "the following required arguments were not provided: <NAMESPACE> <KEY>".to_owned(),
                Some("For more information, try `--help`.".to_owned())
            )
        );
        let err = command()
            .try_get_matches_from(["telnyx-edge", "storage", "kv", "lst"])
            .expect_err("no such command");
        assert_eq!(
            usage_error_parts(&err),
            (
                "unrecognized subcommand 'lst'".to_owned(),
                Some("Some similar subcommands exist: 'ls', 'list'.".to_owned())
            )
        );
    }
}
