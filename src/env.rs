//! The names of every environment variable the tool reads, in one place (`docs/configuration.md`
//! documents them). Proxy variables are read by reqwest's matcher under their usual names.

/// The API root, like `--base-url` (the official SDKs read it too).
pub const BASE_URL: &str = "TELNYX_BASE_URL";
/// The API key; beats the config file.
pub const API_KEY: &str = "TELNYX_API_KEY";
/// The profile, like `--profile`.
pub const PROFILE: &str = "TELNYX_PROFILE";
/// Where the config file is (the official CLI's variable).
pub const CONFIG_PATH: &str = "TELNYX_CONFIG_PATH";
/// `1` means `--local`.
pub const LOCAL: &str = "TELNYX_EDGE_LOCAL";
/// Where `--local` and `serve` keep the emulator's data.
pub const STATE_DIR: &str = "TELNYX_EDGE_STATE_DIR";
/// `1` answers yes to confirmations (the official CLI's variable).
pub const SKIP_CONFIRMATIONS: &str = "TELNYX_EDGE_SKIP_CONFIRMATIONS";
/// Any value turns colour off (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";
/// A PEM file of CA certificates trusted beside the system's.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
/// Folders of PEM certificates trusted beside the system's.
pub const SSL_CERT_DIR: &str = "SSL_CERT_DIR";
