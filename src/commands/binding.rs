//! `storage kv bind|unbind`, and the binding half of `create --bind` and `delete --unbind`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use crate::api::types::Namespace;
use crate::cli::{BindArgs, UnbindArgs};
use crate::commands::backend::Backend;
use crate::commands::target;
use crate::error::{Exit, UserError};
use crate::local::atomic::EditLock;
use crate::local::func_toml::{Bound, FuncToml, FuncTomlError, binding_for};
use crate::text::plural;
use crate::ui::OutputFormat;
use crate::ui::printer::Printer;

/// What `bind` and `unbind` print with `--json`.
#[derive(Serialize)]
struct Change<'a> {
    path: String,
    binding: &'a str,
    /// The id the binding points at afterwards; `null` after `unbind`.
    id: Option<&'a str>,
    /// The id it pointed at before, if any.
    previous: Option<String>,
    changed: bool,
    dry_run: bool,
    /// The unified diff of the change (empty when nothing changes).
    diff: String,
}

/// The `func.toml` to edit, or the usage error that says how to name one. A file that does not
/// exist yet will be created, but its directory must exist.
pub(crate) fn require_func_toml(path: Option<&Path>) -> Result<PathBuf, UserError> {
    let path = path.map(Path::to_path_buf).ok_or_else(|| {
        UserError::new(
            Exit::Usage,
            "no func.toml in the working directory or above it",
        )
        .hint("Run it from your function's directory, or pass `--func-toml func.toml` to create one here (any PATH: a missing file is created).")
    })?;
    let dir = crate::local::atomic::parent_dir(&path);
    if !path.exists() && !dir.is_dir() {
        return Err(UserError::new(
            Exit::Usage,
            format!(
                "cannot create `{}`: the directory `{}` does not exist",
                path.display(),
                dir.display()
            ),
        ));
    }
    Ok(path)
}

/// Maps a failed edit to its exit code: a clash is a conflict (5), anything else 1.
fn edit_error(err: FuncTomlError, id: &str) -> anyhow::Error {
    match err {
        FuncTomlError::Clash {
            ref binding,
            ref existing,
            ..
        } => {
            let hint = format!(
                "Pass `--force` to point `{binding}` at `{id}` instead of `{existing}`, or choose another binding name."
            );
            UserError::new(Exit::Conflict, err.to_string())
                .hint(hint)
                .into()
        }
        FuncTomlError::OddId { ref binding, .. } => {
            let hint = format!(
                "Fix `id` under `[storage.kv.{binding}]` by hand, or choose another binding name."
            );
            UserError::new(Exit::Conflict, err.to_string())
                .hint(hint)
                .into()
        }
        other => other.into(),
    }
}

/// Binds `namespace` as `binding` in the file at `path`, printing what happened.
pub(crate) fn bind_in(
    path: &Path,
    binding: &str,
    namespace: &Namespace,
    force: bool,
    dry_run: bool,
    printer: &Printer,
) -> anyhow::Result<()> {
    let _lock =
        EditLock::acquire(path).with_context(|| format!("cannot lock `{}`", path.display()))?;
    let mut toml = FuncToml::load(path)?;
    let bound = toml
        .bind(binding, &namespace.id, force)
        .map_err(|err| edit_error(err, &namespace.id))?;
    let shown = crate::local::project::display_path(path);
    let diff = if toml.changed() {
        toml.diff()
    } else {
        String::new()
    };
    let previous = match &bound {
        Bound::Replaced(old) => Some(old.clone()),
        Bound::Unchanged => Some(namespace.id.clone()),
        Bound::Added => None,
    };
    let changed = bound != Bound::Unchanged;
    if dry_run {
        if printer.format() == OutputFormat::Table {
            printer.out(&diff)?;
        }
        printer.status(&format!("Dry run: `{shown}` was not changed"));
    } else if changed {
        toml.save()?;
        match &bound {
            Bound::Replaced(old) => printer.status(&format!(
                "Pointed `{binding}` at namespace `{}` ({}) in `{shown}`, instead of `{old}`",
                namespace.name, namespace.id
            )),
            _ => printer.status(&format!(
                "Bound `{binding}` to namespace `{}` ({}) in `{shown}`",
                namespace.name, namespace.id
            )),
        }
    } else {
        printer.status(&format!(
            "`{binding}` already points to namespace `{}` in `{shown}`; nothing to change",
            namespace.name
        ));
    }
    report(
        printer,
        &Change {
            path: shown.clone(),
            binding,
            id: Some(&namespace.id),
            previous,
            changed,
            dry_run,
            diff,
        },
    )
}

fn report(printer: &Printer, change: &Change<'_>) -> anyhow::Result<()> {
    printer.result(change, change.binding)?;
    Ok(())
}

/// `storage kv bind`: `GET /storage/kvs/{id}` (or the list, for a name) to check the namespace,
/// then edits `func.toml`.
pub(crate) async fn bind(
    backend: &Backend,
    args: BindArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    // Find the file before any request, so a missing one fails fast.
    let path = require_func_toml(backend.func_toml.as_deref())?;
    if path.is_file() {
        FuncToml::load(&path)?;
    }
    let (_, namespace) = target::namespace(backend, &args.namespace.spec).await?;
    let binding = args
        .binding
        .clone()
        .unwrap_or_else(|| binding_for(&namespace.name));
    bind_in(
        &path,
        &binding,
        &namespace,
        args.force,
        args.dry_run,
        printer,
    )
}

/// `storage kv unbind`: removes `[storage.kv.BINDING]` from `func.toml`. No request.
pub(crate) fn unbind(
    func_toml: Option<&Path>,
    args: UnbindArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let path = require_func_toml(func_toml)?;
    let _lock =
        EditLock::acquire(&path).with_context(|| format!("cannot lock `{}`", path.display()))?;
    let mut toml = FuncToml::load(&path)?;
    let shown = crate::local::project::display_path(&path);
    let previous = toml.binding(&args.binding);
    if !toml.unbind(&args.binding) {
        let known: Vec<String> = toml.bindings().into_iter().map(|(name, _)| name).collect();
        let listed = if known.is_empty() {
            "it has no bindings".to_owned()
        } else {
            format!("it has {}", known.join(", "))
        };
        return Err(UserError::new(
            Exit::NotFound,
            format!("no binding `{}` in `{shown}`: {listed}", args.binding),
        )
        .into());
    }
    let diff = toml.diff();
    if args.dry_run {
        if printer.format() == OutputFormat::Table {
            printer.out(&diff)?;
        }
        printer.status(&format!("Dry run: `{shown}` was not changed"));
    } else {
        toml.save()?;
        printer.status(&format!(
            "Removed binding `{}` from `{shown}`",
            args.binding
        ));
    }
    report(
        printer,
        &Change {
            path: shown.clone(),
            binding: &args.binding,
            id: None,
            previous,
            changed: true,
            dry_run: args.dry_run,
            diff,
        },
    )
}

/// The bindings of `id` in the `func.toml` in use, if it can be read.
pub(crate) fn bindings_of(func_toml: Option<&Path>, id: &str) -> Vec<String> {
    let Some(path) = func_toml.filter(|path| path.is_file()) else {
        return Vec::new();
    };
    FuncToml::load(path)
        .map(|toml| {
            toml.bindings()
                .into_iter()
                .filter(|(_, bound)| bound.eq_ignore_ascii_case(id))
                .map(|(name, _)| name)
                .collect()
        })
        .unwrap_or_default()
}

/// Removes `bindings` from the file at `path` after the namespace was deleted.
pub(crate) fn remove_bindings(
    path: &Path,
    bindings: &[String],
    printer: &Printer,
) -> anyhow::Result<()> {
    let _lock =
        EditLock::acquire(path).with_context(|| format!("cannot lock `{}`", path.display()))?;
    let mut toml = FuncToml::load(path)?;
    for binding in bindings {
        toml.unbind(binding);
    }
    toml.save()?;
    printer.status(&format!(
        "Removed binding{} {} from `{}`",
        plural(bindings.len()),
        bindings
            .iter()
            .map(|b| format!("`{b}`"))
            .collect::<Vec<_>>()
            .join(", "),
        crate::local::project::display_path(path)
    ));
    Ok(())
}
