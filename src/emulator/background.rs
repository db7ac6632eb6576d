//! An emulator on a thread of its own, for code that is not async (tests).

use std::net::SocketAddr;
use std::sync::Arc;

use super::{BindError, Config, Emulator, Stats, StatsSnapshot, base_url};

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
