#!/usr/bin/env bash
# Measures the emulator over loopback with wrk (32 connections, 2 threads) and writes the figures
# to docs/performance.md. Targets (issue #2): >= 20,000 GET/s of 100-byte values and >= 5,000
# PUT/s, p99 under 10 ms. A benchmark, not a test: run it by hand on an idle machine.
#   bash scripts/bench-emulator.sh [SECONDS]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-10}
out=$root/docs/performance.md
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin=$root/target/release/telnyx-edge
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT

# The default, file-backed store (SQLite in WAL mode), without the per-request log.
"$bin" --quiet storage kv serve --port 0 --provision-delay 0 --state-dir "$work/state" --json >"$work/serve.json" &
pid=$!
for _ in $(seq 1 100); do [ -s "$work/serve.json" ] && break; sleep 0.1; done
base=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$work/serve.json")
auth="Authorization: Bearer KEYbench"

id=$(curl -sf -H "$auth" -H 'Content-Type: application/json' -d '{"name":"bench"}' "$base/storage/kvs" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')
value=$(printf 'v%.0s' $(seq 1 100))
curl -sf -X PUT -H "$auth" --data-binary "$value" "$base/storage/kvs/$id/keys/hot" >/dev/null

cat >"$work/put.lua" <<LUA
local n = 0
local body = string.rep("v", 100)
request = function()
  n = n + 1
  return wrk.format("PUT", "/v2/storage/kvs/$id/keys/k" .. (n % 10000), {["Authorization"] = "Bearer KEYbench"}, body)
end
LUA

run() { wrk -t2 -c32 -d"${seconds}s" --latency -H "$auth" "$@"; }
echo "GET for ${seconds}s..." >&2
get=$(run "$base/storage/kvs/$id/keys/hot")
echo "PUT for ${seconds}s..." >&2
put=$(run -s "$work/put.lua" "$base/storage/kvs/$id/keys/x")

# rate, p50, p99, non-2xx count from wrk's report
summary() {
  local rate p50 p99 errors
  rate=$(awk '/^Requests\/sec/ {printf "%d", $2}' <<<"$1")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$1")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$1")
  errors=$(awk '/Non-2xx/ {print $NF}' <<<"$1")
  echo "| $2 | $rate | $p50 | $p99 | ${errors:-0} |"
}

{
  echo "# Performance"
  echo
  echo "Figures written by \`bash scripts/bench-emulator.sh $seconds\` on $(date -u +%Y-%m-%d)."
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr); wrk and the emulator share the cores."
  echo
  echo "## Emulator (\`storage kv serve\`)"
  echo
  echo "Release build, file-backed store (SQLite, WAL), \`--quiet\` (no request log), loopback,"
  echo "\`wrk -t2 -c32 -d${seconds}s --latency\`. GET reads one 100-byte value; PUT writes 100-byte"
  echo "values to 10,000 rotating keys, each an acknowledged SQLite transaction."
  echo
  echo "| Operation | Requests/s | p50 | p99 | Non-2xx |"
  echo "|---|---|---|---|---|"
  summary "$get" "GET 100 B"
  summary "$put" "PUT 100 B"
  echo
  echo "Targets (issue #2): at least 20,000 GET/s and 5,000 PUT/s, p99 under 10 ms."
  echo
  echo "<details><summary>wrk output</summary>"
  echo
  echo '```'
  echo "$get"
  echo
  echo "$put"
  echo '```'
  echo "</details>"
} >"$out"
cat "$out"
