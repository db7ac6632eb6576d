//! `key list`, `key get`, `key put` (also `put`), `key delete`, `key edit` and `key patch`.

use std::path::PathBuf;

use super::namespace::NamespaceArg;
use super::value::{key_name, prefix, ttl};
use clap::{Args, Subcommand, ValueHint};
use clap_complete::engine::ArgValueCompleter;

#[derive(Debug, Args)]
pub(crate) struct KeyGroup {
    #[command(subcommand)]
    pub command: KeyCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// List keys (every page, streamed; never values)
    ///
    /// Lists key names, sizes and update times, every page, printed as the pages arrive so
    /// memory does not grow with the number of keys. With `--limit`, when more keys follow,
    /// stderr says the `--cursor` to continue with.
    #[command(visible_alias = "ls")]
    List(KeyListArgs),
    /// Print a key's value: its exact bytes
    ///
    /// Writes the value's exact bytes to stdout, or to `--output-file` (a temporary file
    /// beside it, then a rename, so it is never half written). A missing key prints nothing
    /// on stdout and exits 3. With `--json` the value is an object: the text when it is UTF-8,
    /// else base64.
    Get(KeyGetArgs),
    /// Set a key's value
    ///
    /// Stores a value byte for byte (`PUT /storage/kvs/{id}/keys/{key}`). Keys may use
    /// letters, digits and `-` `_` `/` `=` `.`, at most 256 characters, not starting with `_`,
    /// and not exactly `.` or `..` (path segments that HTTP clients and proxies rewrite).
    /// Values are at most 1 MiB. Both are checked before any request (exit 2).
    Put(PutArgs),
    /// Delete a key (succeeds when it does not exist)
    ///
    /// Asks `[y/N]` on a terminal; without one it exits 2 unless `--yes`.
    #[command(visible_alias = "rm")]
    Delete(KeyDeleteArgs),
    /// Edit a key's value in $VISUAL or $EDITOR and save it if it changed
    ///
    /// Writes the value to a private temporary file, opens `$VISUAL`, else `$EDITOR`, else
    /// `vi`, and stores the file when the editor exits, only if it changed, with the same
    /// content type. Binary (non-UTF-8) values are refused unless `--hex`. A value that was
    /// JSON must still parse (`--no-check` skips this). If the key changed while the editor
    /// was open, nothing is saved (exit 5). When the edit is not saved, the file is kept and
    /// its path printed. The service does not tell a key's remaining TTL, so a key saved there
    /// keeps no TTL unless `--ttl`; with `--local` it keeps the time it had left.
    Edit(KeyEditArgs),
    /// Change a JSON value with an RFC 7386 merge patch
    ///
    /// Merges `--merge` into the stored JSON value: members of the patch replace the value's,
    /// `null` removes one, objects merge member by member, anything else replaces the whole
    /// value. Refuses a value that is not JSON (exit 1), and saves nothing if the key changed
    /// between reading and writing (exit 5). Keeps the content type; the TTL as `key edit` does.
    Patch(KeyPatchArgs),
}

#[derive(Debug, Args)]
pub(crate) struct KeyListArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    /// Only keys that start with this
    #[arg(long, value_name = "P", value_parser = prefix)]
    pub prefix: Option<String>,

    /// At most this many keys, 1 to 1000 (prints the cursor to continue on stderr)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: Option<u32>,

    /// Start after this cursor (the `cursor` that `--json` printed for the previous page)
    #[arg(long, value_name = "C")]
    pub cursor: Option<String>,

    /// A wider table: the size for people (`1.5 KiB`) beside the exact bytes, and with
    /// `--local` each key's time left and content type (also in JSON, as `ttl_secs` and
    /// `content_type`; the service's listing has neither)
    #[arg(short = 'l', long)]
    pub long: bool,

    /// Order by key, size (largest first) or update time (newest first); needs the whole
    /// listing, kept in a scratch file, not in memory
    #[arg(long, value_name = "BY", value_enum, conflicts_with_all = ["limit", "cursor"])]
    pub sort: Option<SortBy>,

    /// Reverse the order (of `--sort`, or of the key order)
    #[arg(long, conflicts_with_all = ["limit", "cursor"])]
    pub reverse: bool,

    /// Group keys by `/`: each level with its keys and bytes, as a tree
    #[arg(long, conflicts_with_all = ["limit", "cursor", "sort", "reverse", "long"])]
    pub tree: bool,
}

/// What `key list --sort` orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SortBy {
    /// Key names, bytewise
    Key,
    /// Largest first
    Size,
    /// Newest first
    Updated,
}

/// `storage kv du`.
#[derive(Debug, Args)]
pub(crate) struct DuArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    /// Only keys that start with this; levels are counted after it
    #[arg(long, value_name = "P", value_parser = prefix)]
    pub prefix: Option<String>,

    /// Levels of `/` to show, 1 to 16
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(1..=16))]
    pub depth: u8,

    /// How many of the largest keys to show, 0 to 1000
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u16).range(0..=1000))]
    pub top: u16,
}

#[derive(Debug, Args)]
pub(crate) struct KeyGetArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    #[arg(value_parser = key_name, add = ArgValueCompleter::new(crate::cli::complete::keys))]
    pub key: String,

    /// Write the value to this file (atomically) instead of stdout (`-`: stdout)
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub output_file: Option<PathBuf>,
    /// For a JSON value: print only this field, a dotted path (`user.emails.0`) or a jq
    /// expression starting with `.` (`.items | length`); strings print as raw text
    #[arg(long, value_name = "PATH", value_parser = crate::cli::value::field, conflicts_with = "output_file")]
    pub field: Option<crate::ui::field::Field>,
}

/// `key put` and `put`.
#[derive(Debug, Args)]
pub(crate) struct PutArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    /// Key: letters, digits and `-` `_` `/` `=` `.`, up to 256 characters, not starting with `_`
    #[arg(value_parser = key_name, add = ArgValueCompleter::new(crate::cli::complete::keys))]
    pub key: String,

    /// The value, as given (UTF-8); use `--path` for files and binary data. Without VALUE or
    /// `--path`, the value is read from stdin when it is not a terminal
    #[arg(conflicts_with = "path")]
    pub value: Option<String>,

    /// Read the value from this file, or from stdin with `-`
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub path: Option<PathBuf>,

    /// Expire the key after this long: whole seconds of at least 1 (`30s`, `5m`, `1h30m`, `90`)
    #[arg(long, value_name = "DUR", value_parser = ttl, allow_hyphen_values = true)]
    pub ttl: Option<u64>,

    /// Content-Type stored with the value [default: guessed from the `--path` file's extension
    /// or first bytes, else application/octet-stream]
    #[arg(long, value_name = "TYPE")]
    pub content_type: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct KeyDeleteArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    #[arg(value_parser = key_name, add = ArgValueCompleter::new(crate::cli::complete::keys))]
    pub key: String,
}

#[derive(Debug, Args)]
pub(crate) struct KeyEditArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    #[arg(value_parser = key_name, add = ArgValueCompleter::new(crate::cli::complete::keys))]
    pub key: String,

    /// Edit the bytes as hex (for binary values); whitespace between digits is ignored
    #[arg(long)]
    pub hex: bool,

    /// Save even when a value that was JSON no longer parses
    #[arg(long)]
    pub no_check: bool,

    /// Expire the key this long after saving (the service does not tell the TTL it had)
    #[arg(long, value_name = "DUR", value_parser = ttl, allow_hyphen_values = true)]
    pub ttl: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct KeyPatchArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    #[arg(value_parser = key_name, add = ArgValueCompleter::new(crate::cli::complete::keys))]
    pub key: String,

    /// The merge patch (RFC 7386): JSON, `@FILE` to read it from a file, or `-` for stdin
    #[arg(long, value_name = "JSON", required = true, allow_hyphen_values = true)]
    pub merge: String,

    /// Expire the key this long after saving (the service does not tell the TTL it had)
    #[arg(long, value_name = "DUR", value_parser = ttl, allow_hyphen_values = true)]
    pub ttl: Option<u64>,
}
