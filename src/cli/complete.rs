//! Shell completion: the registration scripts (`telnyx-edge completions SHELL`), and the
//! candidates the binary computes when a shell asks.
//!
//! The scripts are clap_complete's dynamic ones: on TAB the shell runs `telnyx-edge` with
//! `_TELNYX_EDGE_COMPLETE=<shell>` set, and the binary answers from its own command definition,
//! so completions never drift from the code. Binding names come from the nearest `func.toml`;
//! namespace names and keys from a [`Lookup`] that `main` hands in (local state, or the service
//! behind a cache), since this layer may not reach either itself.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::sync::OnceLock;

use clap::{FromArgMatches as _, ValueEnum};
use clap_complete::engine::CompletionCandidate;
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};

/// The environment variable that turns a run into a completion request.
pub(crate) const ENV_VAR: &str = "_TELNYX_EDGE_COMPLETE";
/// The binary the scripts call: found on PATH, never a build path.
pub(crate) const BIN: &str = "telnyx-edge";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl Shell {
    fn completer(self) -> &'static dyn EnvCompleter {
        match self {
            Self::Bash => &Bash,
            Self::Zsh => &Zsh,
            Self::Fish => &Fish,
            Self::Powershell => &Powershell,
            Self::Elvish => &Elvish,
        }
    }

    /// The file name packagers install the script under, as committed in `completions/`.
    pub(crate) fn file_name(self) -> &'static str {
        match self {
            Self::Bash => "telnyx-edge.bash",
            Self::Zsh => "_telnyx-edge",
            Self::Fish => "telnyx-edge.fish",
            Self::Powershell => "_telnyx-edge.ps1",
            Self::Elvish => "telnyx-edge.elv",
        }
    }
}

/// Writes the registration script for `shell`.
pub(crate) fn write_script(shell: Shell, out: &mut dyn Write) -> std::io::Result<()> {
    shell
        .completer()
        .write_registration(ENV_VAR, BIN, BIN, BIN, out)
}

/// Namespace names and keys for completion. Implementations print nothing and never fail: what
/// cannot be looked up quickly is simply not offered.
pub(crate) trait Lookup: Sync {
    /// Namespace names, each with its id.
    fn namespaces(&self, global: crate::cli::GlobalArgs) -> Vec<(String, String)>;
    /// Keys of the namespace written `namespace` (a UUID, binding or name) that start with
    /// `prefix`.
    fn keys(&self, global: crate::cli::GlobalArgs, namespace: &str, prefix: &str) -> Vec<String>;
}

static LOOKUP: OnceLock<&'static dyn Lookup> = OnceLock::new();

/// Answers a completion request and exits when the shell made one; returns otherwise.
pub(crate) fn complete_if_asked(lookup: &'static dyn Lookup) {
    let _ = LOOKUP.set(lookup);
    clap_complete::CompleteEnv::with_factory(crate::cli::command)
        .var(ENV_VAR)
        .bin(BIN)
        .completer(BIN)
        .complete();
}

/// The binding names of the nearest `func.toml`, each with its namespace id as help.
pub(crate) fn bindings() -> Vec<CompletionCandidate> {
    let Ok(cwd) = std::env::current_dir() else {
        return Vec::new();
    };
    let Some(path) = crate::local::project::nearest_func_toml(&cwd) else {
        return Vec::new();
    };
    let Ok(toml) = crate::local::func_toml::FuncToml::load(&path) else {
        return Vec::new();
    };
    toml.bindings()
        .into_iter()
        .map(|(binding, id)| CompletionCandidate::new(binding).help(Some(id.into())))
        .collect()
}

/// What the words before the one being completed say: the global options, and the NAMESPACE
/// given so far. `None` when this is not a completion request or the words do not parse.
fn line_so_far() -> Option<(crate::cli::GlobalArgs, Option<String>)> {
    // The scripts run `telnyx-edge -- WORD…`; bash and zsh say which word the cursor is on,
    // fish passes the words up to the cursor.
    let words: Vec<OsString> = std::env::args_os()
        .skip_while(|arg| arg != "--")
        .skip(1)
        .collect();
    let index = std::env::var("_CLAP_COMPLETE_INDEX")
        .ok()
        .and_then(|index| index.parse::<usize>().ok())
        .unwrap_or_else(|| words.len().saturating_sub(1));
    let before = words.get(..index)?;
    let matches = crate::cli::command()
        .ignore_errors(true)
        .try_get_matches_from(before)
        .ok()?;
    let mut deepest = &matches;
    while let Some((_, sub)) = deepest.subcommand() {
        deepest = sub;
    }
    let global = crate::cli::GlobalArgs::from_arg_matches(deepest).ok()?;
    let namespace = deepest
        .try_get_one::<String>("namespace")
        .ok()
        .flatten()
        .cloned();
    Some((global, namespace))
}

/// A NAMESPACE: the bindings of the nearest `func.toml`, then the namespace names local state
/// or the service knows, each with its id as help.
pub(crate) fn namespaces() -> Vec<CompletionCandidate> {
    let mut candidates = bindings();
    let (Some(lookup), Some((global, _))) = (LOOKUP.get(), line_so_far()) else {
        return candidates;
    };
    for (name, id) in lookup.namespaces(global) {
        if !candidates
            .iter()
            .any(|known| known.get_value() == name.as_str())
        {
            candidates.push(CompletionCandidate::new(name).help(Some(id.into())));
        }
    }
    candidates
}

/// A KEY of the NAMESPACE given before it, by prefix.
pub(crate) fn keys(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(prefix) = current.to_str() else {
        return Vec::new();
    };
    let (Some(lookup), Some((global, Some(namespace)))) = (LOOKUP.get(), line_so_far()) else {
        return Vec::new();
    };
    lookup
        .keys(global, &namespace, prefix)
        .into_iter()
        .filter(|key| key.starts_with(prefix))
        .map(CompletionCandidate::new)
        .collect()
}

/// `diff`'s and `copy`'s sides: each binding, plain and with `local:` and `remote:`; then the
/// namespace names of the side being written (`local:…` local state, `remote:…` the service,
/// a bare name where `--local` says), each with its id as help.
pub(crate) fn sides(current: &OsStr) -> Vec<CompletionCandidate> {
    let current = current.to_str().unwrap_or_default();
    let mut sides = Vec::new();
    for binding in bindings() {
        let name = binding.get_value().to_string_lossy().into_owned();
        let help = binding.get_help().cloned();
        for side in ["", "local:", "remote:"] {
            sides.push(CompletionCandidate::new(format!("{side}{name}")).help(help.clone()));
        }
    }
    if let (Some(lookup), Some((global, _))) = (LOOKUP.get(), line_so_far()) {
        // `local:` and `remote:` once written or begun (`loc`), else bare names.
        let written = ["local:", "remote:"]
            .into_iter()
            .find(|side| current.starts_with(side));
        let looked_up: Vec<&str> = match written {
            Some(side) => vec![side],
            None => std::iter::once("")
                .chain(
                    ["local:", "remote:"]
                        .into_iter()
                        .filter(|side| !current.is_empty() && side.starts_with(current)),
                )
                .collect(),
        };
        for side in looked_up {
            let mut global = global.clone();
            if !side.is_empty() {
                global.local = side == "local:";
                global.local_from_env = false;
            }
            for (name, id) in lookup.namespaces(global) {
                let value = format!("{side}{name}");
                if !sides
                    .iter()
                    .any(|known| known.get_value() == value.as_str())
                {
                    sides.push(CompletionCandidate::new(value).help(Some(id.into())));
                }
            }
        }
    }
    sides.retain(|side| side.get_value().to_string_lossy().starts_with(current));
    sides
}
