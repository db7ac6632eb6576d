//! Progress on stderr, drawn only for a person watching a terminal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::api::types::NamespaceStatus;
use crate::ui::Printer;

/// Waiting for a namespace: a spinner with its status on a terminal; otherwise one status line
/// on start and one on finish.
pub(crate) struct WaitSpinner {
    bar: Option<indicatif::ProgressBar>,
    printer: Printer,
}

impl WaitSpinner {
    pub(crate) fn start(printer: &Printer, name: &str, status: NamespaceStatus) -> Self {
        let bar = printer.animated().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} Waiting for namespace `{prefix}`: {msg} ({elapsed})",
            ) {
                bar.set_style(style);
            }
            bar.set_prefix(name.to_owned());
            bar.set_message(status.to_string());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        if bar.is_none() && status != NamespaceStatus::ProvisionOk {
            printer.status(&format!(
                "Waiting for namespace `{name}` to be ready ({status})"
            ));
        }
        Self {
            bar,
            printer: *printer,
        }
    }

    pub(crate) fn update(&self, status: NamespaceStatus) {
        if let Some(bar) = &self.bar {
            bar.set_message(status.to_string());
        }
    }

    pub(crate) fn finish(&mut self, message: &str) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.printer.status(message);
    }

    pub(crate) fn abandon(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Bulk progress: a bar with the total, percent and ETA when the total is known (or
/// estimated), else a spinner with the count and rate; drawn on a terminal, nothing otherwise
/// (the summary says the rest).
pub(crate) struct CountBar {
    bar: Option<indicatif::ProgressBar>,
    counts: Arc<Counts>,
}

impl CountBar {
    /// `total`: the items the run will deal with, when known ahead; `verb`: what became of an
    /// item done (`written`, `read`).
    pub(crate) fn new(printer: &Printer, total: Option<u64>, verb: &str) -> Self {
        let counts = Arc::new(Counts::default());
        if let Some(total) = total {
            counts.expect(total, false);
        }
        let bar = printer.animated().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            if let Ok(style) = indicatif::ProgressStyle::with_template("{line}") {
                let (counts, verb) = (Arc::clone(&counts), verb.to_owned());
                // The whole line is ours, so that what it says is tested as text.
                let style = style.with_key(
                    "line",
                    move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = w.write_str(&line(&verb, &counts.now(), state.elapsed()));
                    },
                );
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Self { bar, counts }
    }

    /// Whether a bar is drawn: a total worth finding out is one somebody sees.
    pub(crate) fn drawn(&self) -> bool {
        self.bar.is_some()
    }

    /// The counts the bar shows, for whoever learns the total as the run goes.
    pub(crate) fn counts(&self) -> Arc<Counts> {
        Arc::clone(&self.counts)
    }

    /// One item dealt with: `done` (written, read or deleted), or not, with the run's failed and
    /// skipped items so far.
    pub(crate) fn step(&self, done: bool, (failed, skipped): (u64, u64)) {
        self.counts.step(done, failed, skipped);
    }

    /// A `-v` line that does not tear the bar.
    pub(crate) fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| crate::ui::printer::stderr_line(text)),
            None => crate::ui::printer::stderr_line(text),
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// A warning that does not tear the bar.
    pub(crate) fn warn(&self, printer: &Printer, message: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| printer.warn(message)),
            None => printer.warn(message),
        }
    }
}

/// What a bulk run has dealt with and how much it expects, shared by the run (which counts) and
/// its bar (which draws them at each tick).
#[derive(Debug, Default)]
pub(crate) struct Counts {
    done: AtomicU64,
    failed: AtomicU64,
    skipped: AtomicU64,
    /// The items expected; 0 while unknown.
    total: AtomicU64,
    /// `total` is an estimate: the items read so far scaled to the input's size.
    estimated: AtomicBool,
}

impl Counts {
    /// The run expects `total` items (`estimated`: about that many).
    pub(crate) fn expect(&self, total: u64, estimated: bool) {
        self.estimated.store(estimated, Ordering::SeqCst);
        self.total.store(total, Ordering::SeqCst);
    }

    fn step(&self, done: bool, failed: u64, skipped: u64) {
        if done {
            self.done.fetch_add(1, Ordering::SeqCst);
        }
        self.failed.store(failed, Ordering::SeqCst);
        self.skipped.store(skipped, Ordering::SeqCst);
    }

    fn now(&self) -> Progress {
        let total = self.total.load(Ordering::SeqCst);
        Progress {
            done: self.done.load(Ordering::SeqCst),
            failed: self.failed.load(Ordering::SeqCst),
            skipped: self.skipped.load(Ordering::SeqCst),
            total: (total > 0).then(|| (total, self.estimated.load(Ordering::SeqCst))),
        }
    }
}

/// The counts at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Progress {
    pub done: u64,
    pub failed: u64,
    pub skipped: u64,
    /// The items expected, and whether that is an estimate.
    pub total: Option<(u64, bool)>,
}

/// Width of the bar between its brackets.
const BAR_WIDTH: u64 = 20;
/// The spinner's frames, one per 100 ms.
const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// The progress line of a run `elapsed` into it, where `verb` says what became of an item done:
/// `[=========>          ] 10,089/20,000 written (50%, 3,880/s, ETA 3s)` with a total
/// (`/~20,000` when estimated), `⠋ 10,089 written (3,880/s, 2s)` without; then
/// `; 2 failed, 1 skipped` when there are any.
pub(crate) fn line(verb: &str, progress: &Progress, elapsed: Duration) -> String {
    let count = crate::text::thousands;
    let secs = elapsed.as_secs_f64();
    let per_sec = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    let rate = count(per_sec(progress.done).round() as u64);
    let dealt = progress.done + progress.failed + progress.skipped;
    let mut text = match progress.total {
        Some((total, estimated)) => {
            // An estimate may fall short of what was already dealt with.
            let total = total.max(dealt);
            let filled = dealt * BAR_WIDTH / total.max(1);
            let head = if filled > 0 && filled < BAR_WIDTH {
                ">"
            } else {
                ""
            };
            let bar = format!(
                "[{}{head:<width$}]",
                "=".repeat((filled - u64::from(!head.is_empty())) as usize),
                width = (BAR_WIDTH - filled + u64::from(!head.is_empty())) as usize
            );
            let about = if estimated { "~" } else { "" };
            let percent = dealt * 100 / total.max(1);
            let eta = match per_sec(dealt) {
                speed if speed > 0.0 => {
                    let left = ((total - dealt) as f64 / speed).ceil() as u64;
                    format!(", ETA {}", whole_seconds(left))
                }
                _ => String::new(),
            };
            format!(
                "{bar} {}/{about}{} {verb} ({percent}%, {rate}/s{eta})",
                count(progress.done),
                count(total)
            )
        }
        None => {
            let frame = SPINNER[(elapsed.as_millis() / 100 % SPINNER.len() as u128) as usize];
            let took = whole_seconds(elapsed.as_secs());
            format!("{frame} {} {verb} ({rate}/s, {took})", count(progress.done))
        }
    };
    let mut counts = Vec::new();
    if progress.failed > 0 {
        counts.push(format!("{} failed", count(progress.failed)));
    }
    if progress.skipped > 0 {
        counts.push(format!("{} skipped", count(progress.skipped)));
    }
    if !counts.is_empty() {
        text.push_str("; ");
        text.push_str(&counts.join(", "));
    }
    text
}

/// `0s`, `3s`, `1m 5s`: whole seconds, as a progress line counts them.
fn whole_seconds(secs: u64) -> String {
    if secs == 0 {
        return "0s".to_owned();
    }
    crate::text::duration(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(done: u64, failed: u64, skipped: u64, total: Option<(u64, bool)>) -> Progress {
        Progress {
            done,
            failed,
            skipped,
            total,
        }
    }

    #[test]
    fn a_known_total_draws_a_bar_with_percent_rate_and_eta() {
        let secs = Duration::from_secs;
        assert_eq!(
            line("written", &at(10_089, 0, 0, Some((20_000, false))), secs(2)),
            "[=========>          ] 10,089/20,000 written (50%, 5,045/s, ETA 2s)"
        );
        assert_eq!(
            line("read", &at(0, 0, 0, Some((1_000, false))), Duration::ZERO),
            "[                    ] 0/1,000 read (0%, 0/s)"
        );
        assert_eq!(
            line("deleted", &at(1_000, 0, 0, Some((1_000, false))), secs(4)),
            "[====================] 1,000/1,000 deleted (100%, 250/s, ETA 0s)"
        );
        assert_eq!(
            line("copied", &at(30, 0, 0, Some((7_230, false))), secs(60)),
            "[                    ] 30/7,230 copied (0%, 1/s, ETA 4h)"
        );
        // Failed and skipped items count towards the bar and the ETA, not the number done.
        assert_eq!(
            line("written", &at(90, 8, 2, Some((200, false))), secs(10)),
            "[=========>          ] 90/200 written (50%, 9/s, ETA 10s); 8 failed, 2 skipped"
        );
    }

    #[test]
    fn an_estimated_total_says_so_and_never_falls_short() {
        assert_eq!(
            line(
                "written",
                &at(2_500, 0, 0, Some((10_000, true))),
                Duration::from_secs(1)
            ),
            "[====>               ] 2,500/~10,000 written (25%, 2,500/s, ETA 3s)"
        );
        assert_eq!(
            line(
                "written",
                &at(120, 0, 0, Some((100, true))),
                Duration::from_secs(1)
            ),
            "[====================] 120/~120 written (100%, 120/s, ETA 0s)"
        );
    }

    #[test]
    fn without_a_total_a_spinner_counts_with_the_rate_and_the_time_taken() {
        assert_eq!(
            line(
                "written",
                &at(10_089, 0, 0, None),
                Duration::from_millis(2_600)
            ),
            "⠦ 10,089 written (3,880/s, 2s)"
        );
        assert_eq!(
            line("read", &at(0, 1, 0, None), Duration::ZERO),
            "⠋ 0 read (0/s, 0s); 1 failed"
        );
        assert_eq!(
            line("written", &at(7, 0, 3, None), Duration::from_secs(65)),
            "⠋ 7 written (0/s, 1m 5s); 3 skipped"
        );
    }

    #[test]
    fn counts_share_what_the_run_learns_with_the_bar() {
        let counts = Counts::default();
        assert_eq!(counts.now(), at(0, 0, 0, None));
        counts.step(true, 0, 0);
        counts.step(false, 1, 0);
        counts.expect(40, true);
        assert_eq!(counts.now(), at(1, 1, 0, Some((40, true))));
        counts.expect(2, false);
        assert_eq!(counts.now().total, Some((2, false)));
    }
}
