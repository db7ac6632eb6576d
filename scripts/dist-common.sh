# What the packaging scripts (release.sh, npm-pack.sh, dist-test.sh) read alike, sourced by
# each: Cargo.toml's version, this machine's target triple, and the scripts' usage messages.

# Cargo.toml's version, carriage returns dropped (a checkout with Windows line endings).
cargo_version() {
  tr -d '\r' <"$1/Cargo.toml" | sed -n 's/^version = "\(.*\)"$/\1/p' | head -n 1
}

# The target triple rustc builds for here, or nothing where there is no rustc.
host_target() {
  { rustc -vV 2>/dev/null || true; } | sed -n 's/^host: //p'
}

# The calling script's header comment as its usage: on stdout with exit 0 for --help, else on
# stderr with exit 2.
usage() {
  local to=2
  [ "${1:-2}" = 0 ] && to=1
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&"$to"
  exit "${1:-2}"
}

# need OPTION VALUE: a usage error when an option that takes a value was given none.
need() {
  [ -n "${2:-}" ] || { echo "$(basename "$0"): $1 needs a value" >&2; exit 2; }
}
