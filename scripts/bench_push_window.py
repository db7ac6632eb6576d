"""The window `push` leaves open (issue #23), written into the `push-window` section of
docs/performance.md.

The API has no conditional write, so `push` reads each key again just before writing it and
leaves it alone if it changed; a write by someone else that lands after that check and before
the push's write is still overwritten. This measures that gap where the service sees it: a
timing proxy on loopback, in front of a file-backed emulator playing the service, notes when it
passed on the answer to each key's check (a GET) and when the same key's write (a PUT)
arrived. On a real network, add one round trip.

Run through scripts/bench-push-window.sh, which builds the release binary first.
"""

import http.client
import http.server
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("TELNYX_EDGE_BIN", os.path.join(ROOT, "target", "release", "telnyx-edge"))
TOKEN = "KEYbench"
KEYS = int(sys.argv[1]) if len(sys.argv) > 1 else 2000

answered = {}  # key -> when its check's answer was passed on
gaps = []
lock = threading.Lock()


def proxy_for(upstream_host, upstream_port):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def setup(self):
            super().setup()
            # Headers and body go out as separate writes: without this, Nagle's algorithm and
            # delayed acknowledgements would add 40 ms to every answer.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def forward(self):
            arrived = time.perf_counter()
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            key = self.path.split("/keys/", 1)[1].split("?")[0] if "/keys/" in self.path else None
            if self.command == "PUT" and key is not None:
                with lock:
                    if key in answered:
                        gaps.append(arrived - answered.pop(key))
            conn = http.client.HTTPConnection(upstream_host, upstream_port)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            headers["Host"] = f"127.0.0.1:{upstream_port}"
            conn.request(self.command, self.path, body=body, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
            self.send_response(reply.status)
            for name, value in reply.getheaders():
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            if self.command == "GET" and key is not None:
                with lock:
                    answered[key] = time.perf_counter()
            conn.close()

        do_GET = do_PUT = do_DELETE = do_POST = forward

    return Handler


def cli(env, cwd, *args, capture=False):
    return subprocess.run([BIN, "-q", *args], env=env, cwd=cwd, check=True,
                          stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, text=True)


def measure(concurrency):
    """Pushes KEYS changed keys with `--concurrency` (None: the default); the gaps in ms."""
    answered.clear()
    gaps.clear()
    work = tempfile.mkdtemp()
    serve = subprocess.Popen(
        [BIN, "-q", "--json", "storage", "kv", "serve", "--port", "0", "--provision-delay", "0",
         "--state-dir", os.path.join(work, "service")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    upstream = json.loads(serve.stdout.readline())["base_url"]
    host_port = upstream.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), proxy_for(host, int(port)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/v2"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": work, "TELNYX_BASE_URL": upstream,
           "TELNYX_API_KEY": TOKEN, "TELNYX_CONFIG_PATH": os.path.join(work, "config.toml")}
    try:
        ns = cli(env, work, "-o", "ids", "storage", "kv", "create", "--name", "bench",
                 capture=True).stdout.strip()
        project = os.path.join(work, "project")
        os.makedirs(project)
        with open(os.path.join(project, "func.toml"), "w") as f:
            f.write(f'[storage.kv.BENCH]\nid = "{ns}"\n')
        data = os.path.join(work, "keys.ndjson")
        with open(data, "w") as f:
            for i in range(KEYS):
                f.write(json.dumps({"key": f"k{i:07d}", "value": "v" * 100}) + "\n")
        cli(env, work, "storage", "kv", "import", ns, data)
        # The sync record is kept per API root: pull and push through the same one.
        env["TELNYX_BASE_URL"] = base
        cli(env, project, "storage", "kv", "pull")
        with open(data, "w") as f:
            for i in range(KEYS):
                f.write(json.dumps({"key": f"k{i:07d}", "value": "w" * 100}) + "\n")
        cli(env, project, "--local", "storage", "kv", "import", "BENCH", data)
        extra = [] if concurrency is None else ["--concurrency", str(concurrency)]
        cli(env, project, "storage", "kv", "push", "--yes", *extra)
    finally:
        server.shutdown()
        serve.terminate()
        serve.wait()
    if len(gaps) != KEYS:
        raise SystemExit(f"saw {len(gaps)} check-then-write pairs, not {KEYS}")
    return sorted(gap * 1000 for gap in gaps)


def main():
    rows = []
    for concurrency, label in ((1, "1"), (None, "default (64)")):
        ms = measure(concurrency)
        p99 = ms[int(len(ms) * 0.99) - 1]
        rows.append(f"| {label} | {statistics.median(ms):.2f} ms | {p99:.2f} ms | {ms[-1]:.2f} ms |")
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    section = "\n".join([
        "## Push window",
        "",
        f"Written by `bash scripts/bench-push-window.sh` on {today}; {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}. Release build; `push` of {KEYS:,} changed "
        "keys of 100 B through a timing proxy (Python, one thread per request) in front of a "
        "file-backed emulator on loopback. The window is the time from the proxy passing on the "
        "answer to a key's re-check to that key's write arriving there: a write by someone else "
        "in between is overwritten. With many requests in flight the proxy's own queueing adds "
        "to it; on a real network, add one round trip.",
        "",
        "| Concurrency | Median | 99th percentile | Largest |",
        "|---|---|---|---|",
        *rows,
    ])
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "update_section.py"),
                    os.path.join(ROOT, "docs", "performance.md"), "push-window"],
                   input=section, text=True, check=True)
    print(section)


if __name__ == "__main__":
    main()
