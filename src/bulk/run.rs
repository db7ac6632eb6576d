//! The bulk engine: a reader feeding workers over bounded channels, so memory stays bounded by
//! the window's ceiling and the 1 MiB value limit whatever the number of items, and a collector
//! that counts, draws progress and writes the remainder file. How many requests are in flight
//! at once is the adaptive [`Window`]'s decision.
//!
//! Stopping is exact. A shared [`Budget`] counts failed items as they happen; once it is spent,
//! or on Ctrl-C or SIGTERM, no new request starts, the requests in flight finish, and every item
//! not written goes to the remainder file as its original input. So `done + failed - invalid`
//! is the number of requests the service answered, and `skipped` the items never sent.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::mpsc;

use super::input::{Item, Record};
use super::window::{Slot, Window, WindowSummary};
use crate::client::{ApiError, Client, KeyPages};
use crate::error::Exit;
use crate::local::atomic::AtomicFile;
use crate::text::plural;
use crate::ui::printer::{Printer, stderr_line};
use crate::ui::progress::CountBar;

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
    /// end (in moments), so that its remainder is complete.
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
    /// or replaced in the remainder: the last item of a key wins, so these are not in it.
    pub superseded: u64,
    /// Listed keys that were gone when read (someone deleted them meanwhile).
    pub vanished: u64,
    /// Keys no request can address (`.`, `..`), listed in the remainder but not failures.
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
    /// Items that were not written and still matter: what the remainder file holds.
    pub(crate) fn remaining(&self) -> u64 {
        (self.failed + self.skipped).saturating_sub(self.superseded)
    }
}

/// Why a run stops, shared by the reader, the workers, the collector and the signal watcher.
#[derive(Debug)]
pub(crate) struct Budget {
    max_errors: Option<u64>,
    failed: AtomicU64,
    /// 0: running; [`BUDGET_SPENT`]; [`INTERRUPTED`].
    stop: AtomicU8,
    /// A `--prefix` listing ended early because of the stop: keys after it were never listed.
    unlisted: std::sync::atomic::AtomicBool,
    /// An interrupted run stopped waiting for an input that sent nothing more.
    unread: std::sync::atomic::AtomicBool,
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
            unlisted: std::sync::atomic::AtomicBool::new(false),
            unread: std::sync::atomic::AtomicBool::new(false),
            interrupts: tokio::sync::watch::Sender::new(false),
            interrupted_at: std::sync::OnceLock::new(),
        })
    }

    /// Counts a failed item; the one that spends the budget stops the run.
    fn fail(&self) {
        let failed = self.failed.fetch_add(1, Ordering::SeqCst) + 1;
        if self.max_errors.is_some_and(|max| failed >= max) {
            let _ = self
                .stop
                .compare_exchange(0, BUDGET_SPENT, Ordering::SeqCst, Ordering::SeqCst);
        }
    }

    fn interrupt(&self) {
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
    async fn receive<T>(
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

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst) != 0
    }

    fn interrupted(&self) -> bool {
        self.stop.load(Ordering::SeqCst) == INTERRUPTED
    }

    /// Why an item was not sent, for the remainder file.
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
/// finish its summary and remainder file; a second one quits at once (`signals`).
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

/// A line of the remainder file: the item as it was given (so the file can be fed back) and
/// why it was not written.
#[derive(Serialize)]
pub(crate) struct FailedLine<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base64: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<u64>,
    /// An absolute expiry stays absolute (wrangler's field), so a retry does not move it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<&'a str>,
    pub origin: &'a str,
    pub error: &'a str,
    /// The text of an input line that could not be read as an item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<&'a str>,
}

impl<'a> FailedLine<'a> {
    /// A key to read or delete, or a bad line: nothing to write back but the key.
    pub(super) fn about(key: Option<&'a str>, origin: &'a str, error: &'a str) -> Self {
        Self {
            key,
            value: None,
            base64: None,
            ttl_secs: None,
            expiration: None,
            content_type: None,
            origin,
            error,
            input: None,
        }
    }

    /// An item to write, exactly as it would be read back: text stays text, anything that is
    /// not UTF-8 goes as base64.
    fn item(item: &'a Item, error: &'a str) -> Self {
        let (value, base64) = crate::ui::text_or_base64(&item.value);
        Self {
            key: Some(&item.key),
            value: Some(value),
            base64: Some(base64),
            ttl_secs: item.ttl_secs.filter(|_| item.expires_at.is_none()),
            expiration: item.expires_at,
            content_type: item.content_type.as_deref(),
            origin: &item.origin,
            error,
            input: None,
        }
    }
}

/// One line of `bulk get` / `export` output, the same format `bulk put` / `import` read.
#[derive(Serialize)]
pub(crate) struct ValueLine<'a> {
    pub key: &'a str,
    pub value: String,
    pub base64: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<&'a str>,
}

impl<'a> ValueLine<'a> {
    /// Text when the bytes are UTF-8, base64 otherwise.
    pub(crate) fn new(key: &'a str, bytes: &[u8], content_type: Option<&'a str>) -> Self {
        let (value, base64) = crate::ui::text_or_base64(bytes);
        Self {
            key,
            value,
            base64,
            content_type,
        }
    }
}

/// The remainder file: at most one line per key, the latest item of that key not written.
///
/// Lines go to a scratch file as they come (a stopped run's remainder can be most of a large
/// input); a line that a later line of its key replaces, or whose key a later item wrote, is
/// only noted. At the end the lines that still matter are copied, in their order, to a
/// temporary file beside the target and renamed into place, so the file is complete or absent
/// (never a torn line), and it may name the input file itself ("retry in place") without
/// truncating what is still being read.
struct FailedFile {
    /// The target and its temporary file, opened at once; `None` without `--failed-file`.
    out: Option<(PathBuf, AtomicFile)>,
    scratch: Option<std::io::BufWriter<std::fs::File>>,
    /// Lines written to the scratch file.
    lines: u64,
    /// The path named a file before the run.
    existed: bool,
    /// The line of each key's latest item not written, by a 128-bit hash of the key (so that
    /// the table stays small when a stopped run's remainder holds millions of keys).
    latest: std::collections::HashMap<u128, u64>,
    /// The bad lines of a key (input that cannot be written) still in the remainder. A bad
    /// line replaces nothing: the key's earlier item would be lost with it.
    bad: std::collections::HashMap<u128, Vec<u64>>,
    /// Lines replaced by a later line or a later write of their key.
    dropped: HashSet<u64>,
}

impl FailedFile {
    /// Opens the temporary file at once, so that a failed file that cannot be written (a
    /// read-only directory, a directory's name) stops the run before any request.
    fn new(path: Option<PathBuf>) -> anyhow::Result<Self> {
        let mut file = Self {
            out: None,
            scratch: None,
            lines: 0,
            existed: false,
            latest: std::collections::HashMap::new(),
            bad: std::collections::HashMap::new(),
            dropped: HashSet::new(),
        };
        let Some(path) = path else {
            return Ok(file);
        };
        if path.is_dir() {
            anyhow::bail!(
                "cannot write the failed items to `{}`: it is a directory",
                path.display()
            );
        }
        file.existed = path.exists();
        let out = AtomicFile::new(&path).map_err(|err| cannot_write(&path, &err))?;
        let scratch = tempfile::tempfile_in(crate::local::atomic::parent_dir(&path))
            .map_err(|err| cannot_write(&path, &err))?;
        file.scratch = Some(std::io::BufWriter::new(scratch));
        file.out = Some((path, out));
        Ok(file)
    }

    /// Adds a line. An item's line replaces the earlier lines of its key; a bad line
    /// (`invalid`) replaces none. Returns how many lines it replaced.
    fn write(&mut self, line: &FailedLine<'_>, invalid: bool) -> anyhow::Result<u64> {
        let number = self.lines;
        self.lines += 1;
        let replaced = match line.key.map(key_id) {
            Some(id) if invalid => {
                self.bad.entry(id).or_default().push(number);
                0
            }
            Some(id) => {
                let replaced = self.forget(id);
                self.latest.insert(id, number);
                replaced
            }
            None => 0,
        };
        if let (Some((path, _)), Some(scratch)) = (&self.out, self.scratch.as_mut()) {
            let mut text = serde_json::to_vec(line)?;
            text.push(b'\n');
            scratch
                .write_all(&text)
                .map_err(|err| cannot_write(path, &err))?;
        }
        Ok(replaced)
    }

    /// A later item of `key` was written: its earlier lines leave the remainder. Returns how
    /// many there were.
    fn written(&mut self, key: &str) -> u64 {
        if self.latest.is_empty() && self.bad.is_empty() {
            return 0;
        }
        self.forget(key_id(key))
    }

    /// Drops every line of the key `id` from the remainder; how many there were.
    fn forget(&mut self, id: u128) -> u64 {
        let lines = self
            .latest
            .remove(&id)
            .into_iter()
            .chain(self.bad.remove(&id).unwrap_or_default());
        lines.filter(|&line| self.dropped.insert(line)).count() as u64
    }

    /// Puts the file in place with the lines that still matter. With none, an existing file
    /// is emptied (it would describe an earlier run) and none is created.
    fn finish(mut self) -> anyhow::Result<()> {
        let (Some((path, out)), Some(scratch)) = (self.out.take(), self.scratch.take()) else {
            return Ok(());
        };
        let kept = self.lines - self.dropped.len() as u64;
        if kept == 0 && !self.existed {
            return Ok(());
        }
        let fail = |err: &std::io::Error| cannot_write(&path, err);
        let mut scratch = scratch.into_inner().map_err(|err| fail(err.error()))?;
        let mut out = std::io::BufWriter::new(out);
        if kept > 0 {
            use std::io::{BufRead as _, Seek as _};
            scratch
                .seek(std::io::SeekFrom::Start(0))
                .map_err(|err| fail(&err))?;
            let mut reader = std::io::BufReader::new(scratch);
            let mut line = Vec::new();
            for number in 0..self.lines {
                line.clear();
                reader
                    .read_until(b'\n', &mut line)
                    .map_err(|err| fail(&err))?;
                if !self.dropped.contains(&number) {
                    out.write_all(&line).map_err(|err| fail(&err))?;
                }
            }
        }
        let out = out.into_inner().map_err(|err| fail(err.error()))?;
        out.commit().map_err(|err| fail(&err))
    }
}

/// A key's identity in the remainder's bookkeeping: two independent 64-bit hashes, so that
/// two keys of one run never share one.
fn key_id(key: &str) -> u128 {
    let mut low = std::collections::hash_map::DefaultHasher::new();
    (0xA5u8, key).hash(&mut low);
    (u128::from(key_hash(key)) << 64) | u128::from(low.finish())
}

fn cannot_write(path: &std::path::Path, err: &std::io::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot write the failed items to `{}`: {err}",
        path.display()
    )
}

/// Failed-item warnings shown in full before the rest are only counted.
const SHOWN_FAILURES: u64 = 10;

/// Counts a run's outcomes, draws its progress and writes its remainder file.
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
            progress: CountBar::new(printer, total, verb, window.limit()),
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
    /// failed leaves the remainder, since this one is the key's latest.
    pub(super) fn done(&mut self, key: &str) {
        self.summary.done += 1;
        self.summary.superseded += self.failed_file.written(key);
        self.step(true);
    }

    /// An item left alone on purpose (its target changed since the plan): shown as progress.
    pub(super) fn left_alone(&mut self) {
        self.step(true);
    }

    /// A key no request can address: listed in the remainder once, not counted as a failure,
    /// so it spends no error budget.
    pub(super) fn uncopyable(&mut self, key: &str, origin: &str) -> anyhow::Result<()> {
        self.summary.uncopyable += 1;
        let error = format!(
            "key `{key}` cannot be copied: no request can address it (rename it with a client that can)"
        );
        self.remainder(&FailedLine::about(Some(key), origin, &error), false)
    }

    pub(super) fn vanished(&mut self) {
        self.summary.vanished += 1;
        self.step(true);
    }

    /// An item never sent; it goes to the remainder file.
    pub(super) fn skipped(&mut self, line: &FailedLine<'_>) -> anyhow::Result<()> {
        self.summary.skipped += 1;
        self.remainder(line, false)?;
        self.step(false);
        Ok(())
    }

    /// Adds `line` to the remainder, where an item's line replaces the earlier lines of its
    /// key (a bad line, `invalid`, replaces none).
    fn remainder(&mut self, line: &FailedLine<'_>, invalid: bool) -> anyhow::Result<()> {
        self.summary.superseded += self.failed_file.write(line, invalid)?;
        Ok(())
    }

    /// Counts one item on the progress line, with the window, and shows the window's changes
    /// (`-v`).
    fn step(&self, done: bool) {
        let counts = (self.summary.failed, self.summary.skipped);
        self.progress.step(done, counts, || self.window.limit());
        for note in self.window.take_notes() {
            self.progress.line(&note);
        }
    }

    fn warn(&self, message: &str) {
        self.progress.warn(self.printer, message);
    }

    /// A failed item: counted, reported on stderr (the first few), written to the remainder
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
        self.remainder(line, invalid)?;
        self.step(false);
        Ok(())
    }

    /// An item whose key appeared earlier in the input: the first few are named.
    fn duplicate(&mut self, origin: &str, key: &str) {
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
        summary.unlisted = self.budget.unlisted.load(Ordering::SeqCst);
        summary.unread = self.budget.unread.load(Ordering::SeqCst);
        summary.throttled = self.pressure.throttled() - self.throttled_before;
        summary.window = self.window.summary();
        Ok(summary)
    }

    /// A bad input line (no request made): `key` when it has a valid one, so that it takes
    /// part in the one-line-per-key rule of the remainder.
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

/// What happened to one item of `put`.
enum Event {
    /// The item of this key was written.
    Done(String),
    Failed(Box<Item>, ApiError),
    Bad(Box<BadItem>),
    Warning(String),
    Duplicate {
        origin: String,
        key: String,
    },
    Skipped(Box<Item>),
}

impl Event {
    /// Whether it is the outcome of one item read (rather than a warning about one).
    fn is_outcome(&self) -> bool {
        matches!(
            self,
            Self::Done(_) | Self::Failed(..) | Self::Bad(_) | Self::Skipped(_)
        )
    }
}

fn key_hash(key: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

/// KiB of values that may wait in the worker queues at once: with the 1 MiB value limit, memory
/// stays bounded whatever the input's size.
const QUEUED_KIB: usize = 16 * 1024;

/// Writes every item of `records` to namespace `ns`, as many at once as the window allows.
/// Items with the same key are written one after the other in input order, so the last one
/// wins.
pub(crate) async fn put(
    client: &Client,
    ns: &str,
    records: Box<dyn Iterator<Item = Record> + Send>,
    options: &Options,
    printer: &Printer,
) -> anyhow::Result<Summary> {
    let budget = Budget::new(options.max_errors);
    let signals = watch_signals(&budget);
    let (events, mut collected) = mpsc::channel::<Event>(options.ceiling.max(1) * 4);
    // Before any request: a failed file that cannot be written stops the run here.
    let mut tally = Tally::new(printer, options, &budget, client, None, "written")?;
    let writer = Writer {
        client: budget.client(client),
        ns: Arc::from(ns),
        events: events.clone(),
        budget: Arc::clone(&budget),
        chains: Arc::default(),
        active: Arc::default(),
    };
    let (queue, heads) = mpsc::unbounded_channel::<Queued>();
    let active = Arc::clone(&writer.active);
    let read = Arc::new(AtomicU64::new(0));
    let reader = start_reader(records, queue, writer.clone(), events, Arc::clone(&read));
    let dispatcher = tokio::spawn(dispatch(heads, writer, Arc::clone(&tally.window)));
    // Items read, and items whose outcome the tally has counted: an input may be given up on
    // only once everything read from it is accounted for.
    let mut accounted = 0;
    loop {
        let settled =
            || active.load(Ordering::SeqCst) == 0 && read.load(Ordering::SeqCst) == accounted;
        let event = match budget
            .receive(&mut collected, options.input_may_stall, settled)
            .await
        {
            Received::Next(event) => event,
            Received::End | Received::GaveUp => break,
        };
        if event.is_outcome() {
            accounted += 1;
        }
        tally_put(&mut tally, event)?;
    }
    // Given up on, the reader may be blocked on its input for good.
    if !budget.unread.load(Ordering::SeqCst) {
        let _ = reader.await;
        let _ = dispatcher.await;
    }
    signals.abort();
    tally.finish()
}

/// How long an interrupted run goes on reading its input into the remainder at most.
const READING_AFTER_STOP: std::time::Duration = std::time::Duration::from_secs(10);

/// How long an interrupted run waits for an input that sends nothing: [`QUIET_STEPS`] steps
/// of [`QUIET_STEP`].
const QUIET_STEP: std::time::Duration = std::time::Duration::from_millis(250);
const QUIET_STEPS: u32 = 8;

/// What [`Budget::receive`] got.
enum Received<T> {
    Next(T),
    /// The input ended.
    End,
    /// An interrupted run stopped waiting for an input that may never end.
    GaveUp,
}

/// An item on its way to a writer, holding its share of the byte budget until written.
type Queued = (Item, tokio::sync::OwnedSemaphorePermit);

/// An input line that cannot be written: where it was, why, its text and its key (if valid).
struct BadItem {
    origin: String,
    error: String,
    input: Option<String>,
    key: Option<String>,
}

/// What waits in a key's chain: an item to write, or a bad line of that key, reported in its
/// turn so that the remainder keeps the key's lines in input order.
enum Link {
    Item(Queued),
    Bad(Box<BadItem>),
}

type Chain = std::collections::VecDeque<Link>;

/// The items waiting behind an earlier item with the same key (by hash), per key that has an
/// item queued or in flight. Only such keys have an entry, so it stays as small as the queue.
type Chains = Arc<std::sync::Mutex<std::collections::HashMap<u64, Chain>>>;

/// What every write of a run shares.
#[derive(Clone)]
struct Writer {
    client: Client,
    ns: Arc<str>,
    events: mpsc::Sender<Event>,
    budget: Arc<Budget>,
    chains: Chains,
    /// Chains being written.
    active: Arc<std::sync::atomic::AtomicUsize>,
}

impl Writer {
    fn chains(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<u64, Chain>> {
        self.chains.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `first`, then each item that queued behind it with the same key, in order.
    /// `slot` is the room in the window the writes use; without one (the run stopped), every
    /// item is reported as skipped.
    async fn write_chain(self, first: Queued, mut slot: Option<Slot>) {
        let hash = key_hash(&first.0.key);
        let mut next = Some(Link::Item(first));
        while let Some(link) = next.take() {
            let event = match link {
                Link::Bad(bad) => Event::Bad(bad),
                Link::Item((item, _permit)) => self.write(item, slot.as_mut()).await,
            };
            // The collector is gone only when the run failed outright; what is left is moot.
            let _ = self.events.send(event).await;
            let mut chains = self.chains();
            next = chains.get_mut(&hash).and_then(|chain| chain.pop_front());
            if next.is_none() {
                chains.remove(&hash);
            }
        }
    }

    /// Writes one item in `slot` (or deletes its key, when its absolute expiry passed before it
    /// could be written); without a slot, or once the run stopped, it is skipped.
    async fn write(&self, item: Item, slot: Option<&mut Slot>) -> Event {
        let Some(slot) = slot.filter(|_| !self.budget.stopped()) else {
            return Event::Skipped(Box::new(item));
        };
        let written = if item.expired {
            self.client.delete_key(&self.ns, &item.key).await
        } else {
            self.client
                .put_key(
                    &self.ns,
                    &item.key,
                    item.value.clone(),
                    item.ttl_now(),
                    item.content_type.as_deref(),
                )
                .await
                .map(|_| ())
        };
        slot.answered();
        match written {
            Ok(()) => Event::Done(item.key),
            // The run stopped while it waited for its turn: never sent.
            Err(ApiError::NotSent) => Event::Skipped(Box::new(item)),
            Err(err) => {
                self.budget.fail();
                Event::Failed(Box::new(item), err)
            }
        }
    }
}

/// Starts a write for each item that heads its key's chain, once the window has room; after a
/// stop, reports them as skipped without waiting for room.
async fn dispatch(mut heads: mpsc::UnboundedReceiver<Queued>, writer: Writer, window: Arc<Window>) {
    let mut writes = tokio::task::JoinSet::new();
    while let Some(head) = heads.recv().await {
        let slot = if writer.budget.stopped() {
            None
        } else {
            // The run may stop while this item waits for room.
            Some(window.acquire().await).filter(|_| !writer.budget.stopped())
        };
        match slot {
            Some(slot) => {
                writer.active.fetch_add(1, Ordering::SeqCst);
                let chain = writer.clone();
                writes.spawn(async move {
                    let active = Arc::clone(&chain.active);
                    chain.write_chain(head, Some(slot)).await;
                    active.fetch_sub(1, Ordering::SeqCst);
                });
                // Finished writes are reaped as they go, so the set stays small.
                while writes.try_join_next().is_some() {}
            }
            // In order, here: a skipped item's remainder line keeps its place.
            None => writer.clone().write_chain(head, None).await,
        }
    }
    while writes.join_next().await.is_some() {}
}

/// Reads the input on a blocking thread and queues each item: at the head of its key's chain
/// (to be written as soon as the window has room), or behind the item with the same key that
/// is queued or in flight (so that two items with one key are written in input order). A
/// budget of bytes bounds the values queued. Once the run stops, the rest of the input is
/// still read, straight into the remainder file.
fn start_reader(
    records: Box<dyn Iterator<Item = Record> + Send>,
    heads: mpsc::UnboundedSender<Queued>,
    writer: Writer,
    events: mpsc::Sender<Event>,
    read: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    let bytes = Arc::new(tokio::sync::Semaphore::new(QUEUED_KIB));
    let budget = Arc::clone(&writer.budget);
    tokio::task::spawn_blocking(move || {
        let mut seen = HashSet::new();
        let send = |event: Event| events.blocking_send(event).is_ok();
        for record in records {
            let item = match record {
                Record::Bad {
                    origin,
                    error,
                    input,
                    key,
                } => {
                    read.fetch_add(1, Ordering::SeqCst);
                    budget.fail();
                    let bad = Box::new(BadItem {
                        origin,
                        error,
                        input,
                        key,
                    });
                    // Behind an item of its key still queued or in flight, it waits its turn;
                    // otherwise it is reported now.
                    let now = match bad.key.as_deref().map(key_hash) {
                        Some(hash) => match writer.chains().get_mut(&hash) {
                            Some(chain) => {
                                chain.push_back(Link::Bad(bad));
                                None
                            }
                            None => Some(bad),
                        },
                        None => Some(bad),
                    };
                    if let Some(bad) = now
                        && !send(Event::Bad(bad))
                    {
                        return;
                    }
                    continue;
                }
                Record::Warning { origin, message } => {
                    if !send(Event::Warning(format!("{origin}: {message}"))) {
                        return;
                    }
                    continue;
                }
                Record::Item(item) => {
                    read.fetch_add(1, Ordering::SeqCst);
                    item
                }
            };
            // After a stop, items still go through their chain (which skips them), so that
            // the remainder file keeps the input's order for items with the same key.
            let hash = key_hash(&item.key);
            if !seen.insert(hash) {
                let duplicate = Event::Duplicate {
                    origin: item.origin.clone(),
                    key: item.key.clone(),
                };
                if !send(duplicate) {
                    return;
                }
            }
            let kib = u32::try_from(item.value.len() / 1024 + 1).unwrap_or(u32::MAX);
            let Ok(permit) = tokio::runtime::Handle::current()
                .block_on(Arc::clone(&bytes).acquire_many_owned(kib))
            else {
                return;
            };
            let queued = (item, permit);
            let head = {
                let mut chains = writer.chains();
                match chains.get_mut(&hash) {
                    Some(chain) => {
                        chain.push_back(Link::Item(queued));
                        None
                    }
                    None => {
                        chains.insert(hash, std::collections::VecDeque::new());
                        Some(queued)
                    }
                }
            };
            if let Some(head) = head
                && heads.send(head).is_err()
            {
                return;
            }
        }
    })
}

/// Counts one outcome of `put`; an item not written goes to the remainder file as it was given.
fn tally_put(tally: &mut Tally<'_>, event: Event) -> anyhow::Result<()> {
    match event {
        Event::Done(key) => tally.done(&key),
        Event::Skipped(item) => {
            let reason = tally.budget.reason();
            tally.skipped(&FailedLine::item(&item, &reason))?;
        }
        Event::Warning(message) => tally.warn(&message),
        Event::Duplicate { origin, key } => tally.duplicate(&origin, &key),
        Event::Bad(bad) => tally.bad(
            &bad.origin,
            &bad.error,
            bad.input.as_deref(),
            bad.key.as_deref(),
        )?,
        Event::Failed(item, err) => {
            let error = err.to_string();
            tally.failed(&FailedLine::item(&item, &error), err.exit(), false)?;
        }
    }
    Ok(())
}

/// Where the keys of `bulk get` / `bulk delete` / `export` come from.
#[derive(Debug, Clone)]
pub(crate) enum Keys {
    /// Given on the command line.
    Given(Vec<String>),
    /// One per line in a file, or stdin for `-`: a plain key, or a JSON object with `key` (a
    /// line of a remainder file).
    File(PathBuf),
    /// Every key with this prefix (all keys for an empty one), listed page by page.
    Prefix(String),
}

/// The origin of a failure to list the keys (rather than of one key).
const LISTING: &str = "key list";

/// A key to work on, or why a line of input is not one: `(origin, error)`.
type KeyRecord = Result<(String, String), (String, String)>;

/// Feeds the keys into a bounded channel, so listing or reading never runs far ahead. Listing
/// stops once the run stops; keys from arguments or a file keep coming, for the remainder file.
fn produce(
    client: &Client,
    ns: &str,
    keys: Keys,
    capacity: usize,
    budget: &Arc<Budget>,
    window: Option<Arc<Window>>,
) -> mpsc::Receiver<KeyRecord> {
    let (send, receive) = mpsc::channel(capacity);
    match keys {
        Keys::Given(keys) => {
            tokio::spawn(async move {
                for (index, key) in keys.into_iter().enumerate() {
                    let record = check(key, format!("argument {}", index + 1));
                    if send.send(record).await.is_err() {
                        return;
                    }
                }
            });
        }
        Keys::File(path) => {
            tokio::task::spawn_blocking(move || read_key_file(&path, &send));
        }
        Keys::Prefix(prefix) => {
            let client = client.clone();
            let ns = ns.to_owned();
            let budget = Arc::clone(budget);
            tokio::spawn(async move {
                list_prefix(&client, &ns, &prefix, &send, &budget, window.as_ref()).await;
            });
        }
    }
    receive
}

fn read_key_file(path: &std::path::Path, send: &mpsc::Sender<KeyRecord>) {
    let reader: Box<dyn std::io::BufRead> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(path) {
            Ok(file) => Box::new(std::io::BufReader::new(file)),
            Err(err) => {
                let origin = path.display().to_string();
                let _ = send.blocking_send(Err((origin, format!("cannot read: {err}"))));
                return;
            }
        }
    };
    let mut reader = reader;
    let mut number = 0;
    loop {
        number += 1;
        let origin = format!("line {number}");
        let record = match read_line_bounded(&mut reader) {
            Ok(None) => return,
            Ok(Some(Line::TooLong)) => Err((origin, "the line is longer than 8 MiB".to_owned())),
            Ok(Some(Line::Text(line))) if line.trim().is_empty() => continue,
            Ok(Some(Line::Text(line))) => {
                key_line(line.trim().trim_start_matches('\u{feff}'), origin)
            }
            Err(err) => {
                // A read error does not go away by reading on (a directory, a device).
                let _ = send.blocking_send(Err((origin, format!("cannot read: {err}"))));
                return;
            }
        };
        if send.blocking_send(record).is_err() {
            return;
        }
    }
}

/// A line of a keys file, as read.
enum Line {
    Text(String),
    /// Longer than a remainder line can be; skipped without being held in memory.
    TooLong,
}

/// Longest line of a keys file read (a remainder line with a 1 MiB value fits).
const MAX_KEY_LINE: usize = 8 * 1024 * 1024;

fn read_line_bounded(reader: &mut dyn std::io::BufRead) -> std::io::Result<Option<Line>> {
    use std::io::{BufRead as _, Read as _};
    let mut buf = Vec::new();
    let read = (&mut *reader)
        .take(MAX_KEY_LINE as u64 + 1)
        .read_until(b'\n', &mut buf)?;
    if read == 0 {
        return Ok(None);
    }
    if buf.len() > MAX_KEY_LINE && !buf.ends_with(b"\n") {
        loop {
            let chunk = reader.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            if let Some(end) = chunk.iter().position(|&b| b == b'\n') {
                reader.consume(end + 1);
                break;
            }
            let len = chunk.len();
            reader.consume(len);
        }
        return Ok(Some(Line::TooLong));
    }
    Ok(Some(Line::Text(String::from_utf8_lossy(&buf).into_owned())))
}

/// A line of a keys file: the key itself, or an object with `key` (from a remainder file).
fn key_line(line: &str, origin: String) -> KeyRecord {
    if !line.starts_with('{') {
        return check(line.to_owned(), origin);
    }
    #[derive(serde::Deserialize)]
    struct Keyed {
        key: Option<String>,
    }
    match serde_json::from_str::<Keyed>(line) {
        Ok(Keyed { key: Some(key) }) => check(key, origin),
        Ok(Keyed { key: None }) => Err((origin, "the object has no `key`".into())),
        Err(err) => Err((
            origin,
            format!("not a key, nor a JSON object with `key`: {err}"),
        )),
    }
}

async fn list_prefix(
    client: &Client,
    ns: &str,
    prefix: &str,
    send: &mpsc::Sender<KeyRecord>,
    budget: &Budget,
    window: Option<&Arc<Window>>,
) {
    let prefix = (!prefix.is_empty()).then_some(prefix);
    let mut pages = KeyPages::new(client, ns, prefix, None);
    loop {
        if budget.stopped() {
            // Listing on would send requests; the summary says the remainder is incomplete.
            budget.unlisted.store(true, Ordering::SeqCst);
            return;
        }
        // A listing request takes room in the window like any other (its latency, of another
        // kind of request, is not counted), so that `--concurrency` bounds every request.
        let slot = match window {
            Some(window) => Some(window.acquire().await),
            None => None,
        };
        let page = pages.next().await;
        drop(slot);
        let keys = match page {
            Ok(Some(keys)) => keys,
            Ok(None) => return,
            Err(ApiError::NotSent) => {
                budget.unlisted.store(true, Ordering::SeqCst);
                return;
            }
            Err(err) => {
                let _ = send.send(Err((LISTING.into(), err.to_string()))).await;
                return;
            }
        };
        for key in keys {
            // A listed key this client cannot address fails as an item.
            if send.send(check(key.key, "listed".into())).await.is_err() {
                return;
            }
        }
    }
}

fn check(key: String, origin: String) -> KeyRecord {
    match crate::api::rules::request_key(&key) {
        Ok(()) => Ok((key, origin)),
        Err(err) => Err((origin, err.to_string())),
    }
}

/// The keys as a stream. After Ctrl-C or SIGTERM, a source that sends nothing for a while (a
/// pipe or FIFO that may never send again) ends it, and the run says its input was not read
/// to the end.
fn stream(
    receiver: mpsc::Receiver<KeyRecord>,
    budget: Arc<Budget>,
    may_stall: bool,
) -> impl futures_util::Stream<Item = KeyRecord> {
    futures_util::stream::unfold(receiver, move |mut receiver| {
        let budget = Arc::clone(&budget);
        async move {
            // What the stream yields is dealt with by the run: nothing is on its way.
            match budget.receive(&mut receiver, may_stall, || true).await {
                Received::Next(record) => Some((record, receiver)),
                Received::End | Received::GaveUp => None,
            }
        }
    })
}

/// What became of one key of `get` or `delete`.
pub(super) enum KeyOutcome<T> {
    /// With its room in the window, held until the answer is dealt with.
    Answered(Result<T, ApiError>, Slot),
    /// The run had stopped: no request was made.
    NotSent,
}

/// Starts the request for `record` unless the run has stopped; a failure counts against the
/// budget the moment it happens, so that no later item starts after the budget is spent.
pub(super) async fn key_request<T, F>(
    record: KeyRecord,
    budget: Arc<Budget>,
    window: Arc<Window>,
    request: impl FnOnce(String) -> F,
) -> Result<(String, String, KeyOutcome<T>), (String, String)>
where
    F: std::future::Future<Output = Result<T, ApiError>>,
{
    let (key, origin) = record.inspect_err(|_| budget.fail())?;
    if budget.stopped() {
        return Ok((key, origin, KeyOutcome::NotSent));
    }
    let mut slot = window.acquire().await;
    if budget.stopped() {
        return Ok((key, origin, KeyOutcome::NotSent));
    }
    let result = request(key.clone()).await;
    if matches!(result, Err(ApiError::NotSent)) {
        return Ok((key, origin, KeyOutcome::NotSent));
    }
    slot.answered();
    if let Err(err) = &result
        && !(err.status() == Some(404) && origin == "listed")
    {
        budget.fail();
    }
    Ok((key, origin, KeyOutcome::Answered(result, slot)))
}

/// What a run over keys (`get`, `delete`) starts with: its budget and signal watcher, its tally
/// (with the window), its client, and the keys coming in.
struct KeyRun<'a> {
    budget: Arc<Budget>,
    signals: SignalWatch,
    tally: Tally<'a>,
    client: Client,
    receiver: mpsc::Receiver<KeyRecord>,
    /// The keys come from a pipe or FIFO (see [`Options::input_may_stall`]).
    may_stall: bool,
}

impl<'a> KeyRun<'a> {
    fn start(
        client: &Client,
        ns: &str,
        keys: Keys,
        options: &Options,
        printer: &'a Printer,
        total: Option<u64>,
        verb: &str,
    ) -> anyhow::Result<Self> {
        let budget = Budget::new(options.max_errors);
        let signals = watch_signals(&budget);
        let tally = Tally::new(printer, options, &budget, client, total, verb)?;
        let client = budget.client(client);
        let capacity = options.ceiling.max(1) * 4;
        let window = Some(Arc::clone(&tally.window));
        let may_stall = matches!(&keys, Keys::File(path) if super::input::may_stall(path));
        let receiver = produce(&client, ns, keys, capacity, &budget, window);
        Ok(Self {
            budget,
            signals,
            tally,
            client,
            receiver,
            may_stall,
        })
    }
}

/// Reads every key's value and writes NDJSON lines to `out`, in key order, as many requests at
/// a time as the window allows. Keys that vanished between listing and reading are counted apart.
pub(crate) async fn get(
    client: &Client,
    ns: &str,
    keys: Keys,
    out: &mut dyn Write,
    options: &Options,
    printer: &Printer,
) -> anyhow::Result<Summary> {
    use futures_util::StreamExt as _;
    let KeyRun {
        budget,
        signals,
        mut tally,
        client,
        receiver,
        may_stall,
    } = KeyRun::start(client, ns, keys, options, printer, None, "read")?;
    let client = &client;
    let window = Arc::clone(&tally.window);
    let fetches = stream(receiver, Arc::clone(&budget), may_stall)
        .map(|record| {
            let client = client.clone();
            let ns = ns.to_owned();
            let window = Arc::clone(&window);
            key_request(record, Arc::clone(&budget), window, move |key| async move {
                client.get_key(&ns, &key).await
            })
        })
        .buffered(options.ceiling.max(1));
    futures_util::pin_mut!(fetches);
    while let Some(result) = fetches.next().await {
        match result {
            // The slot is held until the value is written: values in memory stay within the
            // window.
            Ok((key, _, KeyOutcome::Answered(Ok(value), _slot))) => {
                let line = ValueLine::new(&key, &value.bytes, value.content_type.as_deref());
                let mut text = serde_json::to_vec(&line)?;
                text.push(b'\n');
                // A closed stdout ends the run: nothing more is read, nothing more is said.
                if let Err(err) = out.write_all(&text) {
                    signals.abort();
                    budget.interrupt();
                    return Err(err.into());
                }
                tally.done(&key);
            }
            other => tally_key(&mut tally, other)?,
        }
    }
    signals.abort();
    if let Err(err) = out.flush() {
        return Err(err.into());
    }
    tally.finish()
}

/// Counts an outcome of `get` or `delete` other than a value read.
pub(super) fn tally_key<T>(
    tally: &mut Tally<'_>,
    result: Result<(String, String, KeyOutcome<T>), (String, String)>,
) -> anyhow::Result<()> {
    match result {
        Ok((key, _, KeyOutcome::Answered(Ok(_), _))) => tally.done(&key),
        // Listed, then deleted by someone else before it was read.
        Ok((_, origin, KeyOutcome::Answered(Err(err), _)))
            if err.status() == Some(404) && origin == "listed" =>
        {
            tally.vanished();
        }
        Ok((key, origin, KeyOutcome::Answered(Err(err), _))) => {
            let error = err.to_string();
            tally.failed(
                &FailedLine::about(Some(&key), &origin, &error),
                err.exit(),
                false,
            )?;
        }
        Ok((key, origin, KeyOutcome::NotSent)) => {
            let reason = tally.budget.reason();
            tally.skipped(&FailedLine::about(Some(&key), &origin, &reason))?;
        }
        Err((origin, error)) => tally.bad(&origin, &error, None, None)?,
    }
    Ok(())
}

/// Counts the keys `keys` names, without keeping them, and prints them when `list` (dry run).
/// `None` when they cannot be counted ahead (stdin).
pub(crate) async fn count(
    client: &Client,
    ns: &str,
    keys: &Keys,
    list: Option<&Printer>,
) -> anyhow::Result<Option<u64>> {
    if matches!(keys, Keys::File(path) if path.as_os_str() == "-") {
        return Ok(None);
    }
    let budget = Budget::new(None);
    let mut receiver = produce(client, ns, keys.clone(), 1000, &budget, None);
    let mut count = 0;
    while let Some(record) = receiver.recv().await {
        if let Err((origin, error)) = &record
            && origin == LISTING
        {
            anyhow::bail!("{origin}: {error}");
        }
        count += 1;
        match (record, list) {
            (Ok((key, _)), Some(printer)) => printer.out(&format!("{key}\n"))?,
            // Counted: it will fail as an item of the run, not stop it before it starts.
            (Err((origin, error)), Some(printer)) => {
                printer.warn(&format!("{origin}: {error}; it would fail"));
            }
            (_, None) => {}
        }
    }
    Ok(Some(count))
}

/// Deletes every key, as many requests at a time as the window allows.
pub(crate) async fn delete(
    client: &Client,
    ns: &str,
    keys: Keys,
    total: Option<u64>,
    options: &Options,
    printer: &Printer,
) -> anyhow::Result<Summary> {
    use futures_util::StreamExt as _;
    let KeyRun {
        budget,
        signals,
        mut tally,
        client,
        receiver,
        may_stall,
    } = KeyRun::start(client, ns, keys, options, printer, total, "deleted")?;
    let client = &client;
    let window = Arc::clone(&tally.window);
    let deletions = stream(receiver, Arc::clone(&budget), may_stall)
        .map(|record| {
            let client = client.clone();
            let ns = ns.to_owned();
            let window = Arc::clone(&window);
            key_request(record, Arc::clone(&budget), window, move |key| async move {
                client.delete_key(&ns, &key).await
            })
        })
        .buffer_unordered(options.ceiling.max(1));
    futures_util::pin_mut!(deletions);
    while let Some(result) = deletions.next().await {
        tally_key(&mut tally, result)?;
    }
    signals.abort();
    tally.finish()
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

    #[test]
    fn key_files_take_plain_keys_and_remainder_lines() {
        assert_eq!(
            key_line("a/b", "line 1".into()),
            Ok(("a/b".into(), "line 1".into()))
        );
        assert_eq!(
            key_line(
                r#"{"key":"k","origin":"listed","error":"x"}"#,
                "line 2".into()
            ),
            Ok(("k".into(), "line 2".into()))
        );
        assert!(key_line(r#"{"value":"v"}"#, "line 3".into()).is_err());
        assert!(key_line("..", "line 4".into()).is_err());
    }

    #[test]
    fn an_oversized_key_line_is_skipped_and_reading_goes_on() {
        let input = format!("{}\nnext\n", "k".repeat(MAX_KEY_LINE + 5));
        let mut reader = std::io::Cursor::new(input.into_bytes());
        assert!(matches!(
            read_line_bounded(&mut reader),
            Ok(Some(Line::TooLong))
        ));
        match read_line_bounded(&mut reader) {
            Ok(Some(Line::Text(text))) => assert_eq!(text, "next\n"),
            _ => panic!("the next line is read"),
        }
        assert!(matches!(read_line_bounded(&mut reader), Ok(None)));
    }

    #[test]
    fn binary_values_go_to_the_remainder_as_base64() {
        let item = Item {
            key: "logo.png".into(),
            value: bytes::Bytes::from_static(b"\x89PNG\r\n\x1a\n\x00\xff"),
            ttl_secs: Some(60),
            expires_at: None,
            expired: false,
            content_type: Some("image/png".into()),
            origin: "file logo.png".into(),
        };
        let line = serde_json::to_string(&FailedLine::item(&item, "boom")).expect("JSON");
        assert_eq!(
            line,
            r#"{"key":"logo.png","value":"iVBORw0KGgoA/w==","base64":true,"ttl_secs":60,"content_type":"image/png","origin":"file logo.png","error":"boom"}"#
        );
    }
}
