//! The API a command talks to: the service with the resolved credentials, or with `--local` the
//! embedded emulator started in-process over the project's state directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;

use crate::api::{Client, ClientOptions};
use crate::cli::GlobalArgs;
use crate::emulator::{self, Config, Emulator, Storage};
use crate::printer::Printer;
use crate::settings::{self, Env};

/// The token the client sends to the in-process emulator, which accepts any.
const LOCAL_TOKEN: &str = "KEYlocal";

/// A connected client, and the local emulator behind it when `--local`.
pub struct Session {
    pub client: Client,
    /// The `func.toml` in use: `--func-toml`, else the nearest (which may not exist).
    pub func_toml: Option<PathBuf>,
    local: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Session {
    /// Connects as `global` says. `request_timeout` overrides `--timeout` for commands that
    /// give that flag another meaning (`wait`).
    pub async fn open(
        global: &GlobalArgs,
        printer: &Printer,
        request_timeout: Option<Duration>,
    ) -> anyhow::Result<Self> {
        let timeout = request_timeout
            .or(global.timeout)
            .unwrap_or(settings::DEFAULT_TIMEOUT);
        let options = |base_url: String, token: String, direct: bool| ClientOptions {
            base_url,
            token,
            timeout,
            retries: global.retries,
            verbose: global.verbose,
            announce_retries: !printer.quiet,
            direct,
        };
        let cwd = std::env::current_dir().context("cannot read the working directory")?;
        let func_toml = crate::project::func_toml_path(global.func_toml.as_deref(), &cwd);
        if global.local {
            let state_dir = local_state_dir(func_toml.as_deref())?;
            let config = Config {
                storage: Storage::Dir(state_dir.clone()),
                provision_delay: Duration::from_secs(1),
                delete_delay: Duration::from_secs(1),
                mirrors: local_mirrors(func_toml.as_deref(), printer),
                ..Config::in_memory()
            };
            let emulator = Emulator::bind(config, SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .context("cannot start the local emulator")?;
            let addr = emulator
                .local_addr()
                .context("cannot start the local emulator")?;
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(emulator.serve(async {
                let _ = stopped.await;
            }));
            printer.status(&format!(
                "Running locally (emulator state in `{}`)",
                state_dir.display()
            ));
            let client = Client::new(options(emulator::base_url(addr), LOCAL_TOKEN.into(), true))?;
            return Ok(Self {
                client,
                func_toml,
                local: Some(stop),
            });
        }
        let env = Env::from_process();
        let config = settings::load_config(&env)?;
        let remote = settings::remote(global, &env, &config)?;
        let credential = remote
            .credential
            .ok_or_else(settings::missing_credentials)?;
        let client = Client::new(options(remote.base_url, credential.token, false))?;
        Ok(Self {
            client,
            func_toml,
            local: None,
        })
    }

    pub fn is_local(&self) -> bool {
        self.local.is_some()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(stop) = self.local.take() {
            let _ = stop.send(());
        }
    }
}

/// `TELNYX_EDGE_STATE_DIR`, else `.telnyx-edge/state/` next to the `func.toml` in use, else in
/// the working directory: the same place `storage kv serve` uses.
pub fn local_state_dir(func_toml: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("TELNYX_EDGE_STATE_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    match func_toml.filter(|path| path.is_file()) {
        Some(path) => Ok(crate::project::state_dir_beside(path)),
        None => {
            let cwd = std::env::current_dir().context("cannot read the working directory")?;
            Ok(crate::project::default_state_dir(&cwd))
        }
    }
}

/// The namespaces bound in `func.toml`, to exist locally under the same ids. A `func.toml`
/// that cannot be read only costs the mirrors, with a warning.
fn local_mirrors(func_toml: Option<&Path>, printer: &Printer) -> Vec<emulator::Mirror> {
    let Some(path) = func_toml.filter(|path| path.is_file()) else {
        return Vec::new();
    };
    match crate::func_toml::FuncToml::load(path) {
        Ok(toml) => {
            let (mirrors, warnings) = crate::project::mirrors(&toml.bindings());
            for warning in warnings {
                printer.warn(&warning);
            }
            mirrors
        }
        Err(err) => {
            printer.warn(&format!("{err}; its bindings are not mirrored locally"));
            Vec::new()
        }
    }
}
