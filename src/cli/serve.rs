//! `serve` and `ui`: the commands that listen on this machine.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueHint};

use super::value::namespace_name;
use crate::env;

#[derive(Debug, Args)]
pub(crate) struct UiArgs {
    /// Print the URL only; do not open a browser
    #[arg(long)]
    pub no_open: bool,

    /// Port on 127.0.0.1 (0 picks a free one)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub port: u16,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; anything but loopback exposes your data to the network
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Also answer requests whose `Host` is NAME (loopback names always are); repeatable
    #[arg(long, value_name = "NAME")]
    pub allowed_host: Vec<String>,

    /// Port to listen on; 0 picks a free one (printed on stdout)
    #[arg(long, default_value_t = 8787)]
    pub port: u16,

    /// Directory of the emulator's database [default: .telnyx-edge/state next to the nearest
    /// func.toml, else in the working directory]
    #[arg(long, env = env::STATE_DIR, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub state_dir: Option<PathBuf>,

    /// Keep everything in memory; nothing is written to disk
    #[arg(long, conflicts_with = "state_dir")]
    pub in_memory: bool,

    /// Accept only this bearer token (any token is accepted without it); from the environment
    /// it stays out of `ps`
    #[arg(long, value_name = "KEY", env = env::EMULATOR_API_KEY, hide_env_values = true)]
    pub api_key: Option<String>,

    /// How long a new namespace stays `pending` before `provision_ok`
    #[arg(long, value_name = "DUR", default_value = "1s", value_parser = crate::cli::duration::parse)]
    pub provision_delay: Duration,

    /// How long a deleted namespace stays `deleting` before it is gone
    #[arg(long, value_name = "DUR", default_value = "1s", value_parser = crate::cli::duration::parse)]
    pub delete_delay: Duration,

    /// Make provisioning of this namespace name end in `provision_failed` (repeatable)
    #[arg(long, value_name = "NAME", value_parser = namespace_name)]
    pub fail_provision: Vec<String>,

    /// Answer requests beyond N per second with 429 and rate-limit headers
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: Option<u32>,

    /// Hold every answer back DUR, or DUR±JITTER (also written `DUR+-JITTER`), to play a
    /// distant service
    #[arg(long, value_name = "DUR", value_parser = crate::cli::duration::parse_latency)]
    pub latency: Option<crate::cli::duration::Latency>,

    /// Namespaces without TTL support: a PUT with `ttl_secs` gets 409, as on the service
    #[arg(long)]
    pub no_ttl: bool,

    /// Run in the background; return once it listens
    ///
    /// The server gets a session of its own (closing the terminal does not stop it), its
    /// stdout in `serve.out` and its log in `serve.log`; its pid and port are kept in
    /// `serve.json`, all in the state directory, for `--status` and `--stop`. Exit 5 when a
    /// server already runs on that state, exit 1 with the log's end when it does not start.
    #[arg(long, conflicts_with_all = ["in_memory", "status", "stop"])]
    pub detach: bool,

    /// Print pid, port and base URL of the server on the state directory
    ///
    /// Prints the pid, port, base URL and state directory of the server running on the state
    /// directory; exit 3 when none runs (a record left by a server that is gone is removed).
    #[arg(long, conflicts_with_all = ["in_memory", "stop"])]
    pub status: bool,

    /// Stop the server on the state directory and wait until it has exited
    ///
    /// Sends SIGTERM to the server running on the state directory and waits until it has
    /// exited. Exit 0 also when none runs (`"stopped": false` with `--json`), so a teardown can
    /// always call it.
    #[arg(long, conflicts_with = "in_memory")]
    pub stop: bool,

    /// Also write the exports to FILE, for `source FILE`
    ///
    /// FILE is replaced whole, and written before `--detach` returns; a new file gets mode
    /// 0600.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath, conflicts_with_all = ["status", "stop"])]
    pub env_file: Option<PathBuf>,
}
