//! Integration tests: one binary, each test with its own emulator on `127.0.0.1:0` and its own
//! temporary directory.

mod emulator_keys;
mod emulator_namespaces;
mod emulator_server;
mod serve;
mod util;
