#!/usr/bin/env bash
# Command-line benchmarks (issue #3); writes the `cli` section of docs/performance.md.
# A benchmark, not a test: run it by hand on an idle machine. BENCH_RUNS sets the repetitions.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
exec python3 "$root/scripts/bench_cli.py"
