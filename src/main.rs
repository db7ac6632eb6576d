use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    // A shell asking for completions is answered before anything else, and exits.
    telnyx_edge::completion::complete_if_asked();
    // Arguments are parsed before any runtime exists, so `--help`, `--version` and usage errors
    // never start async code.
    let cli = telnyx_edge::cli::Cli::parse();
    telnyx_edge::run(cli)
}
