#!/usr/bin/env bash
# The whole test suite: formatting, lints, the emulator's conformance run, then every Rust test.
# This is the README's test command, and .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo build --locked
bash scripts/conformance.sh
cargo test --locked
