//! The one way the process stops on Ctrl-C (SIGINT) or SIGTERM.
//!
//! `main` starts [`watch`] before anything else: a thread of its own that waits for the
//! signals. A command that can stop cleanly (bulk work, `pull`, `push`, `wait`, `serve`, the
//! explorer) holds a [`Guard`] while it runs and watches the token ([`tripped`]); the first
//! signal then trips the token, and the command finishes what it must (requests in flight, a
//! summary, a failed file) and returns an error with exit 130, or for a server, ends as asked.
//! With no guard held, or on a second signal, `main`'s callback ends the process at once with
//! exit 130: nothing is left worth waiting for.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Token {
    tripped: AtomicBool,
    guards: AtomicUsize,
    handed_over: AtomicUsize,
    wake: tokio::sync::watch::Sender<bool>,
}

fn token() -> &'static Token {
    static TOKEN: OnceLock<Token> = OnceLock::new();
    TOKEN.get_or_init(|| Token {
        tripped: AtomicBool::new(false),
        guards: AtomicUsize::new(0),
        handed_over: AtomicUsize::new(0),
        wake: tokio::sync::watch::channel(false).0,
    })
}

/// While alive, the first Ctrl-C or SIGTERM trips the token instead of ending the process.
#[derive(Debug)]
pub(crate) struct Guard(());

impl Drop for Guard {
    fn drop(&mut self) {
        token().guards.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Claims the first signal for the caller (see the module notes).
pub(crate) fn guard() -> Guard {
    token().guards.fetch_add(1, Ordering::SeqCst);
    Guard(())
}

/// While alive, Ctrl-C and SIGTERM are left to a program run in the foreground (an editor),
/// as git does: the terminal sends Ctrl-C to both, and the editor decides what it means.
#[derive(Debug)]
pub(crate) struct HandOver(());

impl Drop for HandOver {
    fn drop(&mut self) {
        token().handed_over.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Leaves the signals to the foreground program until the returned value is dropped.
pub(crate) fn hand_over() -> HandOver {
    token().handed_over.fetch_add(1, Ordering::SeqCst);
    HandOver(())
}

/// Whether a signal has tripped the token.
pub(crate) fn is_tripped() -> bool {
    token().tripped.load(Ordering::SeqCst)
}

/// Resolves once a signal has tripped the token (at once if it already has).
pub(crate) async fn tripped() {
    let mut wake = token().wake.subscribe();
    if is_tripped() {
        return;
    }
    // The sender lives as long as the process, so `changed` only ends with a change.
    while wake.changed().await.is_ok() {
        if is_tripped() {
            return;
        }
    }
}

/// Trips the token, as a signal does.
fn trip() {
    let token = token();
    token.tripped.store(true, Ordering::SeqCst);
    token.wake.send_replace(true);
}

/// Starts the watcher thread: each Ctrl-C or SIGTERM trips the token while a guard is held and
/// it is not tripped yet; otherwise `exit` is called (by `main`, which alone ends the process).
/// Returns once the handlers are installed, so that no signal after it is missed.
pub(crate) fn watch(exit: fn()) {
    let (ready, installed) = std::sync::mpsc::sync_channel::<()>(1);
    let started = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let mut signals = Signals::install();
                let _ = ready.send(());
                loop {
                    signals.next().await;
                    if token().handed_over.load(Ordering::SeqCst) > 0 {
                        continue;
                    }
                    if is_tripped() || token().guards.load(Ordering::SeqCst) == 0 {
                        exit();
                    } else {
                        trip();
                    }
                }
            });
        });
    if started.is_ok() {
        // Without the thread, the signals keep their default: they end the process.
        let _ = installed.recv_timeout(std::time::Duration::from_secs(1));
    }
}

/// Ctrl-C and SIGTERM, listened for from the moment they are installed.
struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// The next Ctrl-C or SIGTERM.
    async fn next(&mut self) {
        #[cfg(unix)]
        {
            let interrupt = async {
                match &mut self.interrupt {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let terminate = async {
                match &mut self.terminate {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = interrupt => {}
                () = terminate => {}
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
/// Starts `command`'s process in a session of its own, with no controlling terminal: the
/// terminal's Ctrl-C and hang-up never reach it, and it cannot take the terminal over (an
/// interactive shell asked a question; a server that must outlive the terminal it started from).
#[cfg(unix)]
pub(crate) fn in_own_session(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: the hook runs in the child between fork and exec, where only async-signal-safe
    // calls are allowed; `setsid` is one, and nothing is allocated.
    unsafe {
        command.pre_exec(|| {
            rustix::process::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
}
