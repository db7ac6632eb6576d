//! How an emulator is set up: where it keeps its data, its delays, limits and failures, the
//! `Host` values it answers and the namespaces it mirrors; and the part of that handlers read
//! on every request.

use std::path::PathBuf;
use std::time::Duration;

use crate::api::latency::Latency;

/// Where the emulator keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// `kv.sqlite3` in this directory, created if missing; data survives restarts.
    Dir(PathBuf),
    /// Gone when the process ends.
    InMemory,
}

/// How the emulator behaves.
#[derive(Debug, Clone)]
pub struct Config {
    pub storage: Storage,
    /// How long a new namespace stays `pending`.
    pub provision_delay: Duration,
    /// How long a deleted namespace stays `deleting` before it is gone.
    pub delete_delay: Duration,
    /// Names whose provisioning ends in `provision_failed`.
    pub fail_provision: Vec<String>,
    /// Accept only this bearer token; any token when `None`.
    pub api_key: Option<String>,
    /// Requests per second before answering 429; no limit when `None`.
    pub rate_limit: Option<u32>,
    /// A delay before every answer, to play a distant service; none when `None`.
    pub latency: Option<Latency>,
    /// Whether namespaces accept `ttl_secs` (the service answers 409 for those that do not).
    pub ttl_support: bool,
    /// Log one line per request on stderr.
    pub log_requests: bool,
    /// Which `Host` values are answered (the defence against DNS rebinding).
    pub hosts: AllowedHosts,
    /// Namespaces created at start, ready, with these ids (bindings of `func.toml`), unless a
    /// namespace with the id exists.
    pub mirrors: Vec<Mirror>,
    /// How far the emulator's clock is from this machine's, in milliseconds (negative: behind),
    /// to play a service whose clock is off: its `updated_at` and `Date` follow it.
    pub clock_offset_ms: i64,
}

/// The `Host` headers the emulator answers. A web page that rebinds a name of its own to
/// 127.0.0.1 sends that name, and is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedHosts {
    /// `localhost`, `127.0.0.1` (any 127.x), `[::1]`, with any port, and these names too.
    Loopback(Vec<String>),
    /// Every host: the emulator listens on every address (`--host 0.0.0.0`).
    Any,
}

impl AllowedHosts {
    /// Whether a request with this `Host` (or `:authority`) is answered.
    pub fn allows(&self, host: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Loopback(extra) => {
                crate::api::host::is_loopback(host)
                    || crate::api::host::host_name(host).is_some_and(|name| {
                        extra.iter().any(|allowed| {
                            crate::api::host::host_name(allowed)
                                .is_some_and(|allowed| allowed.eq_ignore_ascii_case(name))
                        })
                    })
            }
        }
    }
}

/// The API key `serve` prints when `--api-key` is not given, and the one `--local` sends: the
/// emulator then accepts any key.
pub const LOCAL_API_KEY: &str = "KEYlocal-emulator";

/// A namespace to create locally with a given id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    pub id: String,
    pub name: String,
}

impl Config {
    /// An in-memory emulator that provisions and deletes instantly: the usual test set-up.
    pub fn in_memory() -> Self {
        Self {
            storage: Storage::InMemory,
            provision_delay: Duration::ZERO,
            delete_delay: Duration::ZERO,
            fail_provision: Vec::new(),
            api_key: None,
            rate_limit: None,
            latency: None,
            hosts: AllowedHosts::Loopback(Vec::new()),
            ttl_support: true,
            log_requests: false,
            mirrors: Vec::new(),
            clock_offset_ms: 0,
        }
    }
}

/// The parts of [`Config`] that handlers read on every request.
pub struct Settings {
    pub provision_delay_ms: i64,
    pub delete_delay_ms: i64,
    pub fail_provision: Vec<String>,
    pub ttl_support: bool,
    /// See [`Config::clock_offset_ms`].
    pub clock_offset_ms: i64,
}

impl Settings {
    /// What the handlers of an emulator set up with `config` read.
    pub(super) fn of(config: &Config) -> Self {
        Self {
            provision_delay_ms: millis(config.provision_delay),
            delete_delay_ms: millis(config.delete_delay),
            fail_provision: config.fail_provision.clone(),
            ttl_support: config.ttl_support,
            clock_offset_ms: config.clock_offset_ms,
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
