//! `storage kv create|list|get|delete|wait`: namespaces.

use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::api::types::{Namespace, NamespaceStatus};
use crate::api::{ApiError, Client};
use crate::cli::{CreateArgs, DeleteArgs, ListArgs, OutputFormat};
use crate::commands::binding;
use crate::confirm::{Answer, confirm};
use crate::exit::{Exit, UserError};
use crate::output::{JsonArray, namespace_rows};
use crate::printer::Printer;
use crate::resolve;
use crate::session::Session;

/// How long `wait` waits when not told.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(300);
/// Polling starts at this interval and grows by half each time, up to `MAX_POLL`.
const FIRST_POLL: Duration = Duration::from_millis(500);
const MAX_POLL: Duration = Duration::from_secs(5);
/// Namespaces per page when listing every page.
const LIST_PAGE: u64 = 250;

/// Prints one namespace in the chosen format.
fn print_namespace(printer: &Printer, namespace: &Namespace) -> anyhow::Result<()> {
    match printer.format {
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
pub async fn create(session: &Session, args: CreateArgs, printer: &Printer) -> anyhow::Result<()> {
    let client = &session.client;
    let name = &args.name;
    // With --bind, everything about the file is checked before the namespace is created.
    let bind_to = match &args.bind {
        None => None,
        Some(binding) => {
            let binding = if binding.is_empty() {
                crate::func_toml::binding_for(name)
            } else {
                binding.clone()
            };
            let path = binding::require_func_toml(session.func_toml.as_deref())?;
            let existing = crate::func_toml::FuncToml::load(&path)?.binding(&binding);
            if let (Some(existing), false) = (existing, args.if_not_exists) {
                return Err(UserError::new(
                    Exit::Conflict,
                    format!(
                        "binding `{binding}` in `{}` already points to namespace `{existing}`",
                        crate::project::display_path(&path)
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
        let quiet_report = Printer {
            format: OutputFormat::Table,
            ..*printer
        };
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
pub async fn wait(
    session: &Session,
    spec: &str,
    timeout: Duration,
    printer: &Printer,
) -> anyhow::Result<()> {
    let (_, namespace) = resolve::namespace(session, spec).await?;
    let namespace = wait_until_ready(&session.client, namespace, timeout, printer).await?;
    print_namespace(printer, &namespace)
}

/// Polls with backoff (0.5 s, growing to 5 s) until the namespace is `provision_ok`, failing on
/// `provision_failed`, deletion, the deadline or Ctrl-C.
async fn wait_until_ready(
    client: &Client,
    mut namespace: Namespace,
    timeout: Duration,
    printer: &Printer,
) -> anyhow::Result<Namespace> {
    let name = namespace.name.clone();
    let start = Instant::now();
    let mut progress = Progress::start(printer, &name, namespace.status);
    let mut delay = FIRST_POLL;
    loop {
        match namespace.status {
            NamespaceStatus::ProvisionOk => {
                progress.finish(&format!(
                    "Namespace `{name}` is ready ({:.1}s)",
                    start.elapsed().as_secs_f64()
                ));
                return Ok(namespace);
            }
            NamespaceStatus::ProvisionFailed => {
                progress.abandon();
                return Err(UserError::new(
                    Exit::WaitFailed,
                    format!("provisioning of namespace `{name}` failed (status: provision_failed)"),
                )
                .hint(format!(
                    "Delete it with `telnyx-edge storage kv delete {name} --yes` and create it again."
                ))
                .into());
            }
            NamespaceStatus::Deleting | NamespaceStatus::DeleteFailed => {
                progress.abandon();
                return Err(UserError::new(
                    Exit::Conflict,
                    format!(
                        "namespace `{name}` is being deleted (status: {})",
                        namespace.status
                    ),
                )
                .into());
            }
            NamespaceStatus::Pending => {}
        }
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            progress.abandon();
            return Err(UserError::new(
                Exit::WaitFailed,
                format!(
                    "namespace `{name}` is still {} after {}",
                    namespace.status,
                    humantime::format_duration(Duration::from_secs(timeout.as_secs()))
                ),
            )
            .hint(format!(
                "It may still become ready; keep waiting with `telnyx-edge storage kv wait {name}`."
            ))
            .into());
        }
        tokio::select! {
            () = tokio::time::sleep(delay.min(timeout - elapsed)) => {}
            _ = tokio::signal::ctrl_c() => {
                progress.abandon();
                return Err(UserError::new(
                    Exit::Interrupted,
                    format!("interrupted while waiting for namespace `{name}`"),
                )
                .hint(format!(
                    "Provisioning goes on at the service; resume with `telnyx-edge storage kv wait {name}`."
                ))
                .into());
            }
        }
        delay = (delay * 3 / 2).min(MAX_POLL);
        namespace = match client.get_namespace(&namespace.id).await {
            Ok(namespace) => namespace,
            Err(err) => {
                progress.abandon();
                return Err(anyhow::Error::new(err)
                    .context(format!("failed to check KV namespace `{name}`")));
            }
        };
        progress.update(namespace.status);
    }
}

/// A spinner on a terminal; otherwise one status line on start and one on finish.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    printer: Printer,
}

impl Progress {
    fn start(printer: &Printer, name: &str, status: NamespaceStatus) -> Self {
        let bar = printer.animated().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} Waiting for namespace `{prefix}`: {msg} ({elapsed})",
            ) {
                bar.set_style(style);
            }
            bar.set_prefix(name.to_owned());
            bar.set_message(status.to_string());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        if bar.is_none() && status != NamespaceStatus::ProvisionOk {
            printer.status(&format!(
                "Waiting for namespace `{name}` to be ready ({status})"
            ));
        }
        Self {
            bar,
            printer: *printer,
        }
    }

    fn update(&self, status: NamespaceStatus) {
        if let Some(bar) = &self.bar {
            bar.set_message(status.to_string());
        }
    }

    fn finish(&mut self, message: &str) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.printer.status(message);
    }

    fn abandon(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// `storage kv list`: `GET /storage/kvs`, every page unless `--page`.
pub async fn list(session: &Session, args: ListArgs, printer: &Printer) -> anyhow::Result<()> {
    let client = &session.client;
    let size = args.page_size.unwrap_or(LIST_PAGE);
    let mut page = args.page.unwrap_or(1);
    let mut table_rows = Vec::new();
    let mut json = match printer.format {
        OutputFormat::Json => Some(JsonArray::new(std::io::stdout().lock())?),
        _ => None,
    };
    loop {
        let listed = client
            .list_namespaces(page, size)
            .await
            .context("failed to list KV namespaces")?;
        match printer.format {
            OutputFormat::Table => table_rows.extend(listed.data),
            OutputFormat::Json => {
                if let Some(array) = json.as_mut() {
                    for namespace in &listed.data {
                        array.push(namespace)?;
                    }
                }
            }
            OutputFormat::Ndjson => {
                for namespace in &listed.data {
                    printer.json_line(namespace)?;
                }
            }
            OutputFormat::Ids => {
                let ids: String = listed
                    .data
                    .iter()
                    .map(|ns| format!("{}\n", ns.id))
                    .collect();
                printer.out(&ids)?;
            }
        }
        if args.page.is_some() || page >= listed.meta.total_pages {
            break;
        }
        page += 1;
    }
    if let Some(array) = json {
        array.finish()?;
    }
    if printer.format == OutputFormat::Table {
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

/// `storage kv get NAMESPACE`: `GET /storage/kvs/{id}` (after `GET /storage/kvs` for a name).
pub async fn get(session: &Session, spec: &str, printer: &Printer) -> anyhow::Result<()> {
    let (_, namespace) = resolve::namespace(session, spec).await?;
    print_namespace(printer, &namespace)
}

/// `storage kv delete NAMESPACE`: `DELETE /storage/kvs/{id}`; with `--wait`,
/// `GET /storage/kvs/{id}` until 404.
pub async fn delete(
    session: &Session,
    args: &DeleteArgs,
    yes: bool,
    printer: &Printer,
) -> anyhow::Result<()> {
    let client = &session.client;
    let (target, namespace) = resolve::namespace(session, &args.namespace).await?;
    let name = &namespace.name;
    let bound = binding::bindings_of(session.func_toml.as_deref(), &target.id);
    if !bound.is_empty() {
        let path = session
            .func_toml
            .as_deref()
            .map(crate::project::display_path)
            .unwrap_or_default();
        let names = bound
            .iter()
            .map(|b| format!("`{b}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let advice = if args.unbind {
            "it will be removed too"
        } else {
            "pass `--unbind` to remove it too"
        };
        printer.warn(&format!(
            "namespace `{name}` is bound as {names} in `{path}`; {advice}"
        ));
    }
    confirm(
        yes,
        &format!("delete namespace `{name}` and all its keys"),
        &format!("Delete namespace `{name}` and all its keys? Type its name to confirm:"),
        Answer::Exactly(name),
    )?;
    let deleted = client.delete_namespace(&target.id).await.map_err(|err| {
        let what = format!("failed to delete KV namespace `{name}`");
        anyhow::Error::new(err).context(what)
    })?;
    printer.status(&format!("Deleting namespace `{name}` ({})", deleted.id));
    if let Some(path) = session.func_toml.as_deref()
        && args.unbind
        && !bound.is_empty()
    {
        binding::remove_bindings(path, &bound, printer)?;
    }
    if args.wait {
        let start = Instant::now();
        let mut delay = FIRST_POLL;
        loop {
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = tokio::signal::ctrl_c() => {
                    return Err(UserError::new(
                        Exit::Interrupted,
                        format!("interrupted while waiting for namespace `{name}` to be deleted"),
                    )
                    .hint("The deletion goes on at the service.")
                    .into());
                }
            }
            match client.get_namespace(&deleted.id).await {
                Err(err) if err.status() == Some(404) => break,
                Err(err) => {
                    return Err(anyhow::Error::new(err)
                        .context(format!("failed to check KV namespace `{name}`")));
                }
                Ok(ns) if ns.status == NamespaceStatus::DeleteFailed => {
                    return Err(UserError::new(
                        Exit::WaitFailed,
                        format!("deleting namespace `{name}` failed (status: delete_failed)"),
                    )
                    .into());
                }
                Ok(_) => {}
            }
            if start.elapsed() >= DEFAULT_WAIT {
                return Err(UserError::new(
                    Exit::WaitFailed,
                    format!("namespace `{name}` is still being deleted after 5m"),
                )
                .into());
            }
            delay = (delay * 3 / 2).min(MAX_POLL);
        }
        printer.status(&format!(
            "Deleted namespace `{name}` ({:.1}s)",
            start.elapsed().as_secs_f64()
        ));
    }
    match printer.format {
        OutputFormat::Table => Ok(()),
        _ => print_namespace(printer, &deleted),
    }
}
