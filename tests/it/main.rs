//! Integration tests: one binary, each test with its own emulator on `127.0.0.1:0` and its own
//! temporary directory.

mod architecture;
mod bulk;
mod cli_auth;
mod cli_bindings;
mod cli_errors;
#[cfg(unix)]
mod cli_hardening;
mod cli_keys;
mod cli_local;
mod cli_namespaces;
mod cli_network;
mod cli_scripts;
mod completions;
mod delete_bound;
mod distribution;
mod doc_examples;
mod du;
mod emulator_keys;
mod emulator_namespaces;
mod emulator_server;
mod error_reports;
#[cfg(unix)]
mod explorer;
mod fault_schedules;
mod func_toml_fixtures;
mod help;
mod help_layout;
mod jq;
#[cfg(unix)]
mod key_edit;
mod one_shell;
mod serve;
#[cfg(unix)]
mod serve_detach;
mod support;
mod sync;
mod value_on_terminal;
