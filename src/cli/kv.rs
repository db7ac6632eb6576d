//! `storage kv`: the command groups and the list of KV commands, with their long help.

use clap::{Args, Subcommand};

use super::bulk::{BulkGroup, ExportArgs, ImportArgs};
use super::key::{DuArgs, KeyGroup, PutArgs};
use super::namespace::{BindArgs, CreateArgs, DeleteArgs, GetArgs, ListArgs, UnbindArgs, WaitArgs};
use super::serve::{ServeArgs, UiArgs};
use super::sync::{CopyArgs, DiffArgs, SyncArgs};

#[derive(Debug, Args)]
pub(crate) struct StorageGroup {
    #[command(subcommand)]
    pub command: StorageCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StorageCommand {
    /// KV namespaces and keys
    Kv(KvGroup),
}

#[derive(Debug, Args)]
pub(crate) struct KvGroup {
    #[command(subcommand)]
    pub command: KvCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KvCommand {
    /// Create a namespace and wait until it is ready
    ///
    /// Creates a namespace (`POST /storage/kvs`) and waits until it is `provision_ok`, with a
    /// spinner on a terminal or one status line at the start and one at the end. Provisioning
    /// that ends in `provision_failed`, or a wait past `--wait-timeout`, exits 7; Ctrl-C exits
    /// 130 and says how to resume (`storage kv wait NAME`), since provisioning goes on at the
    /// service. A create is retried only when it certainly did not reach the service; after an
    /// ambiguous failure the name is looked up before an error is reported. With `--bind`,
    /// everything about func.toml is checked before the namespace is created.
    Create(CreateArgs),
    /// List namespaces (every page unless `--page`)
    ///
    /// Reads `GET /storage/kvs?page[number]=N&page[size]=S`, every page unless `--page`.
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Show a namespace, or with KEY print a key's value (= `key get`)
    ///
    /// Without KEY: the namespace (`GET /storage/kvs/{id}`). With KEY: the same as `key get`,
    /// `--output-file` included.
    Get(GetArgs),
    /// Set a key's value (= `key put`)
    Put(PutArgs),
    /// Delete a namespace, or with KEY a key (= `key delete`)
    ///
    /// Without KEY: deletes the namespace and all its keys (`DELETE /storage/kvs/{id}`). On a
    /// terminal it shows how many keys it holds and asks you to type the namespace's name;
    /// without one it exits 2 unless `--yes`, and a namespace that holds keys also needs
    /// `--force` (exit 5 without it), so that `delete NS $KEY --yes` with an empty `$KEY` can
    /// never delete data. `--wait` waits until the namespace is gone. When func.toml binds the
    /// namespace it refuses (exit 2, nothing deleted) until you choose: `--unbind` also removes
    /// those bindings once the delete succeeds, `--keep-binding` leaves them (locally, a kept
    /// binding brings the namespace back, empty, on the next command).
    /// With KEY: the same as `key delete`.
    #[command(visible_alias = "rm")]
    Delete(DeleteArgs),
    /// Wait until a namespace is ready (`provision_ok`)
    ///
    /// Polls the namespace (backoff from 0.5 s to 5 s) until `provision_ok`; exits 7 on
    /// `provision_failed` or when the time is up, 130 on Ctrl-C.
    Wait(WaitArgs),
    /// Bind a namespace in func.toml as `[storage.kv.BINDING]`
    ///
    /// Adds `[storage.kv.BINDING]` with the namespace's id to func.toml, leaving every other
    /// byte of the file as it was, and writes it atomically. The same binding again changes
    /// nothing; one that points elsewhere exits 5 unless `--force`. A malformed func.toml is
    /// reported with its line and column and left untouched.
    Bind(BindArgs),
    /// Remove a binding from func.toml
    ///
    /// Removes `[storage.kv.BINDING]` and nothing else; a binding that does not exist exits 3.
    Unbind(UnbindArgs),
    /// Keys and values
    Key(KeyGroup),
    /// Keys and bytes per prefix level, and the largest keys (from the listing alone)
    ///
    /// Reads the key listing only (`GET /storage/kvs/{id}/keys`, every page; no value is read)
    /// and adds up keys and bytes per prefix, splitting key names at `/` down to `--depth`
    /// levels, like du(1); then the `--top` largest keys, like redis-cli `--bigkeys`. Memory
    /// follows the number of prefixes shown, not the number of keys.
    Du(DuArgs),
    /// Many keys at once: put, get or delete, concurrently, with retries and a failed-items file
    Bulk(BulkGroup),
    /// Write every key, value and content type of a namespace as NDJSON
    ///
    /// Lists the namespace and reads every value, writing the lines `import` and `bulk put`
    /// read. TTLs cannot be exported: the API does not return a key's remaining time, so an
    /// imported copy keeps its keys until they are deleted. With `--output-file`, a run that
    /// fails leaves an existing file untouched and keeps what it read in `FILE.partial`.
    Export(ExportArgs),
    /// Write the keys of an NDJSON export (or `bulk get` output) into a namespace
    Import(ImportArgs),
    /// Copy namespaces from the service into local state (`--local`, `serve`)
    ///
    /// Each namespace goes into its local mirror, the namespace with the same id (created when
    /// missing), so `--local` and `serve` see the service's data at once. With no NAMESPACE,
    /// every binding of func.toml. A three-way merge against the last sync: the service's
    /// changes since then are copied byte for byte (its deletions with `--delete`); local edits
    /// not pushed yet are left alone and listed; keys changed on both sides are conflicts, left
    /// alone (exit 1) unless `--force`. A pull with nothing new reads only the key list.
    Pull(SyncArgs),
    /// Copy namespaces from local state to the service
    ///
    /// The reverse of `pull`: sends local state's changes since the last sync into the
    /// namespace with the same id on the service. It always shows the plan first (keys to add,
    /// change and, with `--delete`, remove) and asks; without a terminal it needs `--yes`.
    /// `--dry-run` prints the plan only. The service's own changes are left alone and listed,
    /// keys changed on both sides are conflicts (exit 1) unless `--force`, and each key is
    /// checked again just before it is written, so a push never silently undoes someone else's
    /// write. A local key's remaining TTL goes with it.
    Push(SyncArgs),
    /// Compare two namespaces, each on the service or in local state
    ///
    /// Prints the keys that differ: `added` (only in B), `changed` (both, with other bytes or
    /// another content type), `removed` (only in A) and `ttl` (the same value with other
    /// expiries, where both sides can tell), so B is what A would become. A side is
    /// `local:NAMESPACE` or `remote:NAMESPACE`; a plain NAMESPACE is on the service, or local
    /// with `--local`. Exits 0 when they are equal and 1 when they differ, like diff(1); other
    /// failures keep their own exit codes (2 and up).
    Diff(DiffArgs),
    /// Copy keys from one namespace to another, each on the service or in local state
    ///
    /// Makes DST's keys equal to SRC's, byte for byte with their content types, for every key
    /// SRC has (under `--prefix`): keys DST lacks are added and keys that differ are
    /// overwritten, without asking; equal keys are not written. A side is `local:NAMESPACE` or
    /// `remote:NAMESPACE`; a plain NAMESPACE is on the service, or local with `--local`. A TTL
    /// goes with its key when SRC can tell it (local state can; the API does not return one).
    /// `--delete` also deletes DST's keys that SRC does not have, after asking (without a
    /// terminal it needs `--yes`). `--dry-run` prints the plan and exits 0. Unlike `pull` and
    /// `push` there is no sync record and no merge. Copying uses the bulk engine: the adaptive
    /// window, `--failed-file`, the error budget and Ctrl-C behave as in `import`; run the same
    /// `copy` again to finish one that stopped. Neither namespace is created.
    Copy(CopyArgs),
    /// Open the data explorer in a browser, for the service or local state
    ///
    /// Serves the explorer (the page `serve` has at `/`) on 127.0.0.1 and a free port,
    /// against whatever this command line points at: the service with your credentials, a
    /// `--base-url`, or local state with `--local`. Prints the URL (it carries a token for this
    /// run) and opens it in the browser when there is a display, until Ctrl-C. The page talks
    /// to this process, which adds the credentials: the API key never reaches the browser.
    /// Against the service it starts read-only: changes wait for its "Allow changes" switch.
    Ui(UiArgs),
    /// Run the local KV emulator: the Telnyx KV REST API on this machine
    ///
    /// Serves every `/v2/storage/kvs…` endpoint from a SQLite database in the state directory
    /// (data survives restarts and SIGKILL), mirrors the namespaces func.toml binds under the
    /// same ids, prints the exports a client needs on stdout and logs each request on stderr,
    /// until Ctrl-C or SIGTERM (exit 0).
    Serve(ServeArgs),
}
