"""Liveness side by side with SPIN: the same properties on bench/liveness/*.pml (`spin -a`,
`gcc`, `pan -a [-f]`) and on our specs, with verdicts, time and bytes/state, plus the cost of a
liveness run against the same model's safety-only run.

    python3 bench/liveness.py            # print the table
    python3 bench/liveness.py --check    # exit 1 if a verdict differs from SPIN's

SPIN's -f is weak fairness per process, so the weakly fair and the unfair cases are compared;
strong fairness (spinlock-strong.spec) and store-buffer fairness (ftrace) have no SPIN
counterpart here and are reported for our side only. Runs in a temporary directory; needs
`spin` and `gcc` on PATH (apt-get install spin).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.liveness import check_liveness
from smp_explorer.explorer.options import Options
from smp_explorer.ir.model import Model
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.pipeline import load_model, model_from_text

ROOT = Path(__file__).resolve().parent.parent
PML = ROOT / "bench" / "liveness"

PETERSON = (ROOT / "models/classic/peterson.spec").read_text() + """
liveness p0_enters: eventually P[0] at cs;
liveness p0_again: always eventually P[0] at cs;
liveness trying_enters0: P[0] at p2 leads_to P[0] at cs;
"""
DINING = (ROOT / "models/classic/dining.spec").read_text().replace("const N = 8;", "const N = 3;") \
    + "\nliveness phil0_eats: always eventually Phil[0] at eat;\n"


def fair(text: str, proc: str) -> str:
    return text.replace(f"\nprocess {proc}", f"\nfair process {proc}", 1)


def unfair(path: Path) -> str:
    return path.read_text().replace("\nfair process", "\nprocess")


# (case, pml, ltl name, SPIN's -f, our model, our property)
CASES: list[tuple[str, str | None, str | None, bool, Model, str]] = [
    ("peterson, no fairness", "peterson.pml", "p0_enters", False,
     model_from_text(PETERSON, "peterson.spec"), "p0_enters"),
    ("peterson, weak fairness", "peterson.pml", "p0_enters", True,
     model_from_text(fair(PETERSON, "P"), "peterson.spec"), "p0_enters"),
    ("peterson, no fairness", "peterson.pml", "p0_again", False,
     model_from_text(PETERSON, "peterson.spec"), "p0_again"),
    ("peterson, weak fairness", "peterson.pml", "p0_again", True,
     model_from_text(fair(PETERSON, "P"), "peterson.spec"), "p0_again"),
    ("peterson, no fairness", "peterson.pml", "trying_enters0", False,
     model_from_text(PETERSON, "peterson.spec"), "trying_enters0"),
    ("spinlock (xchg), no fairness", "spinlock.pml", "cpu0_progress", False,
     model_from_text(unfair(ROOT / "models/classic/spinlock.spec"), "spinlock.spec"),
     "cpu0_progress"),
    ("spinlock (xchg), weak fairness", "spinlock.pml", "cpu0_progress", True,
     load_model(ROOT / "models/classic/spinlock.spec"), "cpu0_progress"),
    ("spinlock (xchg), strong acquire", None, None, True,
     load_model(ROOT / "models/classic/spinlock-strong.spec"), "cpu0_progress"),
    ("dining N=3, no fairness", "dining.pml", "phil0_eats", False,
     model_from_text(DINING, "dining.spec"), "phil0_eats"),
    ("dining N=3, weak fairness", "dining.pml", "phil0_eats", True,
     model_from_text(fair(DINING, "Phil"), "dining.spec"), "phil0_eats"),
]
FTRACE = [(f"ftrace v2-atomic [{m}]{' no buffer fairness' if not bf else ''}", m, bf)
          for m in ("sc", "tso", "pso", "weak") for bf in (True, False)]


def spin(pml: str, ltl: str, weak: bool, work: Path, built: dict[str, Path]) -> tuple[str, float,
                                                                                       float]:
    """SPIN's verdict, seconds (pan only) and bytes/state (pan's own memory estimate)."""
    if pml not in built:
        d = work / pml.replace(".pml", "")
        d.mkdir()
        shutil.copy(PML / pml, d / pml)
        subprocess.run(["spin", "-a", pml], cwd=d, check=True, capture_output=True)
        subprocess.run(["gcc", "-O2", "-o", "pan", "pan.c"], cwd=d, check=True,
                       capture_output=True)
        built[pml] = d
    t0 = time.perf_counter()
    out = subprocess.run(["./pan", "-a", *(["-f"] if weak else []), "-N", ltl],
                         cwd=built[pml], capture_output=True, text=True).stdout
    seconds = time.perf_counter() - t0
    errors = re.search(r"errors: (\d+)", out)
    stored = re.search(r"(\d+) states, stored", out)
    mem = re.search(r"([\d.]+)\s+equivalent memory usage for states", out)
    per = float(mem.group(1)) * 2 ** 20 / int(stored.group(1)) if mem and stored else 0.0
    verdict = "unknown" if errors is None else ("holds" if errors.group(1) == "0" else "violated")
    return verdict, seconds, per


def ours(model: Model, prop: str, buffer_fairness: bool = True) -> tuple[str, float, float,
                                                                          float]:
    """Our verdict, liveness seconds, edge bytes/state, and the safety-only run's seconds."""
    cm = compile_model(model)
    t0 = time.perf_counter()
    explore(cm, Options(check_deadlock=False), model.memory)
    safety = time.perf_counter() - t0
    run = check_liveness(cm, [p for p in model.liveness if p.name == prop], buffer_fairness)
    assert run.graph is not None
    return run.results[0].status, run.seconds, run.graph.bytes_per_state, safety


def main() -> int:
    check = "--check" in sys.argv
    have_spin = shutil.which("spin") is not None and shutil.which("gcc") is not None
    rows = []
    differ = 0
    with tempfile.TemporaryDirectory() as tmp:
        built: dict[str, Path] = {}
        for case, pml, ltl, weak, model, prop in CASES:
            verdict, secs, per, safety = ours(model, prop)
            theirs = ("-", 0.0, 0.0)
            if pml is not None and ltl is not None and have_spin:
                theirs = spin(pml, ltl, weak, Path(tmp), built)
                differ += theirs[0] != verdict
            rows.append((case, prop, verdict, secs, per, safety, *theirs))
    for case, memory, bf in FTRACE:
        model = load_model(ROOT / "models/ftrace/v2-atomic.spec", memory=memory)
        verdict, secs, per, safety = ours(model, "patcher_finishes", bf)
        rows.append((case, "patcher_finishes", verdict, secs, per, safety, "-", 0.0, 0.0))
    print(f"{'case':42} {'property':17} {'ours':9} {'live s':>7} {'B/st':>5} {'safe s':>7} "
          f"{'SPIN':9} {'pan s':>6} {'B/st':>5}")
    for case, prop, v, s, per, safety, sv, ss, sper in rows:
        spin_cols = f"{sv:9} {ss:6.3f} {sper:5.0f}" if sv != "-" else f"{'-':9} {'':6} {'':5}"
        print(f"{case:42} {prop:17} {v:9} {s:7.3f} {per:5.0f} {safety:7.3f} {spin_cols}")
    if not have_spin:
        print("(spin or gcc not found: SPIN's columns are empty)")
    print("ours: live s = graph + fair-cycle search; B/st = edge storage per state; safe s = "
          "the safety-only search of the same model. SPIN: pan -a [-f]; B/st = pan's state "
          "storage estimate.")
    if differ:
        print(f"{differ} verdict(s) differ from SPIN's")
    return 1 if check and (differ or not have_spin) else 0


if __name__ == "__main__":
    raise SystemExit(main())
