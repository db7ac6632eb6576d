//! `storage kv key edit` and `storage kv key patch`: read a value, change it (in an editor, or
//! with a JSON merge patch), check that nobody changed the key meanwhile, write it back.
//!
//! The API has no conditional write, so "changed meanwhile" is a second read just before the
//! write: it narrows the window to one round trip rather than the whole edit.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value as Json;

use crate::api::rules::MAX_VALUE_BYTES;
use crate::cli::{KeyEditArgs, KeyPatchArgs};
use crate::client::Value;
use crate::commands::backend::Backend;
use crate::commands::target::{self, Target};
use crate::error::{Exit, UserError};
use crate::text::plural;
use crate::ui::printer::Printer;

/// What `--json` prints after an edit or a patch.
#[derive(Serialize)]
struct Saved<'a> {
    key: &'a str,
    namespace_id: &'a str,
    changed: bool,
    size_bytes: usize,
    content_type: Option<&'a str>,
    ttl_secs: Option<u64>,
}

/// The key being changed, as first read.
struct Original {
    target: Target,
    key: String,
    value: Value,
    /// The TTL to write back with: `--ttl`, else (local state only) the time it had left.
    ttl_secs: Option<u64>,
}

/// `storage kv key edit`: `GET /storage/kvs/{id}/keys/{key}`, the editor, the same `GET` again
/// and, when the value changed, `PUT /storage/kvs/{id}/keys/{key}?ttl_secs=T`.
pub(crate) async fn edit(
    backend: &Backend,
    args: KeyEditArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let editor = editor_command()?;
    let original = read(backend, &args.namespace.spec, &args.key, args.ttl).await?;
    let bytes = &original.value.bytes;
    let text = if args.hex {
        to_hex(bytes)
    } else {
        match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(_) => {
                return Err(UserError::new(
                    Exit::Failure,
                    format!(
                        "the value of `{}` is binary ({} bytes); not opening it in an editor",
                        args.key,
                        bytes.len()
                    ),
                )
                .hint("Edit it as hex with `--hex`.")
                .into());
            }
        }
    };
    let file = scratch_file(&text, suffix(&original.value, args.hex))?;
    if let Err(failed) = run_editor(&editor, file.path()).await? {
        return Err(kept(file, failed, args.hex).into());
    }
    let edited = std::fs::read(file.path())
        .with_context(|| format!("cannot read `{}`", file.path().display()))?;
    let edited = if args.hex {
        match from_hex(&edited) {
            Ok(bytes) => bytes,
            Err(err) => return Err(kept(file, UserError::new(Exit::Failure, err), true).into()),
        }
    } else {
        without_added_newline(bytes, edited)
    };
    // A new `--ttl` is written even when the value is the same.
    if edited == bytes.as_ref() && args.ttl.is_none() {
        return unchanged(&original, printer);
    }
    let was_json = !args.hex && serde_json::from_slice::<Json>(bytes).is_ok();
    if was_json
        && !args.no_check
        && let Err(err) = serde_json::from_slice::<Json>(&edited)
    {
        let refused = UserError::new(
            Exit::Failure,
            format!("the edited value is not valid JSON: {err}; nothing saved"),
        );
        return Err(kept(file, refused, false).into());
    }
    if edited.len() > MAX_VALUE_BYTES {
        let refused = UserError::new(
            Exit::Usage,
            format!(
                "the edited value is {} bytes; at most 1048576 bytes (1 MiB) are allowed; nothing saved",
                edited.len()
            ),
        );
        return Err(kept(file, refused, args.hex).into());
    }
    if let Err(conflict) = recheck(backend, &original).await? {
        return Err(kept(file, conflict, args.hex).into());
    }
    let written = write(backend, &original, Bytes::from(edited), "Saved", printer).await;
    if written.is_err()
        && let Ok((_, path)) = file.keep()
    {
        printer.status(&format!("Your edit is kept in `{}`", path.display()));
    }
    written
}

/// `storage kv key patch`: `GET /storage/kvs/{id}/keys/{key}`, the merge, the same `GET` again
/// and, when the value changed, `PUT /storage/kvs/{id}/keys/{key}?ttl_secs=T`.
pub(crate) async fn patch(
    backend: &Backend,
    args: KeyPatchArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let merge = read_patch(&args.merge)?;
    let original = read(backend, &args.namespace.spec, &args.key, args.ttl).await?;
    let bytes = &original.value.bytes;
    let Ok(mut value) = serde_json::from_slice::<Json>(bytes) else {
        return Err(UserError::new(
            Exit::Failure,
            format!(
                "the value of `{}` is not JSON; a merge patch needs a JSON value",
                args.key
            ),
        )
        .hint("Change it with `storage kv key edit` or `storage kv key put`.")
        .into());
    };
    merge_patch(&mut value, &merge);
    // A value laid out over several lines stays that way; a compact one stays compact.
    let pretty = bytes.contains(&b'\n');
    let mut merged = if pretty {
        serde_json::to_vec_pretty(&value)
    } else {
        serde_json::to_vec(&value)
    }
    .context("cannot write the merged JSON")?;
    if pretty && bytes.ends_with(b"\n") {
        merged.push(b'\n');
    }
    if serde_json::from_slice::<Json>(bytes).ok().as_ref() == Some(&value) {
        return unchanged(&original, printer);
    }
    if merged.len() > MAX_VALUE_BYTES {
        return Err(UserError::new(
            Exit::Usage,
            format!(
                "the merged value is {} bytes; at most 1048576 bytes (1 MiB) are allowed; nothing saved",
                merged.len()
            ),
        )
        .into());
    }
    recheck(backend, &original).await?.map_err(|conflict| {
        conflict.hint("Run the patch again to apply it to the value as it is now.")
    })?;
    write(backend, &original, Bytes::from(merged), "Patched", printer).await
}

/// Reads the key (a missing one exits 3) and, in local state, the time it has left.
async fn read(
    backend: &Backend,
    spec: &str,
    key: &str,
    ttl: Option<u64>,
) -> anyhow::Result<Original> {
    let target = target::id(backend, spec).await?;
    let value = match backend.client.get_key(&target.id, key).await {
        Ok(value) => value,
        Err(err) if err.status() == Some(404) => {
            return Err(UserError::new(
                Exit::NotFound,
                format!("key `{key}` not found in namespace `{}`", target.label),
            )
            .hint(format!(
                "Create it with `storage kv key put {spec} {key} VALUE`."
            ))
            .into());
        }
        Err(err) => {
            return Err(err).with_context(|| {
                format!(
                    "failed to get key `{key}` from KV namespace `{}`",
                    target.label
                )
            });
        }
    };
    let ttl_secs = match ttl {
        Some(ttl) => Some(ttl),
        None => local_ttl(backend, &target.id, key).await?,
    };
    Ok(Original {
        target,
        key: key.to_owned(),
        value,
        ttl_secs,
    })
}

/// The seconds local state's key has left (`None`: it does not expire, or this is the
/// service, which does not say).
async fn local_ttl(backend: &Backend, ns: &str, key: &str) -> anyhow::Result<Option<u64>> {
    let Some(store) = backend.store().cloned() else {
        return Ok(None);
    };
    let (ns, key) = (ns.to_owned(), key.to_owned());
    let now_ms = crate::emulator::now_ms();
    let expires = tokio::task::spawn_blocking(move || {
        let mut expires = None;
        // Keys come in order, so the key itself is the first one it starts. The namespace was
        // just read, so whether it is usable is already known.
        let _usable = store.each_digest(&ns, &key, now_ms, &mut |digest| {
            if digest.key == key {
                expires = digest.expires_ms;
            }
            false
        })?;
        Ok::<_, crate::emulator::store::StoreError>(expires)
    })
    .await
    .context("the local store's reader stopped")?
    .context("cannot read local state")?;
    // Rounded up, so a key never outlives the time it had by less than a second.
    Ok(expires.map(|at| {
        u64::try_from((at - now_ms + 999) / 1000)
            .unwrap_or(0)
            .max(1)
    }))
}

/// Reads the key again: `Err` (exit 5) when it is gone or no longer what was first read.
async fn recheck(backend: &Backend, original: &Original) -> anyhow::Result<Result<(), UserError>> {
    let (key, label) = (&original.key, &original.target.label);
    let now = match backend.client.get_key(&original.target.id, key).await {
        Ok(now) => Some(now),
        Err(err) if err.status() == Some(404) => None,
        Err(err) => {
            return Err(err)
                .with_context(|| format!("failed to get key `{key}` from KV namespace `{label}`"));
        }
    };
    let how = match now {
        None => "was deleted",
        Some(now)
            if now.bytes != original.value.bytes
                || now.content_type != original.value.content_type =>
        {
            "changed"
        }
        Some(_) => return Ok(Ok(())),
    };
    Ok(Err(UserError::new(
        Exit::Conflict,
        format!("key `{key}` in namespace `{label}` {how} since it was read; nothing saved"),
    )))
}

/// Writes the new value with the original content type and the TTL decided on.
async fn write(
    backend: &Backend,
    original: &Original,
    value: Bytes,
    verb: &str,
    printer: &Printer,
) -> anyhow::Result<()> {
    let (key, target) = (&original.key, &original.target);
    let content_type = original.value.content_type.as_deref();
    let size = value.len();
    crate::commands::key::put_value(
        &backend.client,
        target,
        key,
        value,
        original.ttl_secs,
        content_type,
    )
    .await?;
    printer.status(&format!(
        "{verb} key `{key}` in namespace `{}` ({size} byte{})",
        target.label,
        plural(size)
    ));
    print_result(original, true, size, printer)
}

fn unchanged(original: &Original, printer: &Printer) -> anyhow::Result<()> {
    printer.status(&format!(
        "No change to key `{}` in namespace `{}`; nothing saved",
        original.key, original.target.label
    ));
    print_result(original, false, original.value.bytes.len(), printer)
}

fn print_result(
    original: &Original,
    changed: bool,
    size_bytes: usize,
    printer: &Printer,
) -> anyhow::Result<()> {
    let json = Saved {
        key: &original.key,
        namespace_id: &original.target.id,
        changed,
        size_bytes,
        content_type: original.value.content_type.as_deref(),
        ttl_secs: original.ttl_secs,
    };
    printer.result(&json, &original.key)?;
    Ok(())
}

/// Keeps the edited file and says where, with how to store it by hand (hex digits turned
/// back into bytes first).
fn kept(file: tempfile::NamedTempFile, err: UserError, hex: bool) -> UserError {
    let path = match file.keep() {
        Ok((_, path)) => path,
        Err(failed) => return err.hint(format!("The edited file could not be kept: {failed}.")),
    };
    if hex {
        return err.hint(format!(
            "Your edit is kept in `{}` as hex digits; once it is right, turn it back into bytes (`xxd -r -p FILE > value.bin`) and store them with `key put --path value.bin`.",
            path.display()
        ));
    }
    err.hint(format!(
        "Your edit is kept in `{}`; store it with `key put --path` once it is right.",
        path.display()
    ))
}

/// The edited bytes, less the final newline an editor adds on saving (vi does) to a value that
/// had none, so that opening a value and saving it changes nothing.
fn without_added_newline(original: &[u8], mut edited: Vec<u8>) -> Vec<u8> {
    if original.ends_with(b"\n") || !edited.ends_with(b"\n") {
        return edited;
    }
    edited.pop();
    if edited.ends_with(b"\r") && !original.ends_with(b"\r") {
        edited.pop();
    }
    edited
}

/// `$VISUAL`, else `$EDITOR`, else `vi`, split as a shell would split it.
fn editor_command() -> Result<Vec<String>, UserError> {
    let (name, line) = [("VISUAL", "VISUAL"), ("EDITOR", "EDITOR")]
        .into_iter()
        .find_map(|(name, var)| {
            std::env::var(var)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|v| (name, v))
        })
        .unwrap_or(("the default editor", "vi".to_owned()));
    match shlex::split(&line) {
        Some(words) if !words.is_empty() => Ok(words),
        _ => Err(UserError::new(
            Exit::Usage,
            format!("cannot read the editor command in ${name}: `{line}`"),
        )
        .hint("Set it to a command line such as `vim` or `code --wait`.")),
    }
}

/// The file name ending that tells an editor what it holds.
fn suffix(value: &Value, hex: bool) -> &'static str {
    let content_type = value.content_type.as_deref().unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    match essence {
        _ if hex => ".hex",
        "application/json" => ".json",
        "text/html" => ".html",
        "text/markdown" => ".md",
        "text/csv" => ".csv",
        "application/xml" | "text/xml" => ".xml",
        "application/yaml" | "text/yaml" => ".yaml",
        "application/toml" => ".toml",
        "text/css" => ".css",
        "text/javascript" | "application/javascript" => ".js",
        _ if essence.ends_with("+json") => ".json",
        _ => ".txt",
    }
}

/// A private (0600) temporary file holding `text`.
fn scratch_file(text: &str, suffix: &str) -> anyhow::Result<tempfile::NamedTempFile> {
    let mut file = tempfile::Builder::new()
        .prefix("telnyx-edge-edit-")
        .suffix(suffix)
        .tempfile()
        .context("cannot create a temporary file to edit")?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.flush())
        .context("cannot write the temporary file to edit")?;
    Ok(file)
}

/// Runs the editor on `path` and waits for it. An editor that ran and failed is the inner
/// error: nothing is saved, and the file is kept.
async fn run_editor(editor: &[String], path: &Path) -> anyhow::Result<Result<(), UserError>> {
    let (program, args) = editor.split_first().context("no editor command")?;
    let (program, args, path) = (program.clone(), args.to_vec(), PathBuf::from(path));
    let shown = program.clone();
    let status = tokio::task::spawn_blocking(move || {
        let _editor_has_the_terminal = crate::signals::hand_over();
        std::process::Command::new(&program)
            .args(&args)
            .arg(&path)
            .status()
    })
    .await
    .context("the editor's waiter stopped")?
    .map_err(|err| {
        UserError::new(
            Exit::Failure,
            format!("cannot run the editor `{shown}`: {err}"),
        )
        .hint("Set $VISUAL or $EDITOR to an editor that is installed.")
    })?;
    if !status.success() {
        let how = status.code().map_or_else(
            || "was stopped by a signal".to_owned(),
            |code| format!("exited with status {code}"),
        );
        return Ok(Err(UserError::new(
            Exit::Failure,
            format!("the editor `{shown}` {how}; nothing saved"),
        )));
    }
    Ok(Ok(()))
}

/// `--merge`: the JSON itself, `@FILE`, or `-` for stdin; not JSON is a usage error.
fn read_patch(given: &str) -> Result<Json, UserError> {
    let (text, from) = if given == "-" {
        let mut text = String::new();
        std::io::stdin()
            .take(MAX_VALUE_BYTES as u64 + 1)
            .read_to_string(&mut text)
            .map_err(|err| {
                UserError::new(
                    Exit::Usage,
                    format!("cannot read the patch from stdin: {err}"),
                )
            })?;
        (text, "stdin".to_owned())
    } else if let Some(path) = given.strip_prefix('@') {
        let text = std::fs::read_to_string(path)
            .map_err(|err| UserError::new(Exit::Usage, format!("cannot read `{path}`: {err}")))?;
        (text, format!("`{path}`"))
    } else {
        (given.to_owned(), "--merge".to_owned())
    };
    serde_json::from_str(&text).map_err(|err| {
        UserError::new(
            Exit::Usage,
            format!("the patch in {from} is not JSON: {err}"),
        )
        .hint("Give a JSON object such as `{\"field\": \"value\"}`; `null` removes a field.")
    })
}

/// RFC 7386: members of an object patch replace the target's, `null` removes one, objects
/// merge recursively; any other patch replaces the target whole.
pub(crate) fn merge_patch(target: &mut Json, patch: &Json) {
    let Json::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Json::Object(serde_json::Map::new());
    }
    let Json::Object(object) = target else {
        return;
    };
    for (name, value) in members {
        if value.is_null() {
            // Not `remove`, which moves the last member into the gap: members keep their order.
            object.shift_remove(name);
        } else {
            merge_patch(object.entry(name.clone()).or_insert(Json::Null), value);
        }
    }
}

/// 16 bytes a line, as hex digit pairs separated by spaces.
fn to_hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 3);
    for line in bytes.chunks(16) {
        let pairs: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        text.push_str(&pairs.join(" "));
        text.push('\n');
    }
    text
}

/// The bytes of hex text, whitespace ignored.
fn from_hex(text: &[u8]) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if digits.len() % 2 == 1 {
        return Err("the edited hex has an odd number of digits; nothing saved".to_owned());
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| {
                    format!(
                        "the edited hex has `{}`, which is not a hex byte; nothing saved",
                        String::from_utf8_lossy(pair)
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        // The examples of RFC 7386, appendix A.
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (mut target, patch, wanted) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, wanted, "patch {patch}");
        }
    }

    #[test]
    fn removing_a_member_keeps_the_others_in_their_order() {
        let mut target = json!({"a": 1, "b": 2, "c": 3, "d": 4});
        merge_patch(&mut target, &json!({"b": null, "e": 5}));
        assert_eq!(target.to_string(), r#"{"a":1,"c":3,"d":4,"e":5}"#);
    }

    #[test]
    fn a_final_newline_added_by_the_editor_is_dropped() {
        let cases: [(&[u8], &[u8], &[u8]); 7] = [
            (b"hello", b"hello\n", b"hello"),
            (b"hello", b"hello\r\n", b"hello"),
            (b"hello", b"hullo\n", b"hullo"),
            // Only one: a blank line typed at the end stays.
            (b"hello", b"hello\n\n", b"hello\n"),
            // A value that had one keeps what the editor saved.
            (b"hello\n", b"hello\n", b"hello\n"),
            (b"hello\n", b"hello", b"hello"),
            (b"a\r", b"a\r\n", b"a\r"),
        ];
        for (original, edited, saved) in cases {
            assert_eq!(
                without_added_newline(original, edited.to_vec()),
                saved,
                "{original:?} {edited:?}"
            );
        }
    }

    #[test]
    fn hex_round_trips_and_refuses_what_is_not_hex() {
        let bytes: Vec<u8> = (0..=40).collect();
        let text = to_hex(&bytes);
        assert_eq!(text.lines().count(), 3);
        assert!(text.starts_with("00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f\n"));
        assert_eq!(from_hex(text.as_bytes()), Ok(bytes));
        assert_eq!(from_hex(b" ff\n00 "), Ok(vec![0xff, 0]));
        assert!(from_hex(b"abc").is_err());
        assert!(from_hex(b"zz").is_err());
    }
}
