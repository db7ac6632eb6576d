//! Planning a pull or push of one namespace: local state, the service and the sync record
//! compared key by key ([`merge`]), then the direction decides what is copied, deleted or
//! left alone. Endpoints: `GET /storage/kvs/{id}/keys` page after page, and
//! `GET /storage/kvs/{id}/keys/{key}` for each key whose service value must be read to decide.

use std::collections::HashMap;

use anyhow::Context as _;

use super::left_alone::{LeftAlone, Present};
use super::listings::{local_sorted, merged, record_sorted, remote_listing, ttl_left};
use super::report::{DiffReport, SideReport, announce_plan};
use super::{Between, Direction, Place, Run, SHOWN_PLAN_ROWS};
use crate::api::digest::Digest;
use crate::bulk::listing::Meta;
use crate::bulk::merge::{self, Decided, Merge, Plan3, Sides};
use crate::bulk::sync::{self, Action, Change, Difference, Plan, Work};
use crate::commands::backend;
use crate::commands::target::Target;
use crate::local::seen::{Note, Record, RunLock};
use crate::ui::printer::Printer;

/// One namespace's pull or push, planned.
pub(crate) struct Planned {
    pub target: Target,
    pub report: DiffReport,
    pub work: Vec<Work<Recorded>>,
    pub kept: u64,
    pub left_alone: Vec<LeftAlone>,
    pub uncopyable: Vec<String>,
    /// What the record learns whatever the copy does (keys found equal).
    pub notes: Vec<Note>,
    pub record: Record,
    /// Held from planning until the notes are written.
    _lock: Option<RunLock>,
}

impl Between<'_> {
    /// Plans one namespace and says what the plan is.
    pub(crate) async fn plan(self, target: Target) -> anyhow::Result<Planned> {
        let planned = plan_namespace(self, target).await?;
        announce_plan(
            self.printer,
            self.run,
            &planned.target.label,
            &planned.report,
            planned.kept,
            &planned.left_alone,
        );
        Ok(planned)
    }
}

/// Compares local state, the service and the record for one namespace, and works out what the
/// run does: [`merge`] per key, then the direction decides.
async fn plan_namespace(between: Between<'_>, target: Target) -> anyhow::Result<Planned> {
    let Between {
        run,
        local,
        remote,
        printer,
        ..
    } = between;
    let state_dir = backend::local_state_dir(local.func_toml.as_deref())?;
    let record = Record::new(&state_dir, remote.client.base_url(), &target.id);
    let lock = lock(&record, run, &target.label, printer).await?;
    let (mut plan, mut building) = compare(between, &target, &record).await?;
    let side = sync::Side {
        client: &remote.client,
        ns: &target.id,
    };
    read_unsure(&mut plan, &mut building, side, run.ceiling, printer).await?;
    let built = building.built.sorted();
    for key in built.uncopyable.iter().take(SHOWN_PLAN_ROWS) {
        printer.warn(&format!(
            "key `{key}` of `{}` cannot be copied: no request can address it; it is left alone",
            target.label
        ));
    }
    let report = plan_report(run, &target, built.differences, &built.work, plan.equal);
    Ok(Planned {
        target,
        report,
        work: built.work,
        kept: built.kept,
        left_alone: built.left_alone,
        uncopyable: built.uncopyable,
        notes: plan.notes,
        record,
        _lock: lock,
    })
}

/// One run at a time writes a namespace's record (a dry run writes none): the lock, waited
/// for when another run holds it.
async fn lock(
    record: &Record,
    run: Run<'_>,
    label: &str,
    printer: &Printer,
) -> anyhow::Result<Option<RunLock>> {
    if run.dry_run {
        return Ok(None);
    }
    if let Some(lock) = record.try_lock()? {
        return Ok(Some(lock));
    }
    printer.status(&format!(
        "Waiting for another pull or push of `{label}` to finish"
    ));
    let waiting = record.clone();
    let lock = tokio::task::spawn_blocking(move || waiting.wait_lock())
        .await
        .context("the lock's waiter stopped")??;
    Ok(Some(lock))
}

/// The three-way comparison of the listings and the record, with every key it decides
/// taken into the plan; what it cannot decide without reading is left in [`Plan3::unsure`].
async fn compare(
    between: Between<'_>,
    target: &Target,
    record: &Record,
) -> anyhow::Result<(Plan3, Building)> {
    let Between {
        run, local, remote, ..
    } = between;
    let (id, label) = (&target.id, &target.label);
    // A dry-run pull creates nothing, so the mirror may not exist yet.
    let missing_is_empty = run.dry_run && run.direction == Direction::Pull;
    let local_keys = local_sorted(local, id, label, run.prefix, missing_is_empty).await?;
    let remote_keys = remote_listing(remote, id, label, run.prefix)
        .await?
        .sorted();
    let bases = record_sorted(record, run.prefix, run.dry_run)?;
    let mut building = Building::new(run);
    merged(move || {
        let plan = merge::plan(local_keys, remote_keys, bases, &mut |decided| {
            building.take(decided);
        })?;
        Ok((plan, building))
    })
    .await
}

/// Reads the service's value of each key the listings could not decide, and decides it.
async fn read_unsure(
    plan: &mut Plan3,
    building: &mut Building,
    side: sync::Side<'_>,
    ceiling: usize,
    printer: &Printer,
) -> anyhow::Result<()> {
    // Keys no request can address are reported, never read or written.
    plan.unsure.retain(|(key, _)| {
        addressable(key) || {
            building.built.uncopyable.push(key.clone());
            false
        }
    });
    let mut unsure: HashMap<String, Sides> = std::mem::take(&mut plan.unsure).into_iter().collect();
    let keys: Vec<String> = unsure.keys().cloned().collect();
    for (key, digest) in sync::read_digests(side, keys, ceiling, printer).await? {
        let sides = unsure.remove(&key).unwrap_or_default();
        plan.decide(key, digest, sides, &mut |decided| building.take(decided));
    }
    Ok(())
}

/// The plan as a comparison: the written side is A. A pull that keeps no differences counts
/// them from the work.
fn plan_report(
    run: Run<'_>,
    target: &Target,
    differences: Vec<Difference>,
    work: &[Work<Recorded>],
    equal: u64,
) -> DiffReport {
    let side_report = |side: Place| SideReport {
        side,
        namespace: target.label.clone(),
        id: target.id.clone(),
    };
    let mut report = DiffReport::new(
        side_report(run.direction.written()),
        side_report(run.direction.source()),
        Plan {
            differences,
            unsure: Vec::new(),
            equal,
        },
    );
    if !run.keeps_differences() {
        // A pull shows only the counts, counted from the work.
        report.added = count_work(work, Change::Added);
        report.changed = count_work(work, Change::Changed);
        report.removed = work
            .iter()
            .filter(|work| matches!(work.action, Action::Delete))
            .count() as u64;
    }
    report
}

fn count_work(work: &[Work<Recorded>], change: Change) -> u64 {
    work.iter()
        .filter(|work| matches!(work.action, Action::Copy { change: c, .. } if c == change))
        .count() as u64
}

/// Whether a key can be addressed by a request (`.` and `..` cannot).
fn addressable(key: &str) -> bool {
    crate::api::rules::request_key(key).is_ok()
}

/// What the record needs of a key the run writes, once it is written.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    /// How the service listed it (a pull).
    pub updated_at: Option<String>,
    pub listed_at: Option<i64>,
    pub listed_size: Option<u64>,
    /// The base's digest and expiry, when there is one.
    pub base: Option<BaseValue>,
    /// The TTL local state gave it (a push).
    pub ttl_secs: Option<u64>,
}

/// Of a key's base: the value's digest and the expiry this tool gave it on the service.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BaseValue {
    pub digest: Digest,
    pub expires_ms: Option<Option<i64>>,
}

impl Recorded {
    fn of(sides: &Sides) -> Self {
        let remote = sides.remote.as_ref();
        Self {
            updated_at: remote.and_then(|meta| meta.updated_at.clone()),
            listed_at: remote.and_then(|meta| meta.listed_at),
            listed_size: remote.map(|meta| meta.size),
            base: sides.base.as_ref().map(|base| BaseValue {
                digest: base.digest,
                expires_ms: base.expires_ms,
            }),
            ttl_secs: sides.local.as_ref().and_then(|meta| meta.ttl_secs),
        }
    }
}

/// What a plan holds once built: the work, what is left alone, the keys no request can
/// address, and (where shown) the differences.
#[derive(Default)]
struct Built {
    work: Vec<Work<Recorded>>,
    differences: Vec<Difference>,
    left_alone: Vec<LeftAlone>,
    kept: u64,
    uncopyable: Vec<String>,
}

impl Built {
    /// In key order: the keys read were decided after the rest.
    fn sorted(mut self) -> Self {
        self.differences
            .sort_by(|x, y| x.key.as_bytes().cmp(y.key.as_bytes()));
        self.left_alone
            .sort_by(|x, y| x.key.as_bytes().cmp(y.key.as_bytes()));
        self.uncopyable.sort_unstable();
        self
    }
}

/// A plan being built from the merge's decisions, one key at a time; the decisions themselves
/// are not kept.
struct Building {
    direction: Direction,
    delete: bool,
    force: bool,
    keep_differences: bool,
    built: Built,
}

impl Building {
    fn new(run: Run<'_>) -> Self {
        Self {
            direction: run.direction,
            delete: run.delete,
            force: run.force,
            keep_differences: run.keeps_differences(),
            built: Built::default(),
        }
    }

    /// What the run does with one key that differs.
    fn take(&mut self, decided: Decided) {
        if !addressable(&decided.key) {
            self.built.uncopyable.push(decided.key);
            return;
        }
        if !self.takes(decided.merge) {
            let present = Present::of(&decided.sides);
            let left = LeftAlone::new(decided.key, decided.merge, decided.expiry, present);
            self.built.left_alone.push(left);
            return;
        }
        let ends = Ends::of(self.direction, &decided);
        let change = ends.change();
        if change == Change::Removed && !self.delete {
            self.built.kept += 1;
            return;
        }
        let action = if change == Change::Removed {
            Action::Delete
        } else {
            let ttl_secs = ends.ttl_secs(self.direction, &decided);
            Action::Copy { change, ttl_secs }
        };
        let expect = ends.expect(self.direction, decided.service);
        if self.keep_differences {
            let difference = ends.difference(&decided.key, change);
            self.built.differences.push(difference);
        }
        let tag = Recorded::of(&decided.sides);
        self.built.work.push(Work {
            key: decided.key,
            action,
            expect,
            tag,
        });
    }

    /// Whether the run copies a key the merge decided so: `--force` makes the written side
    /// like the source, whoever changed what.
    fn takes(&self, merge: Merge) -> bool {
        self.force
            || matches!(
                (merge, self.direction),
                (Merge::Service, Direction::Pull) | (Merge::Local, Direction::Push)
            )
    }
}

/// One key on the side written to (A) and the side read from (B), as the plan found them.
struct Ends<'a> {
    to: Option<&'a Meta>,
    from: Option<&'a Meta>,
}

impl<'a> Ends<'a> {
    fn of(direction: Direction, decided: &'a Decided) -> Self {
        let sides = &decided.sides;
        let (to, from) = match direction {
            Direction::Pull => (sides.local.as_ref(), sides.remote.as_ref()),
            Direction::Push => (sides.remote.as_ref(), sides.local.as_ref()),
        };
        // Listed, then found gone when read.
        let gone = direction == Direction::Push && decided.service == Some(None);
        Self {
            to: if gone { None } else { to },
            from,
        }
    }

    fn change(&self) -> Change {
        match (self.to, self.from) {
            (None, _) => Change::Added,
            (Some(_), Some(_)) => Change::Changed,
            (Some(_), None) => Change::Removed,
        }
    }

    /// What the written side holds now, to check again just before the write.
    fn expect(
        &self,
        direction: Direction,
        service: Option<Option<Digest>>,
    ) -> Option<Option<Digest>> {
        match direction {
            Direction::Pull => Some(self.to.and_then(|meta| meta.digest)),
            Direction::Push => match self.to {
                None => Some(None),
                Some(_) => service,
            },
        }
    }

    /// The TTL the written value gets.
    fn ttl_secs(&self, direction: Direction, decided: &Decided) -> Option<u64> {
        match direction {
            Direction::Push => self.from.and_then(|meta| meta.ttl_secs),
            // The expiry this tool gave the service's value, when the service still holds it.
            Direction::Pull => decided
                .sides
                .base
                .as_ref()
                .filter(|base| decided.service == Some(Some(base.digest)))
                .and_then(|base| base.expires_ms.flatten())
                .and_then(|at| ttl_left(Some(at))),
        }
    }

    fn difference(&self, key: &str, change: Change) -> Difference {
        Difference {
            key: key.to_owned(),
            change,
            a_size: self.to.map(|meta| meta.size),
            b_size: self.from.map(|meta| meta.size),
            a_ttl_secs: None,
            b_ttl_secs: None,
        }
    }
}
