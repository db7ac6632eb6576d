//! The command line, as clap types only. Handlers live in `commands/`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueHint};
use clap_complete::engine::ArgValueCandidates;

use crate::env;
pub(crate) use crate::ui::format::{ColorWhen, OutputFormat};

pub(crate) mod complete;
pub(crate) mod duration;
pub(crate) mod examples;

/// Manage Telnyx Edge Compute KV storage, or run a local emulator of it.
#[derive(Debug, Parser)]
#[command(name = "telnyx-edge", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// What `-h` says in place of the global options it leaves out.
const SHORT_HELP_NOTE: &str =
    "Global options (--local, --json, -o, -q, -v, --yes, --timeout, …) and examples: see --help";

/// The command definition as users see it: clap's, with each command's examples in its long
/// help (`--help`) and the global options left out of the short help (`-h`), which points to
/// `--help` for them. Parsing, completion and the generated files all start here.
pub(crate) fn command() -> clap::Command {
    use clap::CommandFactory as _;
    let cmd = Cli::command().mut_args(|arg| {
        if arg.is_global_set() {
            arg.hide_short_help(true)
        } else {
            arg
        }
    });
    with_examples(cmd, "")
}

fn with_examples(mut cmd: clap::Command, path: &str) -> clap::Command {
    if let Some(text) = examples::of(path) {
        let mut long = format!("Examples:\n{text}");
        if let Some(notes) = cmd.get_after_long_help() {
            long.push_str(&format!("\n\n{notes}"));
        }
        cmd = cmd.after_long_help(long);
    }
    cmd = cmd.after_help(SHORT_HELP_NOTE);
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    for name in names {
        let sub_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        cmd = cmd.mut_subcommand(&name, |sub| with_examples(sub, &sub_path));
    }
    cmd
}

/// Parses the command line. Two things clap cannot do alone: usage lines in errors show only
/// what was typed (not flags whose value came from the environment), and a flag beats the
/// environment between `--local` and `--base-url` (both typed is a usage error).
pub(crate) fn parse() -> Result<Cli, clap::Error> {
    use clap::FromArgMatches as _;
    let matches = match command().try_get_matches() {
        Ok(matches) => matches,
        Err(err) => return Err(without_environment(err)),
    };
    let mut cli = Cli::from_arg_matches(&matches)?;
    settle_local_and_base_url(&mut cli.global, &matches)?;
    Ok(cli)
}

/// The same error, reported as if no environment variable had given a value, so that its
/// usage line does not list `--base-url <URL>` because `TELNYX_BASE_URL` is set.
fn without_environment(err: clap::Error) -> clap::Error {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        return err;
    }
    fn strip(command: clap::Command) -> clap::Command {
        command.mut_args(|arg| arg.env(None)).mut_subcommands(strip)
    }
    match strip(command()).try_get_matches_from(std::env::args_os()) {
        Err(clean) if clean.kind() == err.kind() => clean,
        _ => err,
    }
}

/// Where a global option's value came from, looking at every level it may be given at.
fn source(matches: &clap::ArgMatches, id: &str) -> Option<clap::parser::ValueSource> {
    let mut found = matches.value_source(id);
    let mut level = matches;
    while let Some((_, sub)) = level.subcommand() {
        found = found.max(sub.value_source(id));
        level = sub;
    }
    found
}

fn settle_local_and_base_url(
    global: &mut GlobalArgs,
    matches: &clap::ArgMatches,
) -> Result<(), clap::Error> {
    use clap::parser::ValueSource::{CommandLine, EnvVariable};
    let local = source(matches, "local").filter(|_| global.local);
    let base_url = source(matches, "base_url").filter(|_| global.base_url.is_some());
    match (local, base_url) {
        (Some(CommandLine), Some(CommandLine)) => {
            Err(command().error(
                clap::error::ErrorKind::ArgumentConflict,
                "`--local` and `--base-url` cannot be used together: `--local` runs against the embedded emulator, `--base-url` against a server",
            ))
        }
        // A flag beats the environment.
        (Some(EnvVariable), Some(CommandLine)) => {
            global.local = false;
            Ok(())
        }
        // `--local`, or TELNYX_EDGE_LOCAL=1 beside TELNYX_BASE_URL: the emulator. The base URL
        // stays for what is on the service whatever `--local` says (`diff`'s `remote:` sides).
        _ => Ok(()),
    }
}

/// Options every command accepts.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// API root including `/v2` [default: config `api_endpoint` + `/v2`, else
    /// https://api.telnyx.com/v2]
    #[arg(long, global = true, env = env::BASE_URL, value_name = "URL")]
    pub base_url: Option<String>,

    /// Use `[profiles.NAME]` from the config file
    #[arg(long, global = true, env = env::PROFILE, value_name = "NAME")]
    pub profile: Option<String>,

    /// The function's func.toml [default: the nearest, searching up from the working directory]
    #[arg(long, global = true, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub func_toml: Option<PathBuf>,

    /// Run against the embedded emulator and its on-disk state: no network, no key
    #[arg(long, global = true, env = env::LOCAL, value_parser = clap::builder::BoolishValueParser::new())]
    pub local: bool,

    /// Output format: `table` for people, `json`, `ndjson` or `ids` for scripts
    #[arg(
        short = 'o',
        long,
        global = true,
        value_enum,
        default_value_t = OutputFormat::Table
    )]
    pub output: OutputFormat,

    /// Same as `--output json`
    #[arg(long, global = true)]
    pub json: bool,

    /// No progress and no status lines on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Trace HTTP requests on stderr (the API key is always redacted)
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// When to use colour on stderr
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,

    /// Answer yes to confirmations
    #[arg(
        long,
        global = true,
        env = env::SKIP_CONFIRMATIONS,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub yes: bool,

    /// Deadline for each request, body included [default: 30s]; for `wait`, how long to wait [default: 5m]
    #[arg(long, global = true, value_name = "DUR", value_parser = crate::cli::duration::parse_positive)]
    pub timeout: Option<Duration>,

    /// Retries for retryable failures (408, 429, 5xx, 409 not ready, connection errors)
    #[arg(long, global = true, default_value_t = 4, value_name = "N")]
    pub retries: u32,
}

impl GlobalArgs {
    /// What `--base-url` and `--profile` ask of the remote.
    pub(crate) fn choices(&self) -> crate::local::settings::Choices<'_> {
        crate::local::settings::Choices {
            base_url: self.base_url.as_deref(),
            profile: self.profile.as_deref(),
        }
    }

    pub(crate) fn format(&self) -> OutputFormat {
        if self.json {
            OutputFormat::Json
        } else {
            self.output
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Edge Compute storage
    Storage(StorageNamespace),
    /// Credentials
    Auth(AuthNamespace),
    /// Install shell completion, or print its script
    ///
    /// Without SHELL: lists the shells and prints the line that installs completion for the
    /// one `$SHELL` names. With SHELL: prints the script on stdout, or with `--install` writes
    /// it where that shell looks (creating the folder) and says where. The script calls
    /// `telnyx-edge` on PATH for each completion, so it never drifts from the binary; binding
    /// names of the nearest func.toml complete wherever a namespace is expected, without any
    /// network call.
    Completions(CompletionsArgs),
    /// Print a man page, or write them all into a folder
    ///
    /// `telnyx-edge man` prints the page of `telnyx-edge`, `telnyx-edge man storage kv put`
    /// the page of that command (roff, for `man -l -`). `--dir DIR` writes every page into DIR
    /// (created if missing) instead, for `MANPATH` or a package.
    Man(ManArgs),
    /// Write the completion scripts, man pages and command reference into DIR (for packagers
    /// and `scripts/generate.sh`)
    #[command(hide = true)]
    GenerateAssets(GenerateAssetsArgs),
    /// `telnyx-edge kv …`, a common slip for `telnyx-edge storage kv …`: answered with a hint.
    #[command(hide = true, disable_help_flag = true)]
    Kv(StrayArgs),
}

/// Whatever follows a mistyped command, kept to suggest the right one.
#[derive(Debug, Args)]
pub(crate) struct StrayArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub rest: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell; without it, the shells are listed
    pub shell: Option<crate::cli::complete::Shell>,

    /// Write the script where SHELL looks for it, creating the folder, instead of printing it
    #[arg(long, requires = "shell")]
    pub install: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// The command whose page to print, as words (`storage kv put`); none is `telnyx-edge`
    #[arg(value_name = "COMMAND", conflicts_with = "dir")]
    pub command: Vec<String>,

    /// Write every page into DIR (created if missing) instead of printing one
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct GenerateAssetsArgs {
    /// The repository root to write into
    #[arg(default_value = ".", value_hint = ValueHint::DirPath)]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct AuthNamespace {
    #[command(subcommand)]
    pub command: AuthCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuthCommand {
    /// The API key in the config file
    ApiKey(ApiKeyNamespace),
    /// Where the API key comes from (masked) and whether the service accepts it
    ///
    /// Shows the API root, the key (masked: `KEY0…cdef`), where it comes from, and whether the
    /// service accepts it (`GET /storage/kvs?page[size]=1`). Exits 4 when there is no key or
    /// it is refused; when the service cannot be reached it says so and exits as the failure
    /// does, never claiming the key was refused.
    Status,
}

#[derive(Debug, Args)]
pub(crate) struct ApiKeyNamespace {
    #[command(subcommand)]
    pub command: ApiKeyCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ApiKeyCommand {
    /// Save an API key to the config file (to `[profiles.NAME]` with `--profile`)
    ///
    /// Saves `api_key` in the config file. Without KEY it reads the key from stdin (hidden
    /// input on a terminal, else the first line), which keeps it out of shell history. The
    /// file is written atomically with mode 0600 (its directory 0700 when created) and
    /// everything else in it is kept as it was. No request is sent.
    Set(ApiKeySetArgs),
    /// Remove the API key from the config file
    Clear,
}

#[derive(Debug, Args)]
pub(crate) struct ApiKeySetArgs {
    /// The key; read from stdin when omitted (without echo on a terminal), which keeps it out
    /// of shell history
    pub key: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct StorageNamespace {
    #[command(subcommand)]
    pub command: StorageCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StorageCommand {
    /// KV namespaces and keys
    Kv(KvNamespace),
}

#[derive(Debug, Args)]
pub(crate) struct KvNamespace {
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
    /// never delete data. `--wait` waits until the namespace is gone. It warns when func.toml
    /// binds the namespace; `--unbind` also removes those bindings once the delete succeeds.
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
    Key(KeyNamespace),
    /// Many keys at once: put, get or delete, concurrently, with retries and a failed-items file
    Bulk(BulkNamespace),
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
    /// Open the data explorer in a browser, for the service or local state
    ///
    /// Serves the explorer (the page `serve` has at `/`) on 127.0.0.1 and a free port,
    /// against whatever this command line points at: the service with your credentials, a
    /// `--base-url`, or local state with `--local`. Prints the URL (it carries a token for this
    /// run) and opens it in the browser when there is a display, until Ctrl-C. The page talks
    /// to this process, which adds the credentials: the API key never reaches the browser.
    Ui(UiArgs),
    /// Run the local KV emulator: the Telnyx KV REST API on this machine
    ///
    /// Serves every `/v2/storage/kvs…` endpoint from a SQLite database in the state directory
    /// (data survives restarts and SIGKILL), mirrors the namespaces func.toml binds under the
    /// same ids, prints the exports a client needs on stdout and logs each request on stderr,
    /// until Ctrl-C or SIGTERM (exit 0).
    Serve(ServeArgs),
}

/// How NAMESPACE is written everywhere.
const NAMESPACE_HELP: &str = "Namespace: its UUID, a binding in func.toml, or its name";

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// Name: lowercase letters, digits and `-`, 1 to 255 characters
    #[arg(long, value_parser = namespace_name, required_unless_present = "stray_name")]
    pub name: Option<String>,

    /// A name given without `--name`: answered with a hint
    #[arg(hide = true, value_name = "NAME")]
    pub stray_name: Option<String>,

    /// Return as soon as the service accepted the request, without waiting for `provision_ok`
    #[arg(long, conflicts_with = "wait_timeout")]
    pub no_wait: bool,

    /// How long to wait for `provision_ok`
    #[arg(long, value_name = "DUR", default_value = "5m", value_parser = crate::cli::duration::parse)]
    pub wait_timeout: Duration,

    /// Succeed with the existing namespace when the name is taken
    #[arg(long)]
    pub if_not_exists: bool,

    /// Also bind it in func.toml, as BINDING [default: the name upper-cased, `-` → `_`]
    #[arg(long, value_name = "BINDING", num_args = 0..=1, default_missing_value = "", value_parser = binding_or_default)]
    pub bind: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct BindArgs {
    #[arg(help = NAMESPACE_HELP, add = ArgValueCandidates::new(crate::cli::complete::bindings))]
    pub namespace: String,

    /// Binding name, `[A-Z_][A-Z0-9_]*` [default: the namespace name upper-cased, `-` → `_`]
    #[arg(value_parser = binding_name)]
    pub binding: Option<String>,

    /// Point an existing binding at this namespace instead
    #[arg(long)]
    pub force: bool,

    /// Print the change as a unified diff and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UnbindArgs {
    /// Binding name in func.toml
    #[arg(value_parser = binding_name, add = ArgValueCandidates::new(crate::cli::complete::bindings))]
    pub binding: String,

    /// Print the change as a unified diff and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only this page (from 1); every page when omitted
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub page: Option<u64>,

    /// Namespaces per page, 1 to 250
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=250))]
    pub page_size: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    #[arg(help = NAMESPACE_HELP, add = ArgValueCandidates::new(crate::cli::complete::bindings))]
    pub namespace: String,

    /// A key: print its value instead of the namespace
    #[arg(value_parser = key_name)]
    pub key: Option<String>,

    /// With KEY: write the value to this file (atomically) instead of stdout
    #[arg(long, value_name = "PATH", requires = "key", value_hint = ValueHint::FilePath)]
    pub output_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct PutArgs {
    #[arg(help = NAMESPACE_HELP, add = ArgValueCandidates::new(crate::cli::complete::bindings))]
    pub namespace: String,

    #[command(flatten)]
    pub put: KeyPutArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    #[arg(help = NAMESPACE_HELP, add = ArgValueCandidates::new(crate::cli::complete::bindings))]
    pub namespace: String,

    /// A key: delete it instead of the namespace
    #[arg(value_parser = key_name)]
    pub key: Option<String>,

    /// Wait until the namespace is gone
    #[arg(long, conflicts_with = "key")]
    pub wait: bool,

    /// Delete the namespace even though it holds keys (needed without a terminal, with `--yes`)
    #[arg(long, conflicts_with = "key")]
    pub force: bool,

    /// With `--wait`: how long to wait
    #[arg(long, value_name = "DUR", default_value = "5m", requires = "wait", value_parser = crate::cli::duration::parse)]
    pub wait_timeout: Duration,

    /// Also remove the func.toml bindings of the namespace once it is deleted
    #[arg(long, conflicts_with = "key")]
    pub unbind: bool,
}

#[derive(Debug, Args)]
pub(crate) struct WaitArgs {
    #[arg(help = NAMESPACE_HELP, add = ArgValueCandidates::new(crate::cli::complete::bindings))]
    pub namespace: String,

    /// How long to wait (the global `--timeout` means the same here) [default: 5m]
    #[arg(long, value_name = "DUR", value_parser = crate::cli::duration::parse)]
    pub wait_timeout: Option<Duration>,
}

#[derive(Debug, Args)]
pub(crate) struct BulkNamespace {
    #[command(subcommand)]
    pub command: BulkCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BulkCommand {
    /// Write keys from NDJSON lines, a JSON array, or the files of a directory
    #[command(after_long_help = BULK_PUT_FORMAT)]
    Put(BulkPutArgs),
    /// Read keys and print them as NDJSON lines (the format `bulk put` reads)
    Get(BulkGetArgs),
    /// Delete keys, after confirming their number
    Delete(BulkDeleteArgs),
}

const BULK_PUT_FORMAT: &str = "Input, detected from its first byte:
  NDJSON lines:  {\"key\": \"user/1\", \"value\": \"...\", \"base64\": false, \"ttl_secs\": 60, \"content_type\": \"...\"}
                 (only key and value are required)
  a JSON array:  [{\"key\": \"...\", \"value\": \"...\", \"base64\": true, \"expiration_ttl\": 60}, ...] (wrangler's format)
  --dir DIR:     each file's path relative to DIR is the key, its bytes the value

Wrangler's fields are read too: `expiration_ttl` (seconds) and `expiration` (epoch seconds,
made relative to now; one in the past fails the item) become `ttl_secs`; `metadata` is
dropped with a warning (Telnyx KV has none). Other fields are warned about once and ignored,
or with `--strict` fail their item. A UTF-8 byte order mark is skipped.

A bad line is reported with its number, counts as failed (towards `--max-errors`) and goes to
the `--failed-file` with its text; the rest goes on.";

/// What every bulk command shares.
#[derive(Debug, Args)]
pub(crate) struct BulkOptions {
    /// The most requests in flight at once [default: 256; 64 for `bulk get`, `export`, `pull`
    /// and `push`]; the window adapts below it
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: Option<u16>,

    /// Stop after N failed items: no new request starts, and the rest goes to `--failed-file`
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_errors: u64,

    /// Never stop for failed items
    #[arg(long, conflicts_with = "max_errors")]
    pub continue_on_error: bool,

    /// Write every item not written (failed or never sent) to FILE, to feed back as input
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub failed_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct BulkPutArgs {
    #[arg(help = NAMESPACE_HELP, add = ArgValueCandidates::new(crate::cli::complete::bindings))]
    pub namespace: String,

    /// NDJSON or JSON array input; `-` or none reads stdin (when it is not a terminal)
    #[arg(value_name = "FILE", conflicts_with = "dir", value_hint = ValueHint::FilePath)]
    pub file: Option<PathBuf>,

    /// Write each file below DIR, keyed by its path relative to DIR
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub dir: Option<PathBuf>,

    #[command(flatten)]
    pub input: InputOptions,

    #[command(flatten)]
    pub bulk: BulkOptions,
}

/// Which keys `bulk get` and `bulk delete` work on: given, by prefix, or from a file.
#[derive(Debug, Args)]
pub(crate) struct KeySelection {
    /// Keys, as arguments
    #[arg(value_parser = key_name, conflicts_with_all = ["prefix", "from_file"])]
    pub keys: Vec<String>,

    /// Every key that starts with P (not empty: `--all` is every key)
    #[arg(long, value_name = "P", value_parser = prefix, conflicts_with = "from_file")]
    pub prefix: Option<String>,

    /// Every key of the namespace
    #[arg(long, conflicts_with_all = ["keys", "prefix", "from_file"])]
    pub all: bool,

    /// Keys from F, one per line, or the lines of a failed-items file; `-` or no F reads stdin
    #[arg(long, value_name = "F", num_args = 0..=1, default_missing_value = "-", value_hint = ValueHint::FilePath)]
    pub from_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct BulkGetArgs {
    #[arg(help = NAMESPACE_HELP, add = ArgValueCandidates::new(crate::cli::complete::bindings))]
    pub namespace: String,

    #[command(flatten)]
    pub select: KeySelection,

    /// Write to this file (atomically) instead of stdout
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub output_file: Option<PathBuf>,

    #[command(flatten)]
    pub bulk: BulkOptions,
}

#[derive(Debug, Args)]
pub(crate) struct BulkDeleteArgs {
    #[arg(help = NAMESPACE_HELP, add = ArgValueCandidates::new(crate::cli::complete::bindings))]
    pub namespace: String,

    #[command(flatten)]
    pub select: KeySelection,

    /// Print the keys that would be deleted, and delete nothing
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub bulk: BulkOptions,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    #[arg(help = NAMESPACE_HELP, add = ArgValueCandidates::new(crate::cli::complete::bindings))]
    pub namespace: String,

    /// Only keys that start with P
    #[arg(long, value_name = "P", value_parser = prefix)]
    pub prefix: Option<String>,

    /// Write to this file (atomically) instead of stdout
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub output_file: Option<PathBuf>,

    #[command(flatten)]
    pub bulk: BulkOptions,
}

#[derive(Debug, Args)]
pub(crate) struct UiArgs {
    /// Print the URL only; do not open a browser
    #[arg(long)]
    pub no_open: bool,

    /// Port on 127.0.0.1 (0 picks a free one)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub port: u16,
}

/// `pull` and `push`.
#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// Namespaces: UUIDs, bindings in func.toml or names [default: every binding of func.toml]
    #[arg(value_name = "NAMESPACE", add = ArgValueCandidates::new(crate::cli::complete::bindings))]
    pub namespaces: Vec<String>,

    /// Only keys that start with P
    #[arg(long, value_name = "P", value_parser = prefix)]
    pub prefix: Option<String>,

    /// Also make the deletions the source side made since the last sync
    #[arg(long)]
    pub delete: bool,

    /// Print what would change (the same table as `diff`) and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Make the side written to like the source for every key that differs, conflicts (keys
    /// changed on both sides since the last sync) and the other side's own changes included
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub bulk: BulkOptions,
}

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// Side A: `local:NAMESPACE`, `remote:NAMESPACE` or NAMESPACE
    #[arg(value_name = "A", add = ArgValueCandidates::new(crate::cli::complete::sides))]
    pub a: String,

    /// Side B: `local:NAMESPACE`, `remote:NAMESPACE` or NAMESPACE
    #[arg(value_name = "B", add = ArgValueCandidates::new(crate::cli::complete::sides))]
    pub b: String,

    /// Only keys that start with P
    #[arg(long, value_name = "P", value_parser = prefix)]
    pub prefix: Option<String>,

    /// The most requests in flight at once while values are compared [default: 64]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: Option<u16>,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    #[arg(help = NAMESPACE_HELP, add = ArgValueCandidates::new(crate::cli::complete::bindings))]
    pub namespace: String,

    /// An export (NDJSON) or a JSON array; `-` or none reads stdin (when it is not a terminal)
    #[arg(value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub file: Option<PathBuf>,

    #[command(flatten)]
    pub input: InputOptions,

    #[command(flatten)]
    pub bulk: BulkOptions,
}

/// How `bulk put` and `import` read their input.
#[derive(Debug, Args)]
pub(crate) struct InputOptions {
    /// Refuse items with unknown fields instead of warning and ignoring the fields
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub(crate) struct KeyNamespace {
    #[command(subcommand)]
    pub command: KeyCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// List keys (every page, streamed; never values)
    ///
    /// Lists key names, sizes and update times, every page, printed as the pages arrive so
    /// memory does not grow with the number of keys. With `--limit`, when more keys follow,
    /// stderr says the `--cursor` to continue with.
    #[command(visible_alias = "ls")]
    List(KeyListArgs),
    /// Print a key's value: its exact bytes
    ///
    /// Writes the value's exact bytes to stdout, or to `--output-file` (a temporary file
    /// beside it, then a rename, so it is never half written). A missing key prints nothing
    /// on stdout and exits 3. With `--json` the value is an object: the text when it is UTF-8,
    /// else base64.
    Get(KeyGetArgs),
    /// Set a key's value
    ///
    /// Stores a value byte for byte (`PUT /storage/kvs/{id}/keys/{key}`). Keys may use
    /// letters, digits and `-` `_` `/` `=` `.`, at most 256 characters, not starting with `_`,
    /// and not exactly `.` or `..` (path segments that HTTP clients and proxies rewrite).
    /// Values are at most 1 MiB. Both are checked before any request (exit 2).
    Put(KeyPutFullArgs),
    /// Delete a key (succeeds when it does not exist)
    ///
    /// Asks `[y/N]` on a terminal; without one it exits 2 unless `--yes`.
    #[command(visible_alias = "rm")]
    Delete(KeyDeleteArgs),
}

#[derive(Debug, Args)]
pub(crate) struct KeyListArgs {
    #[arg(help = NAMESPACE_HELP, add = ArgValueCandidates::new(crate::cli::complete::bindings))]
    pub namespace: String,

    /// Only keys that start with this
    #[arg(long, value_name = "P", value_parser = prefix)]
    pub prefix: Option<String>,

    /// At most this many keys, 1 to 1000 (prints the cursor to continue on stderr)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: Option<u32>,

    /// Start after this cursor (`meta.cursor` of a previous page)
    #[arg(long, value_name = "C")]
    pub cursor: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct KeyGetArgs {
    #[arg(help = NAMESPACE_HELP, add = ArgValueCandidates::new(crate::cli::complete::bindings))]
    pub namespace: String,

    #[arg(value_parser = key_name)]
    pub key: String,

    /// Write the value to this file (atomically) instead of stdout
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub output_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct KeyPutFullArgs {
    #[arg(help = NAMESPACE_HELP, add = ArgValueCandidates::new(crate::cli::complete::bindings))]
    pub namespace: String,

    #[command(flatten)]
    pub put: KeyPutArgs,
}

/// What `key put` and `put` share after NAMESPACE.
#[derive(Debug, Args)]
pub(crate) struct KeyPutArgs {
    /// Key: letters, digits and `-` `_` `/` `=` `.`, up to 256 characters, not starting with `_`
    #[arg(value_parser = key_name)]
    pub key: String,

    /// The value, as given (UTF-8); use `--path` for files and binary data. Without VALUE or
    /// `--path`, the value is read from stdin when it is not a terminal
    #[arg(conflicts_with = "path")]
    pub value: Option<String>,

    /// Read the value from this file, or from stdin with `-`
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub path: Option<PathBuf>,

    /// Expire the key after this long: whole seconds of at least 1 (`30s`, `5m`, `1h30m`, `90`)
    #[arg(long, value_name = "DUR", value_parser = ttl, allow_hyphen_values = true)]
    pub ttl: Option<u64>,

    /// Content-Type stored with the value [default: application/octet-stream]
    #[arg(long, value_name = "TYPE")]
    pub content_type: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct KeyDeleteArgs {
    #[arg(help = NAMESPACE_HELP, add = ArgValueCandidates::new(crate::cli::complete::bindings))]
    pub namespace: String,

    #[arg(value_parser = key_name)]
    pub key: String,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; anything but loopback exposes your data to the network
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Also answer requests whose `Host` is NAME (loopback names always are); repeatable
    #[arg(long, value_name = "NAME")]
    pub allowed_host: Vec<String>,

    /// Port to listen on; 0 picks a free one (printed on stdout)
    #[arg(long, default_value_t = 8787)]
    pub port: u16,

    /// Directory of the emulator's database [default: .telnyx-edge/state next to the nearest
    /// func.toml, else in the working directory]
    #[arg(long, env = env::STATE_DIR, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub state_dir: Option<PathBuf>,

    /// Keep everything in memory; nothing is written to disk
    #[arg(long, conflicts_with = "state_dir")]
    pub in_memory: bool,

    /// Accept only this bearer token (any token is accepted without it); from the environment
    /// it stays out of `ps`
    #[arg(long, value_name = "KEY", env = env::EMULATOR_API_KEY, hide_env_values = true)]
    pub api_key: Option<String>,

    /// How long a new namespace stays `pending` before `provision_ok`
    #[arg(long, value_name = "DUR", default_value = "1s", value_parser = crate::cli::duration::parse)]
    pub provision_delay: Duration,

    /// How long a deleted namespace stays `deleting` before it is gone
    #[arg(long, value_name = "DUR", default_value = "1s", value_parser = crate::cli::duration::parse)]
    pub delete_delay: Duration,

    /// Make provisioning of this namespace name end in `provision_failed` (repeatable)
    #[arg(long, value_name = "NAME", value_parser = namespace_name)]
    pub fail_provision: Vec<String>,

    /// Answer requests beyond N per second with 429 and rate-limit headers
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: Option<u32>,

    /// Hold every answer back DUR, or DUR±JITTER (also written `DUR+-JITTER`), to play a
    /// distant service
    #[arg(long, value_name = "DUR", value_parser = crate::cli::duration::parse_latency)]
    pub latency: Option<crate::cli::duration::Latency>,

    /// Namespaces without TTL support: a PUT with `ttl_secs` gets 409, as on the service
    #[arg(long)]
    pub no_ttl: bool,
}

fn binding_name(value: &str) -> Result<String, String> {
    if crate::local::func_toml::valid_binding(value) {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "`{value}` is not a binding name; use upper-case letters, digits and `_`, not starting with a digit, such as `{}`",
            crate::local::func_toml::binding_for(value)
        ))
    }
}

/// `--bind` alone means the default binding, written as an empty string.
fn binding_or_default(value: &str) -> Result<String, String> {
    if value.is_empty() {
        Ok(String::new())
    } else {
        binding_name(value)
    }
}

/// A `--prefix`: never empty, so that an unset variable (`--prefix "$P"`) cannot select every
/// key; `--all` says that on purpose.
fn prefix(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err(
            "an empty prefix would select every key; give a prefix, leave `--prefix` out, or use `--all` where a command takes every key".to_owned(),
        );
    }
    Ok(value.to_owned())
}

fn key_name(value: &str) -> Result<String, String> {
    crate::api::rules::request_key(value)
        .map(|()| value.to_owned())
        .map_err(|err| err.to_string())
}

/// A TTL: a duration of whole seconds within the API's range.
fn ttl(value: &str) -> Result<u64, String> {
    crate::cli::duration::parse(value)
        .ok()
        .filter(|d| d.subsec_nanos() == 0 && crate::api::rules::ttl_secs(d.as_secs()).is_ok())
        .map(|d| d.as_secs())
        .ok_or_else(|| {
            format!(
                "`{value}` is not a valid TTL; use whole seconds from 1 to 9223372036, such as `30s`, `5m`, `1h30m` or `90`"
            )
        })
}

fn namespace_name(value: &str) -> Result<String, String> {
    crate::api::rules::namespace_name(value)
        .map(|()| value.to_owned())
        .map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_tree_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn ttls_are_whole_seconds_in_range() {
        assert_eq!(ttl("30s"), Ok(30));
        assert_eq!(ttl("90"), Ok(90));
        assert_eq!(ttl("1h30m"), Ok(5400));
        for bad in ["0", "-5", "1.5s", "abc", "500ms", "9223372037", ""] {
            assert!(ttl(bad).is_err(), "{bad}");
        }
    }
}
