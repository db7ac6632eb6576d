//! What `diff`, `pull` and `push` print: a comparison as a table or JSON, the plan's lines on
//! stderr, each namespace's summary line and JSON outcome, and the error (with its exit code)
//! a run that did not finish or left conflicts ends with. It calls no endpoint.

use serde::Serialize;

use super::left_alone::LeftAlone;
use super::{Direction, Place, Run, SHOWN_PLAN_ROWS};
use crate::bulk::run::Summary;
use crate::bulk::sync::{Change, Copied, Difference, Plan};
use crate::cli::{BulkOptions, SyncArgs};
use crate::commands::target::Target;
use crate::error::{Exit, UserError};
use crate::text::plural;
use crate::ui::OutputFormat;
use crate::ui::printer::{Printer, stderr_line};
use crate::ui::thousands;

/// One namespace's comparison, for the table and JSON.
#[derive(Debug, Serialize)]
pub(crate) struct DiffReport {
    pub a: SideReport,
    pub b: SideReport,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    /// Equal values with other expiries, where both sides can tell.
    pub ttl: u64,
    pub equal: u64,
    pub differences: Vec<Difference>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SideReport {
    /// `local` or `remote`.
    pub side: Place,
    pub namespace: String,
    pub id: String,
}

impl DiffReport {
    pub(crate) fn new(a: SideReport, b: SideReport, plan: Plan) -> Self {
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

    pub(crate) fn counts(&self) -> String {
        let ttl = if self.ttl == 0 {
            String::new()
        } else {
            format!(", {} with another TTL", thousands(self.ttl))
        };
        format!(
            "{} added, {} changed, {} removed{ttl}, {} equal",
            thousands(self.added),
            thousands(self.changed),
            thousands(self.removed),
            thousands(self.equal)
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
pub(crate) fn print_report(
    printer: &Printer,
    report: &DiffReport,
    a: &str,
    b: &str,
) -> anyhow::Result<()> {
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

/// The plans of a dry run, as the result: one table per namespace, the `diff` documents
/// (`--json`), or one difference per line with its namespace (`-o ndjson`) or its key (`-o ids`).
pub(crate) fn print_plans(
    printer: &Printer,
    reports: &[DiffReport],
    direction: Direction,
) -> anyhow::Result<()> {
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
            let (a, b) = size_headings(direction);
            for report in reports {
                print_report(printer, report, a, b)?;
            }
        }
    }
    Ok(())
}

/// The size columns of a plan: the side written to (A), then the side read from (B).
fn size_headings(direction: Direction) -> (&'static str, &'static str) {
    (
        direction.written().size_heading(),
        direction.source().size_heading(),
    )
}

/// Shows the differences of each plan that has some on stderr (the first few of each), before
/// `push` asks.
pub(crate) fn show_plan_tables<'a>(
    printer: &Printer,
    direction: Direction,
    reports: impl Iterator<Item = &'a DiffReport>,
) {
    if printer.quiet() {
        return;
    }
    let (a, b) = size_headings(direction);
    for report in reports {
        if report.differences.is_empty() {
            continue;
        }
        let shown = &report.differences[..report.differences.len().min(SHOWN_PLAN_ROWS)];
        let mut text = table(shown, a, b);
        if report.differences.len() > shown.len() {
            text.push_str(&format!(
                "… and {} more (`--dry-run` lists them all)\n",
                thousands((report.differences.len() - shown.len()) as u64)
            ));
        }
        stderr_line(text.trim_end());
    }
}

/// Says what a planned namespace would get (a push, or a dry run), then the keys left alone.
pub(crate) fn announce_plan(
    printer: &Printer,
    run: Run<'_>,
    label: &str,
    report: &DiffReport,
    kept: u64,
    left_alone: &[LeftAlone],
) {
    let kept = kept_note(kept, run.direction.written().described());
    let left = left_alone_note(left_alone);
    match (run.direction, run.dry_run) {
        (Direction::Pull, false) => {}
        (Direction::Pull, true) => printer.status(&format!(
            "Dry run: pulling `{label}` would make {}{kept}{left}; nothing was written",
            would(report),
        )),
        (Direction::Push, dry_run) => printer.status(&format!(
            "{}ushing `{label}` would make {} on the service{kept}{left}",
            if dry_run { "Dry run: p" } else { "P" },
            would(report),
        )),
    }
    show_left_alone(printer, left_alone);
}

/// Prints a plan's left-alone keys (the first few) on stderr.
fn show_left_alone(printer: &Printer, left_alone: &[LeftAlone]) {
    if printer.quiet() {
        return;
    }
    for left in left_alone.iter().take(SHOWN_PLAN_ROWS) {
        stderr_line(&format!("  left alone: `{}` ({})", left.key, left.why));
    }
    if left_alone.len() > SHOWN_PLAN_ROWS {
        stderr_line(&format!(
            "  … and {} more left alone",
            thousands((left_alone.len() - SHOWN_PLAN_ROWS) as u64)
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
        thousands(left_alone.len() as u64),
        plural(left_alone.len())
    );
    if conflicts > 0 {
        text.push_str(&format!(
            " ({} conflict{})",
            thousands(conflicts as u64),
            plural(conflicts)
        ));
    }
    text
}

fn kept_note(kept: u64, place: &str) -> String {
    if kept == 0 {
        return String::new();
    }
    format!(
        "; {} deletion{} not made in {place} (`--delete` makes them)",
        thousands(kept),
        plural(kept)
    )
}

/// "2 added, 1 changed, 0 deleted" of a plan.
fn would(report: &DiffReport) -> String {
    format!(
        "{} added, {} changed, {} deleted, {} unchanged",
        thousands(report.added),
        thousands(report.changed),
        thousands(report.removed),
        thousands(report.equal)
    )
}

/// What a pull or push did to one namespace, for its summary line and JSON.
#[derive(Debug, Serialize)]
pub(crate) struct Outcome {
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

impl Outcome {
    pub(crate) fn new(
        target: &Target,
        copied: Copied,
        kept: u64,
        left_alone: Vec<LeftAlone>,
        uncopyable: usize,
        summary: Summary,
    ) -> Self {
        let conflicts = left_alone.iter().filter(|left| left.is_conflict()).count() as u64;
        Self {
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

    /// Whether the copy did not finish: keys remain, or it was interrupted.
    pub(crate) fn stopped(&self) -> bool {
        self.summary.remaining() > 0 || self.interrupted
    }

    /// The summary line of a namespace copied: "Pulled `x` into local state in 0.2s: …".
    pub(crate) fn say(&self, printer: &Printer, direction: Direction) {
        let (verb, place) = match direction {
            Direction::Pull => ("Pulled", "into local state"),
            Direction::Push => ("Pushed", "to the service"),
        };
        let lead = format!("{verb} `{}` {place}", self.namespace);
        printer.status(&self.line(&lead, direction.written().described()));
    }

    /// "{lead} in 0.2s: 2 added, …", with the deletions not made in `written`.
    pub(crate) fn line(&self, lead: &str, written: &str) -> String {
        format!(
            "{lead} in {:.1}s: {}{}{}",
            self.seconds,
            self.did(),
            kept_note(self.kept, written),
            left_alone_note(&self.left_alone),
        )
    }

    fn did(&self) -> String {
        let mut text = format!(
            "{} added, {} changed, {} deleted, {} unchanged",
            thousands(self.copied.added),
            thousands(self.copied.changed),
            thousands(self.copied.deleted),
            thousands(self.copied.unchanged)
        );
        if self.failed + self.skipped > 0 {
            text.push_str(&format!(
                ", {} failed, {} skipped",
                thousands(self.failed),
                thousands(self.skipped)
            ));
        }
        if self.vanished > 0 {
            text.push_str(&format!(
                ", {} gone before they were read",
                thousands(self.vanished)
            ));
        }
        if self.uncopyable > 0 {
            text.push_str(&format!(
                ", {} that no request can address",
                thousands(self.uncopyable)
            ));
        }
        text
    }
}

/// The JSON summary, and the exit code: the first namespace that did not finish, else 1 when
/// conflicts were left alone.
pub(crate) fn finish(
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
    if let Some(stopped) = outcomes.iter().find(|outcome| outcome.stopped()) {
        return Err(not_finished(stopped, &args.bulk, direction.verb()).into());
    }
    let conflicts: u64 = outcomes.iter().map(|outcome| outcome.conflicts).sum();
    if conflicts == 0 {
        return Ok(());
    }
    Err(conflicts_left(conflicts, args.force, direction).into())
}

/// Conflicts left alone: exit 1, with the way to compare or take them.
fn conflicts_left(conflicts: u64, force: bool, direction: Direction) -> UserError {
    let force = match (direction, force) {
        (_, true) => "they changed during this run; run it again to compare them anew",
        (Direction::Pull, false) => {
            "`pull --force` takes the service's values, for the keys left alone only"
        }
        (Direction::Push, false) => {
            "`push --force` sends local state's values, for the keys left alone only"
        }
    };
    UserError::new(
        Exit::Failure,
        format!(
            "{} key{} changed on both sides since the last sync {} left alone",
            thousands(conflicts),
            plural(conflicts),
            if conflicts == 1 { "was" } else { "were" }
        ),
    )
    .hint(format!(
        "Compare them with `telnyx-edge storage kv diff remote:NAMESPACE local:NAMESPACE`; {force}."
    ))
}

/// A namespace whose copy did not finish: interrupted, stopped by the error budget, or
/// finished with failures past it.
pub(crate) fn not_finished(stopped: &Outcome, bulk: &BulkOptions, verb: &str) -> UserError {
    let summary = &stopped.summary;
    let counts = summary.failed_and_skipped("key");
    let (how, exit) = if summary.interrupted {
        ("interrupted", Exit::Interrupted)
    } else if bulk.continue_on_error {
        (
            "finished with failures",
            summary.exit.unwrap_or(Exit::Failure),
        )
    } else {
        ("stopped", summary.exit.unwrap_or(Exit::Failure))
    };
    let message = format!("{verb} of `{}` {how}: {counts}", stopped.namespace);
    let listed = match &bulk.failed_file {
        Some(path) => format!(" The keys not done are listed in `{}`.", path.display()),
        None => String::new(),
    };
    let way_on = if summary.interrupted || bulk.continue_on_error {
        String::new()
    } else {
        " If the same keys keep failing, `--continue-on-error` copies the rest past them."
            .to_owned()
    };
    UserError::new(exit, message).hint(format!(
        "Run the same `{verb}` again to finish: it copies only what still differs.{listed}{way_on}"
    ))
}
