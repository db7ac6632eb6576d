use std::process::ExitCode;

/// What Ctrl-C or SIGTERM ends the process with when nothing is stopping cleanly, or on a
/// second signal: the one place the process ends other than by returning from `main`.
fn exit_interrupted() {
    #[allow(clippy::exit)]
    std::process::exit(telnyx_edge::EXIT_INTERRUPTED);
}

fn main() -> ExitCode {
    telnyx_edge::watch_signals(exit_interrupted);
    telnyx_edge::main()
}
