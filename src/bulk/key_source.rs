//! Where the keys of `bulk get`, `bulk delete` and `export` come from: the command line, a file
//! of keys (or a failed file's lines), or a listing (`GET /storage/kvs/{id}/keys`), fed into a
//! bounded channel so that reading or listing never runs far ahead.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::budget::{Budget, Received};
use super::line::{self, Line};
use super::window::Window;
use crate::client::{ApiError, Client, KeyPages};
use crate::ui::printer::Printer;

/// Where the keys of `bulk get` / `bulk delete` / `export` come from.
#[derive(Debug, Clone)]
pub(crate) enum Keys {
    /// Given on the command line.
    Given(Vec<String>),
    /// One per line in a file, or stdin for `-`: a plain key, or a JSON object with `key` (a
    /// line of a failed file).
    File(PathBuf),
    /// Every key with this prefix (all keys for an empty one), listed page by page.
    Prefix(String),
}

/// The origin of a failure to list the keys (rather than of one key).
const LISTING: &str = "key list";

/// The origin of a key that a listing gave (rather than a line or an argument): such a key
/// that is gone when read vanished meanwhile, which is no failure.
pub(crate) const LISTED: &str = "listed";

/// A key to work on, and where it came from (`argument 2`, `line 7`, [`LISTED`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Key {
    pub key: String,
    pub origin: String,
}

impl Key {
    pub(crate) fn new(key: String, origin: &str) -> Self {
        Self {
            key,
            origin: origin.to_owned(),
        }
    }
}

/// Input that is not a key to work on: where it was, and why.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NotAKey {
    pub origin: String,
    pub error: String,
}

/// A key to work on, or why a line of input is not one.
pub(crate) type KeyRecord = Result<Key, NotAKey>;

/// Input that is not a key (`origin`: why).
fn not_a_key(origin: String, error: impl Into<String>) -> KeyRecord {
    Err(NotAKey {
        origin,
        error: error.into(),
    })
}

/// Feeds the keys into a bounded channel, so listing or reading never runs far ahead. Listing
/// stops once the run stops; keys from arguments or a file keep coming, for the failed file.
pub(super) fn produce(
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

/// Reads a file of keys (stdin for `-`), one per line; a read error ends it.
fn read_key_file(path: &Path, send: &mpsc::Sender<KeyRecord>) {
    let reader: Box<dyn std::io::BufRead> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(path) {
            Ok(file) => Box::new(std::io::BufReader::new(file)),
            Err(err) => {
                let origin = path.display().to_string();
                let _ = send.blocking_send(not_a_key(origin, format!("cannot read: {err}")));
                return;
            }
        }
    };
    let mut reader = reader;
    let mut number = 0;
    loop {
        number += 1;
        let origin = format!("line {number}");
        let record = match line::read(&mut *reader) {
            Ok(None) => return,
            Ok(Some(Line::TooLong(_))) => not_a_key(origin, "the line is longer than 8 MiB"),
            Ok(Some(Line::Text(bytes))) => {
                let line = String::from_utf8_lossy(&bytes);
                if line.trim().is_empty() {
                    continue;
                }
                key_line(line.trim().trim_start_matches('\u{feff}'), origin)
            }
            Err(err) => {
                // A read error does not go away by reading on (a directory, a device).
                let _ = send.blocking_send(not_a_key(origin, format!("cannot read: {err}")));
                return;
            }
        };
        if send.blocking_send(record).is_err() {
            return;
        }
    }
}

/// A line of a keys file: the key itself, or an object with `key` (from a failed file).
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
        Ok(Keyed { key: None }) => not_a_key(origin, "the object has no `key`"),
        Err(err) => not_a_key(
            origin,
            format!("not a key, nor a JSON object with `key`: {err}"),
        ),
    }
}

/// Lists the keys with `prefix`, page by page, until the run stops.
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
            // Listing on would send requests; the summary says the failed file is incomplete.
            budget.stop_listing();
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
                budget.stop_listing();
                return;
            }
            Err(err) => {
                let _ = send.send(not_a_key(LISTING.into(), err.to_string())).await;
                return;
            }
        };
        for key in keys {
            // A listed key this client cannot address fails as an item.
            if send.send(check(key.key, LISTED.into())).await.is_err() {
                return;
            }
        }
    }
}

/// `key` when a request can address it.
fn check(key: String, origin: String) -> KeyRecord {
    match crate::api::rules::request_key(&key) {
        Ok(()) => Ok(Key { key, origin }),
        Err(err) => not_a_key(origin, err.to_string()),
    }
}

/// The keys as a stream. After Ctrl-C or SIGTERM, a source that sends nothing for a while (a
/// pipe or FIFO that may never send again) ends it, and the run says its input was not read
/// to the end.
pub(super) fn stream(
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
        if let Err(NotAKey { origin, error }) = &record
            && origin == LISTING
        {
            anyhow::bail!("{origin}: {error}");
        }
        count += 1;
        match (record, list) {
            (Ok(Key { key, .. }), Some(printer)) => printer.out(&format!("{key}\n"))?,
            // Counted: it will fail as an item of the run, not stop it before it starts.
            (Err(NotAKey { origin, error }), Some(printer)) => {
                printer.warn(&format!("{origin}: {error}; it would fail"));
            }
            (_, None) => {}
        }
    }
    Ok(Some(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_take_plain_keys_and_failed_file_lines() {
        assert_eq!(
            key_line("a/b", "line 1".into()),
            Ok(Key {
                key: "a/b".into(),
                origin: "line 1".into()
            })
        );
        assert_eq!(
            key_line(
                r#"{"key":"k","origin":"listed","error":"x"}"#,
                "line 2".into()
            ),
            Ok(Key {
                key: "k".into(),
                origin: "line 2".into()
            })
        );
        assert!(key_line(r#"{"value":"v"}"#, "line 3".into()).is_err());
        assert!(key_line("..", "line 4".into()).is_err());
    }
}
