#!/usr/bin/env bash
# Time and peak memory of `du` and `key list --long --sort size` over a large namespace;
# writes the `listing` section of docs/performance.md. A benchmark, not a test: run it by hand
# on an idle machine.
#
#     bash scripts/bench-listing.sh            # 1,000,000 keys
#     bash scripts/bench-listing.sh 100000     # fewer, faster
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ -x /usr/bin/time ] || { echo "error: GNU time (/usr/bin/time) is needed: apt-get install time" >&2; exit 1; }
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
exec python3 "$root/scripts/bench_listing.py" "$@"
