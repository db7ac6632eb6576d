#!/usr/bin/env bash
# The window `push` leaves (issue #23): the time between the service answering a key's re-check
# and receiving that key's write. Writes the `push-window` section of docs/performance.md.
# A benchmark, not a test: run it by hand on an idle machine.
#
#     bash scripts/bench-push-window.sh          # 2,000 keys
#     bash scripts/bench-push-window.sh 500      # fewer
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
exec python3 "$root/scripts/bench_push_window.py" "$@"
