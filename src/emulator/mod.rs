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

pub use crate::api::latency::Latency;
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

/// What an emulator has answered since it started, counted as requests come and go; read it
/// with [`Stats::snapshot`].
#[derive(Debug, Default)]
pub struct Stats {
    requests: std::sync::atomic::AtomicU64,
    rate_limited: std::sync::atomic::AtomicU64,
    in_flight: std::sync::atomic::AtomicU64,
    peak_in_flight: std::sync::atomic::AtomicU64,
}

/// [`Stats`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StatsSnapshot {
    /// Requests answered.
    pub requests: u64,
    /// Of those, the ones answered 429.
    pub rate_limited: u64,
    /// The most requests that were being answered at once (a delay of `--latency` included).
    pub peak_in_flight: u64,
}

impl Stats {
    pub fn snapshot(&self) -> StatsSnapshot {
        use std::sync::atomic::Ordering::Relaxed;
        StatsSnapshot {
            requests: self.requests.load(Relaxed),
            rate_limited: self.rate_limited.load(Relaxed),
            peak_in_flight: self.peak_in_flight.load(Relaxed),
        }
    }

    /// Counts a request in flight until the guard is dropped (answered, or its connection
    /// gone).
    fn begin(&self) -> InFlight<'_> {
        use std::sync::atomic::Ordering::Relaxed;
        let now = self.in_flight.fetch_add(1, Relaxed) + 1;
        self.peak_in_flight.fetch_max(now, Relaxed);
        InFlight(self)
    }
}

/// A request being answered; see [`Stats::begin`].
struct InFlight<'a>(&'a Stats);

impl InFlight<'_> {
    fn answered(self, status: u16) {
        use std::sync::atomic::Ordering::Relaxed;
        self.0.requests.fetch_add(1, Relaxed);
        if status == 429 {
            self.0.rate_limited.fetch_add(1, Relaxed);
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
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
    stats: Arc<Stats>,
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
        raise_open_file_limit();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| BindError::Listen { addr, source })?;
        let stats = Arc::new(Stats::default());
        let router = router(&config, Arc::clone(&store), Arc::clone(&stats));
        Ok(Self {
            listener,
            router,
            store,
            stats,
        })
    }

    /// Serves `front` ahead of the API: its routes first, everything else as before. The
    /// explorer is added this way, with guards of its own (the API's middleware stays the
    /// API's).
    pub(crate) fn with_front(mut self, front: Router) -> Self {
        self.router = front.fallback_service(self.router);
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The store it serves, for reads a command makes in-process (`pull`'s digests).
    pub(crate) fn store(&self) -> Arc<Store> {
        Arc::clone(&self.store)
    }

    /// The counts of what it answers, live.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    /// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests finish
    /// (for at most a few seconds, so an idle keep-alive client cannot hold it open).
    ///
    /// Clients cannot lock it out: a connection that sends nothing, or only part of a request's
    /// headers, or idles between requests, is closed after [`HEADER_READ`]; at most
    /// [`connection_limit`] connections are open at once, and one more is closed at once rather
    /// than left to wait.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let sweeper = tokio::spawn(sweep_forever(Arc::clone(&self.store), stop_rx.clone()));
        let slots = Arc::new(tokio::sync::Semaphore::new(connection_limit()));
        let (ticks, ticker) = Ticks::start();
        let mut connections = tokio::task::JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                // Out of descriptors, say: wait for some to close rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let service = hyper_util::service::TowerToHyperService::new(WithPeer {
                router: self.router.clone(),
                peer,
            });
            let stop = stop_rx.clone();
            connections.spawn(serve_connection(stream, service, stop, ticks.clone(), slot));
            // Finished connections are reaped as they go, so the set stays small.
            while connections.try_join_next().is_some() {}
        }
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(3), async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        connections.abort_all();
        ticker.abort();
        sweeper.abort();
        Ok(())
    }
}

/// How long a connection may send nothing: before its first request, inside one (headers
/// half sent) or between requests.
pub const HEADER_READ: Duration = Duration::from_secs(10);

/// Connections served at once: well under the open-file limit, which [`Emulator::bind`]
/// raises to its hard maximum first.
fn connection_limit() -> usize {
    let soft = open_file_limit().unwrap_or(1024);
    usize::try_from(soft.saturating_sub(128).clamp(64, 16_384)).unwrap_or(1024)
}

#[cfg(unix)]
fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
fn open_file_limit() -> Option<u64> {
    None
}

/// Raises the soft limit on open files to the hard one, as servers do: each connection costs a
/// descriptor, and the default soft limit (often 1,024) is easily reached.
#[cfg(unix)]
fn raise_open_file_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

#[cfg(not(unix))]
fn raise_open_file_limit() {}

/// A coarse clock for idle checks: a tick every 500 ms from one task, so that noting activity
/// costs a relaxed atomic load and store, not a timer per request (hyper's per-request header
/// timer cost a quarter of the throughput).
#[derive(Clone)]
struct Ticks(Arc<std::sync::atomic::AtomicU64>);

const TICK: Duration = Duration::from_millis(500);

impl Ticks {
    fn start() -> (Self, tokio::task::JoinHandle<()>) {
        let ticks = Self(Arc::new(std::sync::atomic::AtomicU64::new(0)));
        let counter = Arc::clone(&ticks.0);
        let task = tokio::spawn(async move {
            let mut interval = tokio::time::interval(TICK);
            loop {
                interval.tick().await;
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
        (ticks, task)
    }

    fn now(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A stream that notes, on the shared clock, when it last read anything.
struct Noted<S> {
    inner: S,
    ticks: Ticks,
    last: Arc<std::sync::atomic::AtomicU64>,
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Noted<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            let now = self.ticks.now();
            self.last.store(now, std::sync::atomic::Ordering::Relaxed);
        }
        polled
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Noted<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Resolves once the connection has read nothing for [`HEADER_READ`], checking every tick or
/// so: one timer per connection, whatever the number of requests.
async fn idle_for_too_long(ticks: Ticks, last: Arc<std::sync::atomic::AtomicU64>) {
    let limit = u64::try_from(HEADER_READ.as_millis() / TICK.as_millis()).unwrap_or(20);
    loop {
        tokio::time::sleep(TICK * 2).await;
        let seen = last.load(std::sync::atomic::Ordering::Relaxed);
        if ticks.now().saturating_sub(seen) >= limit {
            return;
        }
    }
}

/// The router, telling each request its peer as axum's `ConnectInfo` (the explorer answers
/// loopback peers only).
#[derive(Clone)]
struct WithPeer {
    router: Router,
    peer: SocketAddr,
}

impl tower::Service<http::Request<hyper::body::Incoming>> for WithPeer {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = <Router as tower::Service<http::Request<hyper::body::Incoming>>>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        tower::Service::<http::Request<hyper::body::Incoming>>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, mut req: http::Request<hyper::body::Incoming>) -> Self::Future {
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(self.peer));
        self.router.call(req)
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    service: hyper_util::service::TowerToHyperService<WithPeer>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    ticks: Ticks,
    _slot: tokio::sync::OwnedSemaphorePermit,
) {
    // A connection that reads nothing for `HEADER_READ` (nothing sent, half a header, an idle
    // keep-alive) is closed.
    let last = Arc::new(std::sync::atomic::AtomicU64::new(ticks.now()));
    let idle = idle_for_too_long(ticks.clone(), Arc::clone(&last));
    let stream = Noted {
        inner: stream,
        ticks,
        last,
    };
    let mut builder =
        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(HEADER_READ)
        .keep_alive_timeout(HEADER_READ);
    let connection =
        builder.serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(stream), service);
    tokio::pin!(connection);
    let stopping = async move {
        // The guard `wait_for` returns is dropped here, not held across the await below.
        let _ = stop.wait_for(|stop| *stop).await.map(|_| ());
    };
    tokio::select! {
        _ = connection.as_mut() => {}
        () = idle => {}
        () = stopping => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
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

fn router(config: &Config, store: Arc<Store>, stats: Arc<Stats>) -> Router {
    let state = Arc::new(AppState {
        store,
        settings: Settings {
            provision_delay_ms: millis(config.provision_delay),
            delete_delay_ms: millis(config.delete_delay),
            fail_provision: config.fail_provision.clone(),
            ttl_support: config.ttl_support,
            clock_offset_ms: config.clock_offset_ms,
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
        stats,
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
    stats: Arc<Stats>,
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
        let stats = emulator.stats();
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
            stats,
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

    /// What it has answered so far.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
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
