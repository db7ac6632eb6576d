//! The local emulator of the Telnyx KV API: the same REST API served from the user's machine,
//! backed by an embedded SQLite store.
//!
//! [`Emulator::bind`] starts it on any address; [`Background`] runs it on its own thread for
//! code that is not async (tests).

mod error;
mod handlers;
mod middleware;
pub mod store;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

pub use error::ErrorResponse;
use handlers::AppState;
pub use store::{Store, StoreError};

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
    /// Whether namespaces accept `ttl_secs` (the service answers 409 for those that do not).
    pub ttl_support: bool,
    /// Log one line per request on stderr.
    pub log_requests: bool,
    /// Namespaces created at start, ready, with these ids (bindings of `func.toml`), unless a
    /// namespace with the id exists.
    pub mirrors: Vec<Mirror>,
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
            ttl_support: true,
            log_requests: false,
            mirrors: Vec::new(),
        }
    }
}

/// The parts of [`Config`] that handlers read on every request.
pub struct Settings {
    pub provision_delay_ms: i64,
    pub delete_delay_ms: i64,
    pub fail_provision: Vec<String>,
    pub ttl_support: bool,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// RFC 3339 in UTC to the second, as the service writes it: `2026-06-18T14:48:17Z`.
pub fn timestamp(ms: i64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(time).to_string()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// An emulator bound to its address, ready to serve.
pub struct Emulator {
    listener: TcpListener,
    router: Router,
    store: Arc<Store>,
}

impl Emulator {
    /// Opens the store and binds `addr` (port 0 picks a free port).
    pub async fn bind(config: Config, addr: SocketAddr) -> Result<Self, BindError> {
        let storage = config.storage.clone();
        let mirrors = config.mirrors.clone();
        let store = tokio::task::spawn_blocking(move || {
            let store = match storage {
                Storage::Dir(dir) => Store::open_dir(&dir),
                Storage::InMemory => Store::open_in_memory(),
            }?;
            let now = now_ms();
            for mirror in &mirrors {
                let row = store::NamespaceRow {
                    id: mirror.id.clone(),
                    name: mirror.name.clone(),
                    created_ms: now,
                    ready_ms: now,
                    fail: false,
                    deleted_ms: None,
                    gone_ms: None,
                };
                store.ensure_namespace(&row, now)?;
            }
            Ok::<_, StoreError>(store)
        })
        .await
        .map_err(|_| BindError::StoreTask)??;
        let store = Arc::new(store);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| BindError::Listen { addr, source })?;
        let router = router(&config, Arc::clone(&store));
        Ok(Self {
            listener,
            router,
            store,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests finish
    /// (for at most a few seconds, so an idle keep-alive client cannot hold it open).
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let sweeper = tokio::spawn(sweep_forever(Arc::clone(&self.store), stop_rx.clone()));
        let mut stopped = stop_rx;
        let server = axum::serve(self.listener, self.router).with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let server = server.into_future();
        tokio::pin!(server);
        let result = tokio::select! {
            result = &mut server => result,
            _ = async {
                let _ = stopped.wait_for(|stop| *stop).await;
                tokio::time::sleep(Duration::from_secs(3)).await;
            } => Ok(()),
        };
        sweeper.abort();
        result
    }
}

/// Base URL (with `/v2`) under which clients reach an emulator listening on `addr`. An
/// unspecified address (`0.0.0.0`, `::`) is reached through loopback on this machine.
pub fn base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    format!("http://{}/v2", SocketAddr::new(ip, addr.port()))
}

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the storage task failed")]
    StoreTask,
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

fn router(config: &Config, store: Arc<Store>) -> Router {
    let state = Arc::new(AppState {
        store,
        settings: Settings {
            provision_delay_ms: millis(config.provision_delay),
            delete_delay_ms: millis(config.delete_delay),
            fail_provision: config.fail_provision.clone(),
            ttl_support: config.ttl_support,
        },
    });
    let api = Router::new()
        .route(
            "/storage/kvs",
            get(handlers::list_namespaces).post(handlers::create_namespace),
        )
        .route(
            "/storage/kvs/{id}",
            get(handlers::get_namespace).delete(handlers::delete_namespace),
        )
        .route("/storage/kvs/{id}/keys", get(handlers::list_keys))
        .route(
            "/storage/kvs/{id}/keys/{*key}",
            get(handlers::get_key)
                .put(handlers::put_key)
                .delete(handlers::delete_key),
        )
        .with_state(state);
    middleware::wrap(
        Router::new()
            .nest("/v2", api)
            .fallback(handlers::unknown_path),
        config,
    )
}

/// Checkpoints the write-ahead log four times a second and reclaims deleted namespaces and
/// expired keys once a second. Reads never depend on it.
async fn sweep_forever(store: Arc<Store>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut ticks: u64 = 0;
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        ticks += 1;
        let sweep = ticks.is_multiple_of(4);
        let store = Arc::clone(&store);
        // A failed sweep or checkpoint is retried on a later tick; the data stays correct
        // either way.
        let _ = tokio::task::spawn_blocking(move || {
            let _ = store.checkpoint();
            if sweep {
                let _ = store.sweep(now_ms());
            }
        })
        .await;
    }
}

/// An emulator running on a thread of its own with its own runtime, stopped when dropped.
pub struct Background {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Starts an emulator on `127.0.0.1:0`.
    pub fn start(config: Config) -> Result<Self, BackgroundError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(BackgroundError::Runtime)?;
        let emulator = runtime.block_on(Emulator::bind(
            config,
            SocketAddr::from(([127, 0, 0, 1], 0)),
        ))?;
        let addr = emulator.local_addr().map_err(BackgroundError::Runtime)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("kv-emulator".into())
            .spawn(move || {
                let _ = runtime.block_on(emulator.serve(async {
                    let _ = stopped.await;
                }));
            })
            .map_err(BackgroundError::Runtime)?;
        Ok(Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v2`
    pub fn base_url(&self) -> String {
        base_url(self.addr)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackgroundError {
    #[error("cannot start the emulator's runtime")]
    Runtime(#[source] std::io::Error),
    #[error(transparent)]
    Bind(#[from] BindError),
}
