"""The liveness stage's cost, before and after issue 10's NumPy path, on the shipped models with
liveness properties: `models/ftrace/v2-atomic.spec` at N = 2, 3, 4 under sc, tso, pso and weak,
the other `models/ftrace/*` specs (N = 2) under the four models, and the classic spinlocks.

    python bench/liveness_speed.py               # the table (several minutes: N = 4 is slow before)
    python bench/liveness_speed.py --no-before   # only the new path (and the search)
    python bench/liveness_speed.py --only v2-atomic --ns 4 --memories weak

Per row: the safety search (`explore`, the time the report used to print alone), the new
liveness stage (`check_liveness`: the graph with the vector engine's code, then the fair cycles
with SciPy / NumPy) split into graph and analysis, and the old state-by-state stage
(`check_liveness(reference=True)`, the code of a91eb44, kept as the tests' reference); CPU
seconds of this process (steadier than wall time on a shared machine) and wall seconds (the
graph / analysis split is the report's, in wall seconds). The
verdicts of both stages are compared: a difference is printed and the exit status is 1.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.liveness import check_liveness
from smp_explorer.explorer.options import Options
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.pipeline import load_model

ROOT = Path(__file__).resolve().parent.parent
MEMORIES = ["sc", "tso", "pso", "weak"]


def timed(f):
    w, c = time.perf_counter(), time.process_time()
    out = f()
    return out, time.process_time() - c, time.perf_counter() - w


def row(spec: Path, consts: dict[str, str], memory: str, before: bool) -> bool:
    model = load_model(spec, consts, memory=memory)
    cm = compile_model(model, [])
    props = list(model.liveness)
    search, s_cpu, _ = timed(lambda: explore(cm, Options(), memory))
    run, l_cpu, l_wall = timed(lambda: check_liveness(cm, props))
    g = run.graph
    states = len(g.states) if g is not None else 0
    edges = g.edges if g is not None else 0
    verdicts = [r.status for r in run.results]
    name = spec.stem + ("" if not consts else " N=" + consts["N"])
    text = (f"{name:<22} {memory:<5} {states:>9,} {edges:>10,} {s_cpu:>8.2f} "
            f"{l_cpu:>8.2f} {l_wall:>8.2f} {run.graph_seconds:>7.2f} "
            f"{run.seconds - run.graph_seconds:>8.2f}")
    same = True
    if before:
        ref, r_cpu, r_wall = timed(lambda: check_liveness(cm, props, reference=True))
        same = verdicts == [r.status for r in ref.results]
        text += f" {r_cpu:>8.2f} {r_wall:>8.2f} {r_cpu / max(l_cpu, 1e-9):>6.1f}x"
    held = sum(v == "holds" for v in verdicts)
    text += f"  {held}/{len(verdicts)} hold" + ("" if same else "  VERDICTS DIFFER")
    print(text, flush=True)
    del search
    return same


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-before", action="store_true", help="skip the old path")
    ap.add_argument("--ns", nargs="*", default=["2", "3", "4"], help="v2-atomic's N values")
    ap.add_argument("--memories", nargs="*", default=MEMORIES)
    ap.add_argument("--only", help="only specs whose name contains this")
    args = ap.parse_args()
    # a run imports SciPy (0.2-0.3 s) only for a graph past livegraph.TARJAN_STEPS steps, in
    # its liveness stage: imported here first, so the rows time the stage's own work
    import scipy.sparse.csgraph  # noqa: F401
    cases: list[tuple[Path, dict[str, str], str]] = []
    v2 = ROOT / "models/ftrace/v2-atomic.spec"
    for n in args.ns:
        cases += [(v2, {"N": n}, m) for m in args.memories]
    for spec in sorted((ROOT / "models/ftrace").glob("*.spec")):
        if spec != v2:
            cases += [(spec, {}, m) for m in args.memories]
    cases += [(ROOT / "models/classic" / s, {}, "sc")
              for s in ("spinlock.spec", "spinlock-strong.spec")]
    if args.only:
        cases = [c for c in cases if args.only in c[0].name]
    head = (f"{'spec':<22} {'mem':<5} {'states':>9} {'edges':>10} {'search':>8} "
            f"{'live cpu':>8} {'wall':>8} {'graph':>7} {'analysis':>8}")
    if not args.no_before:
        head += f" {'old cpu':>8} {'wall':>8} {'speedup':>7}"
    print(head)
    ok = all([row(spec, consts, m, not args.no_before) for spec, consts, m in cases])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
