#!/usr/bin/env bash
# Drives the data explorer in headless Chromium (tests/browser/explorer.py: one test per item
# of the explorer's issue), installing Chromium, its WebDriver and the Selenium client when
# they are missing. scripts/test.sh runs it; `bash scripts/browser-test.sh docs/images` also
# refreshes the screenshots docs/explorer.md shows (then optimise them: docs/explorer.md says
# how). More arguments run only the tests whose names contain them.
set -euo pipefail
cd "$(dirname "$0")/.."
screenshots=${1:-target/explorer-screenshots}
shift || true

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "Installing chromium and chromium-driver (browser test)" >&2
  apt_get() { if [ "$(id -u)" = 0 ]; then apt-get "$@"; else sudo apt-get "$@"; fi; }
  apt_get update -qq
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq chromium chromium-driver >/dev/null
fi
if ! python3 -c 'import selenium' 2>/dev/null; then
  echo "Installing selenium (browser test)" >&2
  python3 -m pip install --quiet --disable-pip-version-check 'selenium==4.51.0'
fi

cargo build --locked --quiet
# Selenium is given the driver: it must not look for one, or phone home.
SE_OFFLINE=true SE_AVOID_STATS=true \
  python3 tests/browser/explorer.py "$PWD/target/debug/telnyx-edge" "$screenshots" "$@"
