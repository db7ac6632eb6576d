//! The local emulator of the Telnyx KV API: the same REST API served from the user's machine,
//! backed by an embedded SQLite store.
//!
//! [`Emulator::bind`] starts it on any address; [`Background`] runs it on its own thread for
//! code that is not async (tests).
//!
//! This file binds the address, accepts connections, routes the API and runs the sweeper; the
//! set-up is in `config`, one connection's life in `connection`, the counts in `stats`, the
//! handlers in `handlers` and what wraps them in `middleware`, the data in `store`.

mod background;
mod config;
mod connection;
mod error;
mod handlers;
mod middleware;
mod requests;
mod stats;
pub mod store;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

pub use crate::api::latency::Latency;
pub use background::{Background, BackgroundError};
pub use config::{AllowedHosts, Config, LOCAL_API_KEY, Mirror, Settings, Storage};
pub use connection::HEADER_READ;
use connection::{Ticks, WithPeer, connection_limit, raise_open_file_limit, serve_connection};
pub use error::ErrorResponse;
use handlers::AppState;
pub use requests::EmulatorInsight;
use requests::RequestRing;
pub use stats::{Stats, StatsSnapshot};
pub use store::{Store, StoreError};

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

/// An emulator bound to its address, ready to serve.
pub struct Emulator {
    listener: TcpListener,
    router: Router,
    store: Arc<Store>,
    stats: Arc<Stats>,
    ring: Arc<RequestRing>,
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
        let ring = Arc::new(RequestRing::default());
        let router = router(
            &config,
            Arc::clone(&store),
            Arc::clone(&stats),
            Arc::clone(&ring),
        );
        Ok(Self {
            listener,
            router,
            store,
            stats,
            ring,
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

    /// What it can tell the explorer beyond the API: expiries from its store, and the
    /// requests it answered lately.
    pub(crate) fn insight(&self) -> EmulatorInsight {
        EmulatorInsight {
            store: Arc::clone(&self.store),
            ring: Some(Arc::clone(&self.ring)),
        }
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

fn router(config: &Config, store: Arc<Store>, stats: Arc<Stats>, ring: Arc<RequestRing>) -> Router {
    let state = Arc::new(AppState {
        store,
        settings: Settings::of(config),
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
        ring,
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
