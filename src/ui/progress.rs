//! Progress on stderr, drawn only for a person watching a terminal.

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

/// Bulk progress: a bar (or, with no total, a counter) on a terminal, nothing otherwise (the
/// summary says the rest).
pub(crate) struct CountBar {
    bar: Option<indicatif::ProgressBar>,
}

impl CountBar {
    /// `window`: the requests in flight the run allows at first.
    pub(crate) fn new(printer: &Printer, total: Option<u64>, verb: &str, window: usize) -> Self {
        let bar = printer.animated().then(|| {
            let (bar, template) = match total {
                Some(total) => (
                    indicatif::ProgressBar::new(total),
                    format!(
                        "{{bar:30}} {{count}}/{{total}} {verb} ({{rate}}, {{msg}}, ETA {{eta}})"
                    ),
                ),
                None => (
                    indicatif::ProgressBar::new_spinner(),
                    format!("{{spinner}} {{count}} {verb} ({{rate}}, {{msg}}, {{elapsed}})"),
                ),
            };
            if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
                // Counts and rates as people read them: `2,932/s`, not `2932.4471/s`.
                let style = style
                    .with_key(
                        "count",
                        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = w.write_str(&crate::ui::thousands(state.pos()));
                        },
                    )
                    .with_key(
                        "total",
                        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = w.write_str(&crate::ui::thousands(state.len().unwrap_or(0)));
                        },
                    )
                    .with_key(
                        "rate",
                        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            let rate = state.per_sec().round() as u64;
                            let _ = write!(w, "{}/s", crate::ui::thousands(rate));
                        },
                    );
                bar.set_style(style);
            }
            bar.set_message(format!("window {window}"));
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Self { bar }
    }

    /// One more item; `window`: the requests in flight the run allows now, asked only when a
    /// bar is drawn.
    /// One item dealt with: the count moves only for the items `done` (written, read or
    /// deleted); failed and skipped ones are named beside it.
    pub(crate) fn step(
        &self,
        done: bool,
        (failed, skipped): (u64, u64),
        window: impl FnOnce() -> usize,
    ) {
        if let Some(bar) = &self.bar {
            if done {
                bar.inc(1);
            }
            let mut message = format!("window {}", window());
            if failed > 0 {
                message.push_str(&format!(", {} failed", crate::ui::thousands(failed)));
            }
            if skipped > 0 {
                message.push_str(&format!(", {} skipped", crate::ui::thousands(skipped)));
            }
            bar.set_message(message);
        }
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
