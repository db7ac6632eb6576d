//! `storage kv diff A B`: two namespaces compared key by key, each in local state or on the
//! service; exit 1 when they differ.
//!
//! Endpoints, for a side on the service: `GET /storage/kvs` page after page (a NAMESPACE given
//! by name), `GET /storage/kvs/{id}/keys` page after page, and
//! `GET /storage/kvs/{id}/keys/{key}` for a value whose digest neither the listing nor the sync
//! record gives. A side in local state is read in-process the same way.

use super::Place;
use super::listings::{local_sorted, merged, record_sorted, remote_listing, vouched};
use super::report::{DiffReport, SideReport, print_report};
use crate::bulk::listing::Meta;
use crate::bulk::sorted::Sorted;
use crate::bulk::sync;
use crate::cli::DiffArgs;
use crate::commands::backend::{self, Access, Backend};
use crate::commands::settings::GlobalSettings;
use crate::commands::target::{self, Target};
use crate::error::{Exit, Quiet, UserError};
use crate::local::seen::Record;
use crate::text::plural;
use crate::ui::printer::Printer;

/// `storage kv diff A B`
pub(crate) async fn diff(
    global: &GlobalSettings,
    args: DiffArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let default = if global.local {
        Place::Local
    } else {
        Place::Remote
    };
    let (a, b) = (side(&args.a, default)?, side(&args.b, default)?);
    let prefix = args.prefix.unwrap_or_default();
    let backends = Backends::open(global, printer, [a.place, b.place], Access::Read).await?;
    let a = list(&backends, a, &prefix).await?;
    let b = list(&backends, b, &prefix).await?;
    warn_same_spec(&backends, &a, &b, printer).await;
    let ceiling = args
        .concurrency
        .map_or(crate::bulk::window::DEFAULT_READ_CEILING, usize::from);
    let report = compare(a, b, ceiling, printer).await?;
    print_report(printer, &report, "A_SIZE", "B_SIZE")?;
    conclude(&report, printer)
}

/// A side of `diff` as written: `local:SPEC`, `remote:SPEC`, or SPEC on the default side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SideArg<'a> {
    pub place: Place,
    pub spec: &'a str,
}

pub(super) fn side(text: &str, default: Place) -> Result<SideArg<'_>, UserError> {
    let (place, spec) = if let Some(spec) = text.strip_prefix("local:") {
        (Place::Local, spec)
    } else if let Some(spec) = text.strip_prefix("remote:") {
        (Place::Remote, spec)
    } else {
        (default, text)
    };
    // No UUID, binding or name has a `:`: `remte:NS` is a misspelt side, not a namespace.
    if spec.is_empty() || spec.contains(':') {
        let what = if spec.is_empty() {
            format!("`{text}` names no namespace")
        } else {
            format!("`{text}` is not a side")
        };
        return Err(UserError::new(Exit::Usage, what)
        .hint("Write a side as `local:NAMESPACE`, `remote:NAMESPACE` or NAMESPACE (a UUID, a binding or a name)."));
    }
    Ok(SideArg { place, spec })
}

/// The namespace a side names; one that is not there is said with its side (`local:cache`),
/// and how to list that side's namespaces.
pub(super) async fn side_target(backend: &Backend, arg: SideArg<'_>) -> anyhow::Result<Target> {
    target::id(backend, arg.spec)
        .await
        .map_err(|err| match err.downcast::<UserError>() {
            Ok(mut missing) if missing.exit == Exit::NotFound => {
                let place = arg.place.as_str();
                missing.message = format!("`{place}:{}`: {}", arg.spec, missing.message);
                let local = if arg.place == Place::Local {
                    " --local"
                } else {
                    ""
                };
                missing.hint = Some(format!(
                    "List the namespaces of that side with `telnyx-edge{local} storage kv list`."
                ));
                anyhow::Error::new(missing)
            }
            Ok(other) => anyhow::Error::new(other),
            Err(err) => err,
        })
}

/// What the two sides need: local state, the service, or both.
pub(super) struct Backends {
    local: Option<Backend>,
    remote: Option<Backend>,
}

impl Backends {
    /// Opens the sides' backends; local state for `access` (a side written to needs it).
    pub(super) async fn open(
        global: &GlobalSettings,
        printer: &Printer,
        places: [Place; 2],
        access: Access,
    ) -> anyhow::Result<Self> {
        let local = if places.contains(&Place::Local) {
            Some(Backend::local(global, printer, access, None, Vec::new()).await?)
        } else {
            None
        };
        let remote = if places.contains(&Place::Remote) {
            Some(Backend::remote(global, printer, None)?)
        } else {
            None
        };
        Ok(Self { local, remote })
    }

    pub(super) fn at(&self, place: Place) -> anyhow::Result<&Backend> {
        match (place, &self.local, &self.remote) {
            (Place::Local, Some(local), _) => Ok(local),
            (Place::Remote, _, Some(remote)) => Ok(remote),
            _ => anyhow::bail!("no backend for a side"),
        }
    }
}

/// One side of a diff, resolved and listed.
pub(super) struct Listed<'a> {
    pub arg: SideArg<'a>,
    pub backend: &'a Backend,
    pub target: Target,
    pub listing: Sorted<Meta>,
    pub report: SideReport,
}

/// Resolves a side and lists its keys under `prefix`, in key order.
async fn list<'a>(
    backends: &'a Backends,
    arg: SideArg<'a>,
    prefix: &str,
) -> anyhow::Result<Listed<'a>> {
    let backend = backends.at(arg.place)?;
    let target = side_target(backend, arg).await?;
    listed(backend, arg, target, prefix).await
}

/// Lists a resolved side's keys under `prefix`, in key order.
pub(super) async fn listed<'a>(
    backend: &'a Backend,
    arg: SideArg<'a>,
    target: Target,
    prefix: &str,
) -> anyhow::Result<Listed<'a>> {
    // A service's listing is spilled to a scratch file, read back in key order.
    let listing = match arg.place {
        Place::Local => local_sorted(backend, &target.id, &target.label, prefix, false).await?,
        Place::Remote => {
            let state_dir = backend::local_state_dir(backend.func_toml.as_deref())?;
            let record = Record::new(&state_dir, backend.client.base_url(), &target.id);
            let spill = remote_listing(backend, &target.id, &target.label, prefix).await?;
            vouched(spill.sorted(), record_sorted(&record, prefix, true)?)
        }
    };
    let report = SideReport {
        side: arg.place,
        namespace: target.label.clone(),
        id: target.id.clone(),
    };
    Ok(Listed {
        arg,
        backend,
        target,
        listing,
        report,
    })
}

/// `local:X` and `remote:X` that are two namespaces: say so, naming the local copy of the
/// service's one when there is one.
async fn warn_same_spec(backends: &Backends, a: &Listed<'_>, b: &Listed<'_>, printer: &Printer) {
    if a.arg.place == b.arg.place || a.arg.spec != b.arg.spec || a.target.id == b.target.id {
        return;
    }
    let (local_side, remote_side) = if a.arg.place == Place::Local {
        (a, b)
    } else {
        (b, a)
    };
    let remote_id = &remote_side.target.id;
    let copy = match &backends.local {
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
        "`{}` names two different namespaces: {} locally and {remote_id} on the service{hint}",
        a.arg.spec, local_side.report.id
    ));
}

/// Compares the two listings, reading the values whose digests neither gives.
async fn compare(
    a: Listed<'_>,
    b: Listed<'_>,
    ceiling: usize,
    printer: &Printer,
) -> anyhow::Result<DiffReport> {
    let (a_listing, b_listing) = (a.listing, b.listing);
    let plan = merged(move || sync::plan(a_listing, b_listing)).await?;
    let plan = sync::settle(
        plan,
        sync::Side {
            client: &a.backend.client,
            ns: &a.target.id,
        },
        sync::Side {
            client: &b.backend.client,
            ns: &b.target.id,
        },
        ceiling,
        printer,
    )
    .await?;
    Ok(DiffReport::new(a.report, b.report, plan))
}

/// The status line, and the exit: 1 when the sides differ.
fn conclude(report: &DiffReport, printer: &Printer) -> anyhow::Result<()> {
    let a_name = format!("{}:{}", report.a.side.as_str(), report.a.namespace);
    let b_name = format!("{}:{}", report.b.side.as_str(), report.b.namespace);
    if report.differences.is_empty() {
        printer.status(&format!(
            "{a_name} and {b_name} are equal ({} key{})",
            crate::ui::thousands(report.equal),
            plural(report.equal)
        ));
        return Ok(());
    }
    printer.status(&format!(
        "A is {a_name}, B is {b_name}: {}",
        report.counts()
    ));
    Err(Quiet(Exit::Failure).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_take_a_prefix_or_the_default() {
        for (text, default, place, spec) in [
            ("local:MY_CACHE", Place::Remote, Place::Local, "MY_CACHE"),
            ("remote:my-cache", Place::Local, Place::Remote, "my-cache"),
            ("my-cache", Place::Local, Place::Local, "my-cache"),
            ("my-cache", Place::Remote, Place::Remote, "my-cache"),
        ] {
            assert_eq!(side(text, default).ok(), Some(SideArg { place, spec }));
        }
        assert!(side("local:", Place::Remote).is_err());
    }
}
