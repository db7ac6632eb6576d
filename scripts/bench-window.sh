#!/usr/bin/env bash
# Adaptive-window benchmarks (issue #14); writes the `window` section of docs/performance.md.
# A benchmark, not a test: run it by hand on an idle machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
exec python3 "$root/scripts/bench_window.py"
