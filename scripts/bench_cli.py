"""CLI benchmarks (issue #3), written into the `cli` section of docs/performance.md.

- `key get` of a 100-byte value from a running emulator against `curl` fetching the same URL:
  the two commands alternate, run after run, so both see the same machine state.
- `--version` and `--help`: wall time of the whole process.
- `key list -o ndjson` over 10,000 and 100,000 keys: peak RSS of the CLI process.

Run through scripts/bench-cli.sh, which builds the release binary first.
"""

import http.client
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "telnyx-edge")
TOKEN = "KEYbench"
RUNS = int(os.environ.get("BENCH_RUNS", "200"))


def start_emulator(state_dir):
    proc = subprocess.Popen(
        [BIN, "-q", "--json", "storage", "kv", "serve", "--port", "0", "--provision-delay", "0",
         "--state-dir", state_dir],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    info = json.loads(proc.stdout.readline())
    return proc, info["base_url"]


def request(conn, method, path, body=None, content_type=None):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if content_type:
        headers["Content-Type"] = content_type
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status >= 300:
        raise SystemExit(f"{method} {path}: {response.status} {data[:200]!r}")
    return data


def wall(argv, env):
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def peak_rss_kib(argv, env):
    """Runs argv and returns its peak resident set size in KiB (Linux ru_maxrss)."""
    code = ("import resource, subprocess, sys; "
            "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *argv], env=env, capture_output=True,
                         text=True, check=True)
    return int(out.stdout.strip())


def main():
    work = tempfile.mkdtemp()
    proc, base = start_emulator(os.path.join(work, "state"))
    try:
        host_port = base.split("//", 1)[1].split("/", 1)[0]
        host, port = host_port.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port))
        created = json.loads(request(conn, "POST", "/v2/storage/kvs", json.dumps({"name": "bench"}),
                                     "application/json"))
        ns = created["data"]["id"]
        request(conn, "PUT", f"/v2/storage/kvs/{ns}/keys/hot", b"v" * 100)
        env = {"PATH": os.environ.get("PATH", ""), "HOME": work, "TELNYX_BASE_URL": base,
               "TELNYX_API_KEY": TOKEN, "TELNYX_CONFIG_PATH": os.path.join(work, "config.toml")}

        cli = [BIN, "storage", "kv", "key", "get", ns, "hot"]
        curl = ["curl", "-sf", "-H", f"Authorization: Bearer {TOKEN}",
                f"{base}/storage/kvs/{ns}/keys/hot"]
        for _ in range(10):
            wall(cli, env)
            wall(curl, env)
        cli_times, curl_times = [], []
        for _ in range(RUNS):
            cli_times.append(wall(cli, env))
            curl_times.append(wall(curl, env))
        version = [wall([BIN, "--version"], env) for _ in range(RUNS)]
        helps = [wall([BIN, "--help"], env) for _ in range(RUNS)]

        rss = {}
        total = 0
        for count in (10_000, 100_000):
            while total < count:
                request(conn, "PUT", f"/v2/storage/kvs/{ns}/keys/k{total:06d}", b"x" * 100)
                total += 1
            rss[count] = peak_rss_kib([BIN, "-o", "ndjson", "storage", "kv", "key", "list", ns], env)
    finally:
        proc.terminate()
        proc.wait()

    ms = lambda xs: statistics.median(xs) * 1000
    ratio = ms(cli_times) / ms(curl_times)
    rows = [
        "| Measure | Result | Target |",
        "|---|---|---|",
        f"| `key get` of 100 B, median wall time | {ms(cli_times):.2f} ms (curl {ms(curl_times):.2f} ms, ratio {ratio:.2f}) | ≤ 1.5× curl |",
        f"| `--version`, median wall time | {ms(version):.2f} ms | < 5 ms |",
        f"| `--help`, median wall time | {ms(helps):.2f} ms | < 5 ms |",
        f"| `key list -o ndjson`, 10,000 keys, peak RSS | {rss[10_000] / 1024:.1f} MB | |",
        f"| `key list -o ndjson`, 100,000 keys, peak RSS | {rss[100_000] / 1024:.1f} MB | < 30 MB, not growing with the count |",
    ]
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    section = "\n".join([
        "## Command line",
        "",
        f"Written by `bash scripts/bench-cli.sh` on {today}; {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}. Release build against a running emulator "
        f"(file-backed) on loopback; {RUNS} runs each, `telnyx-edge` and `curl` alternating.",
        "",
        *rows,
    ])
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "update_section.py"),
                    os.path.join(ROOT, "docs", "performance.md"), "cli"],
                   input=section, text=True, check=True)
    print(section)


if __name__ == "__main__":
    main()
