//! `auth`: the API key in the config file, and where it comes from.

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub(crate) struct AuthGroup {
    #[command(subcommand)]
    pub command: AuthCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuthCommand {
    /// The API key in the config file
    ApiKey(ApiKeyGroup),
    /// Where the API key comes from (masked) and whether the service accepts it
    ///
    /// Shows the API root, the key (masked: `KEY0…cdef`), where it comes from, and whether the
    /// service accepts it (`GET /storage/kvs?page[size]=1`). Exits 4 when there is no key or
    /// it is refused; when the service cannot be reached it says so and exits as the failure
    /// does, never claiming the key was refused.
    Status,
}

#[derive(Debug, Args)]
pub(crate) struct ApiKeyGroup {
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
