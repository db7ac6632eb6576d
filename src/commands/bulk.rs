//! `storage kv bulk put|get|delete`, `export` and `import`: many single-key requests
//! (`PUT|GET|DELETE /storage/kvs/{id}/keys/{key}`, with `GET …/keys` to list), concurrently.

use std::io::{BufRead, IsTerminal as _};
use std::path::Path;

use anyhow::Context as _;

use crate::bulk::input;
use crate::bulk::key_source::{self, Keys};
use crate::bulk::run::{Options, Summary};
use crate::bulk::window::{DEFAULT_CEILING, DEFAULT_READ_CEILING};
use crate::bulk::{keys, put};
use crate::cli::{
    BulkDeleteArgs, BulkGetArgs, BulkOptions, BulkPutArgs, ExportArgs, ImportArgs, InputOptions,
    KeySelection,
};
use crate::commands::backend::Backend;
use crate::commands::target;
use crate::error::{Exit, UserError};
use crate::local::atomic::AtomicFile;
use crate::text::plural;
use crate::ui::OutputFormat;
use crate::ui::confirm::{Answer, confirm};
use crate::ui::jq::FilteredLines;
use crate::ui::printer::Printer;

/// The options of a run. `default_ceiling` is the window's ceiling without `--concurrency`:
/// [`DEFAULT_READ_CEILING`] for reads (`bulk get`, `export`), since each request in flight holds
/// its value (up to 1 MiB) until it is written out in order, [`DEFAULT_CEILING`] otherwise.
fn options(bulk: &BulkOptions, verbose: bool, default_ceiling: usize) -> Options {
    Options {
        ceiling: bulk.concurrency.map_or(default_ceiling, usize::from),
        verbose,
        max_errors: (!bulk.continue_on_error).then_some(bulk.max_errors),
        failed_file: bulk.failed_file.clone(),
        input_may_stall: false,
    }
}

/// An input to read records from.
struct Input {
    reader: Box<dyn BufRead + Send>,
    /// A regular file: read to its end in moments, never stalls, and an empty one is an empty
    /// failed file fed back. Anything else (a pipe, a FIFO, a terminal) may stall, and empty it
    /// most likely means the command feeding it failed.
    regular: bool,
    /// Its size, when it is a regular file.
    size: Option<u64>,
}

/// The input `FILE` names: the file, or stdin for `-` or no FILE. A terminal on stdin with no
/// FILE is a usage error rather than a silent wait; an empty pipe is an error before anything
/// is sent (`export A | import B` where the export failed).
fn open_input(path: Option<&Path>) -> anyhow::Result<Input> {
    let path = path.unwrap_or(Path::new("-"));
    let (mut reader, size): (Box<dyn BufRead + Send>, Option<u64>) = if path.as_os_str() == "-" {
        if std::io::stdin().is_terminal() {
            return Err(UserError::new(Exit::Usage, "no input: stdin is a terminal")
                .hint("Name a FILE, or pipe the input in: `telnyx-edge storage kv export A | telnyx-edge storage kv import B`.")
                .into());
        }
        let reader = std::io::BufReader::new(std::io::stdin());
        (Box::new(reader), input::stdin_size())
    } else {
        let file = std::fs::File::open(path).map_err(|err| unreadable(path, &err))?;
        let meta = file.metadata().map_err(|err| unreadable(path, &err))?;
        if meta.is_dir() {
            return Err(UserError::new(
                Exit::Usage,
                format!(
                    "`{}` is a directory; use `--dir` to write its files",
                    path.display()
                ),
            )
            .into());
        }
        let reader = std::io::BufReader::with_capacity(256 * 1024, file);
        (Box::new(reader), meta.is_file().then_some(meta.len()))
    };
    let regular = size.is_some();
    if !regular
        && reader
            .fill_buf()
            .map_err(|err| unreadable(path, &err))?
            .is_empty()
    {
        return Err(UserError::new(
            Exit::Failure,
            "the input is empty; expected NDJSON lines or a JSON array",
        )
        .hint("Nothing was written. An empty pipe usually means the command feeding it failed (`set -o pipefail` makes the shell say so).")
        .into());
    }
    Ok(Input {
        reader,
        regular,
        size,
    })
}

fn unreadable(path: &Path, err: &std::io::Error) -> UserError {
    UserError::new(
        Exit::Usage,
        format!("cannot read `{}`: {err}", path.display()),
    )
}

/// Reports the summary (stderr for people, stdout with `--json`) and turns failures into the
/// documented exit code.
fn finish(
    printer: &Printer,
    verb: &str,
    summary: &Summary,
    bulk: &BulkOptions,
) -> anyhow::Result<()> {
    printer.status(&status_line(verb, summary));
    if matches!(printer.format(), OutputFormat::Json | OutputFormat::Ndjson) {
        // A closed stdout must not turn a failed run into exit 0.
        if let Err(err) = printer.json_line(summary)
            && (err.kind() != std::io::ErrorKind::BrokenPipe || summary.remaining() == 0)
        {
            return Err(err.into());
        }
    }
    if summary.remaining() == 0 && !summary.interrupted {
        return Ok(());
    }
    let counts = summary.failed_and_skipped("item");
    let (exit, message) = if summary.interrupted {
        (Exit::Interrupted, format!("interrupted: {counts}"))
    } else {
        (summary.exit.unwrap_or(Exit::Failure), counts)
    };
    Err(UserError::new(exit, message)
        .hint(hint(verb, summary, bulk))
        .into())
}

/// `Wrote 3 keys in 0.1s (30/s); 0 failed, 0 skipped`, with what was superseded or vanished.
fn status_line(verb: &str, summary: &Summary) -> String {
    let rate = if summary.seconds > 0.0 {
        summary.done as f64 / summary.seconds
    } else {
        0.0
    };
    let vanished = if summary.vanished > 0 {
        format!(", {} gone before they were read", summary.vanished)
    } else {
        String::new()
    };
    let count = crate::ui::thousands;
    let superseded = if summary.superseded > 0 {
        format!(
            " ({} of them superseded by a later line of the same key)",
            count(summary.superseded)
        )
    } else {
        String::new()
    };
    format!(
        "{verb} {} key{} in {:.1}s ({}/s); {} failed, {} skipped{superseded}{vanished}",
        count(summary.done),
        plural(summary.done),
        summary.seconds,
        count(rate.round() as u64),
        count(summary.failed),
        count(summary.skipped)
    )
}

/// The hint of a run that left items undone: where they are (the failed file) and how to
/// finish the job, and what is in no file (input not read to its end, keys not listed).
fn hint(verb: &str, summary: &Summary, bulk: &BulkOptions) -> String {
    let remaining = summary.remaining();
    // What became of an item that went well: written, read or deleted.
    let done = match verb {
        "Read" => "read",
        "Deleted" => "deleted",
        _ => "written",
    };
    let are = if remaining == 1 { "is" } else { "are" };
    let mut hint = match bulk.failed_file.as_deref() {
        // Feeding the file back does not finish a job whose input was not read to its end.
        Some(path) if remaining > 0 && summary.unread => format!(
            "The {remaining} item{} read but not {done} {are} in `{}`.",
            plural(remaining),
            path.display()
        ),
        Some(path) if remaining > 0 => format!(
            "The {remaining} item{} not {done} {are} in `{}`; feed it back as input to finish the job.",
            plural(remaining),
            path.display()
        ),
        Some(_) if summary.unread => format!("Every item that was read was {done}."),
        Some(_) => format!("Nothing was left un{done}."),
        None => format!(
            "{remaining} item{} not {done}; pass `--failed-file FILE` to keep them and feed FILE back to resume{}.",
            if remaining == 1 { " was" } else { "s were" },
            // Only a run that stopped skipped anything (bad lines stop nothing).
            if bulk.continue_on_error || summary.skipped == 0 {
                ""
            } else {
                ", or `--continue-on-error` not to stop"
            }
        ),
    };
    if summary.unread {
        hint.push_str(" The input was not read to its end: what it had left to send after the interrupt (it went silent, or was still coming 10 s later) is in no file.");
    }
    if summary.unlisted {
        hint.push_str(" The key listing stopped early too: keys not yet listed are in no file, so run the same command again to finish.");
    }
    hint
}

/// `storage kv bulk put`
pub(crate) async fn put(
    backend: &Backend,
    args: BulkPutArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let (records, stalls) = match &args.dir {
        Some(dir) => {
            if !dir.is_dir() {
                return Err(UserError::new(
                    Exit::Usage,
                    format!("`{}` is not a directory", dir.display()),
                )
                .into());
            }
            // Counting the files takes a walk of the tree: only for a bar somebody watches.
            let extent = match printer.animated() {
                true => input::Extent::Items(input::count_files(dir)),
                false => input::Extent::Unknown,
            };
            ((input::from_dir(dir), extent), false)
        }
        None => records(args.file.as_deref(), &args.input)?,
    };
    let target = (args.namespace.spec.as_str(), &args.bulk);
    write_records(backend, target, records, stalls, printer).await
}

/// `storage kv import`
pub(crate) async fn import(
    backend: &Backend,
    args: ImportArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let (records, stalls) = records(args.file.as_deref(), &args.input)?;
    let target = (args.namespace.spec.as_str(), &args.bulk);
    write_records(backend, target, records, stalls, printer).await
}

/// The records of an input and how many it holds.
type Records = (
    Box<dyn Iterator<Item = input::Record> + Send>,
    input::Extent,
);

/// The records of FILE (or stdin), and whether that input may stall (see [`Input`]).
fn records(file: Option<&Path>, options: &InputOptions) -> anyhow::Result<(Records, bool)> {
    let input = open_input(file)?;
    let (reader, extent) = match input.size {
        Some(size) => input::measured(input.reader, size),
        None => (input.reader, input::Extent::Unknown),
    };
    let records = input::from_reader(reader, input::Reading::now(options.strict));
    Ok(((records, extent), !input.regular))
}

/// Writes `records` to namespace `spec` with the bulk options given.
async fn write_records(
    backend: &Backend,
    (spec, bulk): (&str, &BulkOptions),
    records: Records,
    input_may_stall: bool,
    printer: &Printer,
) -> anyhow::Result<()> {
    let target = target::id(backend, spec).await?;
    let client = backend.client.without_retry_messages();
    let options = Options {
        input_may_stall,
        ..options(bulk, backend.verbose, DEFAULT_CEILING)
    };
    let summary = put::put(&client, &target.id, records, &options, printer)
        .await
        .with_context(|| format!("failed to write keys to KV namespace `{}`", target.label))?;
    finish(printer, "Wrote", &summary, bulk)
}

/// The keys a command names. A `--from-file` that cannot be read is a usage error before
/// anything is sent; `-` on a terminal too.
fn selected_keys(select: KeySelection) -> Result<Keys, UserError> {
    if select.all {
        return Ok(Keys::Prefix(String::new()));
    }
    match (select.keys.is_empty(), select.prefix, select.from_file) {
        (false, _, _) => Ok(Keys::Given(select.keys)),
        (true, Some(prefix), _) => Ok(Keys::Prefix(prefix)),
        (true, None, Some(file)) if file.as_os_str() == "-" => {
            if std::io::stdin().is_terminal() {
                return Err(UserError::new(Exit::Usage, "no keys: stdin is a terminal")
                    .hint("Name a file with `--from-file F`, or pipe the keys in."));
            }
            Ok(Keys::File(file))
        }
        (true, None, Some(file)) => {
            let opened = std::fs::File::open(&file).map_err(|err| unreadable(&file, &err))?;
            if opened.metadata().is_ok_and(|meta| meta.is_dir()) {
                return Err(UserError::new(
                    Exit::Usage,
                    format!("`{}` is a directory, not a file of keys", file.display()),
                ));
            }
            Ok(Keys::File(file))
        }
        (true, None, None) => Err(UserError::new(Exit::Usage, "no keys given")
            .hint("Name keys as arguments, or use `--prefix P`, `--from-file F` or `--all`.")),
    }
}

/// `storage kv bulk get`
pub(crate) async fn get(
    backend: &Backend,
    args: BulkGetArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let keys = selected_keys(args.select)?;
    let output = (not_stdout(args.output_file.as_deref()), &args.bulk);
    read_keys(backend, &args.namespace.spec, keys, output, printer).await
}

/// `--output-file PATH`, unless PATH is `-`, which means stdout (as `--path -` means stdin).
pub(crate) fn not_stdout(path: Option<&Path>) -> Option<&Path> {
    path.filter(|path| path.as_os_str() != "-")
}

/// `storage kv export`
pub(crate) async fn export(
    backend: &Backend,
    args: ExportArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let keys = Keys::Prefix(args.prefix.unwrap_or_default());
    let output = (not_stdout(args.output_file.as_deref()), &args.bulk);
    read_keys(backend, &args.namespace.spec, keys, output, printer).await
}

/// Reads `keys` and writes them as NDJSON to `--output-file` (atomically) or stdout.
async fn read_keys(
    backend: &Backend,
    spec: &str,
    keys: Keys,
    (output_file, bulk): (Option<&Path>, &BulkOptions),
    printer: &Printer,
) -> anyhow::Result<()> {
    let target = target::id(backend, spec).await?;
    let client = backend.client.without_retry_messages();
    let read_options = options(bulk, backend.verbose, DEFAULT_READ_CEILING);
    let summary = match output_file {
        Some(path) => read_to_file(&client, &target.id, keys, path, &read_options, printer).await?,
        None => {
            // With `--jq`, each line goes through the expression as it comes.
            let stdout = std::io::BufWriter::new(std::io::stdout().lock());
            let mut out = FilteredLines::new(printer.jq(), stdout);
            let summary =
                keys::get(&client, &target.id, keys, &mut out, &read_options, printer).await?;
            out.finish()?;
            // The values are the result on stdout; with `--json` the summary is one JSON line
            // on stderr.
            if matches!(printer.format(), OutputFormat::Json | OutputFormat::Ndjson) {
                let line = serde_json::to_string(&summary)?;
                crate::ui::printer::stderr_line(&line);
            }
            return finish(&printer.stderr_only(), "Read", &summary, bulk);
        }
    };
    // With `--output-file`, stdout is free for the summary (`--json`).
    finish(printer, "Read", &summary, bulk)
}

/// `--output-file PATH`: written whole, or not at all. A run that did not read every key
/// leaves an existing PATH as it was and keeps what it read in `PATH.partial`.
async fn read_to_file(
    client: &crate::client::Client,
    ns: &str,
    keys: Keys,
    path: &Path,
    options: &Options,
    printer: &Printer,
) -> anyhow::Result<Summary> {
    let complete = |summary: &Summary| summary.remaining() == 0 && !summary.interrupted;
    let cannot = |path: &Path| format!("cannot write `{}`", path.display());
    let file = AtomicFile::new(path).with_context(|| cannot(path))?;
    let mut out = std::io::BufWriter::new(file);
    let summary = keys::get(client, ns, keys, &mut out, options, printer).await?;
    let file = out
        .into_inner()
        .map_err(|err| err.into_error())
        .with_context(|| cannot(path))?;
    if complete(&summary) {
        file.commit().with_context(|| cannot(path))?;
        return Ok(summary);
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    file.commit_to(&partial).with_context(|| cannot(&partial))?;
    printer.warn(&format!(
        "`{}` was left as it was; the {} key{} read are in `{}`",
        path.display(),
        summary.done,
        plural(summary.done),
        partial.display()
    ));
    Ok(summary)
}

/// `bulk delete NS keys.txt`, the wrangler habit, would delete a key named `keys.txt`: one key
/// argument that names an existing file is refused.
fn refuse_file_as_key(select: &KeySelection) -> Result<(), UserError> {
    match select.keys.as_slice() {
        [only] if Path::new(only).is_file() => Err(UserError::new(
            Exit::Usage,
            format!("`{only}` is a file here; `bulk delete` takes keys as arguments"),
        )
        .hint(format!(
            "Delete the keys listed in it with `--from-file {only}`; to delete a key with that name, use `telnyx-edge storage kv key delete NAMESPACE {only}`."
        ))),
        _ => Ok(()),
    }
}

/// `storage kv bulk delete`
pub(crate) async fn delete(
    backend: &Backend,
    args: BulkDeleteArgs,
    yes: bool,
    printer: &Printer,
) -> anyhow::Result<()> {
    refuse_file_as_key(&args.select)?;
    let keys = selected_keys(args.select)?;
    let target = target::id(backend, &args.namespace.spec).await?;
    let client = backend.client.without_retry_messages();
    if args.dry_run {
        let count = key_source::count(&client, &target.id, &keys, Some(printer)).await?;
        printer.status(&format!(
            "Dry run: would delete {} key{} from namespace `{}`; nothing was deleted",
            count.unwrap_or(0),
            plural(count.unwrap_or(0)),
            target.label
        ));
        return Ok(());
    }
    let total = key_source::count(&client, &target.id, &keys, None).await?;
    let what = match total {
        Some(n) => format!("{n} key{}", plural(n)),
        None => "the keys read from stdin".to_owned(),
    };
    confirm(
        yes,
        &format!("delete {what} from namespace `{}`", target.label),
        &format!("Delete {what} from namespace `{}`? [y/N]", target.label),
        Answer::Yes,
    )?;
    let summary = keys::delete(
        &client,
        &target.id,
        keys,
        total,
        &options(&args.bulk, backend.verbose, DEFAULT_CEILING),
        printer,
    )
    .await?;
    finish(printer, "Deleted", &summary, &args.bulk)
}
