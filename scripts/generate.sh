#!/usr/bin/env bash
# Regenerates what is generated from the command definitions and committed: completions/,
# docs/man/ and docs/reference.md. The test suite fails when they are stale.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo run --quiet --manifest-path "$root/Cargo.toml" -- generate-assets "$root"
