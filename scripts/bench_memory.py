"""Memory per key of `pull` and `diff` (issue #22), written into the `memory` section of
docs/performance.md.

A file-backed emulator on loopback plays the service, holding KEYS keys of 100 bytes (default
1,000,000; the first argument changes it) in one namespace and 1,000 in another. A project binds
each, then, each under `/usr/bin/time`:

- a first `pull`, which copies every key into local state (its work is one item a key);
- `diff remote:NS local:NS` (the listings and the sync record merged as streams);
- a second `pull` with nothing new (the target of issue #22).

The memory per key is the difference of the peak resident sizes between the large and the small
namespace, divided by the difference of their key counts, so that what a run costs whatever
its size (the binary, the runtime, buffers) is left out.

Run through scripts/bench-memory.sh, which builds the release binary first.
"""

import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone

from bench_service import cli, measured, start_service, write_section

KEYS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
SMALL = 1_000
TARGET = 150


def peak_kib(env, cwd, *args):
    """The peak resident size of one run, in KiB (GNU time's %M)."""
    return measured(env, *args, cwd=cwd)[1]


def main():
    work = tempfile.mkdtemp()
    proc, env = start_service(work)
    peaks = {}
    try:
        for name, count in (("small", SMALL), ("large", KEYS)):
            ns = cli(env, "-o", "ids", "storage", "kv", "create", "--name", name, cwd=work,
                     capture=True).stdout.strip()
            data = os.path.join(work, f"{name}.ndjson")
            with open(data, "w") as f:
                for i in range(count):
                    f.write(json.dumps({"key": f"user/{i:09d}", "value": "v" * 100}) + "\n")
            cli(env, "storage", "kv", "import", ns, data, cwd=work)
            here = os.path.join(work, f"project-{name}")
            os.makedirs(here)
            with open(os.path.join(here, "func.toml"), "w") as f:
                f.write(f'[storage.kv.BENCH]\nid = "{ns}"\n')
            time.sleep(3)  # older than the settling time, as data on a service is
            peaks[name] = {
                "first pull": peak_kib(env, here, "storage", "kv", "pull"),
                "diff": peak_kib(env, here, "storage", "kv", "diff", "remote:BENCH",
                                 "local:BENCH"),
                "pull": peak_kib(env, here, "storage", "kv", "pull"),
            }
    finally:
        proc.terminate()
        proc.wait()

    rows = ["| Command | Peak, 1,000 keys | Peak, {:,} keys | Per key | Target |".format(KEYS),
            "|---|--:|--:|--:|--:|"]
    for command, target in (("first pull", ""), ("diff", f"≤ {TARGET} B"),
                            ("pull", f"≤ {TARGET} B")):
        small, large = peaks["small"][command], peaks["large"][command]
        per_key = (large - small) * 1024 / (KEYS - SMALL)
        shown = "`pull`, the first" if command == "first pull" else f"`{command}`"
        rows.append(f"| {shown} | {small / 1024:.1f} MiB | {large / 1024:.1f} MiB | "
                    f"{per_key:.0f} B | {target} |")
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    section = "\n".join([
        "## Memory per key",
        "",
        f"Written by `bash scripts/bench-memory.sh {KEYS}` on {today}; {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}. Release build; keys `user/NNNNNNNNN` of "
        "100 B on a file-backed emulator on loopback; the peak resident size (GNU time) of a "
        "first `pull` (which copies every key), of `diff remote:NS local:NS` and of a second "
        "`pull` with nothing new, the 1,000-key run subtracted from the large one. The target "
        "is for a comparison with nothing to copy; a run that copies keeps its work, one item a "
        "key.",
        "",
        *rows,
    ])
    write_section("memory", section)


if __name__ == "__main__":
    main()
