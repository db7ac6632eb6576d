//! `storage kv pull [NAMESPACE…]`: the service's changes into local state, namespace by
//! namespace (each planned, then copied, before the next).
//!
//! Endpoints, on the service: `GET /storage/kvs/{id}` (after `GET /storage/kvs`, page after
//! page, for a NAMESPACE given by name), `GET /storage/kvs/{id}/keys` page after page, and
//! `GET /storage/kvs/{id}/keys/{key}` for each value read. Local state, in-process: the
//! mirrors created, then `PUT` and (with `--delete`) `DELETE /storage/kvs/{id}/keys/{key}`.

use super::copy::copy_namespace;
use super::report::{finish, print_plans};
use super::setup::{namespaces, ready};
use super::{Direction, Invocation};
use crate::commands::backend::{Access, Backend};
use crate::commands::target::{self, Target};
use crate::emulator::Mirror;
use crate::local::func_toml;
use crate::ui::printer::Printer;

/// Pulls each namespace in turn, stopping at the first that does not finish.
pub(crate) async fn run(invoked: Invocation<'_>) -> anyhow::Result<()> {
    let (global, printer) = (invoked.global, invoked.printer);
    let remote = Backend::remote(global, printer, None)?;
    let specs = namespaces(invoked.args, remote.func_toml.as_deref())?;
    let Pulling { targets, mirrors } = resolve(&remote, &specs).await?;
    // A dry run creates nothing, not even the mirrors.
    let (access, mirrors) = if invoked.run.dry_run {
        (Access::Read, Vec::new())
    } else {
        (Access::Write, mirrors)
    };
    let local = Backend::local(global, printer, access, None, mirrors.clone()).await?;
    warn_renamed(&local, &mirrors, printer).await;
    let between = invoked.between(&local, &remote);
    let mut outcomes = Vec::new();
    let mut reports = Vec::new();
    for target in targets {
        let planned = between.plan(target).await?;
        if invoked.run.dry_run {
            reports.push(planned.report);
            continue;
        }
        let outcome = copy_namespace(between, planned).await?;
        let stop = outcome.stopped();
        outcomes.push(outcome);
        if stop {
            break;
        }
    }
    if invoked.run.dry_run {
        return print_plans(printer, &reports, Direction::Pull);
    }
    finish(printer, &outcomes, invoked.args, Direction::Pull)
}

/// The namespaces a pull reads, and the local mirrors they land in.
struct Pulling {
    targets: Vec<Target>,
    mirrors: Vec<Mirror>,
}

/// Each NAMESPACE on the service, ready; the same namespace named twice (by binding and by
/// name, say) is pulled once.
async fn resolve(remote: &Backend, specs: &[String]) -> anyhow::Result<Pulling> {
    let mut targets: Vec<Target> = Vec::new();
    let mut mirrors = Vec::new();
    for spec in specs {
        let (target, namespace) = target::namespace(remote, spec).await?;
        ready(&target, namespace.status)?;
        if targets.iter().any(|known| known.id == target.id) {
            continue;
        }
        mirrors.push(mirror_for(spec, &target, &namespace.name));
        targets.push(target);
    }
    Ok(Pulling { targets, mirrors })
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
