//! One module per command group; each handler takes resolved arguments and a printer.

pub(crate) mod assets;
pub(crate) mod auth;
pub(crate) mod backend;
pub(crate) mod binding;
pub(crate) mod bulk;
pub(crate) mod complete;
pub(crate) mod du;
pub(crate) mod edit;
pub(crate) mod explore;
pub(crate) mod install;
pub(crate) mod key;
pub(crate) mod key_listing;
pub(crate) mod key_sorted;
pub(crate) mod namespace;
pub(crate) mod report;
pub(crate) mod serve;
pub(crate) mod serve_detach;
pub(crate) mod settings;
pub(crate) mod shell_rc;
pub(crate) mod slips;
pub(crate) mod sync;
pub(crate) mod target;

use std::future::Future;

use anyhow::Context as _;

use crate::cli::{
    ApiKeyCommand, ApiKeyGroup, AuthCommand, AuthGroup, BulkCommand, Command, KeyCommand,
    KvCommand, StorageCommand, StorageGroup,
};
use crate::commands::backend::Access::{Read, Write};
use crate::commands::backend::{Access, Backend};
use crate::commands::settings::GlobalSettings;
use crate::commands::sync::Direction::{Pull, Push};
use crate::ui::printer::Printer;

/// Runs `command` with the global options resolved once into `global`.
pub(crate) fn dispatch(
    command: Command,
    global: &GlobalSettings,
    printer: &Printer,
) -> anyhow::Result<()> {
    match command {
        Command::Completions(args) => install::completions(&args, global.yes, printer),
        Command::Man(args) => install::man(&args, printer),
        Command::GlobalOptions => install::global_options(printer),
        Command::GenerateAssets(args) => install::generate_assets(&args, printer),
        Command::Kv(args) => Err(slips::kv(&args).into()),
        Command::Auth(AuthGroup { command }) => match command {
            AuthCommand::ApiKey(ApiKeyGroup { command }) => match command {
                ApiKeyCommand::Set(args) => auth::set(global, args, printer),
                ApiKeyCommand::Clear => auth::clear(global, printer),
            },
            AuthCommand::Status => block_on(auth::status(global, printer)),
        },
        Command::Storage(StorageGroup {
            command: StorageCommand::Kv(kv),
        }) => storage_kv(kv.command, global, printer),
    }
}

/// `storage kv …`: each command calls its handler with the backend its access needs.
fn storage_kv(
    command: KvCommand,
    global: &GlobalSettings,
    printer: &Printer,
) -> anyhow::Result<()> {
    let run = Run { global, printer };
    match command {
        KvCommand::Create(args) => {
            slips::create(&args)?;
            run.backend(Write, async |b| namespace::create(b, args, printer).await)
        }
        KvCommand::List(args) => {
            run.backend(Read, async |b| namespace::list(b, args, printer).await)
        }
        KvCommand::Get(args) => run.backend(Read, async |b| namespace::get(b, args, printer).await),
        KvCommand::Put(args) => run.backend(Write, async |b| key::put(b, args, printer).await),
        KvCommand::Delete(args) => run.backend(Write, async |b| {
            namespace::delete(b, args, global.yes, printer).await
        }),
        KvCommand::Wait(args) => run.wait(args),
        KvCommand::Bind(args) => run.backend(Read, async |b| binding::bind(b, args, printer).await),
        KvCommand::Unbind(args) => {
            binding::unbind(global.func_toml_in_use()?.as_deref(), args, printer)
        }
        KvCommand::Key(group) => match group.command {
            KeyCommand::List(args) => {
                run.backend(Read, async |b| key::list(b, args, printer).await)
            }
            KeyCommand::Get(args) => run.backend(Read, async |b| {
                key::get(
                    b,
                    &args.namespace.spec,
                    &args.key,
                    (args.output_file, args.field),
                    printer,
                )
                .await
            }),
            KeyCommand::Put(args) => run.backend(Write, async |b| key::put(b, args, printer).await),
            KeyCommand::Delete(args) => run.backend(Write, async |b| {
                key::delete(b, &args.namespace.spec, &args.key, global.yes, printer).await
            }),
            KeyCommand::Edit(args) => {
                run.backend(Write, async |b| edit::edit(b, args, printer).await)
            }
            KeyCommand::Patch(args) => {
                run.backend(Write, async |b| edit::patch(b, args, printer).await)
            }
        },
        KvCommand::Du(args) => run.backend(Read, async |b| du::du(b, args, printer).await),
        KvCommand::Bulk(group) => match group.command {
            BulkCommand::Put(args) => run.bulk(Write, async |b| bulk::put(b, args, printer).await),
            BulkCommand::Get(args) => run.bulk(Read, async |b| bulk::get(b, args, printer).await),
            BulkCommand::Delete(args) => run.bulk(Write, async |b| {
                bulk::delete(b, args, global.yes, printer).await
            }),
        },
        KvCommand::Export(args) => run.bulk(Read, async |b| bulk::export(b, args, printer).await),
        KvCommand::Import(args) => run.bulk(Write, async |b| bulk::import(b, args, printer).await),
        KvCommand::Pull(args) => multi_thread(sync::copy_between(Pull, global, &args, printer)),
        KvCommand::Push(args) => multi_thread(sync::copy_between(Push, global, &args, printer)),
        KvCommand::Diff(args) => multi_thread(sync::diff(global, args, printer)),
        KvCommand::Copy(args) => multi_thread(sync::copy_keys(global, args, printer)),
        KvCommand::Ui(args) => multi_thread(explore::ui(global, args, printer)),
        KvCommand::Serve(args) => serve::serve(args, global.func_toml.as_deref(), *printer),
    }
}

/// What a command that talks to the API runs on: the resolved settings and the printer.
struct Run<'a> {
    global: &'a GlobalSettings,
    printer: &'a Printer,
}

impl Run<'_> {
    /// Opens the backend (the service, or the local emulator) and runs `command` with it,
    /// one request at a time.
    fn backend(
        &self,
        access: Access,
        command: impl AsyncFnOnce(&Backend) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        self.open(single_thread(), access, None, command)
    }

    /// Like [`Run::backend`], on a runtime with a worker per core: bulk commands keep many
    /// requests in flight (and with `--local`, the emulator serves them in the same process).
    fn bulk(
        &self,
        access: Access,
        command: impl AsyncFnOnce(&Backend) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        self.open(
            tokio::runtime::Builder::new_multi_thread(),
            access,
            None,
            command,
        )
    }

    /// `wait`: its `--timeout` is how long to wait, so requests keep the default timeout.
    fn wait(&self, args: crate::cli::WaitArgs) -> anyhow::Result<()> {
        let deadline = args
            .wait_timeout
            .or(self.global.timeout)
            .unwrap_or(namespace::DEFAULT_WAIT);
        let request_timeout = Some(crate::local::settings::DEFAULT_TIMEOUT);
        self.open(single_thread(), Read, request_timeout, async |b| {
            namespace::wait(b, &args.namespace.spec, deadline, self.printer).await
        })
    }

    fn open(
        &self,
        runtime: tokio::runtime::Builder,
        access: Access,
        request_timeout: Option<std::time::Duration>,
        command: impl AsyncFnOnce(&Backend) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        run_to_end(runtime, async {
            let backend = Backend::open(self.global, self.printer, access, request_timeout).await?;
            command(&backend).await
        })
    }
}

/// Runs `future` on a single-threaded runtime: commands make one request at a time. Once it
/// is done, nothing left on the runtime is waited for: a thread still blocked reading a pipe
/// or FIFO that an interrupted run gave up on must not keep the process alive.
fn block_on<F: Future<Output = anyhow::Result<()>>>(future: F) -> anyhow::Result<()> {
    run_to_end(single_thread(), future)
}

fn single_thread() -> tokio::runtime::Builder {
    tokio::runtime::Builder::new_current_thread()
}

/// Runs `future` on a runtime with a worker per core; like [`block_on`], it waits for nothing
/// left on the runtime once `future` is done.
fn multi_thread<F: Future<Output = anyhow::Result<()>>>(future: F) -> anyhow::Result<()> {
    run_to_end(tokio::runtime::Builder::new_multi_thread(), future)
}

/// Runs `future` on the runtime `builder` makes, then drops the runtime without waiting for
/// what is left on it.
fn run_to_end<F: Future<Output = anyhow::Result<()>>>(
    mut builder: tokio::runtime::Builder,
    future: F,
) -> anyhow::Result<()> {
    let runtime = builder
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(future);
    runtime.shutdown_background();
    result
}
