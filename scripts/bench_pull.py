"""`pull` benchmark (issue #16), written into the `pull` section of docs/performance.md.

A file-backed emulator on loopback plays the service, holding 10,000 keys of 100 bytes. Timed,
each into a fresh project (median of RUNS):

- `export NS | --local import NS`: the pipeline `pull` replaces;
- a first `pull` into empty local state;
- a second `pull` with nothing new on the service (the keys were written more than the
  settling time before the first pull, as production data is).

Run through scripts/bench-pull.sh, which builds the release binary first.
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
TOKEN = "KEYbench"
KEYS = 10_000
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def cli(env, cwd, *args, capture=False, stdin=None, stdout=None):
    return subprocess.run([BIN, "-q", *args], env=env, cwd=cwd, check=True, stdin=stdin,
                          stdout=subprocess.PIPE if capture else (stdout or subprocess.DEVNULL),
                          stderr=subprocess.DEVNULL, text=capture)


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    work = tempfile.mkdtemp()
    proc = subprocess.Popen(
        [BIN, "-q", "--json", "storage", "kv", "serve", "--port", "0", "--provision-delay", "0",
         "--state-dir", os.path.join(work, "service")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    base = json.loads(proc.stdout.readline())["base_url"]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": work, "TELNYX_BASE_URL": base,
           "TELNYX_API_KEY": TOKEN, "TELNYX_CONFIG_PATH": os.path.join(work, "config.toml")}
    try:
        ns = cli(env, work, "-o", "ids", "storage", "kv", "create", "--name", "bench",
                 capture=True).stdout.strip()
        data = os.path.join(work, "seed.ndjson")
        with open(data, "w") as f:
            for i in range(KEYS):
                f.write(json.dumps({"key": f"k{i:07d}", "value": "v" * 100}) + "\n")
        cli(env, work, "storage", "kv", "import", ns, data)
        time.sleep(3)  # older than the settling time, as data on a service is

        def project(name):
            path = os.path.join(work, name)
            os.makedirs(path)
            with open(os.path.join(path, "func.toml"), "w") as f:
                f.write(f'[storage.kv.BENCH]\nid = "{ns}"\n')
            return path

        pipes, firsts, seconds = [], [], []
        for run in range(RUNS):
            here = project(f"pipe-{run}")

            def pipeline():
                export = subprocess.Popen([BIN, "-q", "storage", "kv", "export", "BENCH"],
                                          env=env, cwd=here, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL)
                cli(env, here, "--local", "storage", "kv", "import", "BENCH",
                    stdin=export.stdout)
                export.stdout.close()
                if export.wait() != 0:
                    raise SystemExit("export failed")

            pipes.append(timed(pipeline))
            here = project(f"pull-{run}")
            firsts.append(timed(lambda: cli(env, here, "storage", "kv", "pull")))
            seconds.append(timed(lambda: cli(env, here, "storage", "kv", "pull")))
            count = cli(env, here, "--local", "-o", "ids", "storage", "kv", "key", "list", "BENCH",
                        capture=True).stdout.split()
            if len(count) != KEYS:
                raise SystemExit(f"pull copied {len(count)} keys, not {KEYS}")
    finally:
        proc.terminate()
        proc.wait()

    pipe, first, second = (statistics.median(xs) for xs in (pipes, firsts, seconds))
    rows = [
        "| Measure | Result | Target |",
        "|---|---|---|",
        f"| `export \\| --local import`, {KEYS:,} keys of 100 B | {pipe:.2f} s | |",
        f"| first `pull`, same keys | {first:.2f} s, {first / pipe:.2f}× the pipeline | within 1.5× |",
        f"| second `pull`, nothing new | {second:.2f} s, {first / second:.1f}× faster than the first | ≥ 3× |",
    ]
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    section = "\n".join([
        "## Pull",
        "",
        f"Written by `bash scripts/bench-pull.sh` on {today}; {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}. Release build; a file-backed emulator on "
        f"loopback plays the service; each figure is the median of {RUNS} runs, each into a fresh "
        "project.",
        "",
        *rows,
    ])
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "update_section.py"),
                    os.path.join(ROOT, "docs", "performance.md"), "pull"],
                   input=section, text=True, check=True)
    print(section)


if __name__ == "__main__":
    main()
