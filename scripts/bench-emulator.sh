#!/usr/bin/env bash
# Measures the emulator over loopback with oha (32 connections) and writes the figures to
# docs/performance.md. Targets (issue #2): >= 20,000 GET/s of 100-byte values and >= 5,000 PUT/s,
# with p99 latency under 10 ms at those rates. Each operation runs twice: at the target rate
# (open loop, latency corrected for coordinated omission) and flat out, to show the headroom.
# A benchmark, not a test: run it by hand on an idle machine.
#   bash scripts/bench-emulator.sh [SECONDS]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-10}
out=$root/docs/performance.md
command -v oha >/dev/null || cargo install --locked --quiet oha

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin=$root/target/release/telnyx-edge
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT

# The default, file-backed store (SQLite in WAL mode), without the per-request log.
"$bin" --quiet storage kv serve --port 0 --provision-delay 0 --state-dir "$work/state" --json >"$work/serve.json" &
pid=$!
for _ in $(seq 1 100); do [ -s "$work/serve.json" ] && break; sleep 0.1; done
base=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$work/serve.json")
auth="Authorization: Bearer KEYbench"
id=$(curl -sf -H "$auth" -H 'Content-Type: application/json' -d '{"name":"bench"}' "$base/storage/kvs" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')
value=$(head -c 100 /dev/zero | tr '\0' 'v')
curl -sf -X PUT -H "$auth" --data-binary "$value" "$base/storage/kvs/$id/keys/hot" >/dev/null

# measure LABEL RATE(0 = flat out) OHA-ARGS… → one Markdown table row
measure() {
  local label=$1 rate=$2
  shift 2
  local limit=()
  [ "$rate" -gt 0 ] && limit=(-q "$rate" --latency-correction)
  echo "$label..." >&2
  oha --no-tui -c 32 -z "${seconds}s" "${limit[@]}" -H "$auth" --output-format json "$@" >"$work/oha.json"
  python3 - "$work/oha.json" "$label" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
codes = d["statusCodeDistribution"]
bad = sum(n for code, n in codes.items() if not code.startswith("2"))
# Requests still in flight when the run's time is up are cut off by oha, not failed.
bad += sum(n for err, n in d.get("errorDistribution", {}).items() if "deadline" not in err)
p = d["latencyPercentiles"]
print(f"| {sys.argv[2]} | {d['summary']['requestsPerSec']:,.0f} | {p['p50'] * 1000:.2f} ms | {p['p99'] * 1000:.2f} ms | {bad} |")
PY
}

rows=$(
  measure "GET 100 B at 20,000/s" 20000 "$base/storage/kvs/$id/keys/hot"
  measure "GET 100 B flat out" 0 "$base/storage/kvs/$id/keys/hot"
  measure "PUT 100 B at 5,000/s" 5000 -m PUT -d "$value" "$base/storage/kvs/$id/keys/put-target"
  measure "PUT 100 B flat out" 0 -m PUT -d "$value" "$base/storage/kvs/$id/keys/put-target"
)

{
  echo "## Emulator (\`storage kv serve\`)"
  echo
  echo "Written by \`bash scripts/bench-emulator.sh $seconds\` on $(date -u +%Y-%m-%d); $(nproc) cores,"
  echo "$(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr). The load generator and the emulator share the cores."
  echo
  echo "Release build, file-backed store (SQLite, WAL), \`--quiet\` (no request log), loopback,"
  echo "[oha](https://crates.io/crates/oha) with 32 connections for ${seconds}s per row. Rated rows are open"
  echo "loop with latency corrected for coordinated omission. GET reads one 100-byte value; PUT"
  echo "replaces one 100-byte value, each an acknowledged SQLite transaction. Failures counts non-2xx"
  echo "answers and transport errors (not the requests oha cuts off when the time is up)."
  echo
  echo "| Load | Requests/s | p50 | p99 | Failures |"
  echo "|---|---|---|---|---|"
  echo "$rows"
  echo
  echo "Targets (issue #2): at least 20,000 GET/s and 5,000 PUT/s, with p99 under 10 ms at those rates."
} | python3 "$root/scripts/update_section.py" "$out" emulator
cat "$out"
