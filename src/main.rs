use std::process::ExitCode;

fn main() -> ExitCode {
    telnyx_edge::main()
}
