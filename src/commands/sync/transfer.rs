//! `storage kv copy SRC DST`: makes DST's keys equal to SRC's, each side in local state or on
//! the service. The sides are listed and compared as `diff` compares them (DST is A, SRC is
//! B); the keys that differ are copied by the bulk engine. No sync record is read or written.
//!
//! Endpoints, for a side on the service: `GET /storage/kvs` page after page (a NAMESPACE given
//! by name), `GET /storage/kvs/{id}/keys` page after page, `GET /storage/kvs/{id}/keys/{key}`
//! for a value whose digest is not known and for each value copied from SRC, then
//! `PUT /storage/kvs/{id}/keys/{key}?ttl_secs=T` on DST and (with `--delete`)
//! `DELETE /storage/kvs/{id}/keys/{key}`. A side in local state takes the same requests
//! in-process.

use std::collections::HashMap;

use serde::Serialize;

use super::copy::copy_marked;
use super::diff::{Backends, Listed, SideArg, listed, side, side_target};
use super::listings::merged;
use super::plan::Recorded;
use super::report::{DiffReport, Outcome, SideReport, not_finished, print_report};
use super::{Place, stoppable};
use crate::bulk::sync::{self, Action, Change, Copying, Difference, Plan, Work};
use crate::cli::CopyArgs;
use crate::commands::backend::Access;
use crate::commands::settings::GlobalSettings;
use crate::error::{Exit, UserError};
use crate::text::plural;
use crate::ui::OutputFormat;
use crate::ui::confirm::{Answer, confirm};
use crate::ui::printer::Printer;
use crate::ui::thousands;

/// `storage kv copy SRC DST`
pub(crate) async fn copy_keys(
    global: &GlobalSettings,
    args: CopyArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    stoppable("copy", run(global, &args, printer)).await
}

async fn run(global: &GlobalSettings, args: &CopyArgs, printer: &Printer) -> anyhow::Result<()> {
    let default = if global.local {
        Place::Local
    } else {
        Place::Remote
    };
    let (src, dst) = (side(&args.src, default)?, side(&args.dst, default)?);
    if src == dst {
        return Err(same_namespace(src).into());
    }
    let access = if dst.place == Place::Local {
        Access::Write
    } else {
        Access::Read
    };
    let backends = Backends::open(global, printer, [src.place, dst.place], access).await?;
    let prefix = args.prefix.clone().unwrap_or_default();
    let (to_backend, from_backend) = (backends.at(dst.place)?, backends.at(src.place)?);
    let to_target = side_target(to_backend, dst).await?;
    let from_target = side_target(from_backend, src).await?;
    if src.place == dst.place && to_target.id == from_target.id {
        return Err(same_namespace(src).into());
    }
    let to = listed(to_backend, dst, to_target, &prefix).await?;
    let from = listed(from_backend, src, from_target, &prefix).await?;
    let options = super::setup::options(&args.bulk, global.verbose);
    let (to_report, from_report) = (to.report.clone(), from.report.clone());
    let names = Names::of(&to_report, &from_report);
    let (to_id, from_id) = (to.target.id.clone(), from.target.id.clone());
    let target = to.target.clone();
    let planned = plan(to, from, args.delete, options.ceiling, printer).await?;
    if args.dry_run {
        return print_plan(printer, &names, &planned);
    }
    confirm_deletions(global.yes, &names, &planned)?;
    let (to_client, from_client) = (
        to_backend.client.without_retry_messages(),
        from_backend.client.without_retry_messages(),
    );
    let copying = Copying {
        to: &to_client,
        to_ns: &to_id,
        from: &from_client,
        from_ns: &from_id,
        origin: "copy",
    };
    let Planned {
        report,
        work,
        kept,
        uncopyable,
    } = planned;
    let done = copy_marked(copying, work, &uncopyable, &options, printer).await?;
    let mut copied = done.copied;
    copied.unchanged += report.equal;
    let outcome = Outcome::new(
        &target,
        copied,
        kept,
        Vec::new(),
        uncopyable.len(),
        done.summary,
    );
    let lead = format!("Copied {} to {}", names.from, names.to);
    printer.status(&outcome.line(&lead, &names.to));
    finish(printer, args, from_report, to_report, &outcome)
}

/// The same namespace on both sides: nothing to copy, and `--delete` could only lose data.
fn same_namespace(side: SideArg<'_>) -> UserError {
    UserError::new(
        Exit::Usage,
        format!(
            "SRC and DST are the same namespace ({}:{})",
            side.place.as_str(),
            side.spec
        ),
    )
    .hint("Name two different namespaces; `local:NAMESPACE` and `remote:NAMESPACE` are two sides.")
}

/// The sides as messages name them: `local:NAME`, `remote:NAME`.
struct Names {
    to: String,
    from: String,
}

impl Names {
    fn of(to: &SideReport, from: &SideReport) -> Self {
        let name = |side: &SideReport| format!("`{}:{}`", side.side.as_str(), side.namespace);
        Self {
            to: name(to),
            from: name(from),
        }
    }
}

/// A copy, planned: the differences it acts on (DST is A), its work, DST's keys SRC lacks
/// that are kept (no `--delete`), and the keys no request can address.
struct Planned {
    report: DiffReport,
    work: Vec<Work<Recorded>>,
    kept: u64,
    uncopyable: Vec<String>,
}

/// Compares the sides, reading the values whose digests neither listing gives, and turns the
/// differences into work: SRC's value (and TTL, where SRC can tell it) onto DST.
async fn plan(
    to: Listed<'_>,
    from: Listed<'_>,
    delete: bool,
    ceiling: usize,
    printer: &Printer,
) -> anyhow::Result<Planned> {
    let (a, b) = (to.listing, from.listing);
    let (compared, ttls) = merged(move || {
        let mut ttls: HashMap<String, u64> = HashMap::new();
        let plan = sync::plan_noting(a, b, &mut |key, ttl| {
            if let Some(ttl) = ttl {
                ttls.insert(key.to_owned(), ttl);
            }
        })?;
        Ok((plan, ttls))
    })
    .await?;
    let to_side = sync::Side {
        client: &to.backend.client,
        ns: &to.target.id,
    };
    let from_side = sync::Side {
        client: &from.backend.client,
        ns: &from.target.id,
    };
    let compared = sync::settle(compared, to_side, from_side, ceiling, printer).await?;
    let mut planned = Planned {
        report: DiffReport::new(to.report.clone(), from.report.clone(), Plan::default()),
        work: Vec::new(),
        kept: 0,
        uncopyable: Vec::new(),
    };
    let mut differences = Vec::new();
    for difference in compared.differences {
        if difference.change == Change::Removed && !delete {
            planned.kept += 1;
            continue;
        }
        if crate::api::rules::request_key(&difference.key).is_err() {
            planned.uncopyable.push(difference.key);
            continue;
        }
        planned
            .work
            .push(work(&difference, ttls.get(&difference.key).copied()));
        differences.push(difference);
    }
    let shown = Plan {
        differences,
        unsure: Vec::new(),
        equal: compared.equal,
    };
    planned.report = DiffReport::new(to.report, from.report, shown);
    Ok(planned)
}

/// One difference's work. DST is overwritten whatever it holds by then.
fn work(difference: &Difference, ttl_secs: Option<u64>) -> Work<Recorded> {
    let action = match difference.change {
        Change::Removed => Action::Delete,
        Change::Added => Action::Copy {
            change: Change::Added,
            ttl_secs,
        },
        // A TTL of its own is a change of the key.
        Change::Changed | Change::Ttl => Action::Copy {
            change: Change::Changed,
            ttl_secs,
        },
    };
    Work {
        key: difference.key.clone(),
        action,
        expect: None,
        tag: Recorded::default(),
    }
}

/// "2 added, 1 changed, 0 deleted, 3 unchanged"; DST's keys kept; the keys no request can
/// address.
fn would(names: &Names, planned: &Planned) -> String {
    let report = &planned.report;
    let mut text = format!(
        "{} added, {} changed, {} deleted, {} unchanged",
        thousands(report.added),
        thousands(report.changed + report.ttl),
        thousands(report.removed),
        thousands(report.equal)
    );
    if planned.kept > 0 {
        text.push_str(&format!(
            "; {} key{} only in {} kept (`--delete` deletes {})",
            thousands(planned.kept),
            plural(planned.kept),
            names.to,
            if planned.kept == 1 { "it" } else { "them" }
        ));
    }
    if !planned.uncopyable.is_empty() {
        text.push_str(&format!(
            "; {} key{} no request can address",
            thousands(planned.uncopyable.len() as u64),
            plural(planned.uncopyable.len())
        ));
    }
    text
}

/// `--dry-run`: the plan as the result (the table or `diff`'s document), and one status line.
fn print_plan(printer: &Printer, names: &Names, planned: &Planned) -> anyhow::Result<()> {
    printer.status(&format!(
        "Dry run: copying {} to {} would make {}; nothing was written",
        names.from,
        names.to,
        would(names, planned)
    ));
    print_report(printer, &planned.report, "DST_SIZE", "SRC_SIZE")
}

/// Deleting keys from DST is asked for first (or `--yes`); adding and overwriting are not.
fn confirm_deletions(yes: bool, names: &Names, planned: &Planned) -> anyhow::Result<()> {
    let deletions = planned.report.removed;
    if deletions == 0 {
        return Ok(());
    }
    let what = format!(
        "delete {} key{} from {} (not in {})",
        thousands(deletions),
        plural(deletions),
        names.to,
        names.from
    );
    let mut question = what.clone();
    if let Some(first) = question.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    confirm(yes, &what, &format!("{question}? [y/N]"), Answer::Yes)?;
    Ok(())
}

/// The JSON outcome (the sides, then push's fields for DST), and the exit: the copy's own
/// when it did not finish.
fn finish(
    printer: &Printer,
    args: &CopyArgs,
    from: SideReport,
    to: SideReport,
    outcome: &Outcome,
) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct Document<'a> {
        from: SideReport,
        to: SideReport,
        #[serde(flatten)]
        outcome: &'a Outcome,
    }
    let document = Document { from, to, outcome };
    match printer.format() {
        OutputFormat::Json => printer.json_document(&document)?,
        OutputFormat::Ndjson => printer.json_line(&document)?,
        OutputFormat::Table | OutputFormat::Ids => {}
    }
    if outcome.stopped() {
        return Err(not_finished(outcome, &args.bulk, "copy").into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn difference(change: Change) -> Difference {
        Difference {
            key: "k".to_owned(),
            change,
            a_size: None,
            b_size: None,
            a_ttl_secs: None,
            b_ttl_secs: None,
        }
    }

    #[test]
    fn a_ttl_difference_is_rewritten_with_the_sources_ttl_and_counts_as_changed() {
        let work = work(&difference(Change::Ttl), Some(60));
        assert!(matches!(
            work.action,
            Action::Copy {
                change: Change::Changed,
                ttl_secs: Some(60)
            }
        ));
        assert_eq!(work.expect, None);
        assert!(matches!(
            super::work(&difference(Change::Removed), None).action,
            Action::Delete
        ));
    }
}
