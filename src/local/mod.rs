//! This machine's files: the config file and the settings resolved from it and the environment,
//! the environment variables read, `func.toml`, where a project and its local state live, and
//! atomic writes.

pub mod atomic;
pub mod config_file;
pub mod func_toml;
pub mod project;
pub mod settings;
