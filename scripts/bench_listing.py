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
import subprocess
import sys
import tempfile
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("TELNYX_EDGE_BIN") or os.path.join(ROOT, "target", "release", "telnyx-edge")
TOKEN = "KEYbench"
KEYS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
SMALL = 1_000
TARGET_MIB = 50
COMMANDS = (
    ("`du NS --depth 2`", ("storage", "kv", "du", "{ns}", "--depth", "2")),
    ("`key list NS --long --sort size`",
     ("storage", "kv", "key", "list", "{ns}", "--long", "--sort", "size")),
)


def cli(env, *args, capture=False):
    return subprocess.run([BIN, "-q", *args], env=env, check=True,
                          stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, text=capture)


def measured(env, *args):
    """Wall time in seconds and peak resident size in KiB of one run (GNU time)."""
    result = subprocess.run(["/usr/bin/time", "-f", "%e %M", BIN, "-q", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{args} exited {result.returncode}: {result.stderr[-500:]}")
    seconds, kib = result.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kib)


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
    proc = subprocess.Popen(
        [BIN, "-q", "--json", "storage", "kv", "serve", "--port", "0", "--provision-delay", "0",
         "--state-dir", os.path.join(work, "service")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    base = json.loads(proc.stdout.readline())["base_url"]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": work, "TMPDIR": work,
           "TELNYX_BASE_URL": base, "TELNYX_API_KEY": TOKEN,
           "TELNYX_CONFIG_PATH": os.path.join(work, "config.toml")}
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
        "reads it back in order. Both read the same listing, a page of 1,000 keys at a time, "
        "and most of their time is the emulator answering those pages.",
        "",
        *rows,
    ])
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "update_section.py"),
                    os.path.join(ROOT, "docs", "performance.md"), "listing"],
                   input=section, text=True, check=True)
    print(section)


if __name__ == "__main__":
    main()
