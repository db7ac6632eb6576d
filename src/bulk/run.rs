//! What a bulk run is told ([`Options`]) and what it reports ([`Summary`]). The engine itself
//! is a reader feeding workers over bounded channels, so memory stays bounded by the window's
//! ceiling and the 1 MiB value limit whatever the number of items, and a collector that counts,
//! draws progress and writes the failed file: `put` writes items, `keys` reads or deletes keys,
//! `budget` decides when to stop, `tally` counts, `failed_file` keeps what was not done.
//!
//! Stopping is exact. A shared budget counts failed items as they happen; once it is spent,
//! or on Ctrl-C or SIGTERM, no new request starts, the requests in flight finish, and every item
//! not written goes to the failed file as its original input. So `done + failed - invalid`
//! is the number of requests the service answered, and `skipped` the items never sent.

use std::path::PathBuf;

use serde::Serialize;

use super::window::WindowSummary;
use crate::error::Exit;
use crate::text::plural;

/// How a bulk run behaves.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// The most requests in flight at once: the adaptive window's ceiling.
    pub ceiling: usize,
    /// Show each change of the window (`-v`).
    pub verbose: bool,
    /// Stop after this many failed items; `None` never stops.
    pub max_errors: Option<u64>,
    /// Where the items not written go, as NDJSON that can be fed back as input.
    pub failed_file: Option<PathBuf>,
    /// The input is a pipe, FIFO or the like, which may stop sending without ending: after an
    /// interrupt it is read for [`READING_AFTER_STOP`] at most. A regular file is read to its
    /// end (in moments), so that its failed file is complete.
    pub input_may_stall: bool,
}

/// What a run did.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct Summary {
    /// Items the service confirmed.
    pub done: u64,
    /// Items that failed: refused by the service, or `invalid`.
    pub failed: u64,
    /// Of `failed`, the items refused before any request (bad input).
    pub invalid: u64,
    /// Items never sent because the run stopped.
    pub skipped: u64,
    /// Of `failed` and `skipped`, the items of a key that a later item of the same key wrote
    /// or replaced in the failed file: the last item of a key wins, so these are not in it.
    pub superseded: u64,
    /// Listed keys that were gone when read (someone deleted them meanwhile).
    pub vanished: u64,
    /// Keys no request can address (`.`, `..`), listed in the failed file but not failures.
    pub uncopyable: u64,
    pub seconds: f64,
    /// Ctrl-C or SIGTERM stopped the run.
    pub interrupted: bool,
    /// A `--prefix` listing stopped early: keys after the last listed are in no file.
    pub unlisted: bool,
    /// After Ctrl-C or SIGTERM the input (a pipe, a FIFO) sent nothing more, and the run did not
    /// wait for it: what it would have sent is in no file.
    pub unread: bool,
    /// Answers 429 or 503 during the run, retried ones included.
    pub throttled: u64,
    /// How the adaptive window moved.
    pub window: WindowSummary,
    /// The exit code the first failure calls for.
    #[serde(skip)]
    pub exit: Option<Exit>,
}

impl Summary {
    /// Items that were not written and still matter: what the failed file holds.
    pub(crate) fn remaining(&self) -> u64 {
        (self.failed + self.skipped).saturating_sub(self.superseded)
    }

    /// What failed and what was skipped, with `noun` for what the run counts (`item`, `key`):
    /// `3 items failed and 1 was skipped`.
    pub(crate) fn failed_and_skipped(&self, noun: &str) -> String {
        format!(
            "{} {noun}{} failed and {} {} skipped",
            self.failed,
            plural(self.failed),
            self.skipped,
            if self.skipped == 1 { "was" } else { "were" }
        )
    }
}
