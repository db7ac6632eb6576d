//! `storage kv create|list|get|delete|wait`: namespaces.

use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::api::types::{Namespace, NamespaceStatus};
use crate::cli::{CreateArgs, DeleteArgs, GetArgs, ListArgs};
use crate::client::{ApiError, Client, NAMESPACE_PAGE, NamespacePages};
use crate::commands::backend::Backend;
use crate::commands::target;
use crate::commands::{binding, key};
use crate::error::{Exit, UserError};
use crate::ui::OutputFormat;
use crate::ui::confirm::{Answer, confirm};
use crate::ui::printer::Printer;
use crate::ui::progress::WaitSpinner;
use crate::ui::tables::{StreamedList, namespace_rows};

/// How long `wait` waits when not told.
pub(crate) const DEFAULT_WAIT: Duration = Duration::from_secs(300);
/// Polling starts at this interval and grows by half each time, up to `MAX_POLL`.
const FIRST_POLL: Duration = Duration::from_millis(500);
const MAX_POLL: Duration = Duration::from_secs(5);

/// Prints one namespace in the chosen format.
fn print_namespace(printer: &Printer, namespace: &Namespace) -> anyhow::Result<()> {
    match printer.format() {
        OutputFormat::Table => printer.out(&namespace_rows(std::slice::from_ref(namespace)))?,
        OutputFormat::Json => printer.json_document(namespace)?,
        OutputFormat::Ndjson => printer.json_line(namespace)?,
        OutputFormat::Ids => printer.out(&format!("{}\n", namespace.id))?,
    }
    Ok(())
}

/// `storage kv create`: `POST /storage/kvs`, then `GET /storage/kvs/{id}` until `provision_ok`
/// (unless `--no-wait`). With `--if-not-exists` a taken name is looked up with
/// `GET /storage/kvs` instead of failing.
pub(crate) async fn create(
    backend: &Backend,
    args: CreateArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let client = &backend.client;
    // `commands::slips` answered a create without `--name` before anything started.
    let name = args.name.as_deref().unwrap_or_default();
    // With --bind, everything about the file is checked before the namespace is created.
    let bind_to = match &args.bind {
        None => None,
        Some(binding) => {
            let binding = if binding.is_empty() {
                crate::local::func_toml::binding_for(name)
            } else {
                binding.clone()
            };
            let path = binding::require_func_toml(backend.func_toml.as_deref())?;
            let existing = crate::local::func_toml::FuncToml::load(&path)?.binding(&binding);
            if let (Some(existing), false) = (existing, args.if_not_exists) {
                return Err(UserError::new(
                    Exit::Conflict,
                    format!(
                        "binding `{binding}` in `{}` already points to namespace `{existing}`",
                        crate::local::project::display_path(&path)
                    ),
                )
                .hint("Choose another binding with `--bind NAME`, or create without `--bind` and use `telnyx-edge storage kv bind --force`.")
                .into());
            }
            Some((path, binding))
        }
    };
    let namespace = match client.create_namespace(name).await {
        Ok(namespace) => {
            printer.status(&format!("Created namespace `{name}` ({})", namespace.id));
            namespace
        }
        Err(err) if err.status() == Some(409) && args.if_not_exists => {
            match client.find_namespace_by_name(name).await {
                Ok(Some(existing)) => {
                    printer.status(&format!(
                        "Namespace `{name}` already exists ({}, {})",
                        existing.id, existing.status
                    ));
                    existing
                }
                // The 409 was about something other than the name.
                _ => return Err(create_error(err, name)),
            }
        }
        Err(err) => return Err(create_error(err, name)),
    };
    let namespace = if args.no_wait {
        if namespace.status != NamespaceStatus::ProvisionOk {
            printer.status(&format!(
                "Not waiting; check with `telnyx-edge storage kv wait {name}`"
            ));
        }
        namespace
    } else {
        wait_until_ready(client, namespace, args.wait_timeout, printer).await?
    };
    if let Some((path, binding)) = bind_to {
        if namespace.status != NamespaceStatus::ProvisionOk {
            printer.status(&format!(
                "Binding `{binding}` now, while namespace `{name}` is still {}",
                namespace.status
            ));
        }
        // The binding's report goes to stderr only; stdout keeps the namespace.
        let quiet_report = printer.stderr_only();
        binding::bind_in(&path, &binding, &namespace, false, false, &quiet_report)?;
    }
    print_namespace(printer, &namespace)
}

fn create_error(err: ApiError, name: &str) -> anyhow::Error {
    let what = format!("failed to create KV namespace `{name}`");
    if err.status() == Some(409) {
        anyhow::Error::new(err).context(
            UserError::new(Exit::Conflict, what).hint(
                "Pass `--if-not-exists` to use the existing namespace, or choose another name.",
            ),
        )
    } else {
        anyhow::Error::new(err).context(what)
    }
}

/// `storage kv wait`: `GET /storage/kvs/{id}` until `provision_ok`.
pub(crate) async fn wait(
    backend: &Backend,
    spec: &str,
    timeout: Duration,
    printer: &Printer,
) -> anyhow::Result<()> {
    let (_, namespace) = target::namespace(backend, spec).await?;
    let namespace = wait_until_ready(&backend.client, namespace, timeout, printer).await?;
    print_namespace(printer, &namespace)
}

/// Polls with backoff (0.5 s, growing to 5 s) until the namespace is `provision_ok`, failing on
/// `provision_failed`, deletion, the deadline or Ctrl-C.
async fn wait_until_ready(
    client: &Client,
    namespace: Namespace,
    timeout: Duration,
    printer: &Printer,
) -> anyhow::Result<Namespace> {
    let name = namespace.name.clone();
    let mut progress = WaitSpinner::start(printer, &name, namespace.status);
    let outcome = poll(
        client,
        &namespace,
        timeout,
        |status| ready_or_failed(&name, status),
        |status| progress.update(status),
    )
    .await;
    let (ready, elapsed) = match outcome {
        Polled::Done(Some(ready), elapsed) => (ready, elapsed),
        other => {
            progress.abandon();
            return Err(not_ready(other, &name, timeout));
        }
    };
    progress.finish(&format!(
        "Namespace `{name}` is ready ({:.1}s)",
        elapsed.as_secs_f64()
    ));
    Ok(ready)
}

/// Whether waiting for `provision_ok` is over at `status`, and how.
fn ready_or_failed(name: &str, status: NamespaceStatus) -> Option<Result<(), UserError>> {
    match status {
        NamespaceStatus::ProvisionOk => Some(Ok(())),
        NamespaceStatus::Pending => None,
        NamespaceStatus::ProvisionFailed => Some(Err(UserError::new(
            Exit::WaitFailed,
            format!("provisioning of namespace `{name}` failed (status: provision_failed)"),
        )
        .hint(format!(
            "Delete it with `telnyx-edge storage kv delete {name} --yes` and create it again."
        )))),
        NamespaceStatus::Deleting | NamespaceStatus::DeleteFailed => Some(Err(UserError::new(
            Exit::Conflict,
            format!("namespace `{name}` is being deleted (status: {status})"),
        ))),
    }
}

/// The error for a wait for `provision_ok` that ended any other way than ready.
fn not_ready(outcome: Polled, name: &str, timeout: Duration) -> anyhow::Error {
    match outcome {
        // Only `Done(None)`, a namespace gone, gets here.
        Polled::Done(..) => UserError::new(
            Exit::Conflict,
            format!("namespace `{name}` was deleted while waiting for it"),
        )
        .into(),
        Polled::Failed(err) => err,
        Polled::TimedOut(status) => UserError::new(
            Exit::WaitFailed,
            format!(
                "namespace `{name}` is still {status} after {}",
                whole(timeout)
            ),
        )
        .hint(format!(
            "It may still become ready; keep waiting with `telnyx-edge storage kv wait {name}`."
        ))
        .into(),
        Polled::Interrupted => UserError::new(
            Exit::Interrupted,
            format!("interrupted while waiting for namespace `{name}`"),
        )
        .hint(format!(
            "Provisioning goes on at the service; resume with `telnyx-edge storage kv wait {name}`."
        ))
        .into(),
    }
}

/// How a [`poll`] ended.
enum Polled {
    /// `done` said so (with the namespace), or the namespace is gone (`None`).
    Done(Option<Namespace>, Duration),
    /// `done` returned an error, or a request failed.
    Failed(anyhow::Error),
    /// The deadline passed; the last status seen.
    TimedOut(NamespaceStatus),
    Interrupted,
}

/// Checks `namespace` with `GET /storage/kvs/{id}`, backing off from 0.5 s to 5 s, until `done`
/// decides on its status, the namespace is gone (404), the `timeout` passes or Ctrl-C.
/// `seen` is told each status.
async fn poll(
    client: &Client,
    namespace: &Namespace,
    timeout: Duration,
    done: impl Fn(NamespaceStatus) -> Option<Result<(), UserError>>,
    mut seen: impl FnMut(NamespaceStatus),
) -> Polled {
    let start = Instant::now();
    let deadline = tokio::time::Instant::from_std(start + timeout);
    // Ctrl-C or SIGTERM ends the wait with a word on how to resume it.
    let _stopping = crate::signals::guard();
    let interrupted = crate::signals::tripped();
    tokio::pin!(interrupted);
    let mut current = namespace.clone();
    // The first check is at once: an emulator (`--local`) is ready by then, and the service
    // pays one request for it.
    let mut delay = Duration::ZERO;
    loop {
        match done(current.status) {
            Some(Ok(())) => return Polled::Done(Some(current), start.elapsed()),
            Some(Err(err)) => return Polled::Failed(err.into()),
            None => {}
        }
        if start.elapsed() >= timeout {
            return Polled::TimedOut(current.status);
        }
        tokio::select! {
            () = tokio::time::sleep_until((tokio::time::Instant::now() + delay).min(deadline)) => {}
            () = &mut interrupted => return Polled::Interrupted,
        }
        if start.elapsed() >= timeout {
            return Polled::TimedOut(current.status);
        }
        delay = if delay.is_zero() {
            FIRST_POLL
        } else {
            (delay * 3 / 2).min(MAX_POLL)
        };
        // The deadline and Ctrl-C hold during a request too, however long it takes.
        let checked = tokio::select! {
            checked = client.get_namespace(&namespace.id) => checked,
            () = tokio::time::sleep_until(deadline) => return Polled::TimedOut(current.status),
            () = &mut interrupted => return Polled::Interrupted,
        };
        current = match checked {
            Ok(found) => found,
            Err(err) if err.status() == Some(404) => {
                return Polled::Done(None, start.elapsed());
            }
            Err(err) => {
                let name = &namespace.name;
                return Polled::Failed(
                    anyhow::Error::new(err)
                        .context(format!("failed to check KV namespace `{name}`")),
                );
            }
        };
        seen(current.status);
    }
}

/// A duration in whole seconds, as people write it (`5m`).
fn whole(duration: Duration) -> String {
    crate::ui::duration(Duration::from_secs(duration.as_secs()))
}

/// `storage kv list`: `GET /storage/kvs`, every page unless `--page`.
pub(crate) async fn list(
    backend: &Backend,
    args: ListArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let client = &backend.client;
    let size = args.page_size.unwrap_or(NAMESPACE_PAGE);
    let mut pages = NamespacePages::new(client, args.page.unwrap_or(1), size);
    let mut table_rows = Vec::new();
    let mut list = StreamedList::new(printer, true)?;
    while let Some(namespaces) = pages.next().await.context("failed to list KV namespaces")? {
        match printer.format() {
            OutputFormat::Table => table_rows.extend(namespaces),
            _ => list.page(printer, &namespaces, |ns| &ns.id)?,
        }
        // `--page` asks for that page alone.
        if args.page.is_some() {
            break;
        }
    }
    list.finish()?;
    if printer.format() == OutputFormat::Table {
        if table_rows.is_empty() {
            printer.status(
                "No KV namespaces yet; create one with `telnyx-edge storage kv create --name NAME`",
            );
        } else {
            printer.out(&namespace_rows(&table_rows))?;
        }
    }
    Ok(())
}

/// `storage kv get NAMESPACE`: `GET /storage/kvs/{id}` (after `GET /storage/kvs` for a name);
/// with KEY, the same as `key get`.
pub(crate) async fn get(backend: &Backend, args: GetArgs, printer: &Printer) -> anyhow::Result<()> {
    let spec = &args.namespace.spec;
    if let Some(key) = &args.key {
        return key::get(backend, spec, key, (args.output_file, args.field), printer).await;
    }
    let (_, namespace) = target::namespace(backend, spec).await?;
    print_namespace(printer, &namespace)
}

/// `storage kv delete NAMESPACE`: `DELETE /storage/kvs/{id}`; with `--wait`,
/// `GET /storage/kvs/{id}` until 404. With KEY, the same as `key delete`.
pub(crate) async fn delete(
    backend: &Backend,
    args: DeleteArgs,
    yes: bool,
    printer: &Printer,
) -> anyhow::Result<()> {
    if let Some(key) = &args.key {
        return key::delete(backend, &args.namespace.spec, key, yes, printer).await;
    }
    let client = &backend.client;
    let (target, namespace) = target::namespace(backend, &args.namespace.spec).await?;
    let name = &namespace.name;
    let bound = binding::bindings_of(backend.func_toml.as_deref(), &target.id);
    if !bound.is_empty() && !args.unbind && !args.keep_binding {
        return Err(bound_refusal(backend, name, &bound).into());
    }
    let keys = KeyCount::of(client, &target.id).await?;
    if yes && keys.any() && !args.force {
        // `--yes` skips the question; keys at stake need it asked, or `--force`. This is what
        // keeps `delete NS $KEY --yes` with an empty $KEY from deleting data.
        return Err(UserError::new(
            Exit::Conflict,
            format!("namespace `{name}` holds {keys}; refusing to delete them without `--force`"),
        )
        .hint(format!(
            "Pass `--force` too to delete the namespace with its keys, or delete keys first (`telnyx-edge storage kv bulk delete {name} --all`)."
        ))
        .into());
    }
    let what = if keys.any() {
        format!("namespace `{name}` and its {keys}")
    } else {
        format!("namespace `{name}` (it holds no keys)")
    };
    confirm(
        yes,
        &format!("delete {what}"),
        &format!("Delete {what}? Type its name to confirm:"),
        Answer::Exactly(name),
    )?;
    let deleted = client.delete_namespace(&target.id).await.map_err(|err| {
        let what = format!("failed to delete KV namespace `{name}`");
        anyhow::Error::new(err).context(what)
    })?;
    printer.status(&format!("Deleting namespace `{name}` ({})", deleted.id));
    // Local state's copy is gone: what `pull` and `push` last saw of it no longer says
    // anything about local state, and a later pull starts over.
    if client.is_direct() {
        let state_dir = crate::commands::backend::local_state_dir(backend.func_toml.as_deref())?;
        crate::local::seen::Record::forget_namespace(&state_dir, &deleted.id)?;
    }
    if let Some(path) = backend.func_toml.as_deref()
        && args.unbind
        && !bound.is_empty()
    {
        binding::remove_bindings(path, &bound, printer)?;
    }
    if args.keep_binding && !bound.is_empty() {
        printer.status(&kept_binding_note(backend, &bound));
    }
    if args.wait {
        wait_until_gone(client, &deleted, args.wait_timeout, printer).await?;
    }
    match printer.format() {
        OutputFormat::Table => Ok(()),
        _ => print_namespace(printer, &deleted),
    }
}

/// How many keys a namespace holds, from the first page of its key list: exact up to a page,
/// "at least" beyond.
struct KeyCount {
    count: usize,
    more: bool,
}

impl KeyCount {
    /// `GET /storage/kvs/{id}/keys?limit=1000`. A namespace that is not ready (409) holds none.
    async fn of(client: &Client, id: &str) -> anyhow::Result<Self> {
        match client.list_keys(id, None, Some(1000), None).await {
            Ok(page) => Ok(Self {
                count: page.data.len(),
                more: page.meta.has_more,
            }),
            Err(err) if err.status() == Some(409) => Ok(Self {
                count: 0,
                more: false,
            }),
            Err(err) => Err(anyhow::Error::new(err).context("failed to count the keys to delete")),
        }
    }

    fn any(&self) -> bool {
        self.count > 0 || self.more
    }
}

impl std::fmt::Display for KeyCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plus = if self.more { "+" } else { "" };
        let s = if self.count == 1 && !self.more {
            ""
        } else {
            "s"
        };
        write!(
            f,
            "{}{plus} key{s}",
            crate::ui::thousands(self.count as u64)
        )
    }
}

/// The bindings as the messages name them (`` `A`, `B` ``), and the file they are in.
fn bindings_shown(backend: &Backend, bound: &[String]) -> (String, String) {
    let path = backend
        .func_toml
        .as_deref()
        .map(crate::local::project::display_path)
        .unwrap_or_default();
    let names = bound
        .iter()
        .map(|b| format!("`{b}`"))
        .collect::<Vec<_>>()
        .join(", ");
    (names, path)
}

/// Deleting a namespace that `func.toml` binds is refused until the user says what becomes of
/// the binding: on the service a kept binding names nothing, and in local state it would bring
/// the namespace back (local state mirrors every binding), so neither is done silently.
fn bound_refusal(backend: &Backend, name: &str, bound: &[String]) -> UserError {
    let (names, path) = bindings_shown(backend, bound);
    let mirror = if backend.client.is_direct() {
        "local state mirrors every binding, so with it kept the namespace comes back, empty, on the next command"
    } else {
        "with it kept, the binding names a namespace that no longer exists"
    };
    UserError::new(
        Exit::Usage,
        format!(
            "namespace `{name}` is bound as {names} in `{path}`; refusing to delete it without `--unbind` or `--keep-binding`"
        ),
    )
    .hint(format!(
        "Pass `--unbind` to delete it and remove the binding, or `--keep-binding` to delete it and leave the binding ({mirror})."
    ))
}

/// What a kept binding means now, said once the namespace is deleted.
fn kept_binding_note(backend: &Backend, bound: &[String]) -> String {
    let (names, path) = bindings_shown(backend, bound);
    let (noun, it, names_verb) = if bound.len() == 1 {
        ("binding", "it", "it names")
    } else {
        ("bindings", "them", "they name")
    };
    if backend.client.is_direct() {
        format!(
            "Kept {noun} {names} in `{path}`: local state mirrors {it}, so the namespace comes back empty on the next command"
        )
    } else {
        format!("Kept {noun} {names} in `{path}`: {names_verb} a namespace that no longer exists")
    }
}

/// `delete --wait`: polls until the namespace is gone (404).
async fn wait_until_gone(
    client: &Client,
    deleted: &Namespace,
    timeout: Duration,
    printer: &Printer,
) -> anyhow::Result<()> {
    let name = &deleted.name;
    let outcome = poll(
        client,
        deleted,
        timeout,
        |status| match status {
            NamespaceStatus::DeleteFailed => Some(Err(UserError::new(
                Exit::WaitFailed,
                format!("deleting namespace `{name}` failed (status: delete_failed)"),
            ))),
            _ => None,
        },
        |_| {},
    )
    .await;
    match outcome {
        Polled::Done(_, elapsed) => {
            printer.status(&format!(
                "Deleted namespace `{name}` ({:.1}s)",
                elapsed.as_secs_f64()
            ));
            Ok(())
        }
        Polled::Failed(err) => Err(err),
        Polled::TimedOut(_) => Err(UserError::new(
            Exit::WaitFailed,
            format!(
                "namespace `{name}` is still being deleted after {}",
                whole(timeout)
            ),
        )
        .hint("The deletion goes on at the service; check with `telnyx-edge storage kv list`.")
        .into()),
        Polled::Interrupted => Err(UserError::new(
            Exit::Interrupted,
            format!("interrupted while waiting for namespace `{name}` to be deleted"),
        )
        .hint("The deletion goes on at the service.")
        .into()),
    }
}
