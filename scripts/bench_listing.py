"""Time and peak memory of `du` and `key list --long --sort size` over a large namespace,
written into the `listing` section of docs/performance.md.

A file-backed emulator on loopback plays the service, holding KEYS keys (default 1,000,000; the
first argument changes it) named `user/NNNN/NNNNN` with values of 1 to 100 bytes in one
namespace, and 1,000 such keys in another. Each command runs once per namespace under
`/usr/bin/time`, its output thrown away; the small run shows what a run costs whatever its
size, so "flat" means the two peaks are close.

Run through scripts/bench-listing.sh, which builds the release binary first.
"""

import json
import os
import platform
import sys
import tempfile
from datetime import datetime, timezone

from bench_service import cli, measured, start_service, write_section

KEYS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
SMALL = 1_000
TARGET_MIB = 50
COMMANDS = (
    ("`du NS --depth 2`", ("storage", "kv", "du", "{ns}", "--depth", "2")),
    ("`key list NS --long --sort size`",
     ("storage", "kv", "key", "list", "{ns}", "--long", "--sort", "size")),
)


def seed(env, work, name, count):
    ns = cli(env, "-o", "ids", "storage", "kv", "create", "--name", name,
             capture=True).stdout.strip()
    data = os.path.join(work, f"{name}.ndjson")
    with open(data, "w") as f:
        for i in range(count):
            key = f"user/{i // 1000:04d}/{i % 1000:05d}"
            f.write(json.dumps({"key": key, "value": "v" * (1 + i % 100)}) + "\n")
    cli(env, "storage", "kv", "import", ns, data)
    os.remove(data)
    return ns


def main():
    work = tempfile.mkdtemp()
    proc, env = start_service(work)
    results = {}
    try:
        for name, count in (("small", SMALL), ("large", KEYS)):
            ns = seed(env, work, name, count)
            for label, args in COMMANDS:
                results[(label, name)] = measured(env, *(a.format(ns=ns) for a in args))
    finally:
        proc.terminate()
        proc.wait()

    rows = [f"| Command | {SMALL:,} keys | {KEYS:,} keys | Target |", "|---|--:|--:|--:|"]
    for label, _ in COMMANDS:
        cells = []
        for name in ("small", "large"):
            seconds, kib = results[(label, name)]
            cells.append(f"{seconds:.1f} s, {kib / 1024:.1f} MiB")
        rows.append(f"| {label} | {cells[0]} | {cells[1]} | < {TARGET_MIB} MB, flat |")
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    section = "\n".join([
        "## Listing at scale: `du` and sorted listings",
        "",
        f"Written by `bash scripts/bench-listing.sh {KEYS}` on {today}; {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}. Release build against a file-backed "
        "emulator on loopback; keys `user/NNNN/NNNNN` of 1 to 100 B; wall time and peak "
        "resident size (GNU time) of one run, output thrown away. `du` keeps one total per "
        "prefix and the `--top` heap; `--sort` writes the listing to a scratch SQLite file and "
        "reads it back in order; what it holds beyond a small run is SQLite's page cache and "
        "sort buffer, 2 MiB each at most (the sort spills to temporary files past that), "
        "whatever the size of the listing. Both read the same listing, a page of 1,000 keys at "
        "a time, and most of their time is the emulator answering those pages.",
        "",
        *rows,
    ])
    write_section("listing", section)


if __name__ == "__main__":
    main()
