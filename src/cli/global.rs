//! The options every command accepts (`--local`, `--json`, `--timeout`, …), flattened into
//! [`Cli`](super::Cli) with `global = true`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueHint};

use crate::env;
use crate::ui::format::{ColorWhen, OutputFormat};

/// Options every command accepts.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// API root including `/v2` [default: config `api_endpoint` + `/v2`, else
    /// https://api.telnyx.com/v2]
    #[arg(long, global = true, env = env::BASE_URL, value_name = "URL")]
    pub base_url: Option<String>,

    /// Use `[profiles.NAME]` from the config file
    #[arg(long, global = true, env = env::PROFILE, value_name = "NAME")]
    pub profile: Option<String>,

    /// The function's func.toml [default: the nearest, searching up from the working directory]
    #[arg(long, global = true, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub func_toml: Option<PathBuf>,

    /// Run against the embedded emulator and its on-disk state: no network, no key
    #[arg(long, global = true, env = env::LOCAL, value_parser = clap::builder::BoolishValueParser::new())]
    pub local: bool,

    /// Whether `local` came from TELNYX_EDGE_LOCAL rather than the flag: a shell's default,
    /// which commands that always use both sides (`pull`, `push`) leave aside.
    #[arg(skip)]
    pub local_from_env: bool,

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
    #[arg(long, global = true)]
    pub json: bool,

    /// Filter the JSON result with a jq expression (implies `--json`; per line with `-o ndjson`)
    #[arg(long, global = true, value_name = "EXPR", value_parser = crate::cli::value::jq)]
    pub jq: Option<std::sync::Arc<crate::ui::jq::Jq>>,

    /// No progress and no status lines on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Trace HTTP requests on stderr (the API key is always redacted)
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// When to use colour on stderr
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,

    /// Answer yes to confirmations
    #[arg(
        long,
        global = true,
        env = env::SKIP_CONFIRMATIONS,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub yes: bool,

    /// Deadline for each request, body included [default: 30s]; for `wait`, how long to wait [default: 5m]
    #[arg(long, global = true, value_name = "DUR", value_parser = crate::cli::duration::parse_positive)]
    pub timeout: Option<Duration>,

    /// Retries for retryable failures (408, 429, 5xx, 409 not ready, connection errors)
    #[arg(long, global = true, default_value_t = 4, value_name = "N")]
    pub retries: u32,
}
