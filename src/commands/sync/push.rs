//! `storage kv push [NAMESPACE…]`: local state's changes to the service. Every namespace is
//! planned first, the plan shown and confirmed, then each is copied in turn.
//!
//! Endpoints, on the service: `GET /storage/kvs/{id}` (the namespace with the local one's id),
//! `GET /storage/kvs/{id}/keys` page after page, `GET /storage/kvs/{id}/keys/{key}` for a
//! value whose digest is not known and before each write, then
//! `PUT /storage/kvs/{id}/keys/{key}?ttl_secs=T` and (with `--delete`)
//! `DELETE /storage/kvs/{id}/keys/{key}`. Local state is read in-process (a NAMESPACE given by
//! name is looked up there).

use super::copy::carry_out;
use super::plan::Planned;
use super::report::{DiffReport, finish, print_plans, show_plan_tables};
use super::setup::{namespaces, ready};
use super::{Direction, Invocation};
use crate::commands::backend::{self, Access, Backend};
use crate::commands::target::{self, Target};
use crate::error::{Exit, UserError};
use crate::text::plural;
use crate::ui::confirm::{Answer, confirm};
use crate::ui::printer::Printer;

/// Plans every namespace, asks, then pushes each in turn, stopping at the first that does
/// not finish.
pub(crate) async fn run(invoked: Invocation<'_>) -> anyhow::Result<()> {
    let (global, printer) = (invoked.global, invoked.printer);
    let local = Backend::local(global, printer, Access::Read, None, Vec::new()).await?;
    require_local_state(&local)?;
    let specs = namespaces(invoked.args, local.func_toml.as_deref())?;
    let remote = Backend::remote(global, printer, None)?;
    let targets = resolve(&local, &remote, &specs).await?;
    let between = invoked.between(&local, &remote);
    let mut planned: Vec<Planned> = Vec::new();
    for target in targets {
        planned.push(between.plan(target).await?);
    }
    if invoked.run.dry_run {
        let reports: Vec<DiffReport> = planned.into_iter().map(|p| p.report).collect();
        return print_plans(printer, &reports, Direction::Push);
    }
    confirm_plan(global.yes, &planned, printer)?;
    let outcomes = carry_out(between, planned).await?;
    finish(printer, &outcomes, invoked.args, Direction::Push)
}

/// A push needs local state to push from.
fn require_local_state(local: &Backend) -> anyhow::Result<()> {
    let state_dir = backend::local_state_dir(local.func_toml.as_deref())?;
    if state_dir.exists() {
        return Ok(());
    }
    Err(UserError::new(
        Exit::NotFound,
        format!("there is no local state to push: `{}` does not exist", state_dir.display()),
    )
    .hint("Write something with `--local` first, or `telnyx-edge storage kv pull` to start from the service.")
    .into())
}

/// Each NAMESPACE in local state, and the namespace with its id on the service (ready), named
/// as local state names it. In id order: each namespace's lock is held until its push ends,
/// and taken in one order by every push, so that two pushes of the same namespaces never wait
/// for each other.
async fn resolve(
    local: &Backend,
    remote: &Backend,
    specs: &[String],
) -> anyhow::Result<Vec<Target>> {
    let mut targets: Vec<Target> = Vec::new();
    for spec in specs {
        let local_target = target::id(local, spec).await?;
        if targets.iter().any(|known| known.id == local_target.id) {
            continue;
        }
        let target = on_service(remote, &local_target.id, spec).await?;
        targets.push(Target {
            label: local_target.label.clone(),
            ..target
        });
    }
    targets.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(targets)
}

/// The service's namespace with `id`, which a push writes into (and never creates).
async fn on_service(remote: &Backend, id: &str, spec: &str) -> anyhow::Result<Target> {
    let (target, namespace) = match target::namespace(remote, id).await {
        Ok(found) => found,
        Err(err)
            if crate::error::find::<UserError>(&err).is_some_and(|e| e.exit == Exit::NotFound) =>
        {
            return Err(UserError::new(
                Exit::NotFound,
                format!("the service has no KV namespace with id `{id}` (local `{spec}`)"),
            )
            .hint("`push` writes into the namespace with the same id on the service, and never creates one: create and bind it there, then `pull` it.")
            .into());
        }
        Err(err) => return Err(err),
    };
    ready(&target, namespace.status)?;
    Ok(target)
}

/// Shows the changes planned and asks before making them; says so when there is nothing to
/// push at all.
fn confirm_plan(yes: bool, planned: &[Planned], printer: &Printer) -> anyhow::Result<()> {
    let changes: usize = planned.iter().map(|p| p.work.len()).sum();
    if changes > 0 {
        show_plan_tables(printer, Direction::Push, planned.iter().map(|p| &p.report));
        let what = format!(
            "{} change{} to the service",
            crate::ui::thousands(changes as u64),
            plural(changes)
        );
        confirm(
            yes,
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
    Ok(())
}
