//! `storage kv serve`: the local emulator as a long-running server.
//!
//! Endpoints: none called; it serves every endpoint of `shared/spec/kv-api.md` (the
//! `emulator` module) on loopback.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::cli::ServeArgs;
use crate::commands::{backend, serve_detach};
use crate::emulator::{self, AllowedHosts, BindError, Config, Emulator, Storage};
use crate::error::{Exit, UserError};
use crate::explorer::Explorer;
use crate::local::func_toml::FuncToml;
use crate::local::project;
use crate::text::plural;
use crate::ui::OutputFormat;
use crate::ui::printer::Printer;

/// What `serve --json` prints once it listens.
#[derive(Debug, Serialize)]
struct Listening<'a> {
    base_url: &'a str,
    api_key: &'a str,
    address: String,
    state_dir: Option<String>,
    /// Binding name → namespace id, for the bindings of `func.toml`.
    bindings: std::collections::BTreeMap<String, String>,
    /// The data explorer's page, with this run's token; `null` when it cannot be reached
    /// (serving on a non-loopback address only).
    explorer_url: Option<&'a str>,
}

/// Serves the emulator's API (every `/v2/storage/kvs…` endpoint) until Ctrl-C or SIGTERM. The
/// namespaces bound in `func.toml` are mirrored with the same ids.
pub(crate) fn serve(
    args: ServeArgs,
    func_toml: Option<&Path>,
    printer: Printer,
) -> anyhow::Result<()> {
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let func_toml = project::func_toml_path(func_toml, &cwd).filter(|path| path.is_file());
    let state_dir = (!args.in_memory)
        .then(|| project::state_dir(args.state_dir.as_deref(), func_toml.as_deref(), &cwd));
    if let Some(dir) = &state_dir {
        if args.status {
            return serve_detach::status(dir, printer);
        }
        if args.stop {
            return serve_detach::stop(dir, printer);
        }
        if args.detach {
            return serve_detach::detach(dir, printer);
        }
        serve_detach::refuse_running(dir, &printer)?;
    }
    let storage = match state_dir {
        None => Storage::InMemory,
        Some(dir) => {
            backend::prepare_state_dir(&dir)?;
            Storage::Dir(dir)
        }
    };
    let mirrored = match &func_toml {
        Some(path) => {
            let toml = FuncToml::load(path).context("cannot read the bindings to mirror")?;
            backend::mirrors(&toml, &printer)
        }
        None => Vec::new(),
    };
    if let Some(warning) = exposure_warning(args.host, args.api_key.as_deref()) {
        printer.warn(&warning);
    }
    let config = Config {
        storage,
        provision_delay: args.provision_delay,
        delete_delay: args.delete_delay,
        fail_provision: args.fail_provision,
        api_key: args.api_key.clone(),
        rate_limit: args.rate_limit,
        latency: args.latency,
        ttl_support: !args.no_ttl,
        log_requests: !printer.quiet(),
        hosts: allowed_hosts(args.host, &args.allowed_host),
        mirrors: mirrored.iter().map(|(_, mirror)| mirror.clone()).collect(),
        clock_offset_ms: 0,
    };
    // The bindings that were mirrored are the ones exported.
    let mirrored: Vec<(String, String)> = mirrored
        .into_iter()
        .map(|(binding, mirror)| (binding, mirror.id))
        .collect();
    let addr = SocketAddr::new(args.host, args.port);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let api_key = args.api_key.as_deref().unwrap_or(emulator::LOCAL_API_KEY);
    let said = Said {
        api_key,
        mirrored: &mirrored,
        env_file: args.env_file.as_deref(),
    };
    runtime.block_on(run(config, addr, &said, &printer))
}

/// What `serve --json` prints when it stops: what it answered.
#[derive(Debug, Serialize)]
struct Stopped {
    stopped: bool,
    #[serde(flatten)]
    stats: emulator::StatsSnapshot,
}

fn stopped_line(stats: &emulator::StatsSnapshot) -> String {
    let plural = |n: u64, word: &str| format!("{} {word}{}", crate::text::thousands(n), plural(n));
    format!(
        "Stopped the KV emulator after {} ({} answered 429; at most {} at once)",
        plural(stats.requests, "request"),
        crate::text::thousands(stats.rate_limited),
        crate::text::thousands(stats.peak_in_flight),
    )
}

/// The explorer `serve` offers at `/`. It works through the API like any client (so its
/// requests are logged and counted, marked as its own by `x-telnyx-edge-via`, which only this
/// emulator is sent), with the key the emulator asks for;
/// expiries and the request log, which the API does not give, it reads from the emulator
/// itself.
fn explorer_for(
    emulator: &Emulator,
    bound: SocketAddr,
    base_url: &str,
    api_key: &str,
) -> anyhow::Result<Explorer> {
    let client = crate::client::Client::new(crate::client::ClientOptions {
        base_url: base_url.to_owned(),
        token: api_key.to_owned(),
        timeout: crate::local::settings::DEFAULT_TIMEOUT,
        retries: 2,
        direct: true,
        observer: None,
    })?;
    Ok(
        Explorer::new(client.via("explorer"), bound.port(), "the local emulator")
            .with_insight(std::sync::Arc::new(emulator.insight())),
    )
}

/// Binds, says where (the exports or `--json` on stdout, a status line on stderr), and serves
/// until Ctrl-C or SIGTERM.
async fn run(
    config: Config,
    addr: SocketAddr,
    said: &Said<'_>,
    printer: &Printer,
) -> anyhow::Result<()> {
    let record_dir = match &config.storage {
        Storage::Dir(dir) => Some(dir.clone()),
        Storage::InMemory => None,
    };
    let state_dir = record_dir.as_ref().map(|dir| dir.display().to_string());
    let emulator = Emulator::bind(config, addr)
        .await
        .map_err(|err| bind_error(err, addr))?;
    // Before the address is printed: a server that lost a race for the state prints none.
    let claim = record_dir
        .as_deref()
        .map(|dir| serve_detach::claim(dir, printer))
        .transpose()?;
    // Before the address is printed: whoever reads it may stop us at once.
    let _stopping = crate::signals::guard();
    let stop = crate::signals::tripped();
    let bound = emulator
        .local_addr()
        .context("cannot read the listening address")?;
    let base_url = emulator::base_url(bound);
    let explorer = explorer_for(&emulator, bound, &base_url, said.api_key)?;
    let explorer_url = explorer.url(bound);
    let emulator = emulator.with_front(explorer.router());
    let listening = Listening {
        base_url: &base_url,
        api_key: said.api_key,
        address: bound.to_string(),
        state_dir: state_dir.clone(),
        bindings: said.mirrored.iter().cloned().collect(),
        explorer_url: explorer_url.as_deref(),
    };
    announce(&listening, said, printer)?;
    // Last, so that whoever waits for the record finds the exports and the env file written.
    let _record = claim
        .map(|claim| claim.write(bound.port(), &base_url))
        .transpose()?;
    let kept = match &state_dir {
        Some(dir) => format!("state in `{dir}`"),
        None => "in memory, nothing is saved".to_owned(),
    };
    printer.status(&format!("Serving the KV emulator at {base_url} ({kept})"));
    match &explorer_url {
        Some(url) => printer.status(&format!("Explorer: {url}")),
        None => printer.status(&format!(
            "Explorer: not available on {} (it answers this machine's loopback only; serve on 127.0.0.1 or 0.0.0.0 to use it)",
            bound.ip()
        )),
    }
    printer.status("Press Ctrl-C to stop");
    let stats = emulator.stats();
    emulator
        .serve(stop)
        .await
        .context("the emulator stopped with an error")?;
    let stats = stats.snapshot();
    if matches!(printer.format(), OutputFormat::Json | OutputFormat::Ndjson) {
        // Best effort: whoever read the first line may be gone.
        let _ = printer.json_line(&Stopped {
            stopped: true,
            stats,
        });
    }
    // Said from a thread of its own: with stderr a full pipe nobody reads, the write would
    // block, and stopping must never wait on stderr.
    let printer = *printer;
    std::thread::spawn(move || printer.status(&stopped_line(&stats)));
    std::thread::sleep(std::time::Duration::from_millis(20));
    Ok(())
}

/// What a server says once it listens, besides its status lines.
struct Said<'a> {
    api_key: &'a str,
    mirrored: &'a [(String, String)],
    env_file: Option<&'a Path>,
}

/// Prints the exports (or the `--json` line) on stdout and writes them to `--env-file`.
fn announce(listening: &Listening<'_>, said: &Said<'_>, printer: &Printer) -> anyhow::Result<()> {
    let exports = exports(listening.base_url, said.api_key, said.mirrored);
    if let Some(path) = said.env_file {
        let write = || -> std::io::Result<()> {
            let mut file = crate::local::atomic::AtomicFile::new(path)?;
            std::io::Write::write_all(&mut file, exports.as_bytes())?;
            file.commit()
        };
        write().with_context(|| format!("cannot write the env file `{}`", path.display()))?;
    }
    match printer.format() {
        OutputFormat::Json | OutputFormat::Ndjson => printer.json_line(listening)?,
        OutputFormat::Table | OutputFormat::Ids => printer.out(&exports)?,
    }
    Ok(())
}

/// The `Host` values answered: loopback names, the address it listens on when that is another
/// one, and `--allowed-host`; every host when it listens on every address.
fn allowed_hosts(host: IpAddr, allowed: &[String]) -> AllowedHosts {
    if host.is_unspecified() {
        return AllowedHosts::Any;
    }
    let mut names = allowed.to_vec();
    if !host.is_loopback() {
        names.push(match host {
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        });
    }
    AllowedHosts::Loopback(names)
}

/// Serving beyond this machine without a key lets anyone on the network use the data.
fn exposure_warning(host: IpAddr, api_key: Option<&str>) -> Option<String> {
    (!host.is_loopback() && api_key.is_none()).then(|| {
        format!(
            "serving on {host} without `--api-key`: anyone who can reach this address can read and change your data"
        )
    })
}

/// The shell lines that point a client at the emulator, and name each bound namespace's id.
fn exports(base_url: &str, api_key: &str, bindings: &[(String, String)]) -> String {
    let quote = |value: &str| {
        shlex::try_quote(value)
            .map(|q| q.into_owned())
            .unwrap_or_else(|_| value.to_owned())
    };
    let mut text = format!(
        "export TELNYX_BASE_URL={}\nexport TELNYX_API_KEY={}\n",
        quote(base_url),
        quote(api_key)
    );
    for (binding, id) in bindings {
        text.push_str(&format!("export KV_{binding}_ID={id}\n"));
    }
    text
}

fn bind_error(err: BindError, addr: SocketAddr) -> anyhow::Error {
    match err {
        BindError::Listen { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse => {
            UserError::new(
                Exit::Failure,
                format!("cannot listen on {addr}: the port is in use"),
            )
            .hint("Stop the other server, or pass `--port 0` to pick a free port.")
            .into()
        }
        BindError::Listen { source, .. } => {
            anyhow::Error::new(source).context(format!("cannot listen on {addr}"))
        }
        other => anyhow::Error::new(other).context("cannot open the emulator's state"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_non_loopback_addresses_without_a_key_warn() {
        let any: IpAddr = "0.0.0.0".parse().expect("IP");
        assert_eq!(
            exposure_warning(any, None).as_deref(),
            Some(
                "serving on 0.0.0.0 without `--api-key`: anyone who can reach this address can read and change your data"
            )
        );
        assert_eq!(exposure_warning(any, Some("KEY")), None);
        assert_eq!(
            exposure_warning("127.0.0.1".parse().expect("IP"), None),
            None
        );
        assert_eq!(exposure_warning("::1".parse().expect("IP"), None), None);
    }

    #[test]
    fn the_stop_line_says_what_was_answered() {
        let stats = |requests, rate_limited, peak_in_flight| emulator::StatsSnapshot {
            requests,
            rate_limited,
            peak_in_flight,
        };
        assert_eq!(
            stopped_line(&stats(1, 0, 1)),
            "Stopped the KV emulator after 1 request (0 answered 429; at most 1 at once)"
        );
        assert_eq!(
            stopped_line(&stats(12_345, 67, 48)),
            "Stopped the KV emulator after 12,345 requests (67 answered 429; at most 48 at once)"
        );
    }

    #[test]
    fn exports_are_shell_quoted() {
        assert_eq!(
            exports(
                "http://127.0.0.1:8787/v2",
                "KEY abc",
                &[(
                    "MY_CACHE".into(),
                    "550e8400-e29b-41d4-a716-446655440000".into()
                )]
            ),
            "export TELNYX_BASE_URL=http://127.0.0.1:8787/v2\nexport TELNYX_API_KEY='KEY abc'\nexport KV_MY_CACHE_ID=550e8400-e29b-41d4-a716-446655440000\n"
        );
    }
}
