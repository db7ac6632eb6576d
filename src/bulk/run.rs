//! The bulk engine: a reader feeding workers over bounded channels, so memory stays bounded by
//! the concurrency and the 1 MiB value limit whatever the number of items; a collector that
//! counts, draws progress, writes failed items and stops after `--max-errors`.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use tokio::sync::mpsc;

use super::input::{Item, Record};
use crate::client::{ApiError, Client};
use crate::error::Exit;
use crate::ui::printer::Printer;
use crate::ui::progress::CountBar;

/// How a bulk run behaves.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub concurrency: usize,
    /// Stop after this many failed items; `None` never stops.
    pub max_errors: Option<u64>,
    /// Where failed items go, as NDJSON that can be fed back as input.
    pub failed_file: Option<PathBuf>,
}

/// What a run did.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct Summary {
    pub done: u64,
    pub failed: u64,
    pub skipped: u64,
    pub seconds: f64,
    /// The exit code the first failure calls for.
    #[serde(skip)]
    pub exit: Option<Exit>,
}

/// A line of the failed-items file: the item as it was read (so the file can be fed back) and
/// why it failed.
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<&'a str>,
    pub origin: &'a str,
    pub error: &'a str,
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

/// The failed-items file, opened on the first failure.
pub(crate) struct FailedFile {
    path: Option<PathBuf>,
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl FailedFile {
    pub(crate) fn new(path: Option<PathBuf>) -> Self {
        Self { path, file: None }
    }

    pub(crate) fn write(&mut self, line: &FailedLine<'_>) -> anyhow::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if self.file.is_none() {
            let file = std::fs::File::create(path).map_err(|err| {
                anyhow::anyhow!(
                    "cannot write the failed items to `{}`: {err}",
                    path.display()
                )
            })?;
            self.file = Some(std::io::BufWriter::new(file));
        }
        if let Some(file) = self.file.as_mut() {
            serde_json::to_writer(&mut *file, line)?;
            file.write_all(b"\n")?;
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> anyhow::Result<()> {
        if let Some(file) = self.file.as_mut() {
            file.flush()?;
        }
        Ok(())
    }
}

impl<'a> FailedLine<'a> {
    /// A failure that has no value to write back: a key to read or delete, or a bad line.
    fn about(key: Option<&'a str>, origin: &'a str, error: &'a str) -> Self {
        Self {
            key,
            value: None,
            base64: None,
            ttl_secs: None,
            content_type: None,
            origin,
            error,
        }
    }
}

/// Counts a run's outcomes, draws its progress, writes its failed items and says when
/// `--max-errors` is reached.
struct Tally<'a> {
    printer: &'a Printer,
    progress: CountBar,
    failed_file: FailedFile,
    max_errors: Option<u64>,
    summary: Summary,
    start: Instant,
}

impl<'a> Tally<'a> {
    fn new(printer: &'a Printer, options: &Options, total: Option<u64>, verb: &str) -> Self {
        Self {
            printer,
            progress: CountBar::new(printer, total, verb),
            failed_file: FailedFile::new(options.failed_file.clone()),
            max_errors: options.max_errors,
            summary: Summary::default(),
            start: Instant::now(),
        }
    }

    fn done(&mut self) {
        self.summary.done += 1;
        self.progress.step(self.summary.failed);
    }

    fn skipped(&mut self) {
        self.summary.skipped += 1;
        self.progress.step(self.summary.failed);
    }

    fn warn(&self, message: &str) {
        self.progress.warn(self.printer, message);
    }

    /// Records a failed item: counted, reported on stderr, written to the failed file.
    fn failed(&mut self, line: &FailedLine<'_>, exit: Exit) -> anyhow::Result<()> {
        self.summary.failed += 1;
        self.summary.exit.get_or_insert(exit);
        let shown = line
            .key
            .map(|key| format!("key `{key}`: "))
            .unwrap_or_default();
        self.warn(&format!("{}: {shown}{}", line.origin, line.error));
        self.failed_file.write(line)?;
        self.progress.step(self.summary.failed);
        Ok(())
    }

    fn should_stop(&self) -> bool {
        self.max_errors
            .is_some_and(|max| self.summary.failed >= max)
    }

    fn finish(self) -> anyhow::Result<Summary> {
        self.progress.finish();
        self.failed_file.finish()?;
        let mut summary = self.summary;
        summary.seconds = self.start.elapsed().as_secs_f64();
        Ok(summary)
    }
}

enum Event {
    Done,
    Failed(Box<Item>, ApiError),
    Bad { origin: String, error: String },
    Duplicate { origin: String, key: String },
    Skipped,
}

fn key_hash(key: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

/// KiB of values that may wait in the worker queues at once: with the 1 MiB value limit, memory
/// stays bounded whatever the input's size.
const QUEUED_KIB: usize = 16 * 1024;

/// Writes every item of `records` to namespace `ns`. Items with the same key go to the same
/// worker in input order, so the last one wins.
pub(crate) async fn put(
    client: &Client,
    ns: &str,
    records: Box<dyn Iterator<Item = Record> + Send>,
    options: &Options,
    printer: &Printer,
) -> anyhow::Result<Summary> {
    let workers = options.concurrency.max(1);
    let stop = Arc::new(AtomicBool::new(false));
    let (events, mut collected) = mpsc::channel::<Event>(workers * 4);
    let (queues, handles) = start_writers(client, ns, workers, &events, &stop);
    let reader = start_reader(records, queues, events, Arc::clone(&stop));
    let mut tally = Tally::new(printer, options, None, "written");
    while let Some(event) = collected.recv().await {
        tally_put(&mut tally, event)?;
        if tally.should_stop() {
            stop.store(true, Ordering::Relaxed);
        }
    }
    let _ = reader.await;
    for handle in handles {
        let _ = handle.await;
    }
    tally.finish()
}

/// An item on its way to a writer, holding its share of the byte budget until written.
type Queued = (Item, tokio::sync::OwnedSemaphorePermit);

/// `workers` tasks, each writing the items of its queue in order and reporting each outcome.
fn start_writers(
    client: &Client,
    ns: &str,
    workers: usize,
    events: &mpsc::Sender<Event>,
    stop: &Arc<AtomicBool>,
) -> (
    Vec<mpsc::UnboundedSender<Queued>>,
    Vec<tokio::task::JoinHandle<()>>,
) {
    let mut queues = Vec::with_capacity(workers);
    let mut handles = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (queue, mut items) = mpsc::unbounded_channel::<Queued>();
        queues.push(queue);
        let client = client.clone();
        let ns = ns.to_owned();
        let events = events.clone();
        let stop = Arc::clone(stop);
        handles.push(tokio::spawn(async move {
            while let Some((item, _permit)) = items.recv().await {
                let event = if stop.load(Ordering::Relaxed) {
                    Event::Skipped
                } else {
                    let written = client
                        .put_key(
                            &ns,
                            &item.key,
                            item.value.clone(),
                            item.ttl_secs,
                            item.content_type.as_deref(),
                        )
                        .await;
                    match written {
                        Ok(_) => Event::Done,
                        Err(err) => Event::Failed(Box::new(item), err),
                    }
                };
                if events.send(event).await.is_err() {
                    return;
                }
            }
        }));
    }
    (queues, handles)
}

/// Reads the input on a blocking thread and hands each item to the writer its key hashes to
/// (so that two items with one key are written in input order). Items wait in per-writer
/// queues; a budget of bytes, not the queue length, bounds memory, so that the reader never
/// stalls on one busy writer while others are idle.
fn start_reader(
    records: Box<dyn Iterator<Item = Record> + Send>,
    queues: Vec<mpsc::UnboundedSender<Queued>>,
    events: mpsc::Sender<Event>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    let budget = Arc::new(tokio::sync::Semaphore::new(QUEUED_KIB));
    tokio::task::spawn_blocking(move || {
        let mut seen = HashSet::new();
        for record in records {
            let item = match record {
                Record::Bad { origin, error } => {
                    if events.blocking_send(Event::Bad { origin, error }).is_err() {
                        return;
                    }
                    continue;
                }
                Record::Item(item) => item,
            };
            if stop.load(Ordering::Relaxed) {
                let _ = events.blocking_send(Event::Skipped);
                continue;
            }
            let hash = key_hash(&item.key);
            if !seen.insert(hash) {
                let _ = events.blocking_send(Event::Duplicate {
                    origin: item.origin.clone(),
                    key: item.key.clone(),
                });
            }
            let kib = u32::try_from(item.value.len() / 1024 + 1).unwrap_or(u32::MAX);
            let Ok(permit) = tokio::runtime::Handle::current()
                .block_on(Arc::clone(&budget).acquire_many_owned(kib))
            else {
                return;
            };
            let queue = &queues[(hash % queues.len() as u64) as usize];
            if queue.send((item, permit)).is_err() {
                return;
            }
        }
    })
}

/// Counts one outcome of `put`; a failed item goes to the failed file as it was given.
fn tally_put(tally: &mut Tally<'_>, event: Event) -> anyhow::Result<()> {
    match event {
        Event::Done => tally.done(),
        Event::Skipped => tally.skipped(),
        Event::Duplicate { origin, key } => tally.warn(&format!(
            "{origin}: key `{key}` appeared earlier in the input; the last one wins"
        )),
        Event::Bad { origin, error } => {
            tally.failed(&FailedLine::about(None, &origin, &error), Exit::Failure)?;
        }
        Event::Failed(item, err) => {
            let error = err.to_string();
            let (value, base64) = if item.base64 {
                (STANDARD.encode(&item.value), true)
            } else {
                (String::from_utf8_lossy(&item.value).into_owned(), false)
            };
            let line = FailedLine {
                key: Some(&item.key),
                value: Some(value),
                base64: Some(base64),
                ttl_secs: item.ttl_secs,
                content_type: item.content_type.as_deref(),
                origin: &item.origin,
                error: &error,
            };
            tally.failed(&line, err.exit())?;
        }
    }
    Ok(())
}

/// Where the keys of `bulk get` / `bulk delete` / `export` come from.
#[derive(Debug, Clone)]
pub(crate) enum Keys {
    /// Given on the command line.
    Given(Vec<String>),
    /// One per line in a file, or stdin for `-`.
    File(PathBuf),
    /// Every key with this prefix (all keys for an empty one), listed page by page.
    Prefix(String),
}

/// A key to work on, or why a line of input is not one.
type KeyRecord = Result<(String, String), (String, String)>;

/// Feeds the keys into a bounded channel, so listing or reading never runs far ahead.
fn produce(client: &Client, ns: &str, keys: Keys, capacity: usize) -> mpsc::Receiver<KeyRecord> {
    let (send, receive) = mpsc::channel(capacity);
    match keys {
        Keys::Given(keys) => {
            tokio::spawn(async move {
                for (index, key) in keys.into_iter().enumerate() {
                    if send
                        .send(check(key, format!("argument {}", index + 1)))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
        Keys::File(path) => {
            tokio::task::spawn_blocking(move || {
                use std::io::BufRead as _;
                let reader: Box<dyn std::io::BufRead> = if path.as_os_str() == "-" {
                    Box::new(std::io::stdin().lock())
                } else {
                    match std::fs::File::open(&path) {
                        Ok(file) => Box::new(std::io::BufReader::new(file)),
                        Err(err) => {
                            let _ = send.blocking_send(Err((
                                path.display().to_string(),
                                format!("cannot read: {err}"),
                            )));
                            return;
                        }
                    }
                };
                for (index, line) in reader.lines().enumerate() {
                    let origin = format!("line {}", index + 1);
                    let record = match line {
                        Ok(line) if line.trim().is_empty() => continue,
                        Ok(line) => check(line.trim().to_owned(), origin),
                        Err(err) => Err((origin, format!("cannot read: {err}"))),
                    };
                    if send.blocking_send(record).is_err() {
                        return;
                    }
                }
            });
        }
        Keys::Prefix(prefix) => {
            let client = client.clone();
            let ns = ns.to_owned();
            tokio::spawn(async move {
                let mut cursor: Option<String> = None;
                loop {
                    let prefix = (!prefix.is_empty()).then_some(prefix.as_str());
                    let page = match client
                        .list_keys(&ns, prefix, Some(1000), cursor.as_deref())
                        .await
                    {
                        Ok(page) => page,
                        Err(err) => {
                            let _ = send.send(Err(("key list".into(), err.to_string()))).await;
                            return;
                        }
                    };
                    for key in page.data {
                        // A listed key this client cannot address fails as an item.
                        if send.send(check(key.key, "listed".into())).await.is_err() {
                            return;
                        }
                    }
                    match page.meta.cursor.filter(|_| page.meta.has_more) {
                        Some(next) => cursor = Some(next),
                        None => return,
                    }
                }
            });
        }
    }
    receive
}

fn check(key: String, origin: String) -> KeyRecord {
    match crate::api::rules::request_key(&key) {
        Ok(()) => Ok((key, origin)),
        Err(err) => Err((origin, err.to_string())),
    }
}

fn stream(receiver: mpsc::Receiver<KeyRecord>) -> impl futures_util::Stream<Item = KeyRecord> {
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|record| (record, receiver))
    })
}

/// Reads every key's value and writes NDJSON lines to `out`, in key order, `concurrency`
/// requests at a time. Keys that vanished between listing and reading are skipped.
pub(crate) async fn get(
    client: &Client,
    ns: &str,
    keys: Keys,
    out: &mut dyn Write,
    options: &Options,
    printer: &Printer,
) -> anyhow::Result<Summary> {
    use futures_util::StreamExt as _;
    let concurrency = options.concurrency.max(1);
    let receiver = produce(client, ns, keys, concurrency * 4);
    let fetches = stream(receiver)
        .map(|record| {
            let client = client.clone();
            let ns = ns.to_owned();
            async move {
                let (key, origin) = record?;
                let fetched = client
                    .get_key(&ns, &key)
                    .await
                    .map(|value| (value.bytes, value.content_type));
                Ok((key, origin, fetched))
            }
        })
        .buffered(concurrency);
    futures_util::pin_mut!(fetches);
    let mut tally = Tally::new(printer, options, None, "read");
    while let Some(result) = fetches.next().await {
        if tally.should_stop() {
            tally.skipped();
            continue;
        }
        match result {
            Ok((key, _, Ok((bytes, content_type)))) => {
                let line = ValueLine::new(&key, &bytes, content_type.as_deref());
                serde_json::to_writer(&mut *out, &line)?;
                out.write_all(b"\n")?;
                tally.done();
            }
            // Listed, then deleted by someone else before it was read.
            Ok((_, origin, Err(err))) if err.status() == Some(404) && origin == "listed" => {
                tally.skipped();
            }
            Ok((key, origin, Err(err))) => {
                let error = err.to_string();
                tally.failed(&FailedLine::about(Some(&key), &origin, &error), err.exit())?;
            }
            Err((origin, error)) => {
                tally.failed(&FailedLine::about(None, &origin, &error), Exit::Failure)?;
            }
        }
    }
    out.flush()?;
    tally.finish()
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
    let mut receiver = produce(client, ns, keys.clone(), 1000);
    let mut count = 0;
    while let Some(record) = receiver.recv().await {
        match record {
            Ok((key, _)) => {
                count += 1;
                if let Some(printer) = list {
                    printer.out(&format!("{key}\n"))?;
                }
            }
            Err((origin, error)) => anyhow::bail!("{origin}: {error}"),
        }
    }
    Ok(Some(count))
}

/// Deletes every key, `concurrency` requests at a time.
pub(crate) async fn delete(
    client: &Client,
    ns: &str,
    keys: Keys,
    total: Option<u64>,
    options: &Options,
    printer: &Printer,
) -> anyhow::Result<Summary> {
    use futures_util::StreamExt as _;
    let concurrency = options.concurrency.max(1);
    let receiver = produce(client, ns, keys, concurrency * 4);
    let deletions = stream(receiver)
        .map(|record| {
            let client = client.clone();
            let ns = ns.to_owned();
            async move {
                let (key, origin) = record?;
                let result = client.delete_key(&ns, &key).await;
                Ok::<_, (String, String)>((key, origin, result))
            }
        })
        .buffer_unordered(concurrency);
    futures_util::pin_mut!(deletions);
    let mut tally = Tally::new(printer, options, total, "deleted");
    while let Some(result) = deletions.next().await {
        if tally.should_stop() {
            tally.skipped();
            continue;
        }
        match result {
            Ok((_, _, Ok(()))) => tally.done(),
            Ok((key, origin, Err(err))) => {
                let error = err.to_string();
                tally.failed(&FailedLine::about(Some(&key), &origin, &error), err.exit())?;
            }
            Err((origin, error)) => {
                tally.failed(&FailedLine::about(None, &origin, &error), Exit::Failure)?;
            }
        }
    }
    tally.finish()
}
