//! One module per command group; each handler takes resolved arguments and a printer.

pub mod serve;

use crate::cli::{Cli, Command, KvCommand, StorageCommand};
use crate::printer::Printer;

/// Runs the command `cli` names.
pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let printer = Printer {
        format: cli.global.format(),
        quiet: cli.global.quiet,
    };
    match cli.command {
        Command::Storage(storage) => match storage.command {
            StorageCommand::Kv(kv) => match kv.command {
                KvCommand::Serve(args) => serve::serve(args, printer),
            },
        },
    }
}
