//! `key list`, `key get`, `key put` (also `put`) and `key delete`.

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
}

#[derive(Debug, Args)]
pub(crate) struct KeyGetArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    #[arg(value_parser = key_name, add = ArgValueCompleter::new(crate::cli::complete::keys))]
    pub key: String,

    /// Write the value to this file (atomically) instead of stdout
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub output_file: Option<PathBuf>,
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
