//! The names of every environment variable the tool reads, in one place (`docs/configuration.md`
//! documents them). Proxy variables are read by reqwest's matcher under their usual names.

/// The API root, like `--base-url` (the official SDKs read it too).
pub(crate) const BASE_URL: &str = "TELNYX_BASE_URL";
/// The API key; beats the config file.
pub(crate) const API_KEY: &str = "TELNYX_API_KEY";
/// The profile, like `--profile`.
pub(crate) const PROFILE: &str = "TELNYX_PROFILE";
/// Where the config file is (the official CLI's variable).
pub(crate) const CONFIG_PATH: &str = "TELNYX_CONFIG_PATH";
/// `1` means `--local`.
pub(crate) const LOCAL: &str = "TELNYX_EDGE_LOCAL";
/// Where `--local` and `serve` keep the emulator's data.
pub(crate) const STATE_DIR: &str = "TELNYX_EDGE_STATE_DIR";
/// The key `serve` accepts, like `--api-key` but out of `ps`.
pub(crate) const EMULATOR_API_KEY: &str = "TELNYX_EDGE_EMULATOR_API_KEY";
/// `1` answers yes to confirmations (the official CLI's variable).
pub(crate) const SKIP_CONFIRMATIONS: &str = "TELNYX_EDGE_SKIP_CONFIRMATIONS";
/// Any value turns colour off (<https://no-color.org>).
pub(crate) const NO_COLOR: &str = "NO_COLOR";
/// A PEM file of CA certificates trusted beside the system's.
pub(crate) const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
/// Folders of PEM certificates trusted beside the system's.
pub(crate) const SSL_CERT_DIR: &str = "SSL_CERT_DIR";

/// Every variable with what it does, for the generated reference (and man pages): the tool's
/// own, then the network's, which reqwest and the TLS set-up read.
pub(crate) const ALL: &[(&str, &str)] = &[
    (BASE_URL, "API root including `/v2`, like `--base-url`."),
    (API_KEY, "The API key; beats the config file."),
    (
        PROFILE,
        "Use `[profiles.NAME]` of the config file, like `--profile`.",
    ),
    (
        CONFIG_PATH,
        "Where the config file is [default: `~/.telnyx-edge/config.toml`].",
    ),
    (
        LOCAL,
        "`1` runs against the embedded emulator, like `--local`.",
    ),
    (
        STATE_DIR,
        "Where `--local` and `serve` keep their data [default: `.telnyx-edge/state/` next to the nearest func.toml, else in the working directory].",
    ),
    (
        SKIP_CONFIRMATIONS,
        "`1` answers yes to confirmations, like `--yes`.",
    ),
    (NO_COLOR, "Any value turns colour off."),
    (
        "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY",
        "Proxies, read as curl reads them (either case); never used by `--local`.",
    ),
    (
        SSL_CERT_FILE,
        "A PEM file of CA certificates trusted beside the system's store.",
    ),
    (
        SSL_CERT_DIR,
        "Folders (`:`-separated) of PEM certificates trusted beside the system's store.",
    ),
];
