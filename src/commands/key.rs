//! `storage kv key list|get|put|delete` (and the `get|put|delete NAMESPACE KEY` shorthands).

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::PathBuf;

use anyhow::Context as _;
use bytes::Bytes;
use serde::Serialize;

use crate::api::rules::MAX_VALUE_BYTES;
use crate::cli::{KeyListArgs, PutArgs};
use crate::client::{KeyPages, PAGE};
use crate::commands::backend::Backend;
use crate::commands::key_listing::{KeyListing, say_none};
use crate::commands::target;
use crate::error::{Exit, UserError};
use crate::local::atomic::AtomicFile;
use crate::text::plural;
use crate::ui::OutputFormat;
use crate::ui::confirm::{Answer, confirm};
use crate::ui::field::{Field, FieldError};
use crate::ui::printer::Printer;

/// `storage kv key list`: `GET /storage/kvs/{id}/keys`, page after page, printed as it comes.
pub(crate) async fn list(
    backend: &Backend,
    args: KeyListArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    if args.tree {
        return super::du::tree(backend, &args, printer).await;
    }
    if args.sort.is_some() || args.reverse {
        return super::key_sorted::list(backend, &args, printer).await;
    }
    let client = &backend.client;
    let target = target::id(backend, &args.namespace.spec).await?;
    let mut remaining = args.limit;
    let mut pages = KeyPages::new(
        client,
        &target.id,
        args.prefix.as_deref(),
        args.cursor.as_deref(),
    );
    let mut listing = KeyListing::new(printer, args.limit.is_some(), args.long)?
        .knowing(backend.store(), &target.id);
    let mut next_cursor = None;
    let failed = || format!("failed to list keys of KV namespace `{}`", target.label);
    loop {
        pages.set_limit(remaining.map_or(PAGE, |r| r.min(PAGE)));
        let Some(keys) = pages.next().await.with_context(failed)? else {
            break;
        };
        let count = u32::try_from(keys.len()).unwrap_or(u32::MAX);
        listing.page(keys)?;
        if let Some(r) = remaining.as_mut() {
            *r = r.saturating_sub(count);
        }
        if remaining == Some(0) {
            pages.check().with_context(failed)?;
            if let Some(next) = pages.cursor() {
                printer.status(&format!(
                    "More keys follow; continue with `--cursor {next}`"
                ));
                next_cursor = Some(next.to_owned());
                break;
            }
        }
    }
    let listed_any = listing.finish(next_cursor.as_deref())?;
    if !listed_any {
        say_none(printer, &target.label, args.prefix.as_deref());
    }
    Ok(())
}

/// A value as `key get --json` prints it: the bytes as text when they are UTF-8, else base64.
#[derive(Serialize)]
struct ValueJson<'a> {
    key: &'a str,
    value: String,
    base64: bool,
    content_type: Option<String>,
    size_bytes: usize,
}

/// `storage kv key get`: `GET /storage/kvs/{id}/keys/{key}`, the exact bytes to stdout or
/// (atomically) to `--output-file`, or the `--field` of a JSON value.
pub(crate) async fn get(
    backend: &Backend,
    spec: &str,
    key: &str,
    (output_file, field): (Option<PathBuf>, Option<Field>),
    printer: &Printer,
) -> anyhow::Result<()> {
    let client = &backend.client;
    let target = target::id(backend, spec).await?;
    let what = || {
        format!(
            "failed to get key `{key}` from KV namespace `{}`",
            target.label
        )
    };
    let value = client.get_key(&target.id, key).await.with_context(what)?;
    let bytes = value.bytes;
    if let Some(field) = field {
        return print_field(key, &bytes, &field, printer);
    }
    if printer.format() == OutputFormat::Json || printer.format() == OutputFormat::Ndjson {
        let (text, base64) = crate::ui::text_or_base64(&bytes);
        let json = ValueJson {
            key,
            value: text,
            base64,
            content_type: value.content_type,
            size_bytes: bytes.len(),
        };
        if printer.format() == OutputFormat::Json {
            printer.json_document(&json)?;
        } else {
            printer.json_line(&json)?;
        }
        return Ok(());
    }
    match super::bulk::not_stdout(output_file.as_deref()) {
        Some(path) => {
            let cannot = || format!("cannot write `{}`", path.display());
            let mut file = AtomicFile::new(path).with_context(cannot)?;
            file.write_all(&bytes).with_context(cannot)?;
            file.commit().with_context(cannot)?;
            printer.status(&format!(
                "Wrote {} bytes to `{}`",
                bytes.len(),
                path.display()
            ));
        }
        None => {
            // As curl does: bytes that are not text can garble a terminal.
            if std::io::stdout().is_terminal() && std::str::from_utf8(&bytes).is_err() {
                return Err(UserError::new(
                    Exit::Failure,
                    format!(
                        "the value of `{key}` is binary ({} bytes); not printing it to the terminal",
                        bytes.len()
                    ),
                )
                .hint("Write it to a file with `--output-file PATH`, pipe it (`| xxd`), or use `--json` for base64.")
                .into());
            }
            printer.out_bytes(&bytes)?;
            // A person's prompt must not be glued to the value; a pipe or a file gets the
            // bytes exactly as stored.
            if std::io::stdout().is_terminal() && bytes.last().is_some_and(|b| *b != b'\n') {
                printer.out_bytes(b"\n")?;
            }
        }
    }
    Ok(())
}

/// `key get --field`: what the field picks from the JSON value, a string as its text and
/// anything else as JSON (one document each with `--json`, so that `--jq` sees it).
fn print_field(key: &str, bytes: &[u8], field: &Field, printer: &Printer) -> anyhow::Result<()> {
    let picked = field.select(bytes).map_err(|err| match err {
        FieldError::NotJson(reason) => UserError::new(
            Exit::Failure,
            format!("the value of `{key}` is not JSON, so it has no fields: {reason}"),
        )
        .hint("Leave out `--field` to print the value as it is stored."),
        FieldError::Missing(path) => UserError::new(
            Exit::NotFound,
            format!("the value of `{key}` has no field `{path}`"),
        ),
        FieldError::Jq(err) => UserError::new(Exit::Failure, err.to_string()),
    })?;
    picked.print(printer)?;
    Ok(())
}

/// The value to store, from the argument, a file or stdin, checked against the size limit
/// before anything is sent.
fn read_value(args: &PutArgs) -> Result<Bytes, UserError> {
    let too_large = |size: String| {
        UserError::new(
            Exit::Usage,
            format!("the value is {size} bytes; at most 1048576 bytes (1 MiB) are allowed"),
        )
    };
    let stdin = args.path.as_ref().is_some_and(|p| p.as_os_str() == "-")
        || (args.value.is_none() && args.path.is_none() && !std::io::stdin().is_terminal());
    let bytes = match (&args.value, &args.path) {
        (Some(value), _) => value.as_bytes().to_vec(),
        _ if stdin => read_limited(std::io::stdin().lock()).map_err(|err| {
            UserError::new(
                Exit::Usage,
                format!("cannot read the value from stdin: {err}"),
            )
        })?,
        (None, Some(path)) => {
            let file = std::fs::File::open(path).map_err(|err| {
                UserError::new(
                    Exit::Usage,
                    format!("cannot read `{}`: {err}", path.display()),
                )
            })?;
            read_limited(file).map_err(|err| {
                UserError::new(
                    Exit::Usage,
                    format!("cannot read `{}`: {err}", path.display()),
                )
            })?
        }
        (None, None) => {
            return Err(UserError::new(Exit::Usage, "no value given, and stdin is a terminal").hint(
                "Give the value as an argument, use `--path FILE`, or pipe it in (`--path -` reads stdin).",
            ));
        }
    };
    if bytes.len() > MAX_VALUE_BYTES {
        let size = if bytes.len() > MAX_VALUE_BYTES + 1 {
            bytes.len().to_string()
        } else {
            "more than 1048576".to_owned()
        };
        return Err(too_large(size));
    }
    Ok(Bytes::from(bytes))
}

/// Reads at most one byte more than the limit, so an oversize input is detected without
/// reading it all.
fn read_limited(reader: impl std::io::Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_VALUE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[derive(Serialize)]
struct PutJson<'a> {
    key: &'a str,
    namespace_id: &'a str,
    created: bool,
    size_bytes: usize,
    ttl_secs: Option<u64>,
    content_type: &'a str,
}

/// The content type to store: `--content-type`, else the one a `--path` file's extension or
/// first bytes (stdin's first bytes, for `--path -`) suggest (`Some` in the second place), else the API's default.
fn content_type(args: &PutArgs, value: &[u8]) -> (String, Option<String>) {
    if let Some(given) = &args.content_type {
        return (given.clone(), None);
    }
    // `--path -` (stdin) has no name: its first bytes alone can tell (a PNG piped in).
    let guessed = match (&args.value, &args.path) {
        (None, Some(path)) => crate::local::content_type::of_file(path, value),
        _ => None,
    };
    match guessed {
        Some(guessed) => (guessed.clone(), Some(guessed)),
        None => ("application/octet-stream".to_owned(), None),
    }
}

/// `PUT /storage/kvs/{id}/keys/{key}?ttl_secs=T`, a failure naming the key and namespace;
/// whether the key was created (not replaced).
pub(crate) async fn put_value(
    client: &crate::client::Client,
    target: &target::Target,
    key: &str,
    value: Bytes,
    ttl_secs: Option<u64>,
    content_type: Option<&str>,
) -> anyhow::Result<bool> {
    client
        .put_key(&target.id, key, value, ttl_secs, content_type)
        .await
        .with_context(|| {
            format!(
                "failed to put key `{key}` in KV namespace `{}`",
                target.label
            )
        })
}

/// `storage kv key put`: `PUT /storage/kvs/{id}/keys/{key}?ttl_secs=T` with the raw value.
pub(crate) async fn put(backend: &Backend, args: PutArgs, printer: &Printer) -> anyhow::Result<()> {
    let value = read_value(&args)?;
    let (content_type, guessed) = content_type(&args, &value);
    if http::HeaderValue::from_str(&content_type).is_err() {
        return Err(UserError::new(
            Exit::Usage,
            format!(
                "`{}` is not a valid Content-Type",
                content_type.escape_debug()
            ),
        )
        .hint("Use a media type such as `text/plain; charset=utf-8`.")
        .into());
    }
    let client = &backend.client;
    let target = target::id(backend, &args.namespace.spec).await?;
    let key = &args.key;
    let size = value.len();
    let created = put_value(client, &target, key, value, args.ttl, Some(&content_type)).await?;
    let ttl = args
        .ttl
        .map(|secs| {
            format!(
                ", expires in {}",
                crate::ui::duration(std::time::Duration::from_secs(secs))
            )
        })
        .unwrap_or_default();
    // A type the file suggested is named, since nobody typed it.
    let guessed = guessed.map(|t| format!(", {t}")).unwrap_or_default();
    printer.status(&format!(
        "{} key `{key}` in namespace `{}` ({size} byte{}{guessed}{ttl})",
        if created { "Created" } else { "Replaced" },
        target.label,
        plural(size)
    ));
    let json = PutJson {
        key,
        namespace_id: &target.id,
        created,
        size_bytes: size,
        ttl_secs: args.ttl,
        content_type: &content_type,
    };
    printer.result(&json, key)?;
    Ok(())
}

#[derive(Serialize)]
struct DeleteJson<'a> {
    key: &'a str,
    namespace_id: &'a str,
    deleted: bool,
}

/// `storage kv key delete`: `DELETE /storage/kvs/{id}/keys/{key}`; a missing key is not an
/// error.
pub(crate) async fn delete(
    backend: &Backend,
    spec: &str,
    key: &str,
    yes: bool,
    printer: &Printer,
) -> anyhow::Result<()> {
    let client = &backend.client;
    let target = target::id(backend, spec).await?;
    confirm(
        yes,
        &format!("delete key `{key}` from namespace `{}`", target.label),
        &format!(
            "Delete key `{key}` from namespace `{}`? [y/N]",
            target.label
        ),
        Answer::Yes,
    )?;
    client.delete_key(&target.id, key).await.with_context(|| {
        format!(
            "failed to delete key `{key}` from KV namespace `{}`",
            target.label
        )
    })?;
    printer.status(&format!(
        "Deleted key `{key}` from namespace `{}`",
        target.label
    ));
    let json = DeleteJson {
        key,
        namespace_id: &target.id,
        deleted: true,
    };
    printer.result(&json, key)?;
    Ok(())
}
