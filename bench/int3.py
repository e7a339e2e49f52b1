#!/usr/bin/env python3
"""The int3 workloads of issue 10 (bench/int3/*.spec) beside filter6, in one run:

    python bench/int3.py                          # N = 2 CPUs, tso, pso and weak
    python bench/int3.py --n 3 --timeout 600      # N = 3
    python bench/int3.py --memories weak --buffer 3 --engine vector

Every search is `explorer check ... --json` in a fresh process (so its peak RSS is its own). For
each workload and memory model, three searches:
  full      --no-symmetry --no-reduction: states, transitions, search seconds, states/s, code generation
            seconds, peak RSS, and the states/s as a fraction of filter6's (N = 6, sc, the same
            engine, measured first in the same run; the issue's target is >= 0.5);
  por       --no-symmetry (partial-order reduction, on by default, where its first 1,000 states
            show it pays; else off and unreduced: bench/por.py gives the reduction's own count):
            states, seconds, factor = full states / reduced states;
  symmetry  --no-reduction, symmetry as by default (on where the tool applies it; the
            workloads' CPUs are a scalarset): states, seconds, factor, or the tool's reason.
The issue's time targets: the N = 2 models under weak in under 30 s, N = 3 within ten minutes.
`--full-only` runs the full searches alone (the throughput columns), `--max-states M` caps
them (at N = 3: the states/s of the first M states, beside filter6's). `--cpu` runs each full
search (filter6's too) in a fresh process that times the search in CPU seconds
(`time.process_time` around `explore`: code generation during the search included, start-up,
parsing and the tuple code not), and adds the states per CPU-second and their ratio to
filter6's: on a busy machine the steadier figure. The engines' generated code is cached
(explorer/engines/gencache.py): by default (`--codegen-cache warm`) each full search, filter6's
too, is run once untimed first so that its timing reads the code from the cache;
`--codegen-cache cold` turns that cache off, so code generation is timed in every search. The
first line of the output says which.

    python bench/int3.py --n 3 --timeout 600      # N = 3
    python bench/int3.py --memories weak --buffer 3 --engine vector

Every search is `explorer check ... --json` in a fresh process (so its peak RSS is its own). For
each workload and memory model, three searches:
  full      --no-symmetry: states, transitions, search seconds, states/s, code generation
            seconds, peak RSS, and the states/s as a fraction of filter6's (N = 6, sc, the same
            engine, measured first in the same run; the issue's target is >= 0.5);
  por       --no-symmetry --reduction: states, seconds, factor = full states / reduced states;
  symmetry  the default (symmetry on where the tool applies it; the workloads' CPUs are a
            scalarset): states, seconds, factor, or the tool's reason when it is off.
The issue's time targets: the N = 2 models under weak in under 30 s, N = 3 within ten minutes.

    python bench/int3.py --n 3 --memories weak --symmetry-only --timeout 600

runs only the symmetric search (no filter6, no unreduced or POR search, which do not finish at
N = 3): orbits (the reduced state count), depth, search seconds, states/s, peak RSS and each
property's verdict.
A search stopped by --timeout shows its count with a "+". The verdicts of the three searches of
a row must agree (a reduction never changes one); a difference is printed and exits 1.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPLORER = [sys.executable, "-m", "smp_explorer.cli.main"]
WORKLOADS = [("desc-stack", ROOT / "bench" / "int3" / "desc-stack.spec"),
             ("percpu-refs", ROOT / "bench" / "int3" / "percpu-refs.spec")]
FILTER = ROOT / "models" / "classic" / "filter.spec"


ENV = dict(os.environ)   # the searches' environment (--codegen-cache cold turns a cache off)


def run_json(cmd: list[str], timeout: float) -> tuple[dict | None, str]:
    """Run `cmd` (a child printing JSON) in a fresh process: its parsed output (None if there is
    none) and its last line of error (or why it gave no answer)."""
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout + 120,
                           env=ENV)
    except subprocess.TimeoutExpired:
        return None, f"no answer within {timeout + 120:.0f} s"
    err = (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
    try:
        return json.loads(p.stdout), err
    except ValueError:
        return None, err


def check(spec: Path, args: list[str], timeout: float) -> dict:
    """One `explorer check --json` in a fresh process: its single result, or {"error": ...}."""
    cmd = EXPLORER + ["check", str(spec), "--json", "--timeout", str(timeout)] + args
    t = time.perf_counter()
    doc, err = run_json(cmd, timeout)
    try:
        result = doc["results"][0] if doc is not None else None
    except (KeyError, IndexError, TypeError):
        result = None
    if result is None:
        return {"error": err}
    result["wall"] = time.perf_counter() - t
    return result


def check_cpu(spec: Path, consts: dict[str, str], memory: str, engine: str,
              buffer: int | None, max_states: int | None, timeout: float) -> dict:
    """One unreduced search in a fresh process (`cpu_child`), with its CPU seconds."""
    job = dict(spec=str(spec), consts=consts, memory=memory, engine=engine, buffer=buffer,
               max_states=max_states, timeout=timeout)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--cpu-child", json.dumps(job)]
    doc, err = run_json(cmd, timeout)
    return doc if doc is not None else {"error": err}


def cpu_child(job: dict) -> int:
    # the engines' modules (and NumPy) are imported here, before the clock starts: start-up
    import smp_explorer.explorer.engines.packed  # noqa: F401
    import smp_explorer.explorer.engines.vector  # noqa: F401
    from smp_explorer.explorer.engines import explore
    from smp_explorer.explorer.options import Options
    from smp_explorer.runs.compiled import compile_model
    from smp_explorer.spec.pipeline import load_model
    cm = compile_model(load_model(job["spec"], job["consts"], job["memory"], job["buffer"]))
    options = Options(engine=job["engine"], symmetry=False, max_states=job["max_states"],
                      timeout=job["timeout"])
    started = time.process_time()
    r = explore(cm, options)
    out = r.to_json()
    out["cpu_seconds"] = time.process_time() - started
    print(json.dumps(out))
    return 0


def cpu_rate(r: dict) -> float:
    return r["states"] / r["cpu_seconds"] if r.get("cpu_seconds") else 0.0


def count(r: dict) -> str:
    return f"{r['states']:,}" + ("" if r["complete"] else "+")


def rate(r: dict) -> float:
    return r["states"] / r["seconds"] if r["seconds"] > 0 else 0.0


def factor(full: dict, reduced: dict) -> str:
    if not (full["complete"] and reduced["complete"]) or reduced["states"] == 0:
        return "?"
    return f"{full['states'] / reduced['states']:.2f}"


def verdicts(r: dict) -> list[tuple[str, str]]:
    return [(p["name"], p["status"]) for p in r.get("properties", [])]


def symmetry_note(r: dict) -> str:
    for line in r.get("reductions", []):
        if line.startswith("symmetry:"):
            return line[len("symmetry:"):].strip()
    return "not applicable"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2, help="CPUs (the workloads' const N)")
    ap.add_argument("--memories", default="tso,pso,weak")
    ap.add_argument("--buffer", type=int, help="store-buffer depth (default: the tool's, 2 "
                    "or the most stores one step makes to one buffer)")
    ap.add_argument("--engine", default="auto", choices=["auto", "scalar", "vector"])
    ap.add_argument("--only", help="the workloads whose name contains this")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per search")
    ap.add_argument("--full-only", action="store_true",
                    help="only the full searches (no POR or symmetry searches)")
    ap.add_argument("--max-states", type=int, help="cap each search at this many states")
    ap.add_argument("--cpu", action="store_true", help="time the full searches in CPU "
                    "seconds, each in a fresh process (see above)")
    ap.add_argument("--codegen-cache", choices=["warm", "cold"], default="warm",
                    help="warm (the default): each full search is run once untimed first "
                    "(`--engine vector --max-states 1`), so the engines' generated code comes "
                    "from the cache (explorer/engines/gencache.py) and the codegen column is "
                    "reading it; cold: that cache is off (SMP_EXPLORER_GEN_CACHE=off), the "
                    "code is generated in every search (the compiled-code cache stays on)")
    ap.add_argument("--cpu-child", help=argparse.SUPPRESS)
    ap.add_argument("--symmetry-only", action="store_true",
                    help="only the symmetric search of each workload (see above)")
    a = ap.parse_args()
    if a.cpu_child:
        return cpu_child(json.loads(a.cpu_child))
    engine = ["--engine", a.engine]
    if a.codegen_cache == "cold":
        ENV["SMP_EXPLORER_GEN_CACHE"] = "off"
    if a.symmetry_only:
        return symmetric(a, engine)

    warm = a.codegen_cache == "warm"
    if warm:
        warm_up(a, FILTER, {"N": "6"}, "sc", None)
    if a.cpu:
        base = check_cpu(FILTER, {"N": "6"}, "sc", a.engine, None, None, a.timeout)
    else:
        base = check(FILTER, ["--const", "N=6", "--memory", "sc", "--no-symmetry",
                              "--no-reduction"] + engine, a.timeout)
    if "error" in base:
        print(f"filter6: {base['error']}", file=sys.stderr)
        return 1
    depth = "default" if a.buffer is None else a.buffer
    print(f"engine {a.engine}, --buffer {depth}, N = {a.n}; each search a fresh process "
          "(timings are noisy on a busy machine); generated code: "
          + ("warm (read from the cache: each search run once untimed first)" if warm else
             "cold (generated in every search: --codegen-cache cold)"))
    print(f"filter6 (sc, the same engine): {base['states']:,} states in {base['seconds']:.2f} s, "
          f"{rate(base):,.0f} states/s" + (f"; {base['cpu_seconds']:.2f} CPU s, "
                                           f"{cpu_rate(base):,.0f} states/CPU-s" if a.cpu else "")
          + "\n")
    tail = ["CPU s", "states/CPU-s", "vs filter6 (CPU)"] if a.cpu else \
        ["POR states", "POR s", "POR factor", "symmetry states", "symmetry s", "symmetry factor"]
    heads = ["workload", "memory", "states", "transitions", "search s", "states/s", "vs filter6",
             "codegen s", "peak RSS MB"] + tail
    print("| " + " | ".join(heads) + " |")
    print("|---|---|" + "---:|" * (len(heads) - 2))
    status = 0
    for name, spec, memory, common in searches(a, engine):
        if warm:
            warm_up(a, spec, {"N": str(a.n)}, memory, a.buffer)
        if a.cpu:
            full = check_cpu(spec, {"N": str(a.n)}, memory, a.engine, a.buffer,
                             a.max_states, a.timeout)
        else:
            full = check(spec, common + ["--no-symmetry", "--no-reduction"], a.timeout)
        if "error" in full:
            print(f"| {name} | {memory} | {full['error']} |", flush=True)
            status = 1
            continue
        cells = [name, memory, count(full), f"{full['transitions']:,}",
                 f"{full['seconds']:.2f}", f"{rate(full):,.0f}",
                 f"{rate(full) / rate(base):.2f}" if rate(base) else "?",
                 f"{full['codegen_seconds']:.2f}",
                 f"{full['peak_memory_bytes'] / 2**20:.0f}"]
        if a.cpu:
            cells += [f"{full['cpu_seconds']:.2f}", f"{cpu_rate(full):,.0f}",
                      f"{cpu_rate(full) / cpu_rate(base):.2f}" if cpu_rate(base) else "?"]
        if a.full_only or a.cpu:
            print("| " + " | ".join(cells) + " |" + ("" if a.cpu else " |" * 6), flush=True)
            continue
        por = check(spec, common + ["--no-symmetry"], a.timeout)
        sym = check(spec, common + ["--no-reduction"], a.timeout)
        for red in (por, sym):
            if "error" in red:
                cells += ["", "", red["error"]]
                status = 1
                continue
            note = symmetry_note(red) if red is sym else ""
            if red is sym and not note.startswith("on"):
                cells += ["", "", note]
            else:
                cells += [count(red), f"{red['seconds']:.2f}", factor(full, red)]
            if full["complete"] and red["complete"] and verdicts(full) != verdicts(red):
                print(f"VERDICTS DIFFER: {name} {memory}", file=sys.stderr)
                status = 1
        print("| " + " | ".join(cells) + " |", flush=True)
    return status


def warm_up(a: argparse.Namespace, spec: Path, consts: dict[str, str], memory: str,
            buffer: int | None) -> None:
    """Run the search untimed with `--engine vector --max-states 1`: it generates the scalar
    and the NumPy code (at its first level) and leaves both in the generated-code cache, under
    the keys the timed search then reads (the same model and options)."""
    if a.cpu:
        check_cpu(spec, consts, memory, "vector", buffer, 1, a.timeout)
        return
    args = [x for k, v in consts.items() for x in ("--const", f"{k}={v}")]
    args += ["--memory", memory, "--no-symmetry", "--no-reduction", "--engine", "vector",
             "--max-states", "1"] + ([] if buffer is None else ["--buffer", str(buffer)])
    check(spec, args, a.timeout)


def searches(a: argparse.Namespace, engine: list[str]):
    """Per workload chosen and memory model: (name, spec, memory, the common arguments)."""
    for name, spec in WORKLOADS:
        if a.only and a.only not in name:
            continue
        for memory in a.memories.split(","):
            yield name, spec, memory, ["--const", f"N={a.n}", "--memory", memory] + engine \
                + ([] if a.buffer is None else ["--buffer", str(a.buffer)]) \
                + ([] if a.max_states is None else ["--max-states", str(a.max_states)])


def symmetric(a: argparse.Namespace, engine: list[str]) -> int:
    """`--symmetry-only`: one row per workload and memory model."""
    print(f"engine {a.engine}, N = {a.n}, symmetry on (the default); each search a fresh "
          "process (timings are noisy on a busy machine)\n")
    print("| workload | memory | orbits | depth | search s | states/s | peak RSS MB | "
          "verdicts |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    status = 0
    for name, spec, memory, args in searches(a, engine):
        r = check(spec, args, a.timeout)
        if "error" in r:
            print(f"| {name} | {memory} | {r['error']} |", flush=True)
            status = 1
            continue
        if not symmetry_note(r).startswith("on"):
            status = 1
        shown = ", ".join(f"{p} {v}" for p, v in verdicts(r))
        print(f"| {name} | {memory} | {count(r)} | {r['depth']} | {r['seconds']:.1f} | "
              f"{rate(r):,.0f} | {r['peak_memory_bytes'] / 2**20:.0f} | {shown} |",
              flush=True)
    return status

if __name__ == "__main__":
    sys.exit(main())
