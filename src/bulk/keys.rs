//! `bulk get`, `export` and `bulk delete`: one request per key (`GET` or
//! `DELETE /storage/kvs/{id}/keys/{key}`), as many at once as the window allows, run by one
//! [`run_keys`].

use std::io::Write;
use std::sync::Arc;

use serde::Serialize;

use super::budget::{Budget, watch_signals};
use super::failed_file::FailedLine;
use super::key_source::{Key, KeyRecord, Keys, LISTED, NotAKey, produce, stream};
use super::run::{Options, Summary};
use super::tally::Tally;
use super::window::{Slot, Window};
use crate::client::{ApiError, Client};
use crate::ui::printer::Printer;
use crate::ui::progress::Counts;

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

/// What became of one key of a run over keys.
pub(super) enum KeyOutcome<T> {
    /// With its room in the window, held until the answer is dealt with.
    Answered(Result<T, ApiError>, Slot),
    /// The run had stopped: no request was made.
    NotSent,
}

/// A key and what became of it.
pub(super) struct Answer<T> {
    pub key: Key,
    pub outcome: KeyOutcome<T>,
}

impl<T> Answer<T> {
    fn not_sent(key: Key) -> Self {
        Self {
            key,
            outcome: KeyOutcome::NotSent,
        }
    }
}

/// Starts the request for `record` unless the run has stopped; a failure counts against the
/// budget the moment it happens, so that no later item starts after the budget is spent.
pub(super) async fn key_request<T, F>(
    record: KeyRecord,
    budget: Arc<Budget>,
    window: Arc<Window>,
    request: impl FnOnce(String) -> F,
) -> Result<Answer<T>, NotAKey>
where
    F: std::future::Future<Output = Result<T, ApiError>>,
{
    // A line that is not a key fails alone: it spends no budget, so it stops no other key.
    let key = record?;
    if budget.stopped() {
        return Ok(Answer::not_sent(key));
    }
    let mut slot = window.acquire().await;
    if budget.stopped() {
        return Ok(Answer::not_sent(key));
    }
    let result = request(key.key.clone()).await;
    if matches!(result, Err(ApiError::NotSent)) {
        return Ok(Answer::not_sent(key));
    }
    slot.answered();
    if let Err(err) = &result
        && !(err.status() == Some(404) && key.origin == LISTED)
    {
        budget.fail();
    }
    Ok(Answer {
        key,
        outcome: KeyOutcome::Answered(result, slot),
    })
}

/// Counts what became of a key, but for an answer that went well and needs more than counting
/// (a value to write out).
pub(super) fn tally_key<T>(
    tally: &mut Tally<'_>,
    result: Result<Answer<T>, NotAKey>,
) -> anyhow::Result<()> {
    let Answer { key, outcome } = match result {
        Ok(answer) => answer,
        Err(NotAKey { origin, error }) => return tally.bad(&origin, &error, None, None),
    };
    let Key { key, origin } = key;
    match outcome {
        KeyOutcome::Answered(Ok(_), _) => tally.done(&key),
        // Listed, then deleted by someone else before it was read.
        KeyOutcome::Answered(Err(err), _) if err.status() == Some(404) && origin == LISTED => {
            tally.vanished();
        }
        KeyOutcome::Answered(Err(err), _) => {
            let error = err.to_string();
            let line = FailedLine::about(Some(&key), &origin, &error);
            tally.failed(&line, err.exit(), false)?;
        }
        KeyOutcome::NotSent => {
            let reason = tally.budget.reason();
            tally.skipped(&FailedLine::about(Some(&key), &origin, &reason))?;
        }
    }
    Ok(())
}

/// What a run over keys does with each key.
#[derive(Debug, Clone, Copy)]
enum KeyWork {
    /// Reads it (`get`), dealing with the answers in the keys' order: the output follows the
    /// input.
    Read,
    /// Deletes it, dealing with the answers as they come; `total` keys, when known ahead.
    Delete { total: Option<u64> },
}

impl KeyWork {
    /// What the progress bar says of a key done.
    fn verb(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Delete { .. } => "deleted",
        }
    }

    fn total(self) -> Option<u64> {
        match self {
            Self::Read => None,
            Self::Delete { total } => total,
        }
    }
}

/// The keys of a run, where they are, and how it reports.
struct KeyJob<'a> {
    client: &'a Client,
    ns: &'a str,
    keys: Keys,
    options: &'a Options,
    printer: &'a Printer,
}

impl<'a> KeyJob<'a> {
    fn new(
        client: &'a Client,
        ns: &'a str,
        keys: Keys,
        options: &'a Options,
        printer: &'a Printer,
    ) -> Self {
        Self {
            client,
            ns,
            keys,
            options,
            printer,
        }
    }
}

/// What a run over keys does with each answer that went well, beyond counting it.
trait Answers<T> {
    /// The answer for `key`; an error ends the run at once.
    fn answered(&mut self, key: &str, value: T) -> anyhow::Result<()>;

    /// Every key is dealt with, before the summary; an error ends the run without it.
    fn end(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Nothing beyond counting (`delete`).
struct Counted;

impl<T> Answers<T> for Counted {
    fn answered(&mut self, _key: &str, _value: T) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Each value as an NDJSON line (`get`).
struct ValueLines<'o> {
    out: &'o mut dyn Write,
}

impl Answers<crate::client::Value> for ValueLines<'_> {
    fn answered(&mut self, key: &str, value: crate::client::Value) -> anyhow::Result<()> {
        let line = ValueLine::new(key, &value.bytes, value.content_type.as_deref());
        let mut text = serde_json::to_vec(&line)?;
        text.push(b'\n');
        self.out.write_all(&text)?;
        Ok(())
    }

    fn end(&mut self) -> anyhow::Result<()> {
        self.out.flush()?;
        Ok(())
    }
}

/// Makes `request` for every key of `job`, as many at a time as the window allows, with the
/// bulk engine's rules (the error budget, Ctrl-C, the failed file), and gives each answer that
/// went well to `answers`.
async fn run_keys<T, F>(
    job: KeyJob<'_>,
    work: KeyWork,
    request: impl Fn(Client, Arc<str>, String) -> F,
    answers: &mut dyn Answers<T>,
) -> anyhow::Result<Summary>
where
    F: std::future::Future<Output = Result<T, ApiError>>,
{
    use futures_util::StreamExt as _;
    let options = job.options;
    let budget = Budget::new(options.max_errors);
    let signals = watch_signals(&budget);
    let total = work.total().or(match &job.keys {
        Keys::Given(keys) => Some(keys.len() as u64),
        _ => None,
    });
    let verb = work.verb();
    let mut tally = Tally::new(job.printer, options, &budget, job.client, total, verb)?;
    // Aborted when the run ends, however it ends.
    let _counting = (total.is_none() && tally.drawn())
        .then(|| count_beside(job.client, job.ns, &job.keys, tally.counts()))
        .flatten();
    let client = budget.client(job.client);
    let window = Arc::clone(&tally.window);
    let may_stall = matches!(&job.keys, Keys::File(path) if super::input::may_stall(path));
    let capacity = options.ceiling.max(1) * 4;
    let listing = Some(Arc::clone(&window));
    let receiver = produce(&client, job.ns, job.keys, capacity, &budget, listing);
    let ns: Arc<str> = Arc::from(job.ns);
    let requests = stream(receiver, Arc::clone(&budget), may_stall).map(|record| {
        let (budget, window) = (Arc::clone(&budget), Arc::clone(&window));
        key_request(record, budget, window, |key| {
            request(client.clone(), ns.clone(), key)
        })
    });
    let at_once = options.ceiling.max(1);
    let results = match work {
        KeyWork::Read => requests.buffered(at_once).left_stream(),
        KeyWork::Delete { .. } => requests.buffer_unordered(at_once).right_stream(),
    };
    futures_util::pin_mut!(results);
    while let Some(result) = results.next().await {
        match result {
            // The slot is held until the answer is dealt with: values in memory stay within
            // the window.
            Ok(Answer {
                key: Key { key, .. },
                outcome: KeyOutcome::Answered(Ok(value), _slot),
            }) => {
                // A closed stdout ends the run: nothing more is read, nothing more is said.
                if let Err(err) = answers.answered(&key, value) {
                    signals.abort();
                    budget.interrupt();
                    return Err(err);
                }
                tally.done(&key);
            }
            other => tally_key(&mut tally, other)?,
        }
    }
    signals.abort();
    answers.end()?;
    tally.finish()
}

/// A task that ends with the run that holds it.
struct Beside(tokio::task::JoinHandle<()>);

impl Drop for Beside {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Counts the keys of a run beside it, so that its progress bar gets a total and an ETA once the
/// count is in: a listing of its own (a few requests, one per page of keys, while the run makes
/// one per key), or the file of keys read once more. Stdin cannot be read twice.
fn count_beside(client: &Client, ns: &str, keys: &Keys, counts: Arc<Counts>) -> Option<Beside> {
    if matches!(keys, Keys::File(path) if path.as_os_str() == "-") {
        return None;
    }
    let (client, ns, keys) = (client.clone(), ns.to_owned(), keys.clone());
    Some(Beside(tokio::spawn(async move {
        if let Ok(Some(total)) = super::key_source::count(&client, &ns, &keys, None).await {
            counts.expect(total, false);
        }
    })))
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
    let job = KeyJob::new(client, ns, keys, options, printer);
    let request =
        |client: Client, ns: Arc<str>, key: String| async move { client.get_key(&ns, &key).await };
    run_keys(job, KeyWork::Read, request, &mut ValueLines { out }).await
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
    let job = KeyJob::new(client, ns, keys, options, printer);
    let request = |client: Client, ns: Arc<str>, key: String| async move {
        client.delete_key(&ns, &key).await
    };
    run_keys(job, KeyWork::Delete { total }, request, &mut Counted).await
}
