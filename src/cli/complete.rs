//! Shell completion: the registration scripts (`telnyx-edge completions SHELL`), and the
//! candidates the binary computes when a shell asks, without any network call.
//!
//! The scripts are clap_complete's dynamic ones: on TAB the shell runs `telnyx-edge` with
//! `_TELNYX_EDGE_COMPLETE=<shell>` set, and the binary answers from its own command definition,
//! so completions never drift from the code. Binding names come from the nearest `func.toml`.

use std::io::Write;

use clap::ValueEnum;
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

/// Answers a completion request and exits when the shell made one; returns otherwise.
pub(crate) fn complete_if_asked() {
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

/// `diff`'s sides: each binding, plain and with `local:` and `remote:`.
pub(crate) fn sides() -> Vec<CompletionCandidate> {
    let mut sides = Vec::new();
    for binding in bindings() {
        let name = binding.get_value().to_string_lossy().into_owned();
        let help = binding.get_help().cloned();
        for side in [String::new(), "local:".into(), "remote:".into()] {
            sides.push(CompletionCandidate::new(format!("{side}{name}")).help(help.clone()));
        }
    }
    sides
}
