"""Adaptive-window benchmarks (issue #14), written into the `window` section of
docs/performance.md.

- `bulk put` of 5,000 keys of 100 B against `serve --latency 100ms --rate-limit 500`: time
  against the 10 s the limit allows (target ≤ 1.25×), share of requests answered 429 (target
  < 2%), every key written.
- The same against `serve --latency 100ms` with no limit (target ≤ 3 s), and with
  `--concurrency 16` (the old fixed window) for comparison.
- On loopback with no latency, `bulk put` of 10,000 keys: the adaptive window against
  `--concurrency 16`, median of 5 runs each (target: no regression beyond 10%).

Run through scripts/bench-window.sh, which builds the release binary first.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "telnyx-edge")


class Serve:
    """A running `serve --json`; `stop()` returns its closing counts."""

    def __init__(self, work, *flags):
        self.proc = subprocess.Popen(
            [BIN, "-q", "--json", "storage", "kv", "serve", "--port", "0", "--in-memory",
             "--provision-delay", "0", *flags],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.base = json.loads(self.proc.stdout.readline())["base_url"]
        self.env = {"PATH": os.environ.get("PATH", ""), "HOME": work,
                    "TELNYX_BASE_URL": self.base, "TELNYX_API_KEY": "KEYbench",
                    "TELNYX_CONFIG_PATH": os.path.join(work, "config.toml")}

    def cli(self, *args, stdin=None):
        out = subprocess.run([BIN, "-q", *args], env=self.env, check=True, stdin=stdin,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        return out.stdout

    def namespace(self, name):
        return self.cli("-o", "ids", "storage", "kv", "create", "--name", name).strip()

    def stop(self):
        self.proc.terminate()
        rest = self.proc.stdout.read()
        self.proc.wait()
        return json.loads(rest.strip().splitlines()[-1])


def write_ndjson(path, count, size):
    value = "v" * size
    with open(path, "w") as f:
        for i in range(count):
            f.write(json.dumps({"key": f"k{i:07d}", "value": value}) + "\n")


def put(serve, data, *flags):
    """`bulk put` into a new namespace: (seconds, summary, keys listed afterwards)."""
    ns = serve.namespace(f"n{time.monotonic_ns()}")
    start = time.perf_counter()
    summary = json.loads(serve.cli("--json", "storage", "kv", "bulk", "put", ns, data, *flags)
                         .strip().splitlines()[-1])
    secs = time.perf_counter() - start
    listed = len(serve.cli("-o", "ids", "storage", "kv", "key", "list", ns).splitlines())
    return secs, summary, listed


def main():
    work = tempfile.mkdtemp()
    data5k = os.path.join(work, "5k.ndjson")
    write_ndjson(data5k, 5_000, 100)
    data10k = os.path.join(work, "10k.ndjson")
    write_ndjson(data10k, 10_000, 100)

    serve = Serve(work, "--latency", "100ms", "--rate-limit", "500")
    limited_secs, limited, limited_listed = put(serve, data5k)
    stats = serve.stop()
    refused = stats["rate_limited"]
    share_429 = 100.0 * refused / stats["requests"]

    serve = Serve(work, "--latency", "100ms")
    open_secs, open_summary, open_listed = put(serve, data5k)
    fixed_secs, _, fixed_listed = put(serve, data5k, "--concurrency", "16")
    serve.stop()

    serve = Serve(work)
    adaptive, fixed = [], []
    for _ in range(5):
        adaptive.append(put(serve, data10k)[0])
        fixed.append(put(serve, data10k, "--concurrency", "16")[0])
    serve.stop()
    adaptive_secs, fixed16_secs = statistics.median(adaptive), statistics.median(fixed)

    def window(summary):
        w = summary["window"]
        return f"window {w['start']} → peak {w['peak']}, ended at {w['final']}"

    rows = [
        "| Measure | Result | Target |",
        "|---|---|---|",
        f"| `bulk put` 5,000 keys, `--latency 100ms --rate-limit 500` | {limited_secs:.1f} s "
        f"= {limited_secs / 10:.2f}× the 10 s the limit allows; {refused} of {stats['requests']:,} "
        f"requests answered 429 ({share_429:.1f}%); {limited_listed:,} keys written; "
        f"{window(limited)} | ≤ 1.25× (12.5 s), < 2% 429, every key |",
        f"| `bulk put` 5,000 keys, `--latency 100ms` | {open_secs:.1f} s ({5000 / open_secs:,.0f}/s); "
        f"{open_listed:,} keys written; {window(open_summary)} | ≤ 3 s |",
        f"| same with `--concurrency 16` (the old fixed window) | {fixed_secs:.1f} s "
        f"({5000 / fixed_secs:,.0f}/s); {fixed_listed:,} keys written | |",
        f"| `bulk put` 10,000 keys on loopback, adaptive (median of 5) | {adaptive_secs:.2f} s "
        f"({10000 / adaptive_secs:,.0f}/s) | within 10% of `--concurrency 16` |",
        f"| same with `--concurrency 16` (median of 5) | {fixed16_secs:.2f} s "
        f"({10000 / fixed16_secs:,.0f}/s); adaptive takes {adaptive_secs / fixed16_secs:.2f}× its time | |",
    ]
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    section = "\n".join([
        "## Bulk work over a slow link: the adaptive window",
        "",
        f"Written by `bash scripts/bench-window.sh` on {today}; {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}. Release build against in-memory emulators "
        "on loopback; `--latency` plays the distance to the service.",
        "",
        *rows,
    ])
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "update_section.py"),
                    os.path.join(ROOT, "docs", "performance.md"), "window"],
                   input=section, text=True, check=True)
    print(section)


if __name__ == "__main__":
    main()
