//! The tally of a bulk run: counts its outcomes, draws its progress, warns about the first few
//! failures and hands what was not done to the failed file.

use std::sync::Arc;
use std::time::Instant;

use super::budget::Budget;
use super::failed_file::{FailedFile, FailedLine};
use super::run::{Options, Summary};
use super::window::Window;
use crate::client::Client;
use crate::error::Exit;
use crate::text::plural;
use crate::ui::printer::Printer;
use crate::ui::progress::{CountBar, Counts};

/// Failed-item warnings shown in full before the rest are only counted.
const SHOWN_FAILURES: u64 = 10;

/// Counts a run's outcomes, draws its progress and writes its failed file.
pub(super) struct Tally<'a> {
    printer: &'a Printer,
    progress: CountBar,
    pub(super) window: Arc<Window>,
    /// The client's count of 429/503 when the run began.
    throttled_before: u64,
    pressure: crate::client::Pressure,
    failed_file: FailedFile,
    pub(super) budget: Arc<Budget>,
    summary: Summary,
    start: Instant,
    /// Items whose key appeared earlier in the input.
    duplicates: u64,
}

impl<'a> Tally<'a> {
    pub(super) fn new(
        printer: &'a Printer,
        options: &Options,
        budget: &Arc<Budget>,
        client: &Client,
        total: Option<u64>,
        verb: &str,
    ) -> anyhow::Result<Self> {
        let pressure = client.pressure();
        let window = Window::new(options.ceiling, pressure.clone(), options.verbose);
        Ok(Self {
            printer,
            progress: CountBar::new(printer, total, verb),
            window,
            throttled_before: pressure.throttled(),
            pressure,
            failed_file: FailedFile::new(options.failed_file.clone())?,
            budget: Arc::clone(budget),
            summary: Summary::default(),
            start: Instant::now(),
            duplicates: 0,
        })
    }

    /// An item of `key` written (or read, or deleted): an earlier item of the same key that
    /// failed leaves the failed file, since this one is the key's latest.
    pub(super) fn done(&mut self, key: &str) {
        self.summary.done += 1;
        self.summary.superseded += self.failed_file.written(key);
        self.step(true);
    }

    /// An item left alone on purpose (its target changed since the plan): shown as progress.
    pub(super) fn left_alone(&mut self) {
        self.step(true);
    }

    /// A key no request can address: listed in the failed file once, not counted as a failure,
    /// so it spends no error budget.
    pub(super) fn uncopyable(&mut self, key: &str, origin: &str) -> anyhow::Result<()> {
        self.summary.uncopyable += 1;
        let error = format!(
            "key `{key}` cannot be copied: no request can address it (rename it with a client that can)"
        );
        self.keep_in_failed_file(&FailedLine::about(Some(key), origin, &error), false)
    }

    pub(super) fn vanished(&mut self) {
        self.summary.vanished += 1;
        self.step(true);
    }

    /// An item never sent; it goes to the failed file.
    pub(super) fn skipped(&mut self, line: &FailedLine<'_>) -> anyhow::Result<()> {
        self.summary.skipped += 1;
        self.keep_in_failed_file(line, false)?;
        self.step(false);
        Ok(())
    }

    /// Adds `line` to the failed file, where an item's line replaces the earlier lines of its
    /// key (a bad line, `invalid`, replaces none).
    fn keep_in_failed_file(&mut self, line: &FailedLine<'_>, invalid: bool) -> anyhow::Result<()> {
        self.summary.superseded += self.failed_file.write(line, invalid)?;
        Ok(())
    }

    /// Counts one item on the progress line, and shows the window's changes (`-v`).
    fn step(&self, done: bool) {
        let counts = (self.summary.failed, self.summary.skipped);
        self.progress.step(done, counts);
        for note in self.window.take_notes() {
            self.progress.line(&note);
        }
    }

    /// The counts the progress line shows, for a run that learns its total as it goes.
    pub(super) fn counts(&self) -> Arc<Counts> {
        self.progress.counts()
    }

    /// Whether a progress line is drawn (a person watches a terminal).
    pub(super) fn drawn(&self) -> bool {
        self.progress.drawn()
    }

    pub(super) fn warn(&self, message: &str) {
        self.progress.warn(self.printer, message);
    }

    /// A failed item: counted, reported on stderr (the first few), written to the failed file
    /// file. `invalid` when no request was made for it.
    pub(super) fn failed(
        &mut self,
        line: &FailedLine<'_>,
        exit: Exit,
        invalid: bool,
    ) -> anyhow::Result<()> {
        self.summary.failed += 1;
        if invalid {
            self.summary.invalid += 1;
        }
        self.summary.exit.get_or_insert(exit);
        if self.summary.failed <= SHOWN_FAILURES {
            // A bad line's error names its key already.
            let shown = line
                .key
                .filter(|_| !invalid)
                .map(|key| format!("key `{key}`: "))
                .unwrap_or_default();
            self.warn(&format!("{}: {shown}{}", line.origin, line.error));
        }
        self.keep_in_failed_file(line, invalid)?;
        self.step(false);
        Ok(())
    }

    /// An item whose key appeared earlier in the input: the first few are named.
    pub(super) fn duplicate(&mut self, origin: &str, key: &str) {
        self.duplicates += 1;
        if self.duplicates <= SHOWN_FAILURES {
            self.warn(&format!(
                "{origin}: key `{key}` appeared earlier in the input; the last one wins"
            ));
        }
    }

    pub(super) fn finish(self) -> anyhow::Result<Summary> {
        for note in self.window.take_notes() {
            self.progress.line(&note);
        }
        self.progress.finish();
        self.failed_file.finish()?;
        let mut summary = self.summary;
        if summary.failed > SHOWN_FAILURES {
            self.printer.warn(&format!(
                "{} more items failed; they are not shown one by one",
                summary.failed - SHOWN_FAILURES
            ));
        }
        if self.duplicates > SHOWN_FAILURES {
            let more = self.duplicates - SHOWN_FAILURES;
            self.printer.warn(&format!(
                "{more} more item{} had a key that appeared earlier in the input; the last one of each key wins",
                plural(more)
            ));
        }
        summary.seconds = self.start.elapsed().as_secs_f64();
        summary.interrupted = self.budget.interrupted();
        summary.unlisted = self.budget.unlisted();
        summary.unread = self.budget.unread();
        summary.throttled = self.pressure.throttled() - self.throttled_before;
        summary.window = self.window.summary();
        Ok(summary)
    }

    /// A bad input line (no request made): `key` when it has a valid one, so that it takes
    /// part in the one-line-per-key rule of the failed file.
    pub(super) fn bad(
        &mut self,
        origin: &str,
        error: &str,
        input: Option<&str>,
        key: Option<&str>,
    ) -> anyhow::Result<()> {
        let line = FailedLine {
            input,
            ..FailedLine::about(key, origin, error)
        };
        self.failed(&line, Exit::Failure, true)
    }
}
