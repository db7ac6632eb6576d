//! The command line, as clap types only. Handlers live in `commands/`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Manage Telnyx Edge Compute KV storage, or run a local emulator of it.
#[derive(Debug, Parser)]
#[command(name = "telnyx-edge", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format: `table` for people, `json`, `ndjson` or `ids` for scripts
    #[arg(
        short = 'o',
        long,
        global = true,
        value_enum,
        default_value_t = OutputFormat::Table
    )]
    pub output: OutputFormat,

    /// Same as `--output json`
    #[arg(long, global = true, conflicts_with = "output")]
    pub json: bool,

    /// No progress and no status lines on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

impl GlobalArgs {
    pub fn format(&self) -> OutputFormat {
        if self.json {
            OutputFormat::Json
        } else {
            self.output
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns and plain lines for people
    Table,
    /// One JSON document
    Json,
    /// One JSON object per line, streamed
    Ndjson,
    /// One id or key per line
    Ids,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Edge Compute storage
    Storage(StorageNamespace),
}

#[derive(Debug, Args)]
pub struct StorageNamespace {
    #[command(subcommand)]
    pub command: StorageCommand,
}

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// KV namespaces and keys
    Kv(KvNamespace),
}

#[derive(Debug, Args)]
pub struct KvNamespace {
    #[command(subcommand)]
    pub command: KvCommand,
}

#[derive(Debug, Subcommand)]
pub enum KvCommand {
    /// Run the local KV emulator: the Telnyx KV REST API on this machine
    #[command(after_help = SERVE_EXAMPLE)]
    Serve(ServeArgs),
}

const SERVE_EXAMPLE: &str = "Examples:
  telnyx-edge storage kv serve
  telnyx-edge storage kv serve --port 0 --in-memory --provision-delay 0

It prints the `export TELNYX_BASE_URL=…` and `export TELNYX_API_KEY=…` lines that point function
code, the official SDKs and `telnyx-edge` itself at it. Ctrl-C or SIGTERM stops it.";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; anything but loopback exposes your data to the network
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Port to listen on; 0 picks a free one (printed on stdout)
    #[arg(long, default_value_t = 8787)]
    pub port: u16,

    /// Directory of the emulator's database [default: .telnyx-edge/state next to the nearest
    /// func.toml, else in the working directory]
    #[arg(long, env = "TELNYX_EDGE_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Keep everything in memory; nothing is written to disk
    #[arg(long, conflicts_with = "state_dir")]
    pub in_memory: bool,

    /// Accept only this bearer token (any token is accepted without it)
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,

    /// How long a new namespace stays `pending` before `provision_ok`
    #[arg(long, value_name = "DUR", default_value = "1s", value_parser = crate::duration::parse)]
    pub provision_delay: Duration,

    /// How long a deleted namespace stays `deleting` before it is gone
    #[arg(long, value_name = "DUR", default_value = "1s", value_parser = crate::duration::parse)]
    pub delete_delay: Duration,

    /// Make provisioning of this namespace name end in `provision_failed` (repeatable)
    #[arg(long, value_name = "NAME", value_parser = namespace_name)]
    pub fail_provision: Vec<String>,

    /// Answer requests beyond N per second with 429 and rate-limit headers
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: Option<u32>,

    /// Namespaces without TTL support: a PUT with `ttl_secs` gets 409, as on the service
    #[arg(long)]
    pub no_ttl: bool,
}

fn namespace_name(value: &str) -> Result<String, String> {
    crate::validate::namespace_name(value)
        .map(|()| value.to_owned())
        .map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }
}
