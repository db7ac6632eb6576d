"""Builds the release binary under a series of profiles, each adding one setting to the one
before, ending at the profile Cargo.toml declares; prints a Markdown table of size, startup,
a piece of CPU-bound work and build time, and writes it to the `binary` section of
docs/performance.md."""

import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "200"))
# BENCH_MEASURE_ONLY=1 measures the binaries an earlier run built again, keeping the build
# times it recorded (a build on a busy machine still measures a clean build; the startup and
# work columns want a quiet one).
MEASURE_ONLY = os.environ.get("BENCH_MEASURE_ONLY") == "1"
BUILDS = ROOT / "target" / "bench-binary" / "builds.json"

# Each step's settings, as Cargo's CARGO_PROFILE_RELEASE_* overrides. The first undoes
# Cargo.toml's profile, so it is Cargo's default release profile.
DEFAULT = {"OPT_LEVEL": "3", "LTO": "false", "CODEGEN_UNITS": "16", "STRIP": "debuginfo", "PANIC": "unwind"}
STEPS = [
    ("Cargo's default release profile", {}),
    ('`strip = "symbols"`', {"STRIP": "symbols"}),
    ('`lto = "thin"`', {"STRIP": "symbols", "LTO": "thin"}),
    ('`lto = "fat"` (instead of thin)', {"STRIP": "symbols", "LTO": "fat"}),
    ("`codegen-units = 1`", {"STRIP": "symbols", "LTO": "fat", "CODEGEN_UNITS": "1"}),
    ('`opt-level = "s"`', {"STRIP": "symbols", "LTO": "fat", "CODEGEN_UNITS": "1", "OPT_LEVEL": "s"}),
    ('`panic = "abort"` (not kept)', {"STRIP": "symbols", "LTO": "fat", "CODEGEN_UNITS": "1", "OPT_LEVEL": "s", "PANIC": "abort"}),
]
# The row that is Cargo.toml's profile.
CHOSEN = 5


def build(settings, name):
    target = ROOT / "target" / "bench-binary" / name
    recorded = json.loads(BUILDS.read_text()) if BUILDS.exists() else {}
    if MEASURE_ONLY:
        return target / "release" / "telnyx-edge", recorded[name]
    env = dict(os.environ)
    for key, value in {**DEFAULT, **settings}.items():
        env[f"CARGO_PROFILE_RELEASE_{key}"] = value
    start = time.monotonic()
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "--quiet", "--target-dir", str(target)],
        cwd=ROOT, env=env, check=True,
    )
    recorded[name] = time.monotonic() - start
    BUILDS.write_text(json.dumps(recorded))
    return target / "release" / "telnyx-edge", recorded[name]


def startup_once(binary):
    start = time.perf_counter()
    subprocess.run([str(binary), "--version"], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def work(binary):
    """Seconds for a local `bulk put` of 20,000 keys (JSON parsing, SQLite writes) and a sorted
    long listing of them through --jq: the command-line side's CPU-bound paths."""
    with tempfile.TemporaryDirectory() as tmp:
        lines = "".join(f'{{"key": "user/{i:06d}", "value": "{"x" * (i % 200)}"}}\n' for i in range(20000))
        pathlib.Path(tmp, "in.ndjson").write_text(lines)
        run = lambda *args: subprocess.run(
            [str(binary), "--local", "--quiet", "storage", "kv", *args],
            cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
        )
        run("create", "--name", "bench")
        start = time.monotonic()
        run("bulk", "put", "bench", "in.ndjson")
        run("key", "list", "bench", "--long", "--sort", "size", "--jq", "length")
        return time.monotonic() - start


def main():
    built = []
    for index, (label, settings) in enumerate(STEPS):
        binary, seconds = build(settings, f"step{index}")
        built.append((label, binary, seconds))
    # Measured in rounds, each binary once a round, so that a machine that speeds up or slows
    # down meanwhile weighs on every row alike.
    starts = [[] for _ in built]
    works = [[] for _ in built]
    for round_ in range(RUNS):
        for index, (_, binary, _) in enumerate(built):
            starts[index].append(startup_once(binary))
            if round_ < 5:
                works[index].append(work(binary))
    rows = []
    for index, (label, binary, seconds) in enumerate(built):
        size = binary.stat().st_size
        ms = statistics.median(starts[index]) * 1000
        busy = min(works[index])
        rows.append((label, size, ms, busy, seconds))
        print(f"{label}: {size / 1e6:.1f} MB, --version {ms:.2f} ms, work {busy:.2f} s, built in {seconds:.0f} s", file=sys.stderr)
    lines = [
        "## Binary size and startup",
        "",
        f"Written by `bash scripts/bench-binary.sh` on {time.strftime('%Y-%m-%d')}; {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, {platform.machine()}. Each row adds one setting to the row "
        "above, from Cargo's default release profile to the one Cargo.toml declares (in bold); the last row "
        "was measured and not kept. Size in MB (10^6 bytes) of `target/release/telnyx-edge`; startup is the median "
        f"wall time of {RUNS} runs of `telnyx-edge --version`; work is the best of five runs of a local `bulk put` "
        "of 20,000 keys then `key list --long --sort size --jq length` over them; build time is a clean release "
        "build, dependencies included. The binaries are measured in turn, one run each a round.",
        "",
        "| Profile | Size | Startup | Work | Build |",
        "|---|--:|--:|--:|--:|",
    ]
    for index, (label, size, ms, busy, seconds) in enumerate(rows):
        cells = [label, f"{size / 1e6:.1f} MB", f"{ms:.2f} ms", f"{busy:.2f} s", f"{seconds:.0f} s"]
        if index == CHOSEN:
            cells = [f"**{c}**" for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "On this shared machine the work column of one binary varies by about a tenth from run to run, "
        "so rows within that of each other are equally fast.",
        "",
        "Target (issue #28): at most 12 MB without losing a feature, with `--version` as fast as under "
        "Cargo's default profile. `panic = \"abort\"` would save the last row's difference but is not kept: "
        "with unwinding, a panicking task of the emulator answers 500 instead of ending the server, and "
        "temporary files are removed on the way out.",
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "update_section.py"), str(ROOT / "docs" / "performance.md"), "binary"],
        input=section, text=True, check=True,
    )


if __name__ == "__main__":
    main()
