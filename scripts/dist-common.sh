# What the packaging scripts (release.sh, npm-pack.sh, dist-test.sh) read alike, sourced by
# each: Cargo.toml's version and this machine's target triple.

# Cargo.toml's version, carriage returns dropped (a checkout with Windows line endings).
cargo_version() {
  tr -d '\r' <"$1/Cargo.toml" | sed -n 's/^version = "\(.*\)"$/\1/p' | head -n 1
}

# The target triple rustc builds for here, or nothing where there is no rustc.
host_target() {
  { rustc -vV 2>/dev/null || true; } | sed -n 's/^host: //p'
}
