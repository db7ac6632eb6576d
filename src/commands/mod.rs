//! One module per command group; each handler takes resolved arguments and a printer.

pub(crate) mod assets;
pub(crate) mod auth;
pub(crate) mod backend;
pub(crate) mod binding;
pub(crate) mod bulk;
pub(crate) mod explore;
pub(crate) mod install;
pub(crate) mod key;
pub(crate) mod namespace;
pub(crate) mod report;
pub(crate) mod serve;
pub(crate) mod slips;
pub(crate) mod sync;
pub(crate) mod target;

use std::future::Future;

use anyhow::Context as _;

use crate::cli::{
    ApiKeyCommand, AuthCommand, BulkCommand, Cli, Command, GlobalArgs, KeyCommand, KvCommand,
    StorageCommand,
};
use crate::commands::backend::{Access, Backend};
use crate::ui::printer::Printer;

/// Runs the command `cli` names.
pub(crate) fn dispatch(cli: Cli, printer: Printer) -> anyhow::Result<()> {
    let global = cli.global;
    match cli.command {
        Command::Completions(args) => install::completions(&args, &printer),
        Command::Man(args) => install::man(&args, &printer),
        Command::GenerateAssets(args) => {
            let written = crate::commands::assets::write_all(&args.dir)
                .with_context(|| format!("cannot write into `{}`", args.dir.display()))?;
            printer.status(&format!(
                "Wrote {} files under `{}`",
                written.len(),
                args.dir.display()
            ));
            Ok(())
        }
        Command::Kv(args) => Err(slips::kv(&args).into()),
        Command::Auth(auth) => match auth.command {
            AuthCommand::ApiKey(api_key) => match api_key.command {
                ApiKeyCommand::Set(args) => auth::set(&global, args, &printer),
                ApiKeyCommand::Clear => auth::clear(&global, &printer),
            },
            AuthCommand::Status => block_on(auth::status(&global, &printer)),
        },
        Command::Storage(storage) => match storage.command {
            StorageCommand::Kv(kv) => match kv.command {
                KvCommand::Ui(args) => multi_thread(explore::ui(&global, args, &printer)),
                KvCommand::Pull(args) => multi_thread(sync::pull(&global, args, &printer)),
                KvCommand::Push(args) => multi_thread(sync::push(&global, args, &printer)),
                KvCommand::Diff(args) => multi_thread(sync::diff(&global, args, &printer)),
                KvCommand::Serve(args) => serve::serve(args, global.func_toml.as_deref(), printer),
                KvCommand::Create(args) => {
                    slips::create(&args)?;
                    with_backend(&global, &printer, Access::Write, None, async |s| {
                        namespace::create(s, args, &printer).await
                    })
                }
                KvCommand::List(args) => {
                    with_backend(&global, &printer, Access::Read, None, async |s| {
                        namespace::list(s, args, &printer).await
                    })
                }
                KvCommand::Get(args) => with_backend(
                    &global,
                    &printer,
                    Access::Read,
                    None,
                    async |s| match args.key {
                        Some(key) => {
                            key::get(s, &args.namespace.spec, &key, args.output_file, &printer)
                                .await
                        }
                        None => namespace::get(s, &args.namespace.spec, &printer).await,
                    },
                ),
                KvCommand::Put(args) => {
                    with_backend(&global, &printer, Access::Write, None, async |s| {
                        key::put(s, args, &printer).await
                    })
                }
                KvCommand::Delete(args) => {
                    let yes = global.yes;
                    with_backend(
                        &global,
                        &printer,
                        Access::Write,
                        None,
                        async |s| match &args.key {
                            Some(key) => {
                                key::delete(s, &args.namespace.spec, key, yes, &printer).await
                            }
                            None => namespace::delete(s, &args, yes, &printer).await,
                        },
                    )
                }
                KvCommand::Wait(args) => {
                    // `wait --timeout` is how long to wait; requests keep the default timeout.
                    let deadline = args
                        .wait_timeout
                        .or(global.timeout)
                        .unwrap_or(namespace::DEFAULT_WAIT);
                    with_backend(
                        &global,
                        &printer,
                        Access::Read,
                        Some(crate::local::settings::DEFAULT_TIMEOUT),
                        async |s| {
                            namespace::wait(s, &args.namespace.spec, deadline, &printer).await
                        },
                    )
                }
                KvCommand::Bind(args) => {
                    with_backend(&global, &printer, Access::Read, None, async |s| {
                        binding::bind(s, args, &printer).await
                    })
                }
                KvCommand::Unbind(args) => {
                    let cwd =
                        std::env::current_dir().context("cannot read the working directory")?;
                    let path =
                        crate::local::project::func_toml_path(global.func_toml.as_deref(), &cwd);
                    binding::unbind(path.as_deref(), args, &printer)
                }
                KvCommand::Bulk(bulk) => match bulk.command {
                    BulkCommand::Put(args) => {
                        with_bulk_backend(&global, &printer, Access::Write, async |s| {
                            bulk::put(s, args, &printer).await
                        })
                    }
                    BulkCommand::Get(args) => {
                        with_bulk_backend(&global, &printer, Access::Read, async |s| {
                            bulk::get(s, args, &printer).await
                        })
                    }
                    BulkCommand::Delete(args) => {
                        let yes = global.yes;
                        with_bulk_backend(&global, &printer, Access::Write, async |s| {
                            bulk::delete(s, args, yes, &printer).await
                        })
                    }
                },
                KvCommand::Export(args) => {
                    with_bulk_backend(&global, &printer, Access::Read, async |s| {
                        bulk::export(s, args, &printer).await
                    })
                }
                KvCommand::Import(args) => {
                    with_bulk_backend(&global, &printer, Access::Write, async |s| {
                        bulk::import(s, args, &printer).await
                    })
                }
                KvCommand::Key(key) => match key.command {
                    KeyCommand::List(args) => {
                        with_backend(&global, &printer, Access::Read, None, async |s| {
                            key::list(s, args, &printer).await
                        })
                    }
                    KeyCommand::Get(args) => {
                        with_backend(&global, &printer, Access::Read, None, async |s| {
                            key::get(
                                s,
                                &args.namespace.spec,
                                &args.key,
                                args.output_file,
                                &printer,
                            )
                            .await
                        })
                    }
                    KeyCommand::Put(args) => {
                        with_backend(&global, &printer, Access::Write, None, async |s| {
                            key::put(s, args, &printer).await
                        })
                    }
                    KeyCommand::Delete(args) => {
                        let yes = global.yes;
                        with_backend(&global, &printer, Access::Write, None, async |s| {
                            key::delete(s, &args.namespace.spec, &args.key, yes, &printer).await
                        })
                    }
                },
            },
        },
    }
}

/// Runs `future` on a single-threaded runtime: commands make one request at a time. Once it
/// is done, nothing left on the runtime is waited for: a thread still blocked reading a pipe
/// or FIFO that an interrupted run gave up on must not keep the process alive.
fn block_on<F: Future<Output = anyhow::Result<()>>>(future: F) -> anyhow::Result<()> {
    run_to_end(tokio::runtime::Builder::new_current_thread(), future)
}

/// Opens a backend (remote, or the local emulator) and runs `command` with it.
fn with_backend(
    global: &GlobalArgs,
    printer: &Printer,
    access: Access,
    request_timeout: Option<std::time::Duration>,
    command: impl AsyncFnOnce(&Backend) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    block_on(async {
        let backend = Backend::open(global, printer, access, request_timeout).await?;
        command(&backend).await
    })
}

/// Like [`with_backend`], on a runtime with a worker per core: bulk commands keep many requests
/// in flight (and with `--local`, the emulator serves them in the same process).
fn with_bulk_backend(
    global: &GlobalArgs,
    printer: &Printer,
    access: Access,
    command: impl AsyncFnOnce(&Backend) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    multi_thread(async {
        let backend = Backend::open(global, printer, access, None).await?;
        command(&backend).await
    })
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
