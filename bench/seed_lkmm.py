"""The seed matrix (models/ftrace/*.spec) under --memory lkmm: time and memory per file.

    python bench/seed_lkmm.py [--unroll K] [--only SUBSTRING ...]

Each file runs `explorer check FILE --memory lkmm --unroll K --json` (K = 3 by default, the
least bound that finds every violation and reaches every goal of the seed matrix: README, the
seed table) in a process of its own, one after the other; printed per file: wall and CPU
seconds of that process, its peak resident memory (as it reports them), and each property's status. CPU seconds are
the meaningful figure on a shared machine (wall time there counts waiting for a core).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the child reports its own CPU seconds and peak memory on its last stderr line
CHILD = """import resource, sys
from smp_explorer.cli.main import main
try:
    code = main(sys.argv[1:])
finally:
    r = resource.getrusage(resource.RUSAGE_SELF)
    sys.stderr.write(f"\\nRUSAGE {r.ru_utime + r.ru_stime} {r.ru_maxrss}\\n")
sys.exit(code)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--unroll", type=int, default=3)
    ap.add_argument("--only", action="append", default=[])
    ns = ap.parse_args()
    files = [p for p in sorted((ROOT / "models" / "ftrace").glob("*.spec"))
             if not ns.only or any(s in p.name for s in ns.only)]
    print(f"models/ftrace under --memory lkmm --unroll {ns.unroll}")
    print(f"{'file':<22} {'wall s':>8} {'cpu s':>8} {'peak MB':>8}  statuses")
    total_wall = total_cpu = 0.0
    for path in files:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD, "check", str(path), "--memory",
                               "lkmm", "--unroll", str(ns.unroll), "--json"], cwd=ROOT,
                              capture_output=True, text=True)
        out, err = proc.stdout, proc.stderr
        wall = time.perf_counter() - start
        _, cpu_s, rss_kb = err.strip().splitlines()[-1].split()
        cpu, peak = float(cpu_s), int(rss_kb) / 1024   # Linux: ru_maxrss in KB
        try:
            [res] = json.loads(out)["results"]
            got = ", ".join(f"{p['name']} {p['status']}" for p in res["properties"])
        except (ValueError, KeyError):
            got = f"error (exit {proc.returncode}): {err.strip()[:200]}"
        total_wall += wall
        total_cpu += cpu
        print(f"{path.stem:<22} {wall:8.1f} {cpu:8.1f} {peak:8.0f}  {got}", flush=True)
    print(f"{'total':<22} {total_wall:8.1f} {total_cpu:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
