#!/usr/bin/env bash
# The fault-schedule soak (docs/reliability.md): runs the `fault_schedules` tests with N seeds per
# scenario (`FAULT_SEEDS=N`) and writes their figures into the `soak` section of
# docs/reliability.md. Exits 1 when any schedule ended in a wrong state, a false success or an
# unfinished loop; the figures are written either way.
#
#     bash scripts/soak.sh 500
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seeds=${1:?usage: scripts/soak.sh N (seeds per scenario)}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

started=$(date +%s)
status=0
# A schedule mostly waits (stalls, backoffs), so many run at once.
FAULT_SEEDS="$seeds" FAULT_PARALLEL="${FAULT_PARALLEL:-16}" cargo test --manifest-path "$root/Cargo.toml" --test it fault_schedules \
  -- --nocapture >"$log" 2>&1 || status=$?
seconds=$(($(date +%s) - started))

if ! grep -q '^fault-schedules scenario=' "$log"; then
  tail -n 40 "$log" >&2
  echo "error: the suite printed no figures (exit $status)" >&2
  exit 1
fi
grep -E '^fault-schedules (scenario|failure)=?' "$log" | sort -u >&2

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
python3 - "$log" "$seeds" "$seconds" "$commit" <<'PY' | python3 "$root/scripts/update_section.py" "$root/docs/reliability.md" soak
import sys, datetime

log, seeds, seconds, commit = sys.argv[1:]
kinds = ["500", "503_applied", "drop_applied", "429", "reset", "stall"]
columns = ["schedules", "requests", "faults", *kinds, "rounds", "max_rounds",
           "unfinished", "wrong", "false_successes"]
rows, failures = [], []
for line in open(log, encoding="utf-8", errors="replace"):
    if line.startswith("fault-schedules scenario="):
        fields = dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)
        rows.append(fields)
    elif line.startswith("fault-schedules failure "):
        # Each failure is printed as it happens and again in the test's panic message.
        line = line.rstrip("\n")
        if line not in failures:
            failures.append(line)

total = {c: sum(int(r[c]) for r in rows) for c in columns}
total["max_rounds"] = max(int(r["max_rounds"]) for r in rows)

def fmt(n):
    return f"{int(n):,}"

print(f"Soak of {datetime.date.today().isoformat()} (commit `{commit}`): `bash scripts/soak.sh {seeds}`, "
      f"{seeds} seeds per scenario, {fmt(total['schedules'])} schedules in {fmt(seconds)} s.")
print()
print("| Scenario | Schedules | Requests | Faults | 500 | 503 applied | Dropped applied | 429 | Reset | Stall | Runs (most for one) | Unfinished | Wrong | False successes |")
print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
for r in sorted(rows, key=lambda r: r["scenario"]):
    print(f"| `{r['scenario']}` | " + " | ".join(fmt(r[c]) for c in columns[:9])
          + f" | {fmt(r['rounds'])} ({r['max_rounds']}) | "
          + " | ".join(fmt(r[c]) for c in columns[11:]) + " |")
print("| **all** | " + " | ".join(f"**{fmt(total[c])}**" for c in columns[:9])
      + f" | **{fmt(total['rounds'])}** ({total['max_rounds']}) | "
      + " | ".join(f"**{fmt(total[c])}**" for c in columns[11:]) + " |")
print()
bad = total["wrong"] + total["false_successes"] + total["unfinished"]
if bad == 0:
    print(f"**0 wrong**: every schedule ended with exactly the model's state, and no run exited 0 "
          f"with a wrong state.")
else:
    print(f"**{fmt(total['wrong'])} wrong final states, {fmt(total['false_successes'])} false "
          f"successes, {fmt(total['unfinished'])} unfinished loops.** The first failed schedules "
          f"(a seed's low 20 bits are its index: `FAULT_SEEDS` above it and the scenario's test name "
          f"replay it):")
    print()
    print("```")
    for line in failures[:20]:
        print(line.removeprefix("fault-schedules failure ")[:300])
    if len(failures) > 20:
        print(f"... and {len(failures) - 20} more")
    print("```")
PY

echo "Wrote the soak figures to docs/reliability.md" >&2
exit $((status == 0 ? 0 : 1))
