//! This machine's files: the config file and the settings resolved from it and the environment,
//! the environment variables read, `func.toml` (both read by one TOML loader), where a project and its local state live, and
//! atomic writes, the content type of a file stored as a value.

pub(crate) mod atomic;
pub(crate) mod config_file;
pub(crate) mod content_type;
pub(crate) mod func_toml;
pub(crate) mod notice;
pub(crate) mod project;
pub(crate) mod seen;
pub(crate) mod settings;
pub(crate) mod toml_file;
