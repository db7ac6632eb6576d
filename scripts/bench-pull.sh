#!/usr/bin/env bash
# `pull` benchmark (issue #16); writes the `pull` section of docs/performance.md.
# A benchmark, not a test: run it by hand on an idle machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
exec python3 "$root/scripts/bench_pull.py" "$@"
