//! `telnyx-edge`: a command-line tool for Telnyx Edge Compute KV storage, and a local emulator
//! of the same API.

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod api;
pub mod assets;
pub mod atomic;
pub mod bulk;
pub mod cli;
pub mod commands;
pub mod completion;
pub mod config;
pub mod confirm;
pub mod duration;
pub mod emulator;
pub mod exit;
pub mod func_toml;
pub mod output;
pub mod printer;
pub mod project;
pub mod resolve;
pub mod session;
pub mod settings;
pub mod validate;

use std::process::ExitCode;

/// Runs a parsed command line and turns its outcome into the documented exit code.
pub fn run(cli: cli::Cli) -> ExitCode {
    let printer = printer::Printer::new(cli.global.format(), cli.global.quiet, cli.global.color);
    match commands::dispatch(cli, printer) {
        Ok(()) => exit::Exit::Success.into(),
        Err(err) if exit::is_broken_pipe(&err) => exit::Exit::Success.into(),
        Err(err) => {
            printer::stderr_line(&printer.render_error(&err));
            exit::code_of(&err).into()
        }
    }
}
