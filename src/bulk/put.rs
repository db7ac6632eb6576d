//! `bulk put` and `import`: writes items read from the input (`PUT /storage/kvs/{id}/keys/{key}`,
//! or `DELETE` for an item whose absolute expiry has passed), as many at once as the window
//! allows, items of one key in input order.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::mpsc;

use super::budget::{Budget, Received, watch_signals};
use super::failed_file::{FailedLine, key_hash};
use super::input::{BadRecord, Extent, Item, Record};
use super::run::{Options, Summary};
use super::tally::Tally;
use super::window::{Slot, Window};
use crate::client::{ApiError, Client};
use crate::ui::printer::Printer;
use crate::ui::progress::Counts;

/// What happened to one item of `put`.
enum Event {
    /// The item of this key was written.
    Done(String),
    Failed(Box<Item>, ApiError),
    Bad(Box<BadRecord>),
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

/// KiB of values that may wait in the worker queues at once: with the 1 MiB value limit, memory
/// stays bounded whatever the input's size.
const QUEUED_KIB: usize = 16 * 1024;

/// Writes every item of `records` to namespace `ns`, as many at once as the window allows.
/// Items with the same key are written one after the other in input order, so the last one
/// wins. `extent` says how many items to expect, for the progress bar.
pub(crate) async fn put(
    client: &Client,
    ns: &str,
    (records, extent): (Box<dyn Iterator<Item = Record> + Send>, Extent),
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
    let input = (records, extent, tally.counts());
    let reader = start_reader(input, queue, writer.clone(), events, Arc::clone(&read));
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
    if !budget.unread() {
        let _ = reader.await;
        let _ = dispatcher.await;
    }
    signals.abort();
    tally.finish()
}

/// An item on its way to a writer, holding its share of the byte budget until written.
struct Queued {
    item: Item,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// What waits in a key's chain: an item to write, or a bad line of that key, reported in its
/// turn so that the failed file keeps the key's lines in input order.
enum Link {
    Item(Queued),
    Bad(Box<BadRecord>),
}

type Chain = VecDeque<Link>;

/// The items waiting behind an earlier item with the same key (by hash), per key that has an
/// item queued or in flight. Only such keys have an entry, so it stays as small as the queue.
type Chains = Arc<std::sync::Mutex<HashMap<u64, Chain>>>;

/// What every write of a run shares.
#[derive(Clone)]
struct Writer {
    client: Client,
    ns: Arc<str>,
    events: mpsc::Sender<Event>,
    budget: Arc<Budget>,
    chains: Chains,
    /// Chains being written.
    active: Arc<AtomicUsize>,
}

impl Writer {
    fn chains(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Chain>> {
        self.chains.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `first`, then each item that queued behind it with the same key, in order.
    /// `slot` is the room in the window the writes use; without one (the run stopped), every
    /// item is reported as skipped.
    async fn write_chain(self, first: Queued, mut slot: Option<Slot>) {
        let hash = key_hash(&first.item.key);
        let mut next = Some(Link::Item(first));
        while let Some(link) = next.take() {
            let event = match link {
                Link::Bad(bad) => Event::Bad(bad),
                Link::Item(queued) => self.write(queued.item, slot.as_mut()).await,
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
            // In order, here: a skipped item's line in the failed file keeps its place.
            None => writer.clone().write_chain(head, None).await,
        }
    }
    while writes.join_next().await.is_some() {}
}

/// Reads the input on a blocking thread and queues each item: at the head of its key's chain
/// (to be written as soon as the window has room), or behind the item with the same key that
/// is queued or in flight (so that two items with one key are written in input order). A
/// budget of bytes bounds the values queued. Once the run stops, the rest of the input is
/// still read, straight into the failed file. Each item read tells the progress bar how many
/// to expect.
fn start_reader(
    (records, extent, counts): (Box<dyn Iterator<Item = Record> + Send>, Extent, Arc<Counts>),
    heads: mpsc::UnboundedSender<Queued>,
    writer: Writer,
    events: mpsc::Sender<Event>,
    read: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    let mut reader = Reader {
        writer,
        heads,
        events,
        read,
        bytes: Arc::new(tokio::sync::Semaphore::new(QUEUED_KIB)),
        seen: HashSet::new(),
    };
    let expect = move |read: &AtomicU64, to_end: bool| {
        if let Some((total, estimated)) = extent.expected(read.load(Ordering::SeqCst), to_end) {
            counts.expect(total, estimated);
        }
    };
    tokio::task::spawn_blocking(move || {
        for record in records {
            let going_on = match record {
                Record::Bad(bad) => reader.bad(Box::new(bad)),
                Record::Warning { origin, message } => {
                    reader.send(Event::Warning(format!("{origin}: {message}")))
                }
                Record::Item(item) => reader.item(item),
            };
            if !going_on {
                return;
            }
            expect(&reader.read, false);
        }
        expect(&reader.read, true);
    })
}

/// The reading side of `put`, on its blocking thread. Each of its steps says whether the run
/// still listens (`false`: it is over, stop reading).
struct Reader {
    writer: Writer,
    heads: mpsc::UnboundedSender<Queued>,
    events: mpsc::Sender<Event>,
    /// Items read (good and bad), for the collector to know when all are accounted for.
    read: Arc<AtomicU64>,
    /// KiB of values that may still be queued.
    bytes: Arc<tokio::sync::Semaphore>,
    /// The hashes of the keys read so far, to warn about a key that appears again.
    seen: HashSet<u64>,
}

impl Reader {
    fn send(&self, event: Event) -> bool {
        self.events.blocking_send(event).is_ok()
    }

    /// A bad input line: a failed item that spends no error budget, so that it stops none of
    /// the good lines around it (the budget is for the service's failures; a bad line is the
    /// input's, kept in the failed file to be fixed). Behind an item of its key still queued or
    /// in flight, it waits its turn; otherwise it is reported now.
    fn bad(&mut self, bad: Box<BadRecord>) -> bool {
        self.read.fetch_add(1, Ordering::SeqCst);
        if let Some(hash) = bad.key.as_deref().map(key_hash)
            && let Some(chain) = self.writer.chains().get_mut(&hash)
        {
            chain.push_back(Link::Bad(bad));
            return true;
        }
        self.send(Event::Bad(bad))
    }

    /// An item: queued once its value fits in the byte budget. After a stop, items still go
    /// through their chain (which skips them), so that the failed file keeps the input's
    /// order for items with the same key.
    fn item(&mut self, item: Item) -> bool {
        self.read.fetch_add(1, Ordering::SeqCst);
        let hash = key_hash(&item.key);
        if !self.seen.insert(hash) {
            let duplicate = Event::Duplicate {
                origin: item.origin.clone(),
                key: item.key.clone(),
            };
            if !self.send(duplicate) {
                return false;
            }
        }
        let kib = u32::try_from(item.value.len() / 1024 + 1).unwrap_or(u32::MAX);
        let Ok(permit) = tokio::runtime::Handle::current()
            .block_on(Arc::clone(&self.bytes).acquire_many_owned(kib))
        else {
            return false;
        };
        let queued = Queued {
            item,
            _permit: permit,
        };
        let head = {
            let mut chains = self.writer.chains();
            match chains.get_mut(&hash) {
                Some(chain) => {
                    chain.push_back(Link::Item(queued));
                    None
                }
                None => {
                    chains.insert(hash, VecDeque::new());
                    Some(queued)
                }
            }
        };
        head.is_none_or(|head| self.heads.send(head).is_ok())
    }
}

/// Counts one outcome of `put`; an item not written goes to the failed file as it was given.
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
