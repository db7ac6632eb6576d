//! Why a bulk run stops: the error budget (`--max-errors`), Ctrl-C or SIGTERM, and how long an
//! interrupted run goes on reading an input that may stall.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::mpsc;

use crate::client::Client;
use crate::text::plural;
use crate::ui::printer::stderr_line;

/// Why a run stops, shared by the reader, the workers, the collector and the signal watcher.
#[derive(Debug)]
pub(crate) struct Budget {
    max_errors: Option<u64>,
    failed: AtomicU64,
    /// 0: running; [`BUDGET_SPENT`]; [`INTERRUPTED`].
    stop: AtomicU8,
    /// A `--prefix` listing ended early because of the stop: keys after it were never listed.
    unlisted: AtomicBool,
    /// An interrupted run stopped waiting for an input that sent nothing more.
    unread: AtomicBool,
    /// Turns true on Ctrl-C or SIGTERM, for whoever waits on something else meanwhile.
    interrupts: tokio::sync::watch::Sender<bool>,
    /// When the first Ctrl-C or SIGTERM came.
    interrupted_at: std::sync::OnceLock<Instant>,
}

const BUDGET_SPENT: u8 = 1;
const INTERRUPTED: u8 = 2;

impl Budget {
    pub(crate) fn new(max_errors: Option<u64>) -> Arc<Self> {
        Arc::new(Self {
            max_errors,
            failed: AtomicU64::new(0),
            stop: AtomicU8::new(0),
            unlisted: AtomicBool::new(false),
            unread: AtomicBool::new(false),
            interrupts: tokio::sync::watch::Sender::new(false),
            interrupted_at: std::sync::OnceLock::new(),
        })
    }

    /// Counts a failed item; the one that spends the budget stops the run.
    pub(super) fn fail(&self) {
        let failed = self.failed.fetch_add(1, Ordering::SeqCst) + 1;
        if self.max_errors.is_some_and(|max| failed >= max) {
            let _ = self
                .stop
                .compare_exchange(0, BUDGET_SPENT, Ordering::SeqCst, Ordering::SeqCst);
        }
    }

    pub(super) fn interrupt(&self) {
        self.interrupted_at.get_or_init(Instant::now);
        self.stop.store(INTERRUPTED, Ordering::SeqCst);
        self.interrupts.send_replace(true);
    }

    /// Whether an interrupted run has read its input for as long as it may: an input that
    /// keeps trickling in must not keep it alive either.
    fn reading_overdue(&self) -> bool {
        self.interrupted_at
            .get()
            .is_some_and(|at| at.elapsed() >= READING_AFTER_STOP)
    }

    /// The next message from an input's side of the run. After Ctrl-C or SIGTERM, an input
    /// that `may_stall` (a pipe or FIFO) is given up on once it has sent nothing for
    /// [`QUIET_STEPS`] steps of [`QUIET_STEP`], or is still sending [`READING_AFTER_STOP`]
    /// after the interrupt, and only when `settled` says nothing read from it is still on its
    /// way; the summary then says the input was not read to its end.
    pub(super) async fn receive<T>(
        &self,
        receiver: &mut mpsc::Receiver<T>,
        may_stall: bool,
        settled: impl Fn() -> bool,
    ) -> Received<T> {
        let received = |message: Option<T>| message.map_or(Received::End, Received::Next);
        if !may_stall {
            return received(receiver.recv().await);
        }
        let mut silent = 0;
        loop {
            if !self.interrupted() {
                tokio::select! {
                    message = receiver.recv() => return received(message),
                    () = self.until_interrupted() => continue,
                }
            }
            if self.reading_overdue() {
                match receiver.try_recv() {
                    Ok(message) => return Received::Next(message),
                    Err(mpsc::error::TryRecvError::Disconnected) => return Received::End,
                    Err(mpsc::error::TryRecvError::Empty) if settled() => break,
                    Err(mpsc::error::TryRecvError::Empty) => {}
                }
            }
            match tokio::time::timeout(QUIET_STEP, receiver.recv()).await {
                Ok(message) => return received(message),
                Err(_) => silent += 1,
            }
            if silent >= QUIET_STEPS && settled() {
                break;
            }
        }
        self.unread.store(true, Ordering::SeqCst);
        Received::GaveUp
    }

    /// A `--prefix` listing ends early because the run stopped.
    pub(super) fn stop_listing(&self) {
        self.unlisted.store(true, Ordering::SeqCst);
    }

    /// Whether a `--prefix` listing ended early.
    pub(super) fn unlisted(&self) -> bool {
        self.unlisted.load(Ordering::SeqCst)
    }

    /// Whether an interrupted run stopped waiting for its input.
    pub(super) fn unread(&self) -> bool {
        self.unread.load(Ordering::SeqCst)
    }

    /// Resolves once the run is interrupted.
    async fn until_interrupted(&self) {
        let mut interrupts = self.interrupts.subscribe();
        let _ = interrupts.wait_for(|&interrupted| interrupted).await;
    }

    /// The client for this run: its requests stop retrying once the run stops.
    pub(super) fn client(self: &Arc<Self>, client: &Client) -> Client {
        let budget = Arc::clone(self);
        client.cancelled_by(Arc::new(move || budget.stopped()))
    }

    pub(super) fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst) != 0
    }

    pub(super) fn interrupted(&self) -> bool {
        self.stop.load(Ordering::SeqCst) == INTERRUPTED
    }

    /// Why an item was not sent, for the failed file.
    pub(super) fn reason(&self) -> String {
        if self.interrupted() {
            return "not sent: the run was interrupted".into();
        }
        let max = self.max_errors.unwrap_or_default();
        format!(
            "not sent: the run stopped after {max} failed item{} (`--max-errors`)",
            plural(max)
        )
    }
}

/// Until the run ends: the first Ctrl-C (or SIGTERM) stops issuing requests and lets the run
/// finish its summary and failed file; a second one quits at once (`signals`).
pub(crate) struct SignalWatch {
    task: tokio::task::JoinHandle<()>,
    _guard: crate::signals::Guard,
}

impl SignalWatch {
    /// The run is over: a signal from now on is no longer its affair.
    pub(crate) fn abort(&self) {
        self.task.abort();
    }
}

impl Drop for SignalWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Watches the stop token for the run of `budget`.
pub(crate) fn watch_signals(budget: &Arc<Budget>) -> SignalWatch {
    let budget = Arc::clone(budget);
    let guard = crate::signals::guard();
    let task = tokio::spawn(async move {
        crate::signals::tripped().await;
        budget.interrupt();
        stderr_line(
            "Stopping: finishing the requests in flight and writing the summary (Ctrl-C again quits at once)",
        );
    });
    SignalWatch {
        task,
        _guard: guard,
    }
}

/// How long an interrupted run goes on reading its input into the failed file at most.
const READING_AFTER_STOP: std::time::Duration = std::time::Duration::from_secs(10);

/// How long an interrupted run waits for an input that sends nothing: [`QUIET_STEPS`] steps
/// of [`QUIET_STEP`].
const QUIET_STEP: std::time::Duration = std::time::Duration::from_millis(250);
const QUIET_STEPS: u32 = 8;

/// What [`Budget::receive`] got.
pub(super) enum Received<T> {
    Next(T),
    /// The input ended.
    End,
    /// An interrupted run stopped waiting for an input that may never end.
    GaveUp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_stops_at_max_errors_and_says_why() {
        let budget = Budget::new(Some(2));
        budget.fail();
        assert!(!budget.stopped());
        budget.fail();
        assert!(budget.stopped() && !budget.interrupted());
        assert_eq!(
            budget.reason(),
            "not sent: the run stopped after 2 failed items (`--max-errors`)"
        );
        budget.interrupt();
        assert_eq!(budget.reason(), "not sent: the run was interrupted");
        let unlimited = Budget::new(None);
        for _ in 0..1000 {
            unlimited.fail();
        }
        assert!(!unlimited.stopped());
    }
}
