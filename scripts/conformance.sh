#!/usr/bin/env bash
# Conformance of the local emulator with the API contract:
#   1. schemathesis against ../shared/openapi/telnyx-kv.yml (all operations, bearer token set),
#      with tests/conformance/schemathesis.toml;
#   2. the official Python (PyPI `telnyx`) and TypeScript (npm `telnyx`) SDKs, driven by
#      tests/sdk/*, pointed at the emulator through TELNYX_BASE_URL.
# The tools are installed once into target/conformance. Set SCHEMATHESIS_SEED to explore other
# inputs; the default seed keeps CI deterministic.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
shared=${TELNYX_EDGE_SHARED:-$root/../shared}
tools=$root/target/conformance
bin=$root/target/debug/telnyx-edge
seed=${SCHEMATHESIS_SEED:-1}
key=KEYconformance

[ -x "$bin" ] || cargo build --quiet --manifest-path "$root/Cargo.toml"

if [ ! -x "$tools/venv/bin/st" ] || [ ! -x "$tools/venv/bin/python" ]; then
  echo "Installing schemathesis and the Python SDK into $tools/venv" >&2
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check \
    'schemathesis==4.32.5' 'telnyx==4.189.0'
fi
if [ ! -d "$tools/node/node_modules/telnyx" ]; then
  echo "Installing the TypeScript SDK into $tools/node" >&2
  mkdir -p "$tools/node"
  npm install --silent --no-audit --no-fund --prefix "$tools/node" 'telnyx@7.24.0' >/dev/null
fi

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# Starts an emulator with the given extra flags; sets BASE_URL.
start_emulator() {
  local out
  out=$(mktemp)
  "$bin" --quiet storage kv serve --port 0 --in-memory --api-key "$key" --json "$@" >"$out" &
  pids+=($!)
  for _ in $(seq 1 100); do
    [ -s "$out" ] && break
    sleep 0.1
  done
  BASE_URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$out")
  rm -f "$out"
}

echo "== schemathesis against $shared/openapi/telnyx-kv.yml" >&2
start_emulator --provision-delay 0 --delete-delay 0
"$tools/venv/bin/st" --config-file "$root/tests/conformance/schemathesis.toml" run \
  "$shared/openapi/telnyx-kv.yml" --url "$BASE_URL" \
  -H "Authorization: Bearer $key" --seed "$seed" --no-color

echo "== official SDKs" >&2
start_emulator --provision-delay 200ms --delete-delay 200ms
TELNYX_BASE_URL=$BASE_URL TELNYX_API_KEY=$key "$tools/venv/bin/python" "$root/tests/sdk/python_sdk.py"
# ESM resolves `telnyx` from the script's own directory, so the script runs from beside the SDK.
cp "$root/tests/sdk/node_sdk.mjs" "$tools/node/node_sdk.mjs"
TELNYX_BASE_URL=$BASE_URL TELNYX_API_KEY=$key node "$tools/node/node_sdk.mjs"
