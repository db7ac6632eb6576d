//! `bulk put`, `bulk get`, `bulk delete`, `export` and `import`: their arguments, and the
//! options every bulk command shares.

use std::path::PathBuf;

use super::namespace::NamespaceArg;
use super::value::{key_name, prefix};
use clap::{Args, Subcommand, ValueHint};

#[derive(Debug, Args)]
pub(crate) struct BulkGroup {
    #[command(subcommand)]
    pub command: BulkCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BulkCommand {
    /// Write keys from NDJSON lines, a JSON array, or the files of a directory
    #[command(after_long_help = BULK_PUT_FORMAT)]
    Put(BulkPutArgs),
    /// Read keys and print them as NDJSON lines (the format `bulk put` reads)
    Get(BulkGetArgs),
    /// Delete keys, after confirming their number
    Delete(BulkDeleteArgs),
}

const BULK_PUT_FORMAT: &str = "Input, detected from its first byte:
  NDJSON lines:  {\"key\": \"user/1\", \"value\": \"...\", \"base64\": false, \"ttl_secs\": 60, \"content_type\": \"...\"}
                 (only key and value are required; `ttl` and `content-type` mean
                 `ttl_secs` and `content_type`)
  a JSON array:  [{\"key\": \"...\", \"value\": \"...\", \"base64\": true, \"expiration_ttl\": 60}, ...] (wrangler's format)
  --dir DIR:     each file's path relative to DIR is the key, its bytes the value, its
                 content type guessed from its extension, else its first bytes

Wrangler's fields are read too: `expiration_ttl` (seconds) and `expiration` (epoch seconds,
made relative to now; one in the past fails the item) become `ttl_secs`; `metadata` is
dropped with a warning (Telnyx KV has none). Other fields are warned about once and ignored,
or with `--strict` fail their item. A UTF-8 byte order mark is skipped.

A bad line is reported with its number, counts as failed (it fails alone: it spends no
`--max-errors`, so the good lines around it are still written) and goes to the
`--failed-file` with its text; the rest goes on.";

/// What every bulk command shares.
#[derive(Debug, Args)]
pub(crate) struct BulkOptions {
    /// The most requests in flight at once [default: 256; 64 for `bulk get`, `export`, `pull`,
    /// `push` and `copy`]; the window adapts below it
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: Option<u16>,

    /// Stop after N items the service failed (bad input lines do not count): no new request
    /// starts, and the rest goes to `--failed-file`
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_errors: u64,

    /// Never stop for failed items
    #[arg(long, conflicts_with = "max_errors")]
    pub continue_on_error: bool,

    /// Write every item not written (failed or never sent) to FILE: input to feed back to
    /// `bulk` and `import`; for `pull`, `push` and `copy` the keys, finished by running them again
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub failed_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct BulkPutArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    /// NDJSON or JSON array input; `-` or none reads stdin (when it is not a terminal)
    #[arg(value_name = "FILE", conflicts_with = "dir", value_hint = ValueHint::FilePath)]
    pub file: Option<PathBuf>,

    /// Write each file below DIR, keyed by its path relative to DIR
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub dir: Option<PathBuf>,

    #[command(flatten)]
    pub input: InputOptions,

    #[command(flatten)]
    pub bulk: BulkOptions,
}

/// Which keys `bulk get` and `bulk delete` work on: given, by prefix, or from a file.
#[derive(Debug, Args)]
pub(crate) struct KeySelection {
    /// Keys, as arguments
    #[arg(value_parser = key_name, conflicts_with_all = ["prefix", "from_file"])]
    pub keys: Vec<String>,

    /// Every key that starts with P (not empty: `--all` is every key)
    #[arg(long, value_name = "P", value_parser = prefix, conflicts_with = "from_file")]
    pub prefix: Option<String>,

    /// Every key of the namespace
    #[arg(long, conflicts_with_all = ["keys", "prefix", "from_file"])]
    pub all: bool,

    /// Keys from F, one per line, or the lines of a failed-items file; `-` or no F reads stdin
    #[arg(long, value_name = "F", num_args = 0..=1, default_missing_value = "-", value_hint = ValueHint::FilePath)]
    pub from_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct BulkGetArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    #[command(flatten)]
    pub select: KeySelection,

    /// Write to this file (atomically) instead of stdout (`-`: stdout)
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub output_file: Option<PathBuf>,

    #[command(flatten)]
    pub bulk: BulkOptions,
}

#[derive(Debug, Args)]
pub(crate) struct BulkDeleteArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    #[command(flatten)]
    pub select: KeySelection,

    /// Print the keys that would be deleted, and delete nothing
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub bulk: BulkOptions,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    /// Only keys that start with P
    #[arg(long, value_name = "P", value_parser = prefix)]
    pub prefix: Option<String>,

    /// Write to this file (atomically) instead of stdout (`-`: stdout)
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub output_file: Option<PathBuf>,

    #[command(flatten)]
    pub bulk: BulkOptions,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    /// An export (NDJSON) or a JSON array; `-` or none reads stdin (when it is not a terminal)
    #[arg(value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub file: Option<PathBuf>,

    #[command(flatten)]
    pub input: InputOptions,

    #[command(flatten)]
    pub bulk: BulkOptions,
}

/// How `bulk put` and `import` read their input.
#[derive(Debug, Args)]
pub(crate) struct InputOptions {
    /// Refuse items with unknown fields instead of warning and ignoring the fields
    #[arg(long)]
    pub strict: bool,
}
