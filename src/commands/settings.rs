//! The global options resolved once, before dispatch: how output looks, and how a command
//! reaches its API (which `backend::Backend::open` turns into the service or the emulator).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use crate::cli::GlobalArgs;
use crate::local::settings::{Choices, DEFAULT_TIMEOUT};
use crate::ui::format::{ColorWhen, OutputFormat};
use crate::ui::jq::Jq;

/// What the global options say, with `--json` folded into the output format.
#[derive(Debug)]
pub(crate) struct GlobalSettings {
    /// `--output`, or JSON with `--json`.
    pub format: OutputFormat,
    /// `--jq`: the expression applied to every JSON result. It lives as long as the process
    /// (one per run), so that the printer that holds it stays `Copy`.
    pub jq: Option<&'static Jq>,
    /// `--quiet`: no progress and no status lines.
    pub quiet: bool,
    /// `--color`.
    pub color: ColorWhen,
    /// `--local`: the embedded emulator and its on-disk state, not the service.
    pub local: bool,
    /// `local` came from TELNYX_EDGE_LOCAL, not the flag.
    pub local_from_env: bool,
    /// `--base-url`: the API root, when given.
    pub base_url: Option<String>,
    /// `--profile`: the `[profiles.NAME]` of the config file, when given.
    pub profile: Option<String>,
    /// `--func-toml` as given; see [`GlobalSettings::func_toml_in_use`].
    pub func_toml: Option<PathBuf>,
    /// `--timeout`: each request's deadline (for `wait`, how long to wait).
    pub timeout: Option<Duration>,
    /// `--retries`.
    pub retries: u32,
    /// `-v`: HTTP traces, and bulk work's window changes.
    pub verbose: bool,
    /// `--yes`: confirmations answered yes.
    pub yes: bool,
}

impl GlobalSettings {
    pub(crate) fn resolve(args: GlobalArgs) -> Self {
        Self {
            // `--jq` implies JSON; with ndjson it filters each line as it comes.
            format: match args.output {
                OutputFormat::Ndjson if !args.json => OutputFormat::Ndjson,
                _ if args.json || args.jq.is_some() => OutputFormat::Json,
                other => other,
            },
            jq: args.jq.map(|jq| &**Box::leak(Box::new(jq))),
            quiet: args.quiet,
            color: args.color,
            local: args.local,
            local_from_env: args.local_from_env,
            base_url: args.base_url,
            profile: args.profile,
            func_toml: args.func_toml,
            timeout: args.timeout,
            retries: args.retries,
            verbose: args.verbose,
            yes: args.yes,
        }
    }

    /// What `--base-url` and `--profile` ask of the remote.
    pub(crate) fn choices(&self) -> Choices<'_> {
        Choices {
            base_url: self.base_url.as_deref(),
            profile: self.profile.as_deref(),
        }
    }

    /// Each request's deadline: `command_timeout` for a command that gives `--timeout` another
    /// meaning (`wait`), else `--timeout`, else the default.
    pub(crate) fn request_timeout(&self, command_timeout: Option<Duration>) -> Duration {
        command_timeout.or(self.timeout).unwrap_or(DEFAULT_TIMEOUT)
    }

    /// `--func-toml`, else the nearest func.toml (which may not exist).
    pub(crate) fn func_toml_in_use(&self) -> anyhow::Result<Option<PathBuf>> {
        let cwd = std::env::current_dir().context("cannot read the working directory")?;
        Ok(crate::local::project::func_toml_path(
            self.func_toml.as_deref(),
            &cwd,
        ))
    }
}
