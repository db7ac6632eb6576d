#!/usr/bin/env bash
# Builds the release archive of one target: telnyx-edge-VERSION-TARGET.tar.gz (.zip for Windows)
# holding the binary, completions/, man/man1/, README.md and LICENSE, then writes SHA256SUMS
# over this version's archives in the output folder.
#
#   scripts/release.sh                        this machine's target, built with cargo
#   scripts/release.sh --target T             cross-build T with cargo (its target installed)
#   scripts/release.sh --target T --binary B  archive a binary built elsewhere (cargo zigbuild)
#   scripts/release.sh --list-targets         the targets a release is built for
#   scripts/release.sh --checksums DIR        only (re)write DIR/SHA256SUMS
#
# --out DIR (default target/dist) is where archives go. T is a release target or this
# machine's own. The release workflow (.github/workflows/release.yml) builds the targets
# listed here; a test keeps the two equal.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# The release targets: static musl binaries for Linux, both macOS architectures, Windows.
targets=(
  x86_64-unknown-linux-musl
  aarch64-unknown-linux-musl
  x86_64-apple-darwin
  aarch64-apple-darwin
  x86_64-pc-windows-msvc
)

# shellcheck source=dist-common.sh
. "$root/scripts/dist-common.sh"
# python3, or python where only that name exists (Windows runners).
python=$(command -v python3 || command -v python)
version=$(cargo_version "$root")
host=$(host_target)

checksums() {
  [ -d "$1" ] || { echo "release.sh: no folder $1" >&2; exit 2; }
  "$python" - "$1" "$version" "${targets[@]}" "$host" <<'PY'
import hashlib, pathlib, sys
out, version, targets = pathlib.Path(sys.argv[1]), sys.argv[2], [t for t in sys.argv[3:] if t]
# This version's archives of the release targets (and of this machine), nothing else.
names = {f"telnyx-edge-{version}-{t}.{ext}" for t in targets for ext in ("tar.gz", "zip")}
lines = []
for archive in sorted(out.iterdir()):
    if archive.name in names:
        lines.append(f"{hashlib.sha256(archive.read_bytes()).hexdigest()}  {archive.name}\n")
(out / "SHA256SUMS").write_text("".join(lines), newline="\n")
PY
}

target="" binary="" out="$root/target/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --target) need "$1" "${2:-}"; target=$2; shift 2 ;;
    --binary) need "$1" "${2:-}"; binary=$2; shift 2 ;;
    --out) need "$1" "${2:-}"; out=$2; shift 2 ;;
    --list-targets) printf '%s\n' "${targets[@]}"; exit 0 ;;
    --checksums) need "$1" "${2:-}"; checksums "$2"; exit 0 ;;
    -h|--help) usage 0 ;;
    *) echo "release.sh: unknown argument \`$1\`" >&2; usage ;;
  esac
done

target=${target:-$host}
[ -n "$target" ] || { echo "release.sh: no --target, and no rustc to tell this machine's" >&2; exit 2; }
case " ${targets[*]} $host " in
  *" $target "*) ;;
  *) echo "release.sh: $target is not a release target (--list-targets) nor this machine's ($host)" >&2; exit 2 ;;
esac
case "$target" in *windows*) exe=telnyx-edge.exe ;; *) exe=telnyx-edge ;; esac

if [ -z "$binary" ]; then
  if [ "$target" = "$host" ]; then
    # Without --target, so that the build is the one `cargo build --release` already made.
    cargo build --release --locked --manifest-path "$root/Cargo.toml"
    binary="$root/target/release/$exe"
  else
    cargo build --release --locked --manifest-path "$root/Cargo.toml" --target "$target"
    binary="$root/target/$target/release/$exe"
  fi
fi
[ -f "$binary" ] || { echo "release.sh: no binary at $binary" >&2; exit 1; }

name="telnyx-edge-$version-$target"
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name/completions" "$stage/$name/man/man1"
cp "$binary" "$stage/$name/$exe"
cp "$root"/completions/* "$stage/$name/completions/"
cp "$root"/docs/man/*.1 "$stage/$name/man/man1/"
cp "$root/README.md" "$root/LICENSE" "$stage/$name/"

# Archived by Python (on every runner, unlike GNU tar): entries sorted, owned by root, modes
# 0755 for the binary and folders and 0644 for the rest, dated SOURCE_DATE_EPOCH (the last
# commit's time by default), so a rebuild gives the same bytes.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 315532800)}
export SOURCE_DATE_EPOCH
"$python" - "$stage" "$name" "$out" "$exe" <<'PY'
import gzip, io, os, pathlib, sys, tarfile, time, zipfile
stage, name, out, exe = pathlib.Path(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3]), sys.argv[4]
epoch = int(os.environ["SOURCE_DATE_EPOCH"])
paths = [stage / name] + sorted((stage / name).rglob("*"))
def mode(p):
    return 0o755 if p.is_dir() or p.name == exe else 0o644
def arcname(p):
    return p.relative_to(stage).as_posix() + ("/" if p.is_dir() else "")
if exe.endswith(".exe"):
    # Zip dates are local times from 1980 on, to the even second.
    date = time.gmtime(max(epoch, 315532800))[:6]
    with zipfile.ZipFile(out / f"{name}.zip", "w") as z:
        for p in paths:
            info = zipfile.ZipInfo(arcname(p), date_time=date)
            info.create_system = 3  # Unix, wherever it is built, so the modes count and the bytes match
            info.external_attr = ((0o040000 if p.is_dir() else 0o100000) | mode(p)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, b"" if p.is_dir() else p.read_bytes())
else:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for p in paths:
            info = tar.gettarinfo(str(p), arcname(p).rstrip("/"))
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = epoch
            info.mode = mode(p)
            if p.is_file():
                with open(p, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    with open(out / f"{name}.tar.gz", "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=epoch) as gz:
            gz.write(raw.getvalue())
PY
checksums "$out"
case "$exe" in *.exe) echo "$out/$name.zip" ;; *) echo "$out/$name.tar.gz" ;; esac
