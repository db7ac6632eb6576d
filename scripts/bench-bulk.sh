#!/usr/bin/env bash
# Bulk benchmarks (issue #6); writes the `bulk` section of docs/performance.md.
# A benchmark, not a test: run it by hand on an idle machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
exec python3 "$root/scripts/bench_bulk.py"
