"""Bulk benchmarks (issue #6), written into the `bulk` section of docs/performance.md.

- `bulk put` of 10,000 new keys of 100 bytes, against `xargs -P 8` running one `curl -X PUT` per
  key, and against the emulator's own capacity for new keys measured by wrk (32 connections).
- `export` of 10,000 and 100,000 keys: peak RSS of the CLI.
- `import` of a 200 MB NDJSON file: peak RSS of the CLI.

Run through scripts/bench-bulk.sh, which builds the release binary and installs wrk first.
"""

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "telnyx-edge")
TOKEN = "KEYbench"


def start(state):
    proc = subprocess.Popen(
        [BIN, "-q", "--json", "storage", "kv", "serve", "--port", "0", "--provision-delay", "0",
         "--state-dir", state], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, json.loads(proc.stdout.readline())["base_url"]


def cli(env, *args, stdin=None, capture=False):
    return subprocess.run([BIN, "-q", *args], env=env, check=True, stdin=stdin,
                          stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, text=capture)


def peak_rss_mb(argv, env):
    code = ("import resource, subprocess, sys; "
            "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *argv], env=env, capture_output=True,
                         text=True, check=True)
    return int(out.stdout.strip()) / 1024


def write_ndjson(path, count, size, prefix):
    value = "v" * size
    with open(path, "w") as f:
        for i in range(count):
            f.write(json.dumps({"key": f"{prefix}{i:07d}", "value": value}) + "\n")


def main():
    work = tempfile.mkdtemp()
    proc, base = start(os.path.join(work, "state"))
    env = {"PATH": os.environ.get("PATH", ""), "HOME": work, "TELNYX_BASE_URL": base,
           "TELNYX_API_KEY": TOKEN, "TELNYX_CONFIG_PATH": os.path.join(work, "config.toml")}
    try:
        ns = cli(env, "-o", "ids", "storage", "kv", "create", "--name", "bench", capture=True).stdout.strip()

        puts = os.path.join(work, "10k.ndjson")
        write_ndjson(puts, 10_000, 100, "k")
        start_t = time.perf_counter()
        cli(env, "storage", "kv", "bulk", "put", ns, puts)
        bulk_secs = time.perf_counter() - start_t

        keys = os.path.join(work, "keys.txt")
        with open(keys, "w") as f:
            f.writelines(f"c{i:07d}\n" for i in range(10_000))
        value = "v" * 100
        curl = (f"curl -sf -o /dev/null -X PUT -H 'Authorization: Bearer {TOKEN}' "
                f"--data-binary {value} {base}/storage/kvs/{ns}/keys/$0")
        start_t = time.perf_counter()
        subprocess.run(["xargs", "-P", "8", "-n", "1", "sh", "-c", curl], stdin=open(keys),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        curl_secs = time.perf_counter() - start_t

        # The emulator's own capacity for the same work: new 100-byte keys, each PUT a fresh
        # insert, from wrk with 32 connections (a Lua script names a new key per request).
        lua = os.path.join(work, "put.lua")
        with open(lua, "w") as f:
            f.write(
                "local n = 0\n"
                f"local body = string.rep('v', 100)\n"
                "request = function()\n"
                "  n = n + 1\n"
                f"  return wrk.format('PUT', '/v2/storage/kvs/{ns}/keys/w' .. wrk.thread:get('id') .. '-' .. n, "
                f"{{['Authorization'] = 'Bearer {TOKEN}'}}, body)\n"
                "end\n"
                "setup = function(thread) thread:set('id', tostring(math.random(1, 1e9))) end\n"
            )
        wrk = subprocess.run(["wrk", "-t2", "-c32", "-d5s", "-s", lua, f"{base}/storage/kvs"],
                             capture_output=True, text=True, check=True)
        capacity = next(float(line.split()[1]) for line in wrk.stdout.splitlines()
                        if line.startswith("Requests/sec"))

        export_rss = {}
        total = 20_000
        for count in (10_000, 100_000):
            ns_x = cli(env, "-o", "ids", "storage", "kv", "create", "--name", f"export-{count}",
                       capture=True).stdout.strip()
            data = os.path.join(work, f"export-{count}.ndjson")
            write_ndjson(data, count, 100, "e")
            cli(env, "storage", "kv", "import", ns_x, data)
            export_rss[count] = peak_rss_mb([BIN, "-q", "storage", "kv", "export", ns_x], env)

        big = os.path.join(work, "200mb.ndjson")
        write_ndjson(big, 200_000, 1000, "i")
        size_mb = os.path.getsize(big) / 1e6
        ns_i = cli(env, "-o", "ids", "storage", "kv", "create", "--name", "import", capture=True).stdout.strip()
        start_t = time.perf_counter()
        import_rss = peak_rss_mb([BIN, "-q", "storage", "kv", "import", ns_i, big], env)
        import_secs = time.perf_counter() - start_t
    finally:
        proc.terminate()
        proc.wait()

    bulk_rate = 10_000 / bulk_secs
    curl_rate = 10_000 / curl_secs
    rows = [
        "| Measure | Result | Target |",
        "|---|---|---|",
        f"| `bulk put`, 10,000 keys of 100 B | {bulk_secs:.2f} s ({bulk_rate:,.0f}/s) | |",
        f"| `xargs -P 8` + `curl -X PUT`, same keys | {curl_secs:.2f} s ({curl_rate:,.0f}/s); `bulk put` is {bulk_rate / curl_rate:.1f}× faster | ≥ 10× |",
        f"| emulator PUT capacity for new keys (wrk, 32 connections) | {capacity:,.0f}/s; `bulk put` reaches 1/{capacity / bulk_rate:.2f} of it | within 1.5× |",
        f"| `export`, 10,000 keys, peak RSS | {export_rss[10_000]:.1f} MB | |",
        f"| `export`, 100,000 keys, peak RSS | {export_rss[100_000]:.1f} MB | < 50 MB, within 10% of 10,000 |",
        f"| `import`, {size_mb:.0f} MB NDJSON (200,000 keys of 1 KB), peak RSS | {import_rss:.1f} MB ({import_secs:.1f} s) | < 64 MB |",
    ]
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    section = "\n".join([
        "## Bulk work",
        "",
        f"Written by `bash scripts/bench-bulk.sh` on {today}; {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}. Release build against a running emulator "
        "(file-backed) on loopback, the default adaptive window (ceiling 256).",
        "",
        *rows,
    ])
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "update_section.py"),
                    os.path.join(ROOT, "docs", "performance.md"), "bulk"],
                   input=section, text=True, check=True)
    print(section)


if __name__ == "__main__":
    main()
