//! Ctrl-C and SIGTERM as one future, for the commands that stop cleanly on either (`serve`,
//! bulk work).

/// Resolves on the next Ctrl-C (SIGINT) or SIGTERM. Once awaited, the signals no longer end
/// the process by themselves: the caller decides.
pub(crate) async fn interrupted() {
    let ctrl_c = async {
        // Without a Ctrl-C handler the default (immediate exit) still applies.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// [`interrupted`] with its handlers installed at once: a Ctrl-C that comes before the future
/// is awaited (right after a server prints its address, say) is kept, not the default exit.
pub(crate) async fn armed() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    let mut stop = Box::pin(interrupted());
    tokio::select! {
        biased;
        () = &mut stop => return Box::pin(std::future::ready(())),
        () = std::future::ready(()) => {}
    }
    stop
}
