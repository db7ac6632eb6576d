//! `pull`, `push`, `diff` and `copy`: the arguments of the commands that compare or copy namespaces.

use clap::Args;
use clap_complete::engine::{ArgValueCandidates, ArgValueCompleter};

use super::bulk::BulkOptions;
use super::value::prefix;

/// `pull` and `push`.
#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// Namespaces: UUIDs, bindings in func.toml or names [default: every binding of func.toml]
    #[arg(value_name = "NAMESPACE", add = ArgValueCandidates::new(crate::cli::complete::namespaces))]
    pub namespaces: Vec<String>,

    /// Only keys that start with P
    #[arg(long, value_name = "P", value_parser = prefix)]
    pub prefix: Option<String>,

    /// Also make the deletions the source side made since the last sync
    #[arg(long)]
    pub delete: bool,

    /// Print what would change (the same table as `diff`) and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Make the side written to like the source for every key that differs, conflicts (keys
    /// changed on both sides since the last sync) and the other side's own changes included
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub bulk: BulkOptions,
}

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// Side A: `local:NAMESPACE`, `remote:NAMESPACE` or NAMESPACE
    #[arg(value_name = "A", add = ArgValueCompleter::new(crate::cli::complete::sides))]
    pub a: String,

    /// Side B: `local:NAMESPACE`, `remote:NAMESPACE` or NAMESPACE
    #[arg(value_name = "B", add = ArgValueCompleter::new(crate::cli::complete::sides))]
    pub b: String,

    /// Only keys that start with P
    #[arg(long, value_name = "P", value_parser = prefix)]
    pub prefix: Option<String>,

    /// The most requests in flight at once while values are compared [default: 64]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: Option<u16>,
}

/// `copy`.
#[derive(Debug, Args)]
pub(crate) struct CopyArgs {
    /// Where the keys come from: `local:NAMESPACE`, `remote:NAMESPACE` or NAMESPACE
    #[arg(value_name = "SRC", add = ArgValueCompleter::new(crate::cli::complete::sides))]
    pub src: String,

    /// Where they go (overwritten key by key): `local:NAMESPACE`, `remote:NAMESPACE` or
    /// NAMESPACE
    #[arg(value_name = "DST", add = ArgValueCompleter::new(crate::cli::complete::sides))]
    pub dst: String,

    /// Only keys that start with P
    #[arg(long, value_name = "P", value_parser = prefix)]
    pub prefix: Option<String>,

    /// Also delete DST's keys (under `--prefix`) that SRC does not have, making DST a mirror
    #[arg(long)]
    pub delete: bool,

    /// Print what would be added, changed and deleted (the same table as `diff`) and change
    /// nothing
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub bulk: BulkOptions,
}
