#!/usr/bin/env bash
# The whole test suite: formatting, lints, the emulator's conformance run, then every Rust test.
# This is the README's test command, and .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

# The completion tests run the committed and the installed scripts in real bash (with
# bash-completion's loader), zsh and fish, and type into a new interactive bash under tmux;
# `script` gives a test a terminal.
if ! command -v zsh >/dev/null || ! command -v fish >/dev/null || ! command -v tmux >/dev/null \
  || ! command -v jq >/dev/null || ! command -v script >/dev/null \
  || [ ! -f /usr/share/bash-completion/bash_completion ]; then
  echo "Installing zsh, fish, bash-completion, tmux (completion tests), jq (README examples) and script (terminal tests)" >&2
  apt_get() { if [ "$(id -u)" = 0 ]; then apt-get "$@"; else sudo apt-get "$@"; fi; }
  apt_get update -qq && apt_get install -y -qq zsh fish bash-completion jq tmux bsdutils >/dev/null
fi

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo build --locked
bash scripts/conformance.sh
cargo test --locked
bash scripts/browser-test.sh
# Every way the tool is installed, built and installed into a fresh place (docs/install.md).
bash scripts/dist-test.sh
