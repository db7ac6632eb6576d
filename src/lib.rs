//! `telnyx-edge`: a command-line tool for Telnyx Edge Compute KV storage, and a local emulator
//! of the same API.
//!
//! Each folder is one layer, and imports only point down (`docs/architecture.md`; a test checks
//! it): `cli` → `commands` → `bulk` → `client`, `local`, `ui` → `api` ← `emulator`, with
//! `error`, `env`, `signals` and `text` at the bottom. Only the emulator (which tests start in-process) and the entry point
//! are public.

#![deny(clippy::print_stdout, clippy::print_stderr)]
#![deny(unreachable_pub)]

mod api;
mod bulk;
mod cli;
mod client;
mod commands;
pub mod emulator;
mod env;
mod error;
mod explorer;
mod local;
mod signals;
mod text;
mod ui;

use std::process::ExitCode;

pub use commands::assets::files as generated_files;
pub use local::func_toml::FuncToml;

/// The whole program: answers a shell asking for completions, parses the command line (before
/// any runtime exists, so `--help`, `--version` and usage errors never start async code), runs
/// the command and turns its outcome into the documented exit code.
/// The exit code of a run that Ctrl-C or SIGTERM ended.
pub const EXIT_INTERRUPTED: i32 = error::Exit::Interrupted as i32;

/// What ends the process at once on Ctrl-C or SIGTERM (`main`'s), set by [`watch_signals`].
static EXIT_AT_ONCE: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();
/// Whether errors are reported as JSON (`--json`, `-o ndjson`), so that a run ended at once by
/// a signal says so in the same form a script reads every other error in.
static JSON_ERRORS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Starts watching for Ctrl-C and SIGTERM (see `signals`); `exit` ends the process when
/// nothing is stopping cleanly.
pub fn watch_signals(exit: fn()) {
    let _ = EXIT_AT_ONCE.set(exit);
    signals::watch(interrupted_at_once);
}

/// Ends a run that a signal interrupted with nothing to finish: with JSON errors, first the
/// error object a script expects on stderr.
fn interrupted_at_once() {
    if JSON_ERRORS.load(std::sync::atomic::Ordering::SeqCst) {
        let lines = ["interrupted".to_owned()];
        let failure = ui::printer::Failure {
            exit: error::Exit::Interrupted,
            lines: &lines,
            detail: &[],
            hint: None,
            request_id: None,
        };
        ui::printer::stderr_line(&failure.json());
    }
    if let Some(exit) = EXIT_AT_ONCE.get() {
        exit();
    }
}

pub fn main() -> ExitCode {
    cli::complete::complete_if_asked(&commands::complete::Lookup);
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    let global = commands::settings::GlobalSettings::resolve(cli.global);
    let printer = ui::Printer::new(global.format, global.quiet, global.color).with_jq(global.jq);
    let json_errors = matches!(
        printer.format(),
        ui::OutputFormat::Json | ui::OutputFormat::Ndjson
    );
    JSON_ERRORS.store(json_errors, std::sync::atomic::Ordering::SeqCst);
    match commands::dispatch(cli.command, &global, &printer) {
        Ok(()) => error::Exit::Success.into(),
        Err(err) if error::is_broken_pipe(&err) => error::Exit::Success.into(),
        Err(ref err) if let Some(quiet) = error::find::<error::Quiet>(err) => quiet.0.into(),
        Err(err) => {
            let report = commands::report::Report::of(&err, global.verbose);
            ui::printer::stderr_line(&printer.render_error(&report.failure()));
            report.exit.into()
        }
    }
}

/// What clap found wrong with the command line (or the help or version it was asked for):
/// as clap prints it, or as one JSON object when the command line asks for JSON output.
fn usage_error(err: &clap::Error) -> ExitCode {
    let code = u8::try_from(err.exit_code()).unwrap_or(2);
    if code == 0 || !cli::asks_for_json(std::env::args_os().skip(1)) {
        let _ = err.print();
        return ExitCode::from(code);
    }
    let (message, hint) = cli::usage_error_parts(err);
    let lines = [message];
    let failure = ui::printer::Failure {
        exit: error::Exit::Usage,
        lines: &lines,
        detail: &[],
        hint: hint.as_deref(),
        request_id: None,
    };
    ui::printer::stderr_line(&failure.json());
    error::Exit::Usage.into()
}
