#!/usr/bin/env bash
# The release profile, measured (issue #28): builds the binary under Cargo's default release
# profile and then with each setting of ours added in turn, and records size, startup
# (`--version`), a piece of CPU-bound work and build time in the `binary` section of
# docs/performance.md. A benchmark, not a test: run it by hand on an idle machine (seven
# clean release builds, about half an hour on 2 cores).
# BENCH_RUNS sets the startup repetitions; BENCH_MEASURE_ONLY=1 measures the binaries of an
# earlier run again (on a quiet machine), keeping its build times.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
exec python3 "$root/scripts/bench_binary.py"
