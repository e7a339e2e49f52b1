#!/usr/bin/env python3
"""The visited set's speed and size as the state space grows: dining philosophers, N = 14..18.

    python bench/visited.py                         # dining N = 14 16 18, vector engine
    python bench/visited.py --ns 14 15 16 --engine auto --runs 3
    python bench/visited.py --spec classic/filter.spec --ns 5 6
    python bench/visited.py --before f47ae1a        # the same table for that commit first

Each point is one search in a fresh process (the median of --runs). The figure the issue's
target is about is states per CPU-second of the search (user + system time of the process while
it searches, so other load on the machine counts less than in wall-clock states/s); the target
is that N = 18 stays within 20% of N = 14. B/state is the engine's own storage (visited set,
parent links, actions); peak MB is the peak resident set of the process, and "x store" says how
many times the store that is (the batch temporaries on top). With --before REV, the same
points run first with the code of git revision REV (extracted with `git archive` into a
temporary directory and imported from there), so the before/after figures come from one
invocation on one machine.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
if len(sys.argv) > 2:      # the code of another revision, extracted in sys.argv[2]
    import importlib.util
    root = sys.argv[2]
    spec = importlib.util.spec_from_file_location(
        "smp_explorer", root + "/smp_explorer/__init__.py",
        submodule_search_locations=[root + "/smp_explorer", root])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["smp_explorer"] = mod
    spec.loader.exec_module(mod)
from smp_explorer.explorer.engines import explore
from smp_explorer.runs.compiled import compile_model
from smp_explorer.explorer.options import Options
from smp_explorer.spec.pipeline import load_model
spec, consts, memory, engine = json.loads(sys.argv[1])
model = load_model(spec, consts, memory, None)
cm = compile_model(model)
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
c0 = cpu()
r = explore(cm, Options(engine=engine), memory)
c1 = cpu()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"states": r.stats.states, "transitions": r.stats.transitions,
                  "seconds": r.stats.seconds, "cpu": c1 - c0, "peak": peak,
                  "bps": r.stats.bytes_per_state, "storage": r.stats.storage}))
"""


def one(spec: str, const: str, n: int, memory: str, engine: str, src: str | None) -> dict:
    arg = json.dumps([str(ROOT / "models" / spec), {const: str(n)}, memory, engine])
    p = subprocess.run([sys.executable, "-c", CHILD, arg] + ([src] if src else []),
                       cwd=src or ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"N = {n} failed:\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", default="classic/dining.spec")
    ap.add_argument("--const", default="N")
    ap.add_argument("--ns", nargs="*", type=int, default=[14, 16, 18])
    ap.add_argument("--memory", default="sc")
    ap.add_argument("--engine", default="vector")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--before", metavar="REV",
                    help="first run the same points with the code of git revision REV")
    a = ap.parse_args()
    if a.before:
        with tempfile.TemporaryDirectory() as src:
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", a.before],
                                     capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", src], input=archive, check=True)
            table(a, f"before ({a.before})", src)
    table(a, "this tree" if a.before else "", None)
    return 0


def table(a, label: str, src: str | None) -> None:
    print(f"{a.spec} under {a.memory}, engine {a.engine}, median of {a.runs} run(s)"
          + (f": {label}" if label else ""))
    print("| N | states | transitions | storage | s | CPU s | states/CPU-s | states/s | "
          "B/state | peak MB | x store |")
    print("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    base = None
    for n in a.ns:
        rs = [one(a.spec, a.const, n, a.memory, a.engine, src) for _ in range(a.runs)]
        r = rs[0]
        secs = statistics.median(x["seconds"] for x in rs)
        cpu = statistics.median(x["cpu"] for x in rs)
        peak = statistics.median(x["peak"] for x in rs)
        bps = statistics.median(x["bps"] for x in rs)
        per_cpu = r["states"] / cpu if cpu else 0.0
        base = base or per_cpu
        store = bps * r["states"]
        print(f"| {n} | {r['states']:,} | {r['transitions']:,} | {r['storage']} | {secs:.2f} | "
              f"{cpu:.2f} | {per_cpu:,.0f} ({per_cpu / base:.2f}x) | "
              f"{r['states'] / secs if secs else 0:,.0f} | {bps:.1f} | {peak / 2**20:.0f} | "
              f"{peak / store if store else 0:.1f} |")
        sys.stdout.flush()
    print()


if __name__ == "__main__":
    sys.exit(main())
