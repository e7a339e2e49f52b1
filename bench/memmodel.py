#!/usr/bin/env python3
"""Memory-model workloads next to filter6, in one run (issue 10, item 1).

    python bench/memmodel.py                      # the default set, engine auto
    python bench/memmodel.py --engine scalar --only v2-atomic

Each row is one search in a fresh process: the time to generate and compile the model's code
(`Stats.codegen_seconds`, every generator that ran) and the size of that code, the states, the
search time and the states per second, and that rate as a fraction of filter6's (sc, the same
engine, measured in the same run). Targets: code generation under 1 s for v2-atomic at N = 4
under weak; memory-model rates within 2x of filter6's (ratio >= 0.5).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name, spec (under models/), consts, memory
WORKLOADS = [
    ("filter6", "classic/filter.spec", {"N": "6"}, "sc"),
    ("v2-atomic N=3 pso", "ftrace/v2-atomic.spec", {"N": "3"}, "pso"),
    ("v2-atomic N=3 weak", "ftrace/v2-atomic.spec", {"N": "3"}, "weak"),
    ("v2-atomic N=4 pso", "ftrace/v2-atomic.spec", {"N": "4"}, "pso"),
    ("v2-atomic N=4 weak", "ftrace/v2-atomic.spec", {"N": "4"}, "weak"),
    ("v2-atomic-generic N=3 weak", "ftrace/v2-atomic-generic.spec", {"N": "3"}, "weak"),
    ("v1-plain-int N=3 pso", "ftrace/v1-plain-int.spec", {"N": "3"}, "pso"),
    ("int3 C=3 pso", "peers/int3.spec", {"C": "3"}, "pso"),
    ("int3 C=3 weak", "peers/int3.spec", {"C": "3"}, "weak"),
]

CHILD = r"""
import json, sys, time
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.pipeline import load_model
spec, consts, memory, engine = json.loads(sys.argv[1])
t0 = time.perf_counter()
model = load_model(spec, consts, memory)
lowered = time.perf_counter() - t0
r = explore(compile_model(model), Options(engine=engine, check_deadlock=False), memory)
print(json.dumps({"states": r.stats.states, "seconds": r.stats.seconds, "lower": lowered,
                  "codegen": r.stats.codegen_seconds, "code_bytes": r.stats.code_bytes,
                  "complete": r.complete}))
"""


def run(spec: str, consts: dict[str, str], memory: str, engine: str, timeout: float) -> dict:
    arg = json.dumps([str(ROOT / "models" / spec), consts, memory, engine])
    try:
        p = subprocess.run([sys.executable, "-c", CHILD, arg], cwd=ROOT, capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"more than {timeout:.0f} s"}
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", default="auto", choices=["auto", "scalar", "vector"])
    ap.add_argument("--only", help="run the workloads whose name contains this (and filter6)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per workload")
    a = ap.parse_args()
    rows = [w for w in WORKLOADS if w[0] == "filter6" or not a.only or a.only in w[0]]
    print(f"engine {a.engine}; each row a fresh process (timings are noisy on a busy machine)")
    print("| workload | lower s | codegen s | code KB | states | search s | states/s | "
          "vs filter6 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    base = 0.0
    for name, spec, consts, memory in rows:
        r = run(spec, consts, memory, a.engine, a.timeout)
        if "error" in r:
            print(f"| {name} | | | | | | | {r['error']} |")
            continue
        rate = r["states"] / r["seconds"] if r["seconds"] else 0.0
        base = base or rate
        print(f"| {name} | {r['lower']:.2f} | {r['codegen']:.2f} | {r['code_bytes'] / 1024:,.0f} | "
              f"{r['states']:,} | {r['seconds']:.2f} | {rate:,.0f} | "
              f"{rate / base if base else 0:.2f} |")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
