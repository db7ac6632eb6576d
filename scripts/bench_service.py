"""What the large-namespace benchmarks (bench_listing.py, bench_memory.py) share: the release
binary, a file-backed emulator on loopback playing the service, one run measured with GNU time,
and writing a section of docs/performance.md.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("TELNYX_EDGE_BIN") or os.path.join(ROOT, "target", "release", "telnyx-edge")
TOKEN = "KEYbench"


def start_service(work):
    """An emulator with its state under `work`, and the environment that points the CLI at it
    (HOME, TMPDIR and the config file under `work` too)."""
    proc = subprocess.Popen(
        [BIN, "-q", "--json", "storage", "kv", "serve", "--port", "0", "--provision-delay", "0",
         "--state-dir", os.path.join(work, "service")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    base = json.loads(proc.stdout.readline())["base_url"]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": work, "TMPDIR": work,
           "TELNYX_BASE_URL": base, "TELNYX_API_KEY": TOKEN,
           "TELNYX_CONFIG_PATH": os.path.join(work, "config.toml")}
    return proc, env


def cli(env, *args, cwd=None, capture=False):
    return subprocess.run([BIN, "-q", *args], env=env, cwd=cwd, check=True,
                          stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, text=capture)


def measured(env, *args, cwd=None):
    """Wall time in seconds and peak resident size in KiB of one run (GNU time)."""
    result = subprocess.run(["/usr/bin/time", "-f", "%e %M", BIN, "-q", *args], env=env,
                            cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    if result.returncode != 0:
        raise SystemExit(f"{args} exited {result.returncode}: {result.stderr[-500:]}")
    seconds, kib = result.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kib)


def write_section(name, section):
    """Replaces the section `name` of docs/performance.md with `section`, and prints it."""
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "update_section.py"),
                    os.path.join(ROOT, "docs", "performance.md"), name],
                   input=section, text=True, check=True)
    print(section)
