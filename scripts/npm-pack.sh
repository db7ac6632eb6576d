#!/usr/bin/env bash
# Packs the npm packages: @telnyx-edge-cli/telnyx-edge (npm/telnyx-edge, the `telnyx-edge`
# command, a small script) and the platform package of one target holding its binary,
# @telnyx-edge-cli/telnyx-edge-OS-CPU, which the first lists as an optional dependency.
#
#   scripts/npm-pack.sh --binary B [--target T] [--out DIR]   both packages
#   scripts/npm-pack.sh --binary B --platform-only ...        the platform package alone
#   scripts/npm-pack.sh --main-only [--out DIR]               the main package alone
#   scripts/npm-pack.sh --npm-platform T                      T in npm's words (linux-x64)
#
# T is one of `scripts/release.sh --list-targets`, or this machine's own target (the default),
# packed for testing. DIR (default target/npm) receives the .tgz files, whose paths are
# printed. Nothing is published: `npm publish FILE.tgz` does that.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# shellcheck source=dist-common.sh
. "$root/scripts/dist-common.sh"

# A target triple in npm's words: process.platform-process.arch.
npm_platform() {
  local os cpu
  case "$1" in
    x86_64-*) cpu=x64 ;;
    aarch64-*) cpu=arm64 ;;
    *) echo "npm-pack.sh: no npm cpu for $1" >&2; exit 2 ;;
  esac
  case "$1" in
    *-linux-*) os=linux ;;
    *-apple-darwin) os=darwin ;;
    *-windows-*) os=win32 ;;
    *) echo "npm-pack.sh: no npm os for $1" >&2; exit 2 ;;
  esac
  echo "$os-$cpu"
}

target="" binary="" out="$root/target/npm" main_only="" platform_only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --target) need "$1" "${2:-}"; target=$2; shift 2 ;;
    --binary) need "$1" "${2:-}"; binary=$2; shift 2 ;;
    --out) need "$1" "${2:-}"; out=$2; shift 2 ;;
    --main-only) main_only=1; shift ;;
    --platform-only) platform_only=1; shift ;;
    --npm-platform) need "$1" "${2:-}"; npm_platform "$2"; exit 0 ;;
    -h|--help) usage 0 ;;
    *) echo "npm-pack.sh: unknown argument \`$1\`" >&2; usage ;;
  esac
done

version=$(cargo_version "$root")
# The main package's version and its optional dependencies' must all be Cargo.toml's.
(cd "$root" && node -e '
const m = require("./npm/telnyx-edge/package.json");
const wrong = [["version", m.version], ...Object.entries(m.optionalDependencies)]
  .filter(([, v]) => v !== process.argv[1]);
if (wrong.length) {
  console.error(`npm-pack.sh: npm/telnyx-edge/package.json has ${wrong.map(([k, v]) => `${k} ${v}`).join(", ")}; Cargo.toml has ${process.argv[1]}`);
  process.exit(1);
}' "$version")

mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

pack() {
  local file
  file=$(cd "$1" && npm pack --silent --pack-destination "$out")
  echo "$out/$file"
}

# The main package: the script, the packages' README (links that work on npm) and LICENSE.
main="$stage/main"
cp -R "$root/npm/telnyx-edge" "$main"
cp "$root/LICENSE" "$main/"
cp "$root/docs/package-readme.md" "$main/README.md"
chmod 0755 "$main/bin/telnyx-edge.js"
if [ -n "$main_only" ]; then
  pack "$main"
  exit 0
fi

[ -n "$binary" ] && [ -f "$binary" ] || { echo "npm-pack.sh: --binary must name the built binary" >&2; exit 2; }
host=$(host_target)
target=${target:-$host}
[ -n "$target" ] || { echo "npm-pack.sh: no --target, and no rustc to tell this machine's" >&2; exit 2; }
# Read whole before grep: `grep -q` would stop reading at the match, and under pipefail the
# writer's broken pipe would fail the test now and then.
release_targets=$(bash "$root/scripts/release.sh" --list-targets)
if ! grep -qxF -- "$target" <<<"$release_targets"; then
  if [ "$target" != "$host" ]; then
    echo "npm-pack.sh: $target is not a release target (scripts/release.sh --list-targets)" >&2
    exit 2
  fi
  echo "npm-pack.sh: packing this machine's $target, not a release target: for testing" >&2
fi

platform_name=$(npm_platform "$target")
os=${platform_name%-*} cpu=${platform_name#*-}
case "$os" in win32) exe=telnyx-edge.exe ;; *) exe=telnyx-edge ;; esac

platform="$stage/platform"
mkdir -p "$platform/bin"
cp "$binary" "$platform/bin/$exe"
chmod 0755 "$platform/bin/$exe"
cp "$root/LICENSE" "$platform/"
cat >"$platform/README.md" <<EOF
# @telnyx-edge-cli/telnyx-edge-$os-$cpu

The \`telnyx-edge\` binary for $os $cpu ($target). Install
[@telnyx-edge-cli/telnyx-edge](https://www.npmjs.com/package/@telnyx-edge-cli/telnyx-edge)
instead, which picks this package on this platform.
EOF
cat >"$platform/package.json" <<EOF
{
  "name": "@telnyx-edge-cli/telnyx-edge-$os-$cpu",
  "version": "$version",
  "description": "The telnyx-edge binary for $os $cpu",
  "license": "MIT",
  "repository": {
    "type": "git",
    "url": "git+https://github.com/telnyx-edge-cli/telnyx-edge.git"
  },
  "os": ["$os"],
  "cpu": ["$cpu"],
  "files": ["bin/$exe", "README.md", "LICENSE"],
  "preferUnplugged": true
}
EOF

pack "$platform"
[ -n "$platform_only" ] || pack "$main"
