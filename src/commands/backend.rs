//! The API a command talks to: the service with the resolved credentials, or with `--local` the
//! embedded emulator started in-process over the project's state directory. Also the pieces
//! `--local` and `serve` share: the state directory, the mirrors of `func.toml`'s bindings and
//! how the client's events are shown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::api::rules::is_namespace_id;
use crate::client::{Client, ClientOptions, Event};
use crate::commands::settings::GlobalSettings;
use crate::emulator::{self, Config, Emulator, Mirror, Storage, Store};
use crate::local::func_toml::{self, FuncToml};
use crate::local::project;
use crate::local::settings::{self, Env};
use crate::text::plural;
use crate::ui::printer::{Printer, stderr_line};

/// Whether a command may change data. With `--local`, only a write creates the state
/// directory; a read where there is none sees an empty emulator and leaves no trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// A connected client, and the local emulator behind it when `--local`.
pub(crate) struct Backend {
    pub client: Client,
    /// `-v`: bulk work shows its window's changes.
    pub verbose: bool,
    /// The `func.toml` in use: `--func-toml`, else the nearest (which may not exist).
    pub func_toml: Option<PathBuf>,
    store: Option<Arc<Store>>,
    local: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Backend {
    /// Connects as `global` says. `request_timeout` overrides `--timeout` for commands that
    /// give that flag another meaning (`wait`).
    pub(crate) async fn open(
        global: &GlobalSettings,
        printer: &Printer,
        access: Access,
        request_timeout: Option<Duration>,
    ) -> anyhow::Result<Self> {
        if global.local {
            let local = Self::start_local(global, printer, access, request_timeout, Vec::new());
            local.announced(true).await
        } else {
            Self::remote(global, printer, request_timeout)
        }
    }

    /// The service, with the resolved credentials, whatever `--local` says.
    pub(crate) fn remote(
        global: &GlobalSettings,
        printer: &Printer,
        request_timeout: Option<Duration>,
    ) -> anyhow::Result<Self> {
        let timeout = global.request_timeout(request_timeout);
        let func_toml = global.func_toml_in_use()?;
        let env = Env::from_process();
        let config = settings::load_config(&env)?;
        warn_if_exposed(&config, printer);
        let remote = settings::remote(&global.choices(), &env, &config)?;
        let credential = remote
            .credential
            .ok_or_else(settings::missing_credentials)?;
        let options = client_options(global, printer, timeout, remote.base_url, credential.token);
        Ok(Self {
            client: Client::new(options)?,
            verbose: global.verbose,
            func_toml,
            store: None,
            local: None,
        })
    }

    /// The embedded emulator over the local state, whatever `--local` says, with `extra`
    /// namespaces mirrored besides func.toml's bindings: one side of a command that talks to
    /// the service too (`pull`, `push`, `diff`), which says where local state is only with `-v`.
    pub(crate) async fn local(
        global: &GlobalSettings,
        printer: &Printer,
        access: Access,
        request_timeout: Option<Duration>,
        extra: Vec<Mirror>,
    ) -> anyhow::Result<Self> {
        let local = Self::start_local(global, printer, access, request_timeout, extra);
        local.announced(false).await
    }

    fn start_local<'a>(
        global: &'a GlobalSettings,
        printer: &'a Printer,
        access: Access,
        request_timeout: Option<Duration>,
        extra: Vec<Mirror>,
    ) -> LocalStart<'a> {
        LocalStart {
            global,
            printer,
            access,
            request_timeout,
            extra,
        }
    }

    /// The local emulator's store, when this is local state: read in-process for digests.
    pub(crate) fn store(&self) -> Option<&Arc<Store>> {
        self.store.as_ref()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(stop) = self.local.take() {
            let _ = stop.send(());
        }
    }
}

/// What starting the embedded emulator needs, before it is known whether to say so.
struct LocalStart<'a> {
    global: &'a GlobalSettings,
    printer: &'a Printer,
    access: Access,
    request_timeout: Option<Duration>,
    extra: Vec<Mirror>,
}

impl LocalStart<'_> {
    /// Starts it; `alone` when local state is all the command talks to, the one case where a
    /// person at a terminal is told, once a session, where that state lives.
    async fn announced(self, alone: bool) -> anyhow::Result<Backend> {
        let global = self.global;
        let timeout = global.request_timeout(self.request_timeout);
        let func_toml = global.func_toml_in_use()?;
        let local = start_local(
            global,
            self.printer,
            self.access,
            timeout,
            func_toml.as_deref(),
            self.extra,
        )
        .await?;
        announce(self.printer, &local, global.verbose, alone);
        Ok(Backend {
            client: local.client,
            verbose: global.verbose,
            func_toml,
            store: Some(local.store),
            local: Some(local.stop),
        })
    }
}

/// "Running locally (…)": always with `-v`; otherwise only to a person at a terminal, the first
/// time their session uses this state directory, and not for a command that talks to the
/// service too. Scripts and pipes are never told (their stderr is no terminal).
fn announce(printer: &Printer, local: &Local, verbose: bool, alone: bool) {
    // `-q` shows no status line, so it must not use up the session's one notice either.
    let told = verbose
        || (alone
            && !printer.quiet()
            && std::io::IsTerminal::is_terminal(&std::io::stderr())
            && crate::local::notice::first_in_session(&local.state_dir));
    if !told {
        return;
    }
    if local.fresh {
        printer.status(&format!(
            "Running locally (no emulator state yet; a write creates it in `{}`)",
            local.state_dir.display()
        ));
    } else {
        printer.status(&format!(
            "Running locally (emulator state in `{}`)",
            local.state_dir.display()
        ));
    }
}

/// The emulator started in this process over the local state, and a client connected to it.
struct Local {
    client: Client,
    store: Arc<Store>,
    stop: tokio::sync::oneshot::Sender<()>,
    state_dir: PathBuf,
    /// No state yet: a read runs on an empty in-memory store.
    fresh: bool,
}

/// Starts the emulator in this process over the local state and connects to it directly.
async fn start_local(
    global: &GlobalSettings,
    printer: &Printer,
    access: Access,
    timeout: Duration,
    func_toml: Option<&Path>,
    extra: Vec<Mirror>,
) -> anyhow::Result<Local> {
    let state_dir = local_state_dir(func_toml)?;
    let fresh = access == Access::Read && !state_dir.exists();
    let storage = if fresh {
        Storage::InMemory
    } else {
        prepare_state_dir(&state_dir)?;
        Storage::Dir(state_dir.clone())
    };
    let mut mirrors = local_mirrors(func_toml, printer);
    for mirror in extra {
        if !mirrors.iter().any(|known| known.id == mirror.id) {
            mirrors.push(mirror);
        }
    }
    // Instant: `--local` is for working, not for testing wait logic (`serve` has delays).
    let config = Config {
        storage,
        provision_delay: Duration::ZERO,
        delete_delay: Duration::ZERO,
        mirrors,
        ..Config::in_memory()
    };
    let emulator = Emulator::bind(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .context("cannot start the local emulator")?;
    let addr = emulator
        .local_addr()
        .context("cannot start the local emulator")?;
    let store = emulator.store();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(emulator.serve(async {
        let _ = stopped.await;
    }));
    let options = ClientOptions {
        direct: true,
        ..client_options(
            global,
            printer,
            timeout,
            emulator::base_url(addr),
            emulator::LOCAL_API_KEY.into(),
        )
    };
    Ok(Local {
        client: Client::new(options)?,
        store,
        stop,
        state_dir,
        fresh,
    })
}

/// A config file with a key that group or others can read gets the warning ssh gives.
pub(crate) fn warn_if_exposed(config: &crate::local::config_file::ConfigFile, printer: &Printer) {
    if config.exposed() {
        let path = config.path().display();
        printer.warn(&format!(
            "`{path}` holds an API key and can be read by other users; run `chmod 600 {path}`"
        ));
    }
}

/// Creates the state directory when it is missing, with a `.gitignore` of `*` so that its
/// database is never committed by accident.
pub(crate) fn prepare_state_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the state directory `{}`", dir.display()))?;
    std::fs::write(
        dir.join(".gitignore"),
        "# Written by telnyx-edge: local emulator data.\n*\n",
    )
    .with_context(|| format!("cannot write `{}`", dir.join(".gitignore").display()))
}

/// The client options every command uses: `--timeout` (or the override), `--retries`, and an
/// observer that shows `-v` traces and retry notices on stderr.
pub(crate) fn client_options(
    global: &GlobalSettings,
    printer: &Printer,
    timeout: Duration,
    base_url: String,
    token: String,
) -> ClientOptions {
    let verbose = global.verbose;
    let notices = !printer.quiet();
    ClientOptions {
        base_url,
        token,
        timeout,
        retries: global.retries,
        direct: false,
        observer: Some(Arc::new(move |event: &Event<'_>| {
            show_event(event, verbose, notices);
        })),
    }
}

/// `-v` traces (`> GET …`, `< HTTP/1.1 200 OK in …`) and `Retrying …` notices.
fn show_event(event: &Event<'_>, verbose: bool, notices: bool) {
    match event {
        Event::Sending { method, url, proxy } if verbose => {
            let via = proxy
                .map(|proxy| format!(" (via proxy {proxy})"))
                .unwrap_or_default();
            stderr_line(&format!("> {method} {url}{via}"));
            stderr_line("> authorization: Bearer [redacted]");
        }
        Event::Received {
            version,
            status,
            elapsed,
            request_id,
        } if verbose => {
            let id = request_id
                .map(|id| format!(" (request id {id})"))
                .unwrap_or_default();
            stderr_line(&format!(
                "< {version:?} {status} in {:.1}ms{id}",
                elapsed.as_secs_f64() * 1000.0
            ));
        }
        Event::Pacing {
            limit,
            period_secs,
            rate,
        } if verbose => {
            let per = match period_secs {
                1 => "second".to_owned(),
                secs => crate::text::duration(Duration::from_secs(*secs)),
            };
            let sending = if *rate < 10.0 {
                format!("{rate:.1}")
            } else {
                crate::text::thousands(rate.round() as u64)
            };
            stderr_line(&format!(
                "* The service allows {} request{} per {per}: sending {sending}/s",
                crate::text::thousands(u64::from(*limit)),
                plural(*limit)
            ));
        }
        Event::Retrying {
            method,
            delay,
            error,
            retry,
            retries,
            caller_reports,
        } if verbose || (notices && !caller_reports) => {
            stderr_line(&format!(
                "Retrying {method} in {:.1}s after: {error} (retry {retry} of {retries})",
                delay.as_secs_f64()
            ));
        }
        _ => {}
    }
}

/// `TELNYX_EDGE_STATE_DIR`, else the default place next to the `func.toml` in use: the same
/// place `storage kv serve` uses.
pub(crate) fn local_state_dir(func_toml: Option<&Path>) -> anyhow::Result<PathBuf> {
    let explicit = std::env::var_os(crate::env::STATE_DIR)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    Ok(project::state_dir(explicit.as_deref(), func_toml, &cwd))
}

/// The namespaces bound in `func.toml`, to exist locally under the same ids. A `func.toml`
/// that cannot be read only costs the mirrors, with a warning.
fn local_mirrors(func_toml: Option<&Path>, printer: &Printer) -> Vec<Mirror> {
    let Some(path) = func_toml.filter(|path| path.is_file()) else {
        return Vec::new();
    };
    match FuncToml::load(path) {
        Ok(toml) => mirrors(&toml, printer)
            .into_iter()
            .map(|(_, mirror)| mirror)
            .collect(),
        Err(err) => {
            printer.warn(&format!("{err}; its bindings are not mirrored locally"));
            Vec::new()
        }
    }
}

/// The local mirrors of a `func.toml`'s bindings, with their binding names: each binding's
/// namespace, with the same id, named after the binding (`MY_CACHE` → `my-cache`). Ids that are
/// not namespace UUIDs are skipped with a warning.
pub(crate) fn mirrors(toml: &FuncToml, printer: &Printer) -> Vec<(String, Mirror)> {
    let mut mirrors = Vec::new();
    for (binding, id) in toml.bindings() {
        if is_namespace_id(&id) {
            let mirror = Mirror {
                id: id.to_ascii_lowercase(),
                name: func_toml::name_for(&binding),
            };
            mirrors.push((binding, mirror));
        } else {
            printer.warn(&format!(
                "binding `{binding}` has id `{}`, which is not a namespace UUID; it is not mirrored locally",
                id.escape_debug()
            ));
        }
    }
    mirrors
}
