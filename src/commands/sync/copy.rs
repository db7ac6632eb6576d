//! Carrying a plan out: one namespace's copy, then what the sync record learns from it, then
//! its summary line. Endpoints, on the side written to: `GET /storage/kvs/{id}/keys/{key}`
//! (is it still as planned?), then `PUT /storage/kvs/{id}/keys/{key}?ttl_secs=T` or
//! `DELETE /storage/kvs/{id}/keys/{key}`; on the side read from,
//! `GET /storage/kvs/{id}/keys/{key}` for each value copied.

use std::sync::atomic::{AtomicBool, Ordering};

use super::left_alone::LeftAlone;
use super::plan::{Planned, Recorded};
use super::report::Outcome;
use super::{Between, Direction};
use crate::api::digest::Digest;
use crate::bulk::run::{Options, Summary};
use crate::bulk::sync::{self, Copied, Copying, Done, Work};
use crate::local::seen::{self, Base, Note, Record};
use crate::ui::printer::Printer;

/// Whether a copy is running: its own watcher then turns Ctrl-C into a clean stop.
static COPYING: AtomicBool = AtomicBool::new(false);

/// Whether a copy is running, so that Ctrl-C is the copy's to handle.
pub(crate) fn running() -> bool {
    COPYING.load(Ordering::SeqCst)
}

/// What copying one namespace did.
#[derive(Default)]
pub(super) struct WorkDone {
    pub summary: Summary,
    pub copied: Copied,
    /// What became of each key acted on.
    pub done: Vec<(String, Done, Recorded)>,
}

/// [`sync::copy`], marked as running for [`running`].
pub(super) async fn copy_marked(
    copying: Copying<'_>,
    work: Vec<Work<Recorded>>,
    uncopyable: &[String],
    options: &Options,
    printer: &Printer,
) -> anyhow::Result<WorkDone> {
    COPYING.store(true, Ordering::SeqCst);
    let result = sync::copy(copying, work, uncopyable, options, printer).await;
    COPYING.store(false, Ordering::SeqCst);
    let (summary, copied, done) = result?;
    Ok(WorkDone {
        summary,
        copied,
        done,
    })
}

/// Runs planned namespaces' copies one after the other, stopping at the first that does not
/// finish.
pub(crate) async fn carry_out(
    between: Between<'_>,
    planned: Vec<Planned>,
) -> anyhow::Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    for p in planned {
        let outcome = copy_namespace(between, p).await?;
        let stop = outcome.stopped();
        outcomes.push(outcome);
        if stop {
            break;
        }
    }
    Ok(outcomes)
}

/// Runs one planned namespace's copy, teaches the record what it did, and says so.
pub(crate) async fn copy_namespace(
    between: Between<'_>,
    mut p: Planned,
) -> anyhow::Result<Outcome> {
    let (direction, printer) = (between.run.direction, between.printer);
    let work_done = copy_work(between, &mut p).await?;
    let notes = notes_after(std::mem::take(&mut p.notes), direction, &work_done.done);
    learn(&p.record, &notes, printer);
    let mut left_alone = std::mem::take(&mut p.left_alone);
    for (key, what, _) in &work_done.done {
        if *what == Done::Moved {
            left_alone.push(LeftAlone::moved(key.clone(), direction));
        }
    }
    let mut copied = work_done.copied;
    copied.unchanged += p.report.equal;
    let outcome = Outcome::new(
        &p.target,
        copied,
        p.kept,
        left_alone,
        p.uncopyable.len(),
        work_done.summary,
    );
    outcome.say(printer, direction);
    Ok(outcome)
}

/// Copies a plan's work (nothing to do, nothing run). When the copy fails part-way the record
/// is reset: keys may have been written that it will not hear of, and a base older than the
/// last agreement could pass a revert off as no change.
async fn copy_work(between: Between<'_>, p: &mut Planned) -> anyhow::Result<WorkDone> {
    let Between {
        run,
        local,
        remote,
        options,
        printer,
    } = between;
    if p.work.is_empty() && p.uncopyable.is_empty() {
        return Ok(WorkDone::default());
    }
    let (to, from) = match run.direction {
        Direction::Pull => (&local.client, &remote.client),
        Direction::Push => (&remote.client, &local.client),
    };
    let (to, from) = (to.without_retry_messages(), from.without_retry_messages());
    let work = std::mem::take(&mut p.work);
    let copying = Copying {
        to: &to,
        to_ns: &p.target.id,
        from: &from,
        from_ns: &p.target.id,
        origin: run.direction.verb(),
    };
    match copy_marked(copying, work, &p.uncopyable, options, printer).await {
        Ok(work_done) => Ok(work_done),
        Err(err) => {
            let _ = p.record.reset();
            Err(err.context(format!(
                "failed to {} KV namespace `{}`",
                run.direction.verb(),
                p.target.label
            )))
        }
    }
}

/// Teaches the record a run's notes. A record that missed this run's changes could vouch for
/// a value overwritten since: without one, later runs report conflicts instead.
fn learn(record: &Record, notes: &[Note], printer: &Printer) {
    let Err(err) = record.apply(notes) else {
        return;
    };
    let reset = match record.reset() {
        Ok(()) => "it was reset, so the next run judges every difference anew (conflicts rather than merges)".to_owned(),
        Err(reset) => format!("it could not be reset either ({reset}): delete it before the next pull or push"),
    };
    printer.warn(&format!("{err}; {reset}"));
}

/// What the record learns from a run: the equal keys' listings, and each key written or
/// deleted (now equal on both sides).
fn notes_after(
    notes: Vec<Note>,
    direction: Direction,
    outcomes: &[(String, Done, Recorded)],
) -> Vec<Note> {
    let mut notes = notes;
    for (key, done, recorded) in outcomes {
        let base = match (done, direction) {
            (Done::Moved, _) => continue,
            (Done::Deleted, _) => {
                notes.push(Note::Forget(key.clone()));
                continue;
            }
            (Done::Written(digest, size), Direction::Pull) => pulled(*digest, *size, recorded),
            (Done::Written(digest, size), Direction::Push) => pushed(*digest, *size, recorded),
        };
        notes.push(Note::Set(key.clone(), base));
    }
    notes
}

/// The base of a key a pull wrote: the service's listing of it.
fn pulled(digest: Digest, size: u64, recorded: &Recorded) -> Base {
    let updated_at = recorded.updated_at.clone().unwrap_or_default();
    Base {
        // A value of another size than listed was written after the listing.
        settled: seen::settled(&updated_at, recorded.listed_at)
            && Some(size) == recorded.listed_size,
        updated_at,
        size,
        digest,
        expires_ms: recorded
            .base
            .filter(|base| base.digest == digest)
            .and_then(|base| base.expires_ms),
    }
}

/// The base of a key a push wrote. Not listed since: the next run reads it once to vouch for
/// it.
fn pushed(digest: Digest, size: u64, recorded: &Recorded) -> Base {
    Base {
        updated_at: String::new(),
        size,
        digest,
        settled: false,
        expires_ms: Some(recorded.ttl_secs.map(|secs| {
            crate::emulator::now_ms()
                .saturating_add(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX))
        })),
    }
}
