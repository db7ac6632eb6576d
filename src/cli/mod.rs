//! The command line, as clap types only, one file per command group. Handlers live in
//! `commands/`. This file holds the root: the program, its top-level commands and the small
//! ones that install or generate files.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueHint};

mod auth;
mod bulk;
pub(crate) mod complete;
pub(crate) mod duration;
pub(crate) mod examples;
mod global;
mod key;
mod kv;
mod namespace;
mod parse;
mod serve;
mod sync;
mod value;

pub(crate) use auth::{ApiKeyCommand, ApiKeyGroup, ApiKeySetArgs, AuthCommand, AuthGroup};
pub(crate) use bulk::{
    BulkCommand, BulkDeleteArgs, BulkGetArgs, BulkOptions, BulkPutArgs, ExportArgs, ImportArgs,
    InputOptions, KeySelection,
};
pub(crate) use global::GlobalArgs;
pub(crate) use key::{DuArgs, KeyCommand, KeyEditArgs, KeyListArgs, KeyPatchArgs, PutArgs, SortBy};
pub(crate) use kv::{KvCommand, StorageCommand, StorageGroup};
pub(crate) use namespace::{
    BindArgs, CreateArgs, DeleteArgs, GetArgs, ListArgs, UnbindArgs, WaitArgs,
};
pub(crate) use parse::{GLOBAL_OPTIONS_NOTE, asks_for_json, command, parse, usage_error_parts};
pub(crate) use serve::{ServeArgs, UiArgs};
pub(crate) use sync::{CopyArgs, DiffArgs, SyncArgs};

/// Manage Telnyx Edge Compute KV storage, or run a local emulator of it.
#[derive(Debug, Parser)]
#[command(name = "telnyx-edge", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Edge Compute storage
    Storage(StorageGroup),
    /// Credentials
    Auth(AuthGroup),
    /// Install shell completion, or print its script
    ///
    /// Without SHELL: lists the shells and prints the line that installs completion for the
    /// one `$SHELL` names. With SHELL: prints the script on stdout, or with `--install` writes
    /// it where that shell looks (creating the folder) and checks that the shell will load it
    /// from there. When it would not (bash without the bash-completion package, a zsh whose
    /// `fpath` lacks the folder), it asks on a terminal to add one line to the shell's
    /// start-up file (`--yes` adds it without asking); without a terminal it changes nothing
    /// and prints that line (`--print-rc-line` prints only the line). The script calls `telnyx-edge` on PATH
    /// for each completion, so it never drifts from the binary. Wherever a namespace is
    /// expected, the bindings of the nearest func.toml complete, and namespace names too; a
    /// key completes by prefix. Names and keys come from local state with `--local`, else from
    /// the service (1.5 s at most, answers kept for a minute); a failed lookup offers nothing.
    Completions(CompletionsArgs),
    /// Show a man page, or write them all into a folder
    ///
    /// `telnyx-edge man` shows the page of `telnyx-edge`, `telnyx-edge man storage kv put`
    /// the page of that command: on a terminal through `man -l -`, otherwise printed as roff
    /// (for `man -l -`). `--dir DIR` writes every page into DIR (created if missing) instead,
    /// for `MANPATH` or a package.
    Man(ManArgs),
    /// Print the options every command accepts (`telnyx-edge help global-options`)
    #[command(hide = true)]
    GlobalOptions,
    /// Write the completion scripts, man pages and command reference into DIR (for packagers
    /// and `scripts/generate.sh`)
    #[command(hide = true)]
    GenerateAssets(GenerateAssetsArgs),
    /// `telnyx-edge kv …`, a common slip for `telnyx-edge storage kv …`: answered with a hint.
    #[command(hide = true, disable_help_flag = true)]
    Kv(StrayArgs),
}

/// Whatever follows a mistyped command, kept to suggest the right one.
#[derive(Debug, Args)]
pub(crate) struct StrayArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub rest: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell; without it, the shells are listed
    pub shell: Option<crate::cli::complete::Shell>,

    /// Write the script where SHELL looks for it, creating the folder, instead of printing it;
    /// when SHELL would not load it from there, offer to add one line to its start-up file
    #[arg(long, requires = "shell")]
    pub install: bool,

    /// Print the line for SHELL's start-up file that loads the installed script, and nothing
    /// else
    #[arg(long, requires = "shell", conflicts_with = "install")]
    pub print_rc_line: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// The command whose page to print, as words (`storage kv put`); none is `telnyx-edge`
    #[arg(value_name = "COMMAND", conflicts_with = "dir")]
    pub command: Vec<String>,

    /// Write every page into DIR (created if missing) instead of printing one
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct GenerateAssetsArgs {
    /// The repository root to write into
    #[arg(default_value = ".", value_hint = ValueHint::DirPath)]
    pub dir: PathBuf,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_tree_is_consistent() {
        super::command().debug_assert();
    }
}
