//! One accepted connection, served over HTTP/1 or HTTP/2 until it goes idle or the emulator
//! stops, each request told its peer; and the open-file limit that bounds how many are served
//! at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;

/// How long a connection may send nothing: before its first request, inside one (headers
/// half sent) or between requests.
pub const HEADER_READ: Duration = Duration::from_secs(10);

/// Connections served at once: well under the open-file limit, which [`super::Emulator::bind`]
/// raises to its hard maximum first.
pub(super) fn connection_limit() -> usize {
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
pub(super) fn raise_open_file_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

#[cfg(not(unix))]
pub(super) fn raise_open_file_limit() {}

/// A coarse clock for idle checks: a tick every 500 ms from one task, so that noting activity
/// costs a relaxed atomic load and store, not a timer per request (hyper's per-request header
/// timer cost a quarter of the throughput).
#[derive(Clone)]
pub(super) struct Ticks(Arc<std::sync::atomic::AtomicU64>);

const TICK: Duration = Duration::from_millis(500);

impl Ticks {
    pub(super) fn start() -> (Self, tokio::task::JoinHandle<()>) {
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
pub(super) struct WithPeer {
    pub(super) router: Router,
    pub(super) peer: SocketAddr,
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

pub(super) async fn serve_connection(
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
