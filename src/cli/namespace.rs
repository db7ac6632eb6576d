//! The arguments of the namespace commands (`create`, `list`, `get`, `delete`, `wait`, `bind`,
//! `unbind`), and the NAMESPACE argument the key and bulk commands share.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueHint};
use clap_complete::engine::{ArgValueCandidates, ArgValueCompleter};

use super::value::{binding_name, binding_or_default, key_name, namespace_name};

/// How NAMESPACE is written everywhere.
const NAMESPACE_HELP: &str = "Namespace: its UUID, a binding in func.toml, or its name";

/// The NAMESPACE positional of every command that works on one namespace, with the bindings of
/// the nearest func.toml offered by completion.
#[derive(Debug, Args)]
pub(crate) struct NamespaceArg {
    /// The namespace as typed: resolved by `commands::target`.
    #[arg(id = "namespace", value_name = "NAMESPACE", help = NAMESPACE_HELP, add = ArgValueCandidates::new(crate::cli::complete::namespaces))]
    pub spec: String,
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// Name: lowercase letters, digits and `-`, 1 to 255 characters
    #[arg(long, value_parser = namespace_name, required_unless_present = "stray_name")]
    pub name: Option<String>,

    /// A name given without `--name`: answered with a hint
    #[arg(hide = true, value_name = "NAME")]
    pub stray_name: Option<String>,

    /// Return as soon as the service accepted the request, without waiting for `provision_ok`
    #[arg(long, conflicts_with = "wait_timeout")]
    pub no_wait: bool,

    /// How long to wait for `provision_ok`
    #[arg(long, value_name = "DUR", default_value = "5m", value_parser = crate::cli::duration::parse)]
    pub wait_timeout: Duration,

    /// Succeed with the existing namespace when the name is taken
    #[arg(long)]
    pub if_not_exists: bool,

    /// Also bind it in func.toml, as BINDING [default: the name upper-cased, `-` → `_`]
    #[arg(long, value_name = "BINDING", num_args = 0..=1, default_missing_value = "", value_parser = binding_or_default)]
    pub bind: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct BindArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    /// Binding name, `[A-Z_][A-Z0-9_]*` [default: the namespace name upper-cased, `-` → `_`]
    #[arg(value_parser = binding_name)]
    pub binding: Option<String>,

    /// Point an existing binding at this namespace instead
    #[arg(long)]
    pub force: bool,

    /// Print the change as a unified diff and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UnbindArgs {
    /// Binding name in func.toml
    #[arg(value_parser = binding_name, add = ArgValueCandidates::new(crate::cli::complete::bindings))]
    pub binding: String,

    /// Print the change as a unified diff and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only this page (from 1); every page when omitted
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub page: Option<u64>,

    /// Namespaces per page, 1 to 250
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=250))]
    pub page_size: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    /// A key: print its value instead of the namespace
    #[arg(value_parser = key_name, add = ArgValueCompleter::new(crate::cli::complete::keys))]
    pub key: Option<String>,

    /// With KEY: write the value to this file (atomically) instead of stdout (`-`: stdout)
    #[arg(long, value_name = "PATH", requires = "key", value_hint = ValueHint::FilePath)]
    pub output_file: Option<PathBuf>,
    /// With KEY, for a JSON value: print only this field, a dotted path (`user.emails.0`) or a jq
    /// expression starting with `.` (`.items | length`); strings print as raw text
    #[arg(long, value_name = "PATH", value_parser = crate::cli::value::field, conflicts_with = "output_file", requires = "key")]
    pub field: Option<crate::ui::field::Field>,
}

#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    /// A key: delete it instead of the namespace
    #[arg(value_parser = key_name, add = ArgValueCompleter::new(crate::cli::complete::keys))]
    pub key: Option<String>,

    /// Wait until the namespace is gone
    #[arg(long, conflicts_with = "key")]
    pub wait: bool,

    /// Delete the namespace even though it holds keys (needed without a terminal, with `--yes`)
    #[arg(long, conflicts_with = "key")]
    pub force: bool,

    /// With `--wait`: how long to wait
    #[arg(long, value_name = "DUR", default_value = "5m", requires = "wait", value_parser = crate::cli::duration::parse)]
    pub wait_timeout: Duration,

    /// Also remove the func.toml bindings of the namespace once it is deleted (a bound
    /// namespace needs this or `--keep-binding`)
    #[arg(long, conflicts_with = "key")]
    pub unbind: bool,

    /// Delete a bound namespace but leave its func.toml bindings (they then name nothing on the
    /// service; with `--local` the mirror comes back empty on the next command)
    #[arg(long, conflicts_with_all = ["key", "unbind"])]
    pub keep_binding: bool,
}

#[derive(Debug, Args)]
pub(crate) struct WaitArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    /// How long to wait (the global `--timeout` means the same here) [default: 5m]
    #[arg(long, value_name = "DUR", value_parser = crate::cli::duration::parse)]
    pub wait_timeout: Option<Duration>,
}
