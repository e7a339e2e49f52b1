#!/usr/bin/env python3
"""Partial-order reduction (explorer/por.py) on the int3 models: states and time with and
without it, under tso, pso and weak, one command:

    python bench/por.py                       # the shipped models at N = 2 (int3.spec: C = 2)
    python bench/por.py --n 3 --timeout 600   # N = 3 CPUs
    python bench/por.py --specs ftrace/v2-atomic.spec --memories weak

Each row runs the same compiled model twice in this process: reduced with the reference
strategy (the tuple code; the reduced count is the reduction's own, never handed over to the
unreduced engines) and with the default engine (auto: reduced where a reduced search of the
first 1,000 states shows it pays, else unreduced from the start), then unreduced with the
default engine. "factor" is unreduced
states / reduced states; a run stopped by --timeout shows its count with a "+".
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = [f"ftrace/{p.name}" for p in sorted((ROOT / "models" / "ftrace").glob("*.spec"))] + \
    ["peers/int3.spec"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--specs", nargs="*", default=SPECS)
    ap.add_argument("--memories", default="tso,pso,weak")
    ap.add_argument("--n", type=int, default=2, help="CPUs (N, or C for int3.spec)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per search")
    a = ap.parse_args()
    from smp_explorer.explorer.engines import explore
    from smp_explorer.explorer.options import Options
    from smp_explorer.runs.compiled import compile_model
    from smp_explorer.spec.pipeline import load_model

    print("| spec | memory | full states | s | reduced (reference) | s | factor | "
          "default engine, reduced | s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for spec in a.specs:
        const = "C" if spec.endswith("int3.spec") else "N"
        for memory in a.memories.split(","):
            model = load_model(ROOT / "models" / spec, {const: str(a.n)}, memory)
            cm = compile_model(model)

            def timed(engine: str, reduction: bool):
                t = time.perf_counter()
                r = explore(cm, Options(engine=engine, reduction=reduction,
                                        timeout=a.timeout), memory)
                return r, time.perf_counter() - t

            full, tf = timed("auto", False)
            red, tr = timed("reference", True)
            auto, ta = timed("auto", True)

            def count(r) -> str:
                return f"{r.stats.states:,}" + ("" if r.complete else "+")
            factor = f"{full.stats.states / red.stats.states:.2f}" \
                if full.complete and red.complete else "?"
            print(f"| {spec} {const}={a.n} | {memory} | {count(full)} | {tf:.1f} | {count(red)} "
                  f"| {tr:.1f} | {factor} | {count(auto)} | {ta:.1f} |", flush=True)
            if full.complete and red.complete:
                same = [(p.name, p.status) for p in full.properties] == \
                    [(p.name, p.status) for p in red.properties]
                if not same:
                    print(f"VERDICTS DIFFER on {spec} under {memory}", file=sys.stderr)
                    return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
