#!/usr/bin/env python3
"""The default run's cost of partial-order reduction (on by default; explorer/por.py), one
command:

    python bench/por_default.py              # every shipped model, the int3 workloads, filter6, dining
    python bench/por_default.py --only int3  # the rows whose name contains "int3"

Each row runs `explorer check --json` twice in fresh processes: with `--no-reduction` (every
interleaving, the engine's unreduced speed) and with the defaults (reduction on where it pays).
It prints the wall time of each (start-up included), the search seconds, the states and what the
report says of the reduction. The timings are noisy on a shared machine: run it alone.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPLORER = [sys.executable, "-m", "smp_explorer.cli.main"]


def rows() -> list[tuple[str, Path, list[str]]]:
    out = [(str(p.relative_to(ROOT / "models")), p, [])
           for p in sorted((ROOT / "models").glob("*/*.spec"))]
    for p in sorted((ROOT / "bench" / "int3").glob("*.spec")):
        for memory in ("tso", "pso", "weak"):
            out.append((f"int3/{p.stem} N=2 {memory}", p, ["--const", "N=2", "--memory", memory]))
    out.append(("filter6 (bench/int3.py's first row)", ROOT / "models" / "classic" / "filter.spec",
                ["--const", "N=6", "--memory", "sc", "--no-symmetry"]))
    out.append(("dining N=14", ROOT / "models" / "classic" / "dining.spec", ["--const", "N=14"]))
    return out


def check(spec: Path, args: list[str], timeout: float) -> dict:
    cmd = EXPLORER + ["check", str(spec), "--json", "--timeout", str(timeout)] + args
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t
    try:
        results = json.loads(p.stdout)["results"]
    except (ValueError, KeyError):
        err = (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
        return {"error": err, "wall": wall}
    return {"wall": wall, "seconds": sum(r["seconds"] for r in results),
            "states": sum(r["states"] for r in results),
            "verdicts": [[(q["name"], q["status"]) for q in r.get("properties", [])]
                         for r in results],
            "por": "; ".join(line for r in results for line in r.get("reductions", [])
                             if line.startswith("partial-order"))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="the rows whose name contains this")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per search")
    a = ap.parse_args()
    print("| model | unreduced wall s | search s | states | default wall s | search s | states | "
          "wall ratio | partial-order reduction (default run) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    status = 0
    for name, spec, args in rows():
        if a.only and a.only not in name:
            continue
        full = check(spec, args + ["--no-reduction"], a.timeout)
        default = check(spec, args, a.timeout)
        if "error" in full or "error" in default:
            print(f"| {name} | {full.get('error', '')} {default.get('error', '')} |", flush=True)
            status = 1
            continue
        if full["verdicts"] != default["verdicts"]:
            print(f"{name}: the verdicts differ", file=sys.stderr)
            status = 1
        print(f"| {name} | {full['wall']:.2f} | {full['seconds']:.2f} | {full['states']:,} | "
              f"{default['wall']:.2f} | {default['seconds']:.2f} | {default['states']:,} | "
              f"{default['wall'] / full['wall']:.2f} | {default['por'] or '-'} |", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
