//! `storage kv bulk put|get|delete`, `export` and `import`: many single-key requests
//! (`PUT|GET|DELETE /storage/kvs/{id}/keys/{key}`, with `GET …/keys` to list), concurrently.

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::Context as _;

use crate::bulk::input;
use crate::bulk::run::{self, Keys, Options, Summary};
use crate::cli::{
    BulkDeleteArgs, BulkGetArgs, BulkOptions, BulkPutArgs, ExportArgs, ImportArgs, KeySelection,
};
use crate::commands::backend::Backend;
use crate::commands::target;
use crate::error::{Exit, UserError};
use crate::local::atomic::AtomicFile;
use crate::ui::OutputFormat;
use crate::ui::confirm::{Answer, confirm};
use crate::ui::printer::Printer;

fn options(bulk: &BulkOptions) -> Options {
    Options {
        concurrency: usize::from(bulk.concurrency),
        max_errors: (!bulk.continue_on_error).then_some(bulk.max_errors),
        failed_file: bulk.failed_file.clone(),
    }
}

fn open_input(path: &Path) -> anyhow::Result<Box<dyn BufRead + Send>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(std::io::BufReader::new(std::io::stdin())));
    }
    let file = std::fs::File::open(path).map_err(|err| {
        UserError::new(
            Exit::Usage,
            format!("cannot read `{}`: {err}", path.display()),
        )
    })?;
    Ok(Box::new(std::io::BufReader::with_capacity(
        256 * 1024,
        file,
    )))
}

/// Reports the summary (stderr for people, stdout with `--json`) and turns failures into the
/// documented exit code.
fn finish(
    printer: &Printer,
    verb: &str,
    summary: &Summary,
    failed_file: Option<&Path>,
) -> anyhow::Result<()> {
    let rate = if summary.seconds > 0.0 {
        summary.done as f64 / summary.seconds
    } else {
        0.0
    };
    printer.status(&format!(
        "{verb} {} key{} in {:.1}s ({rate:.0}/s); {} failed, {} skipped",
        summary.done,
        if summary.done == 1 { "" } else { "s" },
        summary.seconds,
        summary.failed,
        summary.skipped
    ));
    if matches!(printer.format(), OutputFormat::Json | OutputFormat::Ndjson) {
        printer.json_line(summary)?;
    }
    if summary.failed == 0 && summary.skipped == 0 {
        return Ok(());
    }
    let mut error = UserError::new(
        summary.exit.unwrap_or(Exit::Failure),
        format!(
            "{} item{} failed and {} {} skipped",
            summary.failed,
            if summary.failed == 1 { "" } else { "s" },
            summary.skipped,
            if summary.skipped == 1 { "was" } else { "were" }
        ),
    );
    error = match failed_file {
        Some(path) => error.hint(format!(
            "The failed items are in `{}`; feed it back as input to retry just those.",
            path.display()
        )),
        None => error.hint("Pass `--failed-file FILE` to keep the failed items for a retry, or `--continue-on-error` not to stop."),
    };
    Err(error.into())
}

/// `storage kv bulk put`
pub(crate) async fn put(
    backend: &Backend,
    args: BulkPutArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let records = match &args.dir {
        Some(dir) => {
            if !dir.is_dir() {
                return Err(UserError::new(
                    Exit::Usage,
                    format!("`{}` is not a directory", dir.display()),
                )
                .into());
            }
            input::from_dir(dir)
        }
        None => input::from_reader(open_input(args.file.as_deref().unwrap_or(Path::new("-")))?),
    };
    write_records(backend, &args.namespace, records, &args.bulk, printer).await
}

/// `storage kv import`
pub(crate) async fn import(
    backend: &Backend,
    args: ImportArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let records = input::from_reader(open_input(&args.file)?);
    write_records(backend, &args.namespace, records, &args.bulk, printer).await
}

async fn write_records(
    backend: &Backend,
    spec: &str,
    records: Box<dyn Iterator<Item = input::Record> + Send>,
    bulk: &BulkOptions,
    printer: &Printer,
) -> anyhow::Result<()> {
    let target = target::id(backend, spec).await?;
    let client = backend.client.without_retry_messages();
    let summary = run::put(&client, &target.id, records, &options(bulk), printer)
        .await
        .with_context(|| format!("failed to write keys to KV namespace `{}`", target.label))?;
    finish(printer, "Wrote", &summary, bulk.failed_file.as_deref())
}

fn keys(select: KeySelection) -> Result<Keys, UserError> {
    match (select.keys.is_empty(), select.prefix, select.from_file) {
        (false, _, _) => Ok(Keys::Given(select.keys)),
        (true, Some(prefix), _) => Ok(Keys::Prefix(prefix)),
        (true, None, Some(file)) => Ok(Keys::File(file)),
        (true, None, None) => Err(UserError::new(Exit::Usage, "no keys given")
            .hint("Name keys as arguments, or use `--prefix P` or `--from-file F`.")),
    }
}

/// `storage kv bulk get`
pub(crate) async fn get(
    backend: &Backend,
    args: BulkGetArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let keys = keys(args.select)?;
    let output = (args.output_file.as_deref(), &args.bulk);
    read_keys(backend, &args.namespace, keys, output, printer).await
}

/// `storage kv export`
pub(crate) async fn export(
    backend: &Backend,
    args: ExportArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let keys = Keys::Prefix(args.prefix.unwrap_or_default());
    let output = (args.output_file.as_deref(), &args.bulk);
    read_keys(backend, &args.namespace, keys, output, printer).await
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
    // The NDJSON is the result; the summary goes to stderr only.
    let quiet_json = printer.stderr_only();
    let summary = match output_file {
        Some(path) => {
            let cannot = || format!("cannot write `{}`", path.display());
            let file = AtomicFile::new(path).with_context(cannot)?;
            let mut out = std::io::BufWriter::new(file);
            let summary =
                run::get(&client, &target.id, keys, &mut out, &options(bulk), printer).await?;
            let file = out
                .into_inner()
                .map_err(|err| err.into_error())
                .with_context(cannot)?;
            file.commit().with_context(cannot)?;
            summary
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let summary =
                run::get(&client, &target.id, keys, &mut out, &options(bulk), printer).await?;
            out.flush()?;
            summary
        }
    };
    finish(&quiet_json, "Read", &summary, bulk.failed_file.as_deref())
}

/// `storage kv bulk delete`
pub(crate) async fn delete(
    backend: &Backend,
    args: BulkDeleteArgs,
    yes: bool,
    printer: &Printer,
) -> anyhow::Result<()> {
    let keys = keys(args.select)?;
    let target = target::id(backend, &args.namespace).await?;
    let client = backend.client.without_retry_messages();
    if args.dry_run {
        let count = run::count(&client, &target.id, &keys, Some(printer)).await?;
        printer.status(&format!(
            "Dry run: would delete {} key{} from namespace `{}`; nothing was deleted",
            count.unwrap_or(0),
            if count == Some(1) { "" } else { "s" },
            target.label
        ));
        return Ok(());
    }
    let total = run::count(&client, &target.id, &keys, None).await?;
    let what = match total {
        Some(n) => format!("{n} key{}", if n == 1 { "" } else { "s" }),
        None => "the keys read from stdin".to_owned(),
    };
    confirm(
        yes,
        &format!("delete {what} from namespace `{}`", target.label),
        &format!("Delete {what} from namespace `{}`? [y/N]", target.label),
        Answer::Yes,
    )?;
    let summary = run::delete(
        &client,
        &target.id,
        keys,
        total,
        &options(&args.bulk),
        printer,
    )
    .await?;
    finish(
        printer,
        "Deleted",
        &summary,
        args.bulk.failed_file.as_deref(),
    )
}
