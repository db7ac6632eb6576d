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
use crate::bulk::sync::{self, Change, Copied, Copying, Difference, Listing, Meta, Plan, Work};
use crate::cli::{DiffArgs, GlobalArgs, PushArgs, SyncArgs};
use crate::commands::backend::{self, Access, Backend};
use crate::commands::target::{self, Target};
use crate::emulator::Mirror;
use crate::error::{Exit, Quiet, UserError};
use crate::local::func_toml::{self, FuncToml};
use crate::local::seen::Seen;
use crate::ui::OutputFormat;
use crate::ui::confirm::{Answer, confirm};
use crate::ui::printer::Printer;

/// Whether a copy is running: its own watcher then turns Ctrl-C into a clean stop.
static COPYING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs a pull or push so that Ctrl-C (or SIGTERM) works in every phase. Once a copy has
/// installed a signal handler, the signal no longer ends the process by itself; outside a copy
/// (resolving, listing, comparing, asking for confirmation) a watcher of its own ends it with
/// exit 130, and inside one the copy's rules apply (finish what is in flight, write the
/// summary). The watcher is a task of its own, so a prompt blocked on stdin cannot hold it up.
pub(crate) async fn stoppable(
    direction_is_push: bool,
    work: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    use std::sync::atomic::Ordering;
    let verb = if direction_is_push { "push" } else { "pull" };
    let watcher = tokio::spawn(async move {
        loop {
            crate::signals::interrupted().await;
            if !COPYING.load(Ordering::SeqCst) {
                crate::ui::printer::stderr_line(&format!(
                    "error: {verb} interrupted\nhint: Namespaces finished before it stay finished; run the same `{verb}` again to do the rest: it copies only what still differs."
                ));
                #[allow(clippy::exit)]
                std::process::exit(Exit::Interrupted as i32);
            }
        }
    });
    let result = work.await;
    watcher.abort();
    result
}

/// [`sync::copy`], marked as running for [`stoppable`].
async fn copy_marked(
    copying: Copying<'_>,
    work: Vec<Work>,
    options: &Options,
    printer: &Printer,
) -> anyhow::Result<(Summary, Copied)> {
    use std::sync::atomic::Ordering;
    COPYING.store(true, Ordering::SeqCst);
    let result = sync::copy(copying, work, options, printer).await;
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

/// Every key of local namespace `ns` under `prefix`, with digests, from the store itself. A
/// namespace local state does not have is an error, or with `missing_is_empty` (a dry-run
/// pull, which creates nothing) no keys.
async fn local_listing(
    local: &Backend,
    ns: &str,
    label: &str,
    prefix: &str,
    missing_is_empty: bool,
) -> anyhow::Result<Listing> {
    let Some(store) = local.store().cloned() else {
        anyhow::bail!("local state is not open");
    };
    let (id, prefix_owned) = (ns.to_owned(), prefix.to_owned());
    let now_ms = crate::emulator::now_ms();
    let rows = tokio::task::spawn_blocking(move || store.digests(&id, &prefix_owned, now_ms))
        .await
        .context("the local store's reader stopped")?
        .context("cannot read local state")?;
    if missing_is_empty && rows.is_err() {
        return Ok(Listing::new());
    }
    let rows = rows.map_err(|_| {
        UserError::new(
            Exit::NotFound,
            format!("there is no local KV namespace `{label}` (id {ns})"),
        )
        .hint("`telnyx-edge storage kv pull NAMESPACE` creates it from the service; `telnyx-edge --local storage kv create --name NAME` creates a new one.")
    })?;
    Ok(rows
        .into_iter()
        .map(|(key, size, digest, expires_ms)| {
            // Rounded up, so a copy never outlives the key by less than a second nor expires
            // before it; a key about to expire gets the 1 second the API allows at least.
            let ttl_secs = expires_ms.map(|at| {
                let left = (at - now_ms).max(1);
                u64::try_from((left + 999) / 1000).unwrap_or(1)
            });
            (
                key,
                Meta {
                    size,
                    updated_at: None,
                    digest: Some(digest),
                    ttl_secs,
                },
            )
        })
        .collect())
}

/// Every key of service namespace `ns` under `prefix`, with the digests `seen` vouches for.
async fn remote_listing(
    remote: &Backend,
    ns: &str,
    label: &str,
    prefix: &str,
    seen: Option<&Seen>,
) -> anyhow::Result<Listing> {
    let mut listing = sync::list(&remote.client, ns, prefix)
        .await
        .with_context(|| format!("failed to list the keys of KV namespace `{label}`"))?;
    if let Some(seen) = seen {
        for (key, meta) in &mut listing {
            if let Some(updated_at) = &meta.updated_at {
                meta.digest = seen.digest(key, updated_at, meta.size);
            }
        }
    }
    Ok(listing)
}

fn now_secs() -> i64 {
    crate::emulator::now_ms() / 1000
}

/// What the service's digest cache of `ns` holds, from the local state directory.
fn load_seen(remote: &Backend, ns: &str) -> anyhow::Result<Seen> {
    let state_dir = backend::local_state_dir(remote.func_toml.as_deref())?;
    Ok(Seen::load(&state_dir, remote.client.base_url(), ns))
}

/// One namespace's comparison, for the table and JSON.
#[derive(Debug, Serialize)]
struct DiffReport {
    a: SideReport,
    b: SideReport,
    added: u64,
    changed: u64,
    removed: u64,
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
            equal: plan.equal,
            a,
            b,
            differences: plan.differences,
        }
    }

    fn counts(&self) -> String {
        format!(
            "{} added, {} changed, {} removed, {} equal",
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
        let listing = if is_local {
            local_listing(backend, &target.id, &target.label, &prefix, false).await?
        } else {
            let seen = load_seen(backend, &target.id)?;
            remote_listing(backend, &target.id, &target.label, &prefix, Some(&seen)).await?
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
    let plan = sync::plan(&a_listing, &b_listing);
    let ceiling = args
        .concurrency
        .map_or(crate::bulk::window::DEFAULT_READ_CEILING, usize::from);
    let (plan, _) = sync::settle(
        plan,
        sync::Side {
            client: &a_backend.client,
            ns: &a_target.id,
            listing: &a_listing,
        },
        sync::Side {
            client: &b_backend.client,
            ns: &b_target.id,
            listing: &b_listing,
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
            if report.equal == 1 { "" } else { "s" }
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

/// A namespace to pull or push, resolved on both sides.
struct Pair {
    target: Target,
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

/// What a pull or push did to one namespace, for its summary line and JSON.
#[derive(Debug, Serialize)]
struct Outcome {
    namespace: String,
    id: String,
    #[serde(flatten)]
    copied: Copied,
    /// Keys only on the side written to, left there (no `--delete`).
    kept: u64,
    /// `push`: differences left alone because the service changed the key since the last pull.
    held: u64,
    failed: u64,
    skipped: u64,
    vanished: u64,
    seconds: f64,
    interrupted: bool,
    #[serde(skip)]
    summary: Summary,
}

/// The work that makes side A (written to) like side B, from a plan: copies, and deletions
/// with `--delete`. Returns the work and how many keys only A has that stay.
fn work(plan: &Plan, a: &Listing, b: &Listing, delete: bool) -> (Vec<Work>, u64) {
    let ttl = |key: &str| b.get(key).and_then(|meta| meta.ttl_secs);
    let mut work = Vec::new();
    let mut kept = 0;
    for difference in &plan.differences {
        match difference.change {
            Change::Removed if delete => work.push(Work::Delete {
                key: difference.key.clone(),
            }),
            Change::Removed => kept += 1,
            change => work.push(Work::Copy {
                key: difference.key.clone(),
                change,
                unless: None,
                ttl_secs: ttl(&difference.key),
            }),
        }
    }
    // Not settled: read from B, and written only when the value turns out to differ.
    for key in &plan.unsure {
        work.push(Work::Copy {
            key: key.clone(),
            change: Change::Changed,
            unless: a.get(key).and_then(|meta| meta.digest),
            ttl_secs: ttl(key),
        });
    }
    (work, kept)
}

/// The differences a run would act on: removals only with `--delete`.
fn acted_on(plan: Plan, delete: bool) -> Plan {
    Plan {
        differences: plan
            .differences
            .into_iter()
            .filter(|d| delete || d.change != Change::Removed)
            .collect(),
        ..plan
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
    let mut pairs: Vec<Pair> = Vec::new();
    let mut mirrors = Vec::new();
    for spec in &specs {
        let (target, namespace) = target::namespace(&remote, spec).await?;
        ready(&target, namespace.status)?;
        // The same namespace named twice (by binding and by name, say) is pulled once.
        if pairs.iter().any(|pair| pair.target.id == target.id) {
            continue;
        }
        mirrors.push(mirror_for(spec, &target, &namespace.name));
        pairs.push(Pair { target });
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
    let mut reports = Vec::new();
    let mut outcomes = Vec::new();
    for Pair { target } in &pairs {
        let label = &target.label;
        let mut seen = load_seen(&remote, &target.id)?;
        let local_keys = local_listing(&local, &target.id, label, &prefix, args.dry_run).await?;
        let listed_at = now_secs();
        let remote_keys = remote_listing(&remote, &target.id, label, &prefix, Some(&seen)).await?;
        let plan = sync::plan(&local_keys, &remote_keys);
        if args.dry_run {
            let (plan, _) = sync::settle(
                plan,
                sync::Side {
                    client: &local.client,
                    ns: &target.id,
                    listing: &local_keys,
                },
                sync::Side {
                    client: &remote.client,
                    ns: &target.id,
                    listing: &remote_keys,
                },
                options.ceiling,
                printer,
            )
            .await?;
            let kept = kept(&plan, args.delete);
            let report = DiffReport::new(
                SideReport {
                    side: "local",
                    namespace: label.clone(),
                    id: target.id.clone(),
                },
                SideReport {
                    side: "remote",
                    namespace: label.clone(),
                    id: target.id.clone(),
                },
                acted_on(plan, args.delete),
            );
            printer.status(&format!(
                "Dry run: pulling `{label}` would make {}{}; nothing was written",
                would(&report),
                kept_note(kept, "local state")
            ));
            reports.push(report);
            continue;
        }
        let (work, kept) = work(&plan, &local_keys, &remote_keys, args.delete);
        let unchanged = plan.equal;
        let (summary, mut copied) = if work.is_empty() {
            (Summary::default(), Copied::default())
        } else {
            let copying = Copying {
                to: &local.client.without_retry_messages(),
                to_ns: &target.id,
                from: &remote.client.without_retry_messages(),
                from_ns: &target.id,
                origin: "pull",
            };
            copy_marked(copying, work, &options, printer)
                .await
                .with_context(|| format!("failed to pull KV namespace `{label}`"))?
        };
        copied.unchanged += unchanged;
        // What was read is what the service held at its listed `updated_at`.
        note_read(&mut seen, &remote_keys, &copied.read, listed_at);
        // A key the service no longer has is forgotten, unless local state keeps it (no
        // `--delete`): then the entry says it was deleted there, so `push` does not bring it
        // back.
        let gone: Vec<String> = seen
            .keys_with_prefix(&prefix)
            .filter(|key| {
                !remote_keys.contains_key(*key) && (args.delete || !local_keys.contains_key(*key))
            })
            .map(str::to_owned)
            .collect();
        for key in gone {
            seen.forget(&key);
        }
        if let Err(err) = seen.save() {
            printer.warn(&format!(
                "cannot save what this pull saw ({err}); the next pull reads the values it read again"
            ));
        }
        let outcome = outcome(target, copied, kept, 0, summary);
        printer.status(&format!(
            "Pulled `{label}` into local state in {:.1}s: {}{}",
            outcome.seconds,
            did(&outcome),
            kept_note(kept, "local state"),
        ));
        let stop = outcome.summary.remaining() > 0 || outcome.interrupted;
        outcomes.push(outcome);
        if stop {
            break;
        }
    }
    if args.dry_run {
        return print_plans(printer, &reports, "LOCAL_SIZE", "SERVICE_SIZE");
    }
    finish(printer, &outcomes, &args, Direction::Pull)
}

fn kept(plan: &Plan, delete: bool) -> u64 {
    if delete {
        return 0;
    }
    plan.differences
        .iter()
        .filter(|d| d.change == Change::Removed)
        .count() as u64
}

fn kept_note(kept: u64, place: &str) -> String {
    if kept == 0 {
        return String::new();
    }
    format!(
        "; {} key{} only in {place} kept (`--delete` removes them)",
        crate::ui::thousands(kept),
        if kept == 1 { "" } else { "s" }
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
    text
}

fn outcome(target: &Target, copied: Copied, kept: u64, held: usize, summary: Summary) -> Outcome {
    Outcome {
        namespace: target.label.clone(),
        id: target.id.clone(),
        copied,
        kept,
        held: held as u64,
        failed: summary.failed,
        skipped: summary.skipped,
        vanished: summary.vanished,
        seconds: summary.seconds,
        interrupted: summary.interrupted,
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

/// The JSON summary, and the exit code of the first namespace that did not finish.
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
    let Some(stopped) = outcomes
        .iter()
        .find(|outcome| outcome.summary.remaining() > 0 || outcome.interrupted)
    else {
        return Ok(());
    };
    let summary = &stopped.summary;
    let counts = format!(
        "{} key{} failed and {} {} skipped",
        summary.failed,
        if summary.failed == 1 { "" } else { "s" },
        summary.skipped,
        if summary.skipped == 1 { "was" } else { "were" }
    );
    let verb = direction.verb();
    let (exit, message) = if summary.interrupted {
        (
            Exit::Interrupted,
            format!("{verb} of `{}` interrupted: {counts}", stopped.namespace),
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
    Err(UserError::new(exit, message)
        .hint(format!(
            "Run the same `{verb}` again to finish: it copies only what still differs.{listed}"
        ))
        .into())
}

/// Why a push leaves a difference alone: the service changed the key since the last pull saw
/// it (or, for a deletion, the last pull never saw it), so pushing would undo a write nobody
/// here has seen. `None`: the difference is local state's own.
fn held_back(difference: &Difference, remote: &Listing, seen: &Seen) -> Option<&'static str> {
    let last = seen.last(&difference.key);
    let moved = |last: &crate::local::seen::Last| {
        remote.get(&difference.key).is_some_and(|meta| {
            meta.size != last.size || meta.updated_at.as_deref() != Some(last.updated_at.as_str())
        })
    };
    match (difference.change, last) {
        (Change::Changed, Some(last)) if moved(&last) => {
            Some("changed on the service since the last pull")
        }
        (Change::Changed, _) => None,
        // Only local state has it, yet the last pull saw it on the service.
        (Change::Added, Some(_)) => Some("deleted on the service since the last pull"),
        (Change::Added, None) => None,
        (Change::Removed, None) => Some("never pulled: it may be new on the service"),
        (Change::Removed, Some(last)) if moved(&last) => {
            Some("changed on the service since the last pull")
        }
        (Change::Removed, Some(_)) => None,
    }
}

/// One namespace's push, planned.
struct Planned {
    target: Target,
    report: DiffReport,
    work: Vec<Work>,
    kept: u64,
    /// Differences left alone, and why.
    held: Vec<(String, &'static str)>,
    /// What the last pull saw, updated with what the push writes.
    seen: Seen,
}

/// `storage kv push [NAMESPACE…]`
pub(crate) async fn push(
    global: &GlobalArgs,
    args: PushArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let PushArgs { sync: args, force } = args;
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
    let mut planned: Vec<Planned> = Vec::new();
    for spec in &specs {
        let local_target = target::id(&local, spec).await?;
        if planned.iter().any(|p| p.target.id == local_target.id) {
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
        let target = Target {
            label: local_target.label.clone(),
            ..target
        };
        let local_keys = local_listing(&local, &target.id, &target.label, &prefix, false).await?;
        let seen = load_seen(&remote, &target.id)?;
        let remote_keys =
            remote_listing(&remote, &target.id, &target.label, &prefix, Some(&seen)).await?;
        let plan = sync::plan(&remote_keys, &local_keys);
        let (plan, _) = sync::settle(
            plan,
            sync::Side {
                client: &remote.client,
                ns: &target.id,
                listing: &remote_keys,
            },
            sync::Side {
                client: &local.client,
                ns: &target.id,
                listing: &local_keys,
            },
            options.ceiling,
            printer,
        )
        .await?;
        let kept = kept(&plan, args.delete);
        let mut plan = acted_on(plan, args.delete);
        let mut held = Vec::new();
        if !force {
            plan.differences.retain(|difference| {
                match held_back(difference, &remote_keys, &seen) {
                    Some(why) => {
                        held.push((difference.key.clone(), why));
                        false
                    }
                    None => true,
                }
            });
        }
        // Settled: nothing is unsure any more.
        let (work, _) = work(&plan, &remote_keys, &local_keys, args.delete);
        let report = DiffReport::new(
            SideReport {
                side: "remote",
                namespace: target.label.clone(),
                id: target.id.clone(),
            },
            SideReport {
                side: "local",
                namespace: target.label.clone(),
                id: target.id.clone(),
            },
            plan,
        );
        printer.status(&format!(
            "{}ushing `{}` would make {} on the service{}{}",
            if args.dry_run { "Dry run: p" } else { "P" },
            target.label,
            would(&report),
            kept_note(kept, "the service"),
            held_note(held.len()),
        ));
        if !printer.quiet() {
            for (key, why) in held.iter().take(SHOWN_PLAN_ROWS) {
                crate::ui::printer::stderr_line(&format!("  left alone: `{key}` ({why})"));
            }
            if held.len() > SHOWN_PLAN_ROWS {
                crate::ui::printer::stderr_line(&format!(
                    "  … and {} more left alone",
                    crate::ui::thousands((held.len() - SHOWN_PLAN_ROWS) as u64)
                ));
            }
        }
        planned.push(Planned {
            target,
            report,
            work,
            kept,
            held,
            seen,
        });
    }
    if args.dry_run {
        let reports: Vec<DiffReport> = planned.into_iter().map(|p| p.report).collect();
        return print_plans(printer, &reports, "SERVICE_SIZE", "LOCAL_SIZE");
    }
    let changes: usize = planned.iter().map(|p| p.work.len()).sum();
    if changes == 0 {
        printer.status("Nothing to push: the service already has what local state holds");
        let outcomes: Vec<Outcome> = planned
            .iter()
            .map(|p| {
                let copied = Copied {
                    unchanged: p.report.equal,
                    ..Copied::default()
                };
                outcome(&p.target, copied, p.kept, p.held.len(), Summary::default())
            })
            .collect();
        return finish(printer, &outcomes, &args, Direction::Push);
    }
    if !printer.quiet() {
        for p in &planned {
            if p.report.differences.is_empty() {
                continue;
            }
            let shown = &p.report.differences[..p.report.differences.len().min(SHOWN_PLAN_ROWS)];
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
        if changes == 1 { "" } else { "s" }
    );
    confirm(
        global.yes,
        &format!("push {what}"),
        &format!("Push {what}? [y/N]"),
        Answer::Yes,
    )?;
    let mut outcomes = Vec::new();
    for p in planned {
        let Planned {
            target,
            report,
            work,
            kept,
            held,
            seen,
        } = p;
        let (summary, mut copied) = if work.is_empty() {
            (Summary::default(), Copied::default())
        } else {
            let copying = Copying {
                to: &remote.client.without_retry_messages(),
                to_ns: &target.id,
                from: &local.client.without_retry_messages(),
                from_ns: &target.id,
                origin: "push",
            };
            copy_marked(copying, work, &options, printer)
                .await
                .with_context(|| format!("failed to push KV namespace `{}`", target.label))?
        };
        copied.unchanged += report.equal;
        remember_pushed(&remote, &target, &prefix, &report, &copied, seen, printer).await;
        let outcome = outcome(&target, copied, kept, held.len(), summary);
        printer.status(&format!(
            "Pushed `{}` to the service in {:.1}s: {}{}{}",
            target.label,
            outcome.seconds,
            did(&outcome),
            kept_note(kept, "the service"),
            held_note(held.len()),
        ));
        let stop = outcome.summary.remaining() > 0 || outcome.interrupted;
        outcomes.push(outcome);
        if stop {
            break;
        }
    }
    finish(printer, &outcomes, &args, Direction::Push)
}

/// Notes in `seen` that each key read holds its digest, at the `updated_at` and size the
/// service listed (in a listing that started at `listed_at`).
fn note_read(
    seen: &mut Seen,
    listing: &Listing,
    read: &[(String, crate::api::digest::Digest)],
    listed_at: i64,
) {
    for (key, digest) in read {
        if let Some(Meta {
            size,
            updated_at: Some(updated_at),
            ..
        }) = listing.get(key)
        {
            seen.note(key, updated_at, *size, *digest, listed_at);
        }
    }
}

fn held_note(held: usize) -> String {
    if held == 0 {
        return String::new();
    }
    format!(
        "; {} key{} left alone: the service changed {} since the last pull (`pull` first, or `--force`)",
        crate::ui::thousands(held as u64),
        if held == 1 { "" } else { "s" },
        if held == 1 { "it" } else { "them" }
    )
}

/// After a push, what the service now holds is what was pushed: noted as a pull would, so
/// that the next push does not take this push's own writes for someone else's.
async fn remember_pushed(
    remote: &Backend,
    target: &Target,
    prefix: &str,
    report: &DiffReport,
    copied: &Copied,
    mut seen: Seen,
    printer: &Printer,
) {
    let listed_at = now_secs();
    let Ok(listing) = sync::list(&remote.client, &target.id, prefix).await else {
        return;
    };
    note_read(&mut seen, &listing, &copied.read, listed_at);
    for difference in &report.differences {
        if difference.change == Change::Removed && !listing.contains_key(&difference.key) {
            seen.forget(&difference.key);
        }
    }
    if let Err(err) = seen.save() {
        printer.warn(&format!("cannot save what this push wrote ({err})"));
    }
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

    #[test]
    fn work_copies_what_differs_and_deletes_only_when_asked() {
        let meta = |digest: Option<&[u8]>| Meta {
            size: 1,
            updated_at: None,
            digest: digest.map(|bytes| crate::api::digest::Digest::of(None, bytes)),
            ttl_secs: None,
        };
        let a: Listing = [
            ("gone".to_owned(), meta(None)),
            ("same-size".to_owned(), meta(Some(b"a"))),
        ]
        .into_iter()
        .collect();
        let plan = Plan {
            differences: vec![
                Difference {
                    key: "gone".into(),
                    change: Change::Removed,
                    a_size: Some(1),
                    b_size: None,
                },
                Difference {
                    key: "new".into(),
                    change: Change::Added,
                    a_size: None,
                    b_size: Some(1),
                },
            ],
            unsure: vec!["same-size".into()],
            equal: 3,
        };
        let (kept_work, kept) = work(&plan, &a, &Listing::new(), false);
        assert_eq!(kept, 1);
        assert_eq!(kept_work.len(), 2);
        assert!(
            matches!(&kept_work[1], Work::Copy { key, unless: Some(_), .. } if key == "same-size")
        );
        let (deleting, kept) = work(&plan, &a, &Listing::new(), true);
        assert_eq!(kept, 0);
        assert!(matches!(&deleting[0], Work::Delete { key } if key == "gone"));
    }
}
