//! What a pull or push starts from: the namespaces named or bound, each checked ready on the
//! service, and the bulk engine's options. It calls no endpoint itself.

use std::path::Path;

use super::Direction;
use crate::api::types::NamespaceStatus;
use crate::bulk::run::Options;
use crate::cli::{BulkOptions, SyncArgs};
use crate::commands::settings::GlobalSettings;
use crate::commands::target::Target;
use crate::error::{Exit, UserError};
use crate::local::func_toml::FuncToml;

/// `--local` makes no sense for a command whose two sides are fixed. TELNYX_EDGE_LOCAL=1 is a
/// shell's default for commands that use one side, so it is left aside rather than refused:
/// a shell set up for local work can still `pull` into it.
pub(crate) fn refuse_local(global: &GlobalSettings, direction: Direction) -> Result<(), UserError> {
    if !global.local || global.local_from_env {
        return Ok(());
    }
    let verb = direction.verb();
    Err(UserError::new(
        Exit::Usage,
        format!("`{verb}` copies between the service and local state; `--local` has no meaning here"),
    )
    .hint(format!(
        "Drop `--local`: `{verb}` always uses both. To compare two local namespaces, use `telnyx-edge --local storage kv diff A B`."
    )))
}

/// The NAMESPACE arguments, or every binding of the func.toml in use.
pub(crate) fn namespaces(args: &SyncArgs, func_toml: Option<&Path>) -> anyhow::Result<Vec<String>> {
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

pub(crate) fn options(bulk: &BulkOptions, verbose: bool) -> Options {
    Options {
        ceiling: bulk
            .concurrency
            .map_or(crate::bulk::window::DEFAULT_READ_CEILING, usize::from),
        verbose,
        max_errors: (!bulk.continue_on_error).then_some(bulk.max_errors),
        failed_file: bulk.failed_file.clone(),
        input_may_stall: false,
    }
}

/// A namespace on the service must be ready for its keys to be read or written.
pub(crate) fn ready(target: &Target, status: NamespaceStatus) -> Result<(), UserError> {
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
