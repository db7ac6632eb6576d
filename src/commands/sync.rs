//! `storage kv pull`, `push` and `diff`: one loop between the service and local state.
//!
//! Local state is the embedded emulator's store, read in-process for its digests (no request
//! per key); the service is listed, and its digests come from what the last pull saw
//! (`local::seen`) or are read. `bulk::sync` compares and copies.

use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::api::types::NamespaceStatus;
use crate::bulk::run::{Options, Summary};
use std::collections::HashMap;
use std::sync::Arc;

use crate::api::digest::Digest;
use crate::bulk::merge::{self, Decided, Merge, Sides};
use crate::bulk::sorted::{Sorted, Spill};
use crate::bulk::sync::{
    self, Action, Change, Copied, Copying, Difference, Done, Meta, Plan, Work,
};
use crate::cli::{DiffArgs, GlobalArgs, SyncArgs};
use crate::commands::backend::{self, Access, Backend};
use crate::commands::target::{self, Target};
use crate::emulator::Mirror;
use crate::error::{Exit, Quiet, UserError};
use crate::local::func_toml::{self, FuncToml};
use crate::local::seen::{self, Base, Note, Record, RunLock};
use crate::text::plural;
use crate::ui::OutputFormat;
use crate::ui::confirm::{Answer, confirm};
use crate::ui::printer::Printer;

/// Whether a copy is running: its own watcher then turns Ctrl-C into a clean stop.
static COPYING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs a pull or push so that Ctrl-C (or SIGTERM) works in every phase. Inside a copy the
/// copy's rules apply (finish what is in flight, write the summary); outside one (resolving,
/// listing, comparing, asking for confirmation) the work is dropped where it stands and the
/// run ends with exit 130. A prompt blocked on stdin cannot hold that up: it waits on a thread
/// of its own.
pub(crate) async fn stoppable(
    direction_is_push: bool,
    work: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    use std::sync::atomic::Ordering;
    let verb = if direction_is_push { "push" } else { "pull" };
    let _stopping = crate::signals::guard();
    tokio::pin!(work);
    tokio::select! {
        result = &mut work => return result,
        () = crate::signals::tripped() => {}
    }
    if COPYING.load(Ordering::SeqCst) {
        // The copy stops cleanly and says so.
        return work.await;
    }
    Err(UserError::new(Exit::Interrupted, format!("{verb} interrupted"))
        .hint(format!(
            "Namespaces finished before it stay finished; run the same `{verb}` again to do the rest: it copies only what still differs."
        ))
        .into())
}

/// [`sync::copy`], marked as running for [`stoppable`].
async fn copy_marked<T: Send>(
    copying: Copying<'_>,
    work: Vec<Work<T>>,
    uncopyable: &[String],
    options: &Options,
    printer: &Printer,
) -> anyhow::Result<(Summary, Copied, Vec<(String, Done, T)>)> {
    use std::sync::atomic::Ordering;
    COPYING.store(true, Ordering::SeqCst);
    let result = sync::copy(copying, work, uncopyable, options, printer).await;
    COPYING.store(false, Ordering::SeqCst);
    result
}

/// Rows of a plan shown on stderr before `push` asks; the rest are counted.
const SHOWN_PLAN_ROWS: usize = 20;

/// Which way a copy goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Pull,
    Push,
}

impl Direction {
    fn verb(self) -> &'static str {
        match self {
            Self::Pull => "pull",
            Self::Push => "push",
        }
    }
}

/// `--local` makes no sense for a command whose two sides are fixed.
fn refuse_local(global: &GlobalArgs, direction: Direction) -> Result<(), UserError> {
    if !global.local {
        return Ok(());
    }
    let verb = direction.verb();
    Err(UserError::new(
        Exit::Usage,
        format!("`{verb}` copies between the service and local state; `--local` has no meaning here"),
    )
    .hint(format!(
        "Drop `--local` (and TELNYX_EDGE_LOCAL): `{verb}` always uses both. To compare two local namespaces, use `telnyx-edge --local storage kv diff A B`."
    )))
}

/// The NAMESPACE arguments, or every binding of the func.toml in use.
fn namespaces(args: &SyncArgs, func_toml: Option<&Path>) -> anyhow::Result<Vec<String>> {
    if !args.namespaces.is_empty() {
        let mut specs = Vec::new();
        for spec in &args.namespaces {
            if !specs.contains(spec) {
                specs.push(spec.clone());
            }
        }
        return Ok(specs);
    }
    let no_bindings = |why: String| {
        UserError::new(Exit::Usage, format!("no NAMESPACE given, and {why}")).hint(
            "Name the namespaces, or bind one first: `telnyx-edge storage kv bind NAMESPACE BINDING`.",
        )
    };
    let Some(path) = func_toml.filter(|path| path.is_file()) else {
        return Err(no_bindings(
            "there is no func.toml here or above to read bindings from".into(),
        )
        .into());
    };
    let toml = FuncToml::load(path)?;
    let bindings: Vec<String> = toml.bindings().into_iter().map(|(name, _)| name).collect();
    if bindings.is_empty() {
        return Err(no_bindings(format!(
            "`{}` has no [storage.kv.*] bindings",
            crate::local::project::display_path(path)
        ))
        .into());
    }
    Ok(bindings)
}

fn options(args: &SyncArgs, verbose: bool) -> Options {
    Options {
        ceiling: args
            .bulk
            .concurrency
            .map_or(crate::bulk::window::DEFAULT_READ_CEILING, usize::from),
        verbose,
        max_errors: (!args.bulk.continue_on_error).then_some(args.bulk.max_errors),
        failed_file: args.bulk.failed_file.clone(),
        input_may_stall: false,
    }
}

/// A namespace on the service must be ready for its keys to be read or written.
fn ready(target: &Target, status: NamespaceStatus) -> Result<(), UserError> {
    if status == NamespaceStatus::ProvisionOk {
        return Ok(());
    }
    Err(UserError::new(
        Exit::Conflict,
        format!(
            "KV namespace `{}` is not ready (status: {status})",
            target.label
        ),
    )
    .hint(format!(
        "Wait for it with `telnyx-edge storage kv wait {}`.",
        target.id
    )))
}

/// Every key of local namespace `ns` under `prefix`, with digests, from the store itself, in
/// key order. A namespace local state does not have is an error, or with `missing_is_empty`
/// (a dry-run pull, which creates nothing) no keys.
async fn local_sorted(
    local: &Backend,
    ns: &str,
    label: &str,
    prefix: &str,
    missing_is_empty: bool,
) -> anyhow::Result<Sorted<Meta>> {
    let Some(store) = local.store().cloned() else {
        anyhow::bail!("local state is not open");
    };
    // Said at once, before the service is listed.
    let checking = Arc::clone(&store);
    let id = ns.to_owned();
    let now_ms = crate::emulator::now_ms();
    let usable = tokio::task::spawn_blocking(move || checking.check(&id, now_ms))
        .await
        .context("the local store's reader stopped")?
        .context("cannot read local state")?;
    if usable.is_err() && !missing_is_empty {
        return Err(no_local_namespace(label, ns).into());
    }
    let (id, label, prefix) = (ns.to_owned(), label.to_owned(), prefix.to_owned());
    Ok(Sorted::spawn(move |feed| {
        let now_ms = crate::emulator::now_ms();
        let mut failed = None;
        let usable = store
            .each_digest(&id, &prefix, now_ms, &mut |(
                key,
                size,
                digest,
                expires_ms,
            )| {
                let ttl_secs = expires_ms.map(|at| sync::secs_left(at, now_ms));
                let meta = Meta {
                    size,
                    updated_at: None,
                    digest: Some(digest),
                    ttl_secs,
                    ttl_known: true,
                    listed_at: None,
                };
                match feed.push(key, meta) {
                    Ok(more) => more,
                    Err(err) => {
                        failed = Some(err);
                        false
                    }
                }
            })
            .context("cannot read local state")?;
        if let Some(err) = failed {
            return Err(err);
        }
        if usable.is_err() && !missing_is_empty {
            return Err(no_local_namespace(&label, &id).into());
        }
        Ok(())
    }))
}

fn no_local_namespace(label: &str, id: &str) -> UserError {
    UserError::new(
        Exit::NotFound,
        format!("there is no local KV namespace `{label}` (id {id})"),
    )
    .hint("`telnyx-edge storage kv pull NAMESPACE` creates it from the service; `telnyx-edge --local storage kv create --name NAME` creates a new one.")
}

/// Every key of service namespace `ns` under `prefix`, as listed, spilled to a scratch file.
async fn remote_listing(
    remote: &Backend,
    ns: &str,
    label: &str,
    prefix: &str,
) -> anyhow::Result<Spill> {
    Spill::list(&remote.client, ns, prefix)
        .await
        .with_context(|| format!("failed to list the keys of KV namespace `{label}`"))
}

/// The record's bases under `prefix`, in key order; `read_only` for a run that writes nothing.
fn record_sorted(record: &Record, prefix: &str, read_only: bool) -> anyhow::Result<Sorted<Base>> {
    record.prepare(read_only)?;
    let (record, prefix) = (record.clone(), prefix.to_owned());
    Ok(Sorted::spawn(move |feed| {
        record.each(&prefix, &mut |key, base| feed.push(key, base))
    }))
}

/// The service's listing with the digests the sync record vouches for filled in (for `diff`),
/// and the expiry a push gave the value where the record knows it.
fn vouched(mut listing: Sorted<Meta>, mut bases: Sorted<Base>) -> Sorted<Meta> {
    Sorted::spawn(move |feed| {
        while let Some((key, mut meta)) = listing.next_entry()? {
            while bases
                .peek()?
                .is_some_and(|next| next.as_bytes() < key.as_bytes())
            {
                bases.next_entry()?;
            }
            if let (Some(base), Some(updated_at)) =
                (bases.take_if(&key)?, meta.updated_at.as_deref())
                && base.vouches(updated_at, meta.size)
            {
                meta.digest = Some(base.digest);
                if let Some(expires_ms) = base.expires_ms {
                    meta.ttl_known = true;
                    meta.ttl_secs = ttl_left(expires_ms);
                }
            }
            if !feed.push(key, meta)? {
                break;
            }
        }
        Ok(())
    })
}

/// Runs a merge of sorted streams on the blocking pool.
async fn merged<T: Send + 'static>(
    merge: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(merge)
        .await
        .context("the comparison stopped")?
}

/// One namespace's comparison, for the table and JSON.
#[derive(Debug, Serialize)]
struct DiffReport {
    a: SideReport,
    b: SideReport,
    added: u64,
    changed: u64,
    removed: u64,
    /// Equal values with other expiries, where both sides can tell.
    ttl: u64,
    equal: u64,
    differences: Vec<Difference>,
}

#[derive(Debug, Clone, Serialize)]
struct SideReport {
    /// `local` or `remote`.
    side: &'static str,
    namespace: String,
    id: String,
}

impl DiffReport {
    fn new(a: SideReport, b: SideReport, plan: Plan) -> Self {
        let count = |change| {
            plan.differences
                .iter()
                .filter(|d| d.change == change)
                .count() as u64
        };
        Self {
            added: count(Change::Added),
            changed: count(Change::Changed),
            removed: count(Change::Removed),
            ttl: count(Change::Ttl),
            equal: plan.equal,
            a,
            b,
            differences: plan.differences,
        }
    }

    fn counts(&self) -> String {
        let ttl = if self.ttl == 0 {
            String::new()
        } else {
            format!(", {} with another TTL", crate::ui::thousands(self.ttl))
        };
        format!(
            "{} added, {} changed, {} removed{ttl}, {} equal",
            crate::ui::thousands(self.added),
            crate::ui::thousands(self.changed),
            crate::ui::thousands(self.removed),
            crate::ui::thousands(self.equal)
        )
    }
}

/// The table of differences: change, key, and the size on each side (`-` where absent).
fn table(differences: &[Difference], a: &str, b: &str) -> String {
    let size = |size: Option<u64>| size.map_or("-".to_owned(), |s| s.to_string());
    crate::ui::tables::table(
        &["CHANGE", "KEY", a, b],
        differences
            .iter()
            .map(|d| {
                vec![
                    d.change.as_str().to_owned(),
                    d.key.clone(),
                    size(d.a_size),
                    size(d.b_size),
                ]
            })
            .collect(),
        &[2, 3],
    )
}

/// Prints a comparison as the result (stdout) in the chosen format.
fn print_report(printer: &Printer, report: &DiffReport, a: &str, b: &str) -> anyhow::Result<()> {
    match printer.format() {
        OutputFormat::Json => printer.json_document(report)?,
        OutputFormat::Ndjson => {
            for difference in &report.differences {
                printer.json_line(difference)?;
            }
        }
        OutputFormat::Ids => {
            for difference in &report.differences {
                printer.out(&format!("{}\n", difference.key))?;
            }
        }
        OutputFormat::Table => {
            if !report.differences.is_empty() {
                printer.out(&table(&report.differences, a, b))?;
            }
        }
    }
    Ok(())
}

/// A side of `diff`: `local:SPEC`, `remote:SPEC`, or SPEC on the default side.
fn side(text: &str, local_by_default: bool) -> Result<(bool, &str), UserError> {
    let (local, spec) = if let Some(spec) = text.strip_prefix("local:") {
        (true, spec)
    } else if let Some(spec) = text.strip_prefix("remote:") {
        (false, spec)
    } else {
        (local_by_default, text)
    };
    if spec.is_empty() {
        return Err(UserError::new(
            Exit::Usage,
            format!("`{text}` names no namespace"),
        )
        .hint("Write a side as `local:NAMESPACE`, `remote:NAMESPACE` or NAMESPACE (a UUID, a binding or a name)."));
    }
    Ok((local, spec))
}

/// `storage kv diff A B`
pub(crate) async fn diff(
    global: &GlobalArgs,
    args: DiffArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let (a_local, a_spec) = side(&args.a, global.local)?;
    let (b_local, b_spec) = side(&args.b, global.local)?;
    let prefix = args.prefix.unwrap_or_default();
    let local = if a_local || b_local {
        Some(Backend::local(global, printer, Access::Read, None, Vec::new()).await?)
    } else {
        None
    };
    let remote = if !a_local || !b_local {
        Some(Backend::remote(global, printer, None)?)
    } else {
        None
    };
    let mut sides = Vec::new();
    for (is_local, spec) in [(a_local, a_spec), (b_local, b_spec)] {
        let (backend, name) = match (is_local, &local, &remote) {
            (true, Some(local), _) => (local, "local"),
            (false, _, Some(remote)) => (remote, "remote"),
            _ => anyhow::bail!("no backend for a side"),
        };
        let target = target::id(backend, spec).await?;
        // A service's listing is spilled to a scratch file, read back in key order.
        let listing = if is_local {
            local_sorted(backend, &target.id, &target.label, &prefix, false).await?
        } else {
            let state_dir = backend::local_state_dir(backend.func_toml.as_deref())?;
            let record = Record::new(&state_dir, backend.client.base_url(), &target.id);
            let spill = remote_listing(backend, &target.id, &target.label, &prefix).await?;
            vouched(spill.sorted(), record_sorted(&record, &prefix, true)?)
        };
        let report = SideReport {
            side: name,
            namespace: target.label.clone(),
            id: target.id.clone(),
        };
        sides.push((backend, target, listing, report));
    }
    let (b_backend, b_target, b_listing, b_report) = sides.pop().context("side B")?;
    let (a_backend, a_target, a_listing, a_report) = sides.pop().context("side A")?;
    if a_local != b_local && a_spec == b_spec && a_target.id != b_target.id {
        let (local_side, remote_id) = if a_local {
            (&a_report, &b_target.id)
        } else {
            (&b_report, &a_target.id)
        };
        let copy = match &local {
            Some(local) => local.client.get_namespace(remote_id).await.ok(),
            None => None,
        };
        let hint = match copy {
            Some(namespace) => format!(
                "; the local copy of the service's is `{}` (`local:{}`)",
                namespace.name, namespace.name
            ),
            None => String::new(),
        };
        printer.warn(&format!(
            "`{a_spec}` names two different namespaces: {} locally and {remote_id} on the service{hint}",
            local_side.id
        ));
    }
    let plan = merged(move || sync::plan(a_listing, b_listing)).await?;
    let ceiling = args
        .concurrency
        .map_or(crate::bulk::window::DEFAULT_READ_CEILING, usize::from);
    let plan = sync::settle(
        plan,
        sync::Side {
            client: &a_backend.client,
            ns: &a_target.id,
        },
        sync::Side {
            client: &b_backend.client,
            ns: &b_target.id,
        },
        ceiling,
        printer,
    )
    .await?;
    let report = DiffReport::new(a_report, b_report, plan);
    let a_name = format!("{}:{}", report.a.side, report.a.namespace);
    let b_name = format!("{}:{}", report.b.side, report.b.namespace);
    print_report(printer, &report, "A_SIZE", "B_SIZE")?;
    if report.differences.is_empty() {
        printer.status(&format!(
            "{a_name} and {b_name} are equal ({} key{})",
            crate::ui::thousands(report.equal),
            plural(report.equal)
        ));
        Ok(())
    } else {
        printer.status(&format!(
            "A is {a_name}, B is {b_name}: {}",
            report.counts()
        ));
        Err(Quiet(Exit::Failure).into())
    }
}

/// The mirror a pulled namespace lands in: func.toml's name for a binding, else its own.
fn mirror_for(spec: &str, target: &Target, name: &str) -> Mirror {
    Mirror {
        id: target.id.clone(),
        name: if func_toml::valid_binding(spec) {
            func_toml::name_for(spec)
        } else {
            name.to_owned()
        },
    }
}

/// A mirror whose name another local namespace already had lands under another name (the
/// store appends the start of its id): say where, since that name is how it is found.
async fn warn_renamed(local: &Backend, mirrors: &[Mirror], printer: &Printer) {
    for mirror in mirrors {
        let Ok(Ok(holder)) = local.client.look_up_name(&mirror.name).await else {
            continue;
        };
        if holder.id != mirror.id
            && let Ok(namespace) = local.client.get_namespace(&mirror.id).await
        {
            printer.warn(&format!(
                "local state already has another namespace named `{}`; namespace {} is `{}` there",
                mirror.name, mirror.id, namespace.name
            ));
        }
    }
}

/// A key a run leaves alone, and why.
#[derive(Debug, Clone, Serialize)]
struct LeftAlone {
    key: String,
    /// `conflict` (changed on both sides), `local` or `service` (changed on that side only,
    /// which this direction does not copy).
    changed: &'static str,
    why: &'static str,
}

impl LeftAlone {
    /// `base`, `local`, `service`: whether each has the key.
    fn new(
        key: String,
        merge: Merge,
        expiry: bool,
        (base, local, service): (bool, bool, bool),
    ) -> Self {
        if expiry {
            return Self {
                key,
                changed: "local",
                why: "expiry changed in local state since the last sync; `push` sends it",
            };
        }
        let how = |now: bool| match (base, now) {
            (_, false) => "deleted",
            (false, true) => "new",
            (true, true) => "changed",
        };
        let (changed, why) = match merge {
            Merge::Local => (
                "local",
                match how(local) {
                    "deleted" => {
                        "deleted in local state since the last sync; `push --delete` sends that"
                    }
                    "new" => "new in local state since the last sync; `push` sends it",
                    _ => "changed in local state since the last sync; `push` sends it",
                },
            ),
            Merge::Service => (
                "service",
                match how(service) {
                    "deleted" => {
                        "deleted on the service since the last sync; `pull --delete` takes that"
                    }
                    "new" => "new on the service since the last sync; `pull` takes it",
                    _ => "changed on the service since the last sync; `pull` takes it",
                },
            ),
            Merge::Conflict | Merge::Equal => (
                "conflict",
                if base {
                    "changed both in local state and on the service since the last sync"
                } else {
                    "different in local state and on the service, and no sync left them equal"
                },
            ),
        };
        Self { key, changed, why }
    }

    /// A key the side written to changed between the plan and its write.
    fn moved(key: String, direction: Direction) -> Self {
        let why = match direction {
            Direction::Pull => "changed in local state during the pull",
            Direction::Push => "changed on the service during the push",
        };
        Self {
            key,
            changed: "conflict",
            why,
        }
    }

    fn is_conflict(&self) -> bool {
        self.changed == "conflict"
    }
}

/// What a pull or push did to one namespace, for its summary line and JSON.
#[derive(Debug, Serialize)]
struct Outcome {
    namespace: String,
    id: String,
    #[serde(flatten)]
    copied: Copied,
    /// Deletions not made (no `--delete`): keys left on the side written to.
    kept: u64,
    /// Keys changed only on the side written to, which this direction leaves alone.
    held: u64,
    /// Keys changed on both sides (or on the side written to during the run), left alone.
    conflicts: u64,
    /// Keys no request can address (`.`, `..`).
    uncopyable: u64,
    failed: u64,
    skipped: u64,
    vanished: u64,
    seconds: f64,
    interrupted: bool,
    /// Every key left alone, with why.
    left_alone: Vec<LeftAlone>,
    #[serde(skip)]
    summary: Summary,
}

/// One namespace's pull or push, planned.
struct Planned {
    target: Target,
    report: DiffReport,
    work: Vec<Work<Recorded>>,
    kept: u64,
    left_alone: Vec<LeftAlone>,
    uncopyable: Vec<String>,
    /// What the record learns whatever the copy does (keys found equal).
    notes: Vec<Note>,
    record: Record,
    /// Held from planning until the notes are written.
    _lock: Option<RunLock>,
}

/// What a sync run is: its direction and flags.
#[derive(Clone, Copy)]
struct Run<'a> {
    direction: Direction,
    prefix: &'a str,
    delete: bool,
    force: bool,
    dry_run: bool,
    ceiling: usize,
}

impl Run<'_> {
    /// Whether the plan's differences are shown key by key: a push shows its plan, a dry run
    /// prints it; a pull says only how many.
    fn keeps_differences(self) -> bool {
        self.dry_run || self.direction == Direction::Push
    }
}

/// The time (Unix ms) by which `base` says the service's key expires, as seconds from now.
fn ttl_left(expires_ms: Option<i64>) -> Option<u64> {
    Some(sync::secs_left(expires_ms?, crate::emulator::now_ms()))
}

/// Compares local state, the service and the record for one namespace, and works out what the
/// run does: [`merge`] per key, then the direction decides.
async fn plan_sync(
    run: Run<'_>,
    local: &Backend,
    remote: &Backend,
    target: Target,
    printer: &Printer,
) -> anyhow::Result<Planned> {
    let label = &target.label;
    let state_dir = backend::local_state_dir(local.func_toml.as_deref())?;
    let record = Record::new(&state_dir, remote.client.base_url(), &target.id);
    // One run at a time writes a namespace's record (a dry run writes none).
    let lock = if run.dry_run {
        None
    } else {
        match record.try_lock()? {
            Some(lock) => Some(lock),
            None => {
                printer.status(&format!(
                    "Waiting for another pull or push of `{label}` to finish"
                ));
                let waiting = record.clone();
                Some(
                    tokio::task::spawn_blocking(move || waiting.wait_lock())
                        .await
                        .context("the lock's waiter stopped")??,
                )
            }
        }
    };
    // A dry-run pull creates nothing, so the mirror may not exist yet.
    let missing_is_empty = run.dry_run && run.direction == Direction::Pull;
    let local_keys = local_sorted(local, &target.id, label, run.prefix, missing_is_empty).await?;
    let remote_keys = remote_listing(remote, &target.id, label, run.prefix)
        .await?
        .sorted();
    let bases = record_sorted(&record, run.prefix, run.dry_run)?;
    let mut building = Building::new(run);
    let (mut plan, mut building) = merged(move || {
        let plan = merge::plan(local_keys, remote_keys, bases, &mut |decided| {
            building.take(decided);
        })?;
        Ok((plan, building))
    })
    .await?;
    // Keys no request can address are reported, never read or written.
    plan.unsure.retain(|(key, _)| {
        addressable(key) || {
            building.uncopyable.push(key.clone());
            false
        }
    });
    let mut unsure: HashMap<String, Sides> = std::mem::take(&mut plan.unsure).into_iter().collect();
    let side = sync::Side {
        client: &remote.client,
        ns: &target.id,
    };
    let keys: Vec<String> = unsure.keys().cloned().collect();
    for (key, digest) in sync::read_digests(side, keys, run.ceiling, printer).await? {
        let sides = unsure.remove(&key).unwrap_or_default();
        plan.decide(key, digest, sides, &mut |decided| building.take(decided));
    }
    let Building {
        work,
        mut differences,
        mut left_alone,
        kept,
        mut uncopyable,
        ..
    } = building;
    // The keys read were decided after the rest.
    differences.sort_by(|x, y| x.key.as_bytes().cmp(y.key.as_bytes()));
    left_alone.sort_by(|x, y| x.key.as_bytes().cmp(y.key.as_bytes()));
    uncopyable.sort_unstable();
    for key in uncopyable.iter().take(SHOWN_PLAN_ROWS) {
        printer.warn(&format!(
            "key `{key}` of `{label}` cannot be copied: no request can address it; it is left alone"
        ));
    }
    let (a_side, b_side) = match run.direction {
        Direction::Pull => ("local", "remote"),
        Direction::Push => ("remote", "local"),
    };
    let side_report = |side| SideReport {
        side,
        namespace: label.clone(),
        id: target.id.clone(),
    };
    let mut report = DiffReport::new(
        side_report(a_side),
        side_report(b_side),
        Plan {
            differences,
            unsure: Vec::new(),
            equal: plan.equal,
        },
    );
    if !run.keeps_differences() {
        // A pull shows only the counts, counted from the work.
        report.added = count_work(&work, Change::Added);
        report.changed = count_work(&work, Change::Changed);
        report.removed = work
            .iter()
            .filter(|work| matches!(work.action, Action::Delete))
            .count() as u64;
    }
    Ok(Planned {
        target,
        report,
        work,
        kept,
        left_alone,
        uncopyable,
        notes: plan.notes,
        record,
        _lock: lock,
    })
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
struct Recorded {
    /// How the service listed it (a pull).
    updated_at: Option<String>,
    listed_at: Option<i64>,
    listed_size: Option<u64>,
    /// The base's digest and expiry, when there is one.
    base: Option<(Digest, Option<Option<i64>>)>,
    /// The TTL local state gave it (a push).
    ttl_secs: Option<u64>,
}

/// A plan being built from the merge's decisions, one key at a time: the work, what is left
/// alone and (where shown) the differences; the decisions themselves are not kept.
struct Building {
    direction: Direction,
    delete: bool,
    force: bool,
    keep_differences: bool,
    work: Vec<Work<Recorded>>,
    differences: Vec<Difference>,
    left_alone: Vec<LeftAlone>,
    kept: u64,
    uncopyable: Vec<String>,
}

impl Building {
    fn new(run: Run<'_>) -> Self {
        Self {
            direction: run.direction,
            delete: run.delete,
            force: run.force,
            keep_differences: run.keeps_differences(),
            work: Vec::new(),
            differences: Vec::new(),
            left_alone: Vec::new(),
            kept: 0,
            uncopyable: Vec::new(),
        }
    }

    /// What the run does with one key that differs.
    fn take(&mut self, decided: Decided) {
        if !addressable(&decided.key) {
            self.uncopyable.push(decided.key);
            return;
        }
        // `--force` makes the written side like the source, whoever changed what.
        let takes = self.force
            || matches!(
                (decided.merge, self.direction),
                (Merge::Service, Direction::Pull) | (Merge::Local, Direction::Push)
            );
        let sides = decided.sides;
        if !takes {
            let present = (
                sides.base.is_some(),
                sides.local.is_some(),
                sides.remote.is_some(),
            );
            self.left_alone.push(LeftAlone::new(
                decided.key,
                decided.merge,
                decided.expiry,
                present,
            ));
            return;
        }
        let (mut a, b) = match self.direction {
            Direction::Pull => (sides.local.as_ref(), sides.remote.as_ref()),
            Direction::Push => (sides.remote.as_ref(), sides.local.as_ref()),
        };
        // Listed, then found gone when read.
        if self.direction == Direction::Push && decided.service == Some(None) {
            a = None;
        }
        let change = match (a, b) {
            (None, _) => Change::Added,
            (Some(_), Some(_)) => Change::Changed,
            (Some(_), None) => Change::Removed,
        };
        if change == Change::Removed && !self.delete {
            self.kept += 1;
            return;
        }
        // What the written side holds now, to check again just before the write.
        let expect = match self.direction {
            Direction::Pull => Some(a.and_then(|meta| meta.digest)),
            Direction::Push => match a {
                None => Some(None),
                Some(_) => decided.service,
            },
        };
        let base = sides.base.as_ref();
        let ttl_secs = match self.direction {
            Direction::Push => b.and_then(|meta| meta.ttl_secs),
            // The expiry this tool gave the service's value, when the service still holds it.
            Direction::Pull => base
                .filter(|base| decided.service == Some(Some(base.digest)))
                .and_then(|base| base.expires_ms.flatten())
                .and_then(|at| ttl_left(Some(at))),
        };
        if self.keep_differences {
            self.differences.push(Difference {
                key: decided.key.clone(),
                change,
                a_size: a.map(|meta| meta.size),
                b_size: b.map(|meta| meta.size),
                a_ttl_secs: None,
                b_ttl_secs: None,
            });
        }
        let remote = sides.remote.as_ref();
        let tag = Recorded {
            updated_at: remote.and_then(|meta| meta.updated_at.clone()),
            listed_at: remote.and_then(|meta| meta.listed_at),
            listed_size: remote.map(|meta| meta.size),
            base: base.map(|base| (base.digest, base.expires_ms)),
            ttl_secs: sides.local.as_ref().and_then(|meta| meta.ttl_secs),
        };
        self.work.push(Work {
            key: decided.key,
            action: if change == Change::Removed {
                Action::Delete
            } else {
                Action::Copy { change, ttl_secs }
            },
            expect,
            tag,
        });
    }
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
        let note = match (done, direction) {
            (Done::Moved, _) => continue,
            (Done::Deleted, _) => Note::Forget(key.clone()),
            (Done::Written(digest, size), Direction::Pull) => {
                let updated_at = recorded.updated_at.clone().unwrap_or_default();
                Note::Set(
                    key.clone(),
                    Base {
                        // A value of another size than listed was written after the listing.
                        settled: seen::settled(&updated_at, recorded.listed_at)
                            && Some(*size) == recorded.listed_size,
                        updated_at,
                        size: *size,
                        digest: *digest,
                        expires_ms: recorded
                            .base
                            .filter(|(base, _)| base == digest)
                            .and_then(|(_, expires_ms)| expires_ms),
                    },
                )
            }
            // Not listed since: the next run reads it once to vouch for it.
            (Done::Written(digest, size), Direction::Push) => Note::Set(
                key.clone(),
                Base {
                    updated_at: String::new(),
                    size: *size,
                    digest: *digest,
                    settled: false,
                    expires_ms: Some(recorded.ttl_secs.map(|secs| {
                        crate::emulator::now_ms().saturating_add(
                            i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX),
                        )
                    })),
                },
            ),
        };
        notes.push(note);
    }
    notes
}

/// Prints a plan's left-alone keys (the first few) on stderr.
fn show_left_alone(printer: &Printer, left_alone: &[LeftAlone]) {
    if printer.quiet() {
        return;
    }
    for left in left_alone.iter().take(SHOWN_PLAN_ROWS) {
        crate::ui::printer::stderr_line(&format!("  left alone: `{}` ({})", left.key, left.why));
    }
    if left_alone.len() > SHOWN_PLAN_ROWS {
        crate::ui::printer::stderr_line(&format!(
            "  … and {} more left alone",
            crate::ui::thousands((left_alone.len() - SHOWN_PLAN_ROWS) as u64)
        ));
    }
}

/// "; 2 keys left alone (1 conflict)" for a summary line.
fn left_alone_note(left_alone: &[LeftAlone]) -> String {
    if left_alone.is_empty() {
        return String::new();
    }
    let conflicts = left_alone.iter().filter(|left| left.is_conflict()).count();
    let mut text = format!(
        "; {} key{} left alone",
        crate::ui::thousands(left_alone.len() as u64),
        plural(left_alone.len())
    );
    if conflicts > 0 {
        text.push_str(&format!(
            " ({} conflict{})",
            crate::ui::thousands(conflicts as u64),
            plural(conflicts)
        ));
    }
    text
}

/// Runs planned namespaces' copies one after the other (stopping at the first that does not
/// finish), teaches the record what each did, and says so.
async fn carry_out(
    run: Run<'_>,
    planned: Vec<Planned>,
    local: &Backend,
    remote: &Backend,
    options: &Options,
    printer: &Printer,
) -> anyhow::Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    for mut p in planned {
        let label = p.target.label.clone();
        let (summary, copied, done) = if p.work.is_empty() && p.uncopyable.is_empty() {
            (Summary::default(), Copied::default(), Vec::new())
        } else {
            let (to, from) = match run.direction {
                Direction::Pull => (&local.client, &remote.client),
                Direction::Push => (&remote.client, &local.client),
            };
            let copying = Copying {
                to: &to.without_retry_messages(),
                to_ns: &p.target.id,
                from: &from.without_retry_messages(),
                from_ns: &p.target.id,
                origin: run.direction.verb(),
            };
            let work = std::mem::take(&mut p.work);
            match copy_marked(copying, work, &p.uncopyable, options, printer).await {
                Ok(done) => done,
                Err(err) => {
                    // Keys may have been written that the record will not hear of; a base
                    // older than the last agreement could pass a revert off as no change.
                    let _ = p.record.reset();
                    return Err(err.context(format!(
                        "failed to {} KV namespace `{label}`",
                        run.direction.verb()
                    )));
                }
            }
        };
        let notes = notes_after(std::mem::take(&mut p.notes), run.direction, &done);
        if let Err(err) = p.record.apply(&notes) {
            // A record that missed this run's changes could vouch for a value overwritten
            // since: without one, later runs report conflicts instead.
            let reset = match p.record.reset() {
                Ok(()) => "it was reset, so the next run judges every difference anew (conflicts rather than merges)".to_owned(),
                Err(reset) => format!("it could not be reset either ({reset}): delete it before the next pull or push"),
            };
            printer.warn(&format!("{err}; {reset}"));
        }
        let mut left_alone = std::mem::take(&mut p.left_alone);
        for (key, what, _) in &done {
            if *what == Done::Moved {
                left_alone.push(LeftAlone::moved(key.clone(), run.direction));
            }
        }
        let mut copied = copied;
        copied.unchanged += p.report.equal;
        let outcome = outcome(
            &p.target,
            copied,
            p.kept,
            left_alone,
            p.uncopyable.len(),
            summary,
        );
        let (verb, place) = match run.direction {
            Direction::Pull => ("Pulled", "into local state"),
            Direction::Push => ("Pushed", "to the service"),
        };
        printer.status(&format!(
            "{verb} `{label}` {place} in {:.1}s: {}{}{}",
            outcome.seconds,
            did(&outcome),
            kept_note(p.kept, written_place(run.direction)),
            left_alone_note(&outcome.left_alone),
        ));
        let stop = outcome.summary.remaining() > 0 || outcome.interrupted;
        outcomes.push(outcome);
        if stop {
            break;
        }
    }
    Ok(outcomes)
}

fn written_place(direction: Direction) -> &'static str {
    match direction {
        Direction::Pull => "local state",
        Direction::Push => "the service",
    }
}

/// `storage kv pull [NAMESPACE…]`
pub(crate) async fn pull(
    global: &GlobalArgs,
    args: SyncArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    refuse_local(global, Direction::Pull)?;
    let remote = Backend::remote(global, printer, None)?;
    let specs = namespaces(&args, remote.func_toml.as_deref())?;
    let prefix = args.prefix.clone().unwrap_or_default();
    let mut targets: Vec<Target> = Vec::new();
    let mut mirrors = Vec::new();
    for spec in &specs {
        let (target, namespace) = target::namespace(&remote, spec).await?;
        ready(&target, namespace.status)?;
        // The same namespace named twice (by binding and by name, say) is pulled once.
        if targets.iter().any(|known| known.id == target.id) {
            continue;
        }
        mirrors.push(mirror_for(spec, &target, &namespace.name));
        targets.push(target);
    }
    // A dry run creates nothing, not even the mirrors.
    let (access, mirrors) = if args.dry_run {
        (Access::Read, Vec::new())
    } else {
        (Access::Write, mirrors)
    };
    let local = Backend::local(global, printer, access, None, mirrors.clone()).await?;
    warn_renamed(&local, &mirrors, printer).await;
    let options = options(&args, global.verbose);
    let run = Run {
        direction: Direction::Pull,
        prefix: &prefix,
        delete: args.delete,
        force: args.force,
        dry_run: args.dry_run,
        ceiling: options.ceiling,
    };
    let mut outcomes = Vec::new();
    let mut reports = Vec::new();
    for target in targets {
        let planned = plan_sync(run, &local, &remote, target, printer).await?;
        let label = planned.target.label.clone();
        if args.dry_run {
            printer.status(&format!(
                "Dry run: pulling `{label}` would make {}{}{}; nothing was written",
                would(&planned.report),
                kept_note(planned.kept, "local state"),
                left_alone_note(&planned.left_alone),
            ));
            show_left_alone(printer, &planned.left_alone);
            reports.push(planned.report);
            continue;
        }
        show_left_alone(printer, &planned.left_alone);
        let mut done = carry_out(run, vec![planned], &local, &remote, &options, printer).await?;
        let stop = done
            .iter()
            .any(|outcome| outcome.summary.remaining() > 0 || outcome.interrupted);
        outcomes.append(&mut done);
        if stop {
            break;
        }
    }
    if args.dry_run {
        return print_plans(printer, &reports, "LOCAL_SIZE", "SERVICE_SIZE");
    }
    finish(printer, &outcomes, &args, Direction::Pull)
}

fn kept_note(kept: u64, place: &str) -> String {
    if kept == 0 {
        return String::new();
    }
    format!(
        "; {} deletion{} not made in {place} (`--delete` makes them)",
        crate::ui::thousands(kept),
        plural(kept)
    )
}

/// "2 added, 1 changed, 0 deleted" of a plan.
fn would(report: &DiffReport) -> String {
    format!(
        "{} added, {} changed, {} deleted, {} unchanged",
        crate::ui::thousands(report.added),
        crate::ui::thousands(report.changed),
        crate::ui::thousands(report.removed),
        crate::ui::thousands(report.equal)
    )
}

fn did(outcome: &Outcome) -> String {
    let count = crate::ui::thousands;
    let mut text = format!(
        "{} added, {} changed, {} deleted, {} unchanged",
        count(outcome.copied.added),
        count(outcome.copied.changed),
        count(outcome.copied.deleted),
        count(outcome.copied.unchanged)
    );
    if outcome.failed + outcome.skipped > 0 {
        text.push_str(&format!(
            ", {} failed, {} skipped",
            count(outcome.failed),
            count(outcome.skipped)
        ));
    }
    if outcome.vanished > 0 {
        text.push_str(&format!(
            ", {} gone before they were read",
            count(outcome.vanished)
        ));
    }
    if outcome.uncopyable > 0 {
        text.push_str(&format!(
            ", {} that no request can address",
            count(outcome.uncopyable)
        ));
    }
    text
}

fn outcome(
    target: &Target,
    copied: Copied,
    kept: u64,
    left_alone: Vec<LeftAlone>,
    uncopyable: usize,
    summary: Summary,
) -> Outcome {
    let conflicts = left_alone.iter().filter(|left| left.is_conflict()).count() as u64;
    Outcome {
        namespace: target.label.clone(),
        id: target.id.clone(),
        copied,
        kept,
        held: left_alone.len() as u64 - conflicts,
        conflicts,
        uncopyable: uncopyable as u64,
        failed: summary.failed,
        skipped: summary.skipped,
        vanished: summary.vanished,
        seconds: summary.seconds,
        interrupted: summary.interrupted,
        left_alone,
        summary,
    }
}

/// The plans of a dry run, as the result: one table per namespace, the `diff` documents
/// (`--json`), or one difference per line with its namespace (`-o ndjson`) or its key (`-o ids`).
fn print_plans(printer: &Printer, reports: &[DiffReport], a: &str, b: &str) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct Line<'a> {
        namespace: &'a str,
        #[serde(flatten)]
        difference: &'a Difference,
    }
    match printer.format() {
        OutputFormat::Json => printer.json_document(&reports)?,
        OutputFormat::Ndjson => {
            for report in reports {
                for difference in &report.differences {
                    printer.json_line(&Line {
                        namespace: &report.b.namespace,
                        difference,
                    })?;
                }
            }
        }
        _ => {
            for report in reports {
                print_report(printer, report, a, b)?;
            }
        }
    }
    Ok(())
}

/// The JSON summary, and the exit code: the first namespace that did not finish, else 1 when
/// conflicts were left alone.
fn finish(
    printer: &Printer,
    outcomes: &[Outcome],
    args: &SyncArgs,
    direction: Direction,
) -> anyhow::Result<()> {
    match printer.format() {
        OutputFormat::Json => printer.json_document(&outcomes)?,
        OutputFormat::Ndjson => {
            for outcome in outcomes {
                printer.json_line(outcome)?;
            }
        }
        OutputFormat::Table | OutputFormat::Ids => {}
    }
    let verb = direction.verb();
    let Some(stopped) = outcomes
        .iter()
        .find(|outcome| outcome.summary.remaining() > 0 || outcome.interrupted)
    else {
        let conflicts: u64 = outcomes.iter().map(|outcome| outcome.conflicts).sum();
        if conflicts == 0 {
            return Ok(());
        }
        let force = match (direction, args.force) {
            (_, true) => "they changed during this run; run it again to compare them anew",
            (Direction::Pull, false) => {
                "`pull --force` takes the service's values, for the keys left alone only"
            }
            (Direction::Push, false) => {
                "`push --force` sends local state's values, for the keys left alone only"
            }
        };
        return Err(UserError::new(
            Exit::Failure,
            format!(
                "{} key{} changed on both sides since the last sync {} left alone",
                crate::ui::thousands(conflicts),
                plural(conflicts),
                if conflicts == 1 { "was" } else { "were" }
            ),
        )
        .hint(format!(
            "Compare them with `telnyx-edge storage kv diff remote:NAMESPACE local:NAMESPACE`; {force}."
        ))
        .into());
    };
    let summary = &stopped.summary;
    let counts = format!(
        "{} key{} failed and {} {} skipped",
        summary.failed,
        plural(summary.failed),
        summary.skipped,
        if summary.skipped == 1 { "was" } else { "were" }
    );
    let (exit, message) = if summary.interrupted {
        (
            Exit::Interrupted,
            format!("{verb} of `{}` interrupted: {counts}", stopped.namespace),
        )
    } else if args.bulk.continue_on_error {
        (
            summary.exit.unwrap_or(Exit::Failure),
            format!(
                "{verb} of `{}` finished with failures: {counts}",
                stopped.namespace
            ),
        )
    } else {
        (
            summary.exit.unwrap_or(Exit::Failure),
            format!("{verb} of `{}` stopped: {counts}", stopped.namespace),
        )
    };
    let listed = match &args.bulk.failed_file {
        Some(path) => format!(" The keys not done are listed in `{}`.", path.display()),
        None => String::new(),
    };
    let way_on = if summary.interrupted || args.bulk.continue_on_error {
        String::new()
    } else {
        " If the same keys keep failing, `--continue-on-error` copies the rest past them."
            .to_owned()
    };
    Err(UserError::new(exit, message)
        .hint(format!(
            "Run the same `{verb}` again to finish: it copies only what still differs.{listed}{way_on}"
        ))
        .into())
}

/// `storage kv push [NAMESPACE…]`
pub(crate) async fn push(
    global: &GlobalArgs,
    args: SyncArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    refuse_local(global, Direction::Push)?;
    let local = Backend::local(global, printer, Access::Read, None, Vec::new()).await?;
    let state_dir = backend::local_state_dir(local.func_toml.as_deref())?;
    if !state_dir.exists() {
        return Err(UserError::new(
            Exit::NotFound,
            format!("there is no local state to push: `{}` does not exist", state_dir.display()),
        )
        .hint("Write something with `--local` first, or `telnyx-edge storage kv pull` to start from the service.")
        .into());
    }
    let specs = namespaces(&args, local.func_toml.as_deref())?;
    let remote = Backend::remote(global, printer, None)?;
    let prefix = args.prefix.clone().unwrap_or_default();
    let options = options(&args, global.verbose);
    let run = Run {
        direction: Direction::Push,
        prefix: &prefix,
        delete: args.delete,
        force: args.force,
        dry_run: args.dry_run,
        ceiling: options.ceiling,
    };
    let mut targets: Vec<Target> = Vec::new();
    for spec in &specs {
        let local_target = target::id(&local, spec).await?;
        if targets.iter().any(|known| known.id == local_target.id) {
            continue;
        }
        let (target, namespace) = match target::namespace(&remote, &local_target.id).await {
            Ok(found) => found,
            Err(err)
                if crate::error::find::<UserError>(&err)
                    .is_some_and(|e| e.exit == Exit::NotFound) =>
            {
                return Err(UserError::new(
                    Exit::NotFound,
                    format!(
                        "the service has no KV namespace with id `{}` (local `{spec}`)",
                        local_target.id
                    ),
                )
                .hint("`push` writes into the namespace with the same id on the service, and never creates one: create and bind it there, then `pull` it.")
                .into());
            }
            Err(err) => return Err(err),
        };
        ready(&target, namespace.status)?;
        targets.push(Target {
            label: local_target.label.clone(),
            ..target
        });
    }
    // Each namespace's lock is held until its push ends; taken in one order by every push, so
    // that two pushes of the same namespaces never wait for each other.
    targets.sort_by(|a, b| a.id.cmp(&b.id));
    let mut planned: Vec<Planned> = Vec::new();
    for target in targets {
        let p = plan_sync(run, &local, &remote, target, printer).await?;
        printer.status(&format!(
            "{}ushing `{}` would make {} on the service{}{}",
            if args.dry_run { "Dry run: p" } else { "P" },
            p.target.label,
            would(&p.report),
            kept_note(p.kept, "the service"),
            left_alone_note(&p.left_alone),
        ));
        show_left_alone(printer, &p.left_alone);
        planned.push(p);
    }
    if args.dry_run {
        let reports: Vec<DiffReport> = planned.into_iter().map(|p| p.report).collect();
        return print_plans(printer, &reports, "SERVICE_SIZE", "LOCAL_SIZE");
    }
    let changes: usize = planned.iter().map(|p| p.work.len()).sum();
    if changes > 0 {
        if !printer.quiet() {
            for p in &planned {
                if p.report.differences.is_empty() {
                    continue;
                }
                let shown =
                    &p.report.differences[..p.report.differences.len().min(SHOWN_PLAN_ROWS)];
                let mut text = table(shown, "SERVICE_SIZE", "LOCAL_SIZE");
                if p.report.differences.len() > shown.len() {
                    text.push_str(&format!(
                        "… and {} more (`--dry-run` lists them all)\n",
                        crate::ui::thousands((p.report.differences.len() - shown.len()) as u64)
                    ));
                }
                crate::ui::printer::stderr_line(text.trim_end());
            }
        }
        let what = format!(
            "{} change{} to the service",
            crate::ui::thousands(changes as u64),
            plural(changes)
        );
        confirm(
            global.yes,
            &format!("push {what}"),
            &format!("Push {what}? [y/N]"),
            Answer::Yes,
        )?;
    } else if planned
        .iter()
        .all(|p| p.left_alone.is_empty() && p.kept == 0)
    {
        printer.status("Nothing to push: the service has every change local state made");
    }
    let outcomes = carry_out(run, planned, &local, &remote, &options, printer).await?;
    finish(printer, &outcomes, &args, Direction::Push)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_take_a_prefix_or_the_default() {
        assert_eq!(side("local:MY_CACHE", false).ok(), Some((true, "MY_CACHE")));
        assert_eq!(
            side("remote:my-cache", true).ok(),
            Some((false, "my-cache"))
        );
        assert_eq!(side("my-cache", true).ok(), Some((true, "my-cache")));
        assert_eq!(side("my-cache", false).ok(), Some((false, "my-cache")));
        assert!(side("local:", false).is_err());
    }
}
