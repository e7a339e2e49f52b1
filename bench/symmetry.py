"""Symmetry reduction beside Rumur's exhaustive symmetry reduction, on the same models.

    python bench/symmetry.py            # TwoPhase RM = 3, 5, 6, 7 and a lock with N = 4, 6, 8
    python bench/symmetry.py --quick    # the smallest instances only
    python bench/symmetry.py --twophase-rm 10 15 20   # many symmetric values: states/s

With --twophase-rm only the symmetric runs of TwoPhase at those numbers of resource managers
and of the lock at as many processes are timed (engine auto, --engine to choose another),
each the best of --repeat runs, with states/s; the orbit counts are printed beside the
search's so a wrong one shows (TwoPhase's from an enumeration of the TLA+ actions over
orbits, tests/test_symmetry_batch.py; the lock's from its process pcs as a multiset).

For each model and size: states, transitions and seconds of `explorer check` with symmetry
reduction and with --no-symmetry, and of Rumur (`--symmetry-reduction exhaustive` and `off`,
built as /work/shared/peers/RESULTS.md builds it: gcc -std=c11 -O2 -mcx16, one thread), plus
TLC's published counts for TwoPhase with SYMMETRY (issue 10). The Murphi models are in
bench/symmetry/ (twophase.m, lock.m); the specs are models/classic/twophase.spec and
bench/symmetry/lock.spec. Counts must agree row by row; times are of this machine, as it is.
Rumur's seconds are the model's run only (not rumur + gcc). Its exhaustive reduction tries
every permutation of every state, so it runs only up to --rumur-max (default 6). Without rumur
or gcc the Rumur columns are skipped with the reason printed (`apt-get install rumur`).

A second table: the reduction factor under the memory models with store buffers and views
(tso, pso, weak), where the permutations also move buffers and stale views: states and seconds
with and without symmetry on bench/symmetry/stores.spec (N CPUs storing to their own cells and
their id to a shared scalar), bench/symmetry/commit.spec (two-phase commit through shared
memory) and every bench/int3/*.spec that declares a scalarset (at its own constants; not with
--quick: the unreduced runs of those take minutes).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.pipeline import load_model

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent / "symmetry"

TLC = {("twophase", 5): 314, ("twophase", 6): 553, ("twophase", 7): 920}
MODELS = {
    "twophase": (ROOT / "models" / "classic" / "twophase.spec", "NRM", HERE / "twophase.m"),
    "lock": (HERE / "lock.spec", "N", HERE / "lock.m"),
}
SIZES = {"twophase": (3, 5, 6, 7), "lock": (4, 6, 8)}
QUICK = {"twophase": (3, 5), "lock": (4,)}


MEMORY = {"stores": (HERE / "stores.spec", "N"), "commit": (HERE / "commit.spec", "NRM")}
MEMORY_SIZES = {"stores": (2, 3, 4), "commit": (3, 4)}
MEMORY_QUICK = {"stores": (2, 3), "commit": (3,)}


def ours(spec: Path, const: str | None, n: int, symmetry: bool, memory: str | None = None,
         engine: str = "auto") -> tuple[int, int, float]:
    cm = compile_model(load_model(spec, {const: str(n)} if const else {}, memory=memory))
    t = time.perf_counter()
    r = explore(cm, Options(symmetry=symmetry, check_deadlock=False, reduction=False,
                            engine=engine))
    if symmetry and not (r.stats.reductions and r.stats.reductions[0].startswith("symmetry: on")):
        print(f"{spec.name} under {memory}: {'; '.join(r.stats.reductions)}")
    return r.stats.states, r.stats.transitions, time.perf_counter() - t


def memory_table(quick: bool) -> None:
    """Symmetry's reduction factor under tso, pso and weak."""
    runs: list[tuple[str, Path, str | None, int]] = [
        (name, spec, const, n) for name, (spec, const) in MEMORY.items()
        for n in (MEMORY_QUICK if quick else MEMORY_SIZES)[name]]
    for spec in [] if quick else sorted((ROOT / "bench" / "int3").glob("*.spec")):
        if re.search(r"\bscalarset\s*\(", spec.read_text()):
            runs.append((spec.stem, spec, None, 0))
    print()
    print("| model | N | memory | sym: states / s | full: states / s | states / | time / |")
    print("|---|---|---|---|---|---|---|")
    for name, spec, const, n in runs:
        for memory in ("tso", "pso", "weak"):
            s_states, _, s_sec = ours(spec, const, n, True, memory)
            f_states, _, f_sec = ours(spec, const, n, False, memory)
            print(f"| {name} | {n or '-'} | {memory} | {s_states:,} / {s_sec:.2f} "
                  f"| {f_states:,} / {f_sec:.2f} | {f_states / s_states:.1f}x "
                  f"| {f_sec / s_sec:.2f}x |", flush=True)


def twophase_orbits(n: int) -> int:
    """TwoPhase's orbits, by the enumeration over orbit keys in tests/test_symmetry_batch.py."""
    from test_symmetry_batch import twophase_orbits as orbits
    return orbits(n)[0]


def lock_orbits(n: int) -> int:
    """The lock's orbits: `locked` and the multiset of the N pcs (test, set, cs, rel), searched
    from the spec's text (tests/test_symmetry_batch.py's `search`)."""
    from test_symmetry_batch import search

    def successors(s):
        locked, pcs = s
        for i, pc in enumerate(pcs):
            if pc == 0 and locked:   # test: await not locked
                continue
            now = True if pc == 1 else False if pc == 3 else locked
            yield now, tuple(sorted(pcs[:i] + ((pc + 1) % 4,) + pcs[i + 1:]))
    return search((False, (0,) * n), successors)[0]


def many_values(sizes: list[int], engine: str, repeat: int) -> bool:
    """Symmetric runs with many symmetric values: states/s, and the orbit counts."""
    import sys
    sys.path.insert(0, str(ROOT / "tests"))
    print(f"engine {engine}, best of {repeat}; times of this machine as it is (noisy when shared)")
    print("| model | N | states / transitions | orbits (independent) | s | states/s |")
    print("|---|---|---|---|---|---|")
    ok = True
    for name, orbits in (("twophase", twophase_orbits), ("lock", lock_orbits)):
        spec, const, _ = MODELS[name]
        for n in sizes:
            runs = [ours(spec, const, n, True, engine=engine) for _ in range(repeat)]
            states, trans, _ = runs[0]
            sec = min(r[2] for r in runs)
            want = orbits(n)
            ok = ok and all(r[0] == want for r in runs)
            print(f"| {name} | {n} | {states:,} / {trans:,} | {want:,} | {sec:.2f} "
                  f"| {states / sec:,.0f} |", flush=True)
    return ok


def rumur_missing() -> str | None:
    for tool in ("rumur", "gcc"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install rumur gcc)"
    return None


def rumur(model: Path, const: str, n: int, symmetry: str, work: Path
          ) -> tuple[int, int, float]:
    text = re.sub(rf"const {const}: \d+;", f"const {const}: {n};", model.read_text())
    src = work / f"{model.stem}{n}{symmetry}.m"
    src.write_text(text)
    c, exe = src.with_suffix(".c"), src.with_suffix("")
    subprocess.run(["rumur", "--deadlock-detection", "off", "--threads", "1",
                    "--symmetry-reduction", symmetry, str(src), "-o", str(c)], check=True,
                   capture_output=True)
    subprocess.run(["gcc", "-std=c11", "-O2", "-mcx16", "-o", str(exe), str(c), "-lpthread"],
                   check=True, capture_output=True)
    t = time.perf_counter()
    out = subprocess.run([str(exe)], capture_output=True, text=True).stdout
    seconds = time.perf_counter() - t
    m = re.search(r"(\d+) states, (\d+) rules fired", out)
    if m is None:
        raise RuntimeError(f"rumur's model printed no state count:\n{out}")
    return int(m.group(1)), int(m.group(2)), seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the smallest instances only")
    ap.add_argument("--rumur-max", type=int, default=6, metavar="N",
                    help="run Rumur up to this size only (its exhaustive reduction tries all "
                         "N! permutations of every state: about 30 s at TwoPhase N = 6 here, "
                         "minutes above; default 6)")
    ap.add_argument("--twophase-rm", type=int, nargs="+", metavar="N",
                    help="only time the symmetric runs of TwoPhase with these numbers of "
                         "resource managers and of the lock with as many processes")
    ap.add_argument("--engine", default="auto", choices=("auto", "scalar", "vector"),
                    help="the engine of the --twophase-rm runs (default auto)")
    ap.add_argument("--repeat", type=int, default=1, metavar="K",
                    help="the --twophase-rm runs: the best time of K runs (default 1)")
    args = ap.parse_args()
    if args.twophase_rm:
        return 0 if many_values(args.twophase_rm, args.engine, args.repeat) else 1
    sizes = QUICK if args.quick else SIZES
    missing = rumur_missing()
    if missing:
        print(f"Rumur columns skipped: {missing}")
    print(f"Rumur runs up to N = {args.rumur_max} (--rumur-max)")
    print("| model | N | ours sym: states / transitions / s | ours full: states / s "
          "| rumur exhaustive: states / rules / s | rumur off: states / s | TLC sym "
          "| agree |")
    print("|---|---|---|---|---|---|---|---|")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name, (spec, const, murphi) in MODELS.items():
            for n in sizes[name]:
                s_states, s_tr, s_sec = ours(spec, const, n, True)
                f_states, _, f_sec = ours(spec, const, n, False)
                row = [name, str(n), f"{s_states:,} / {s_tr:,} / {s_sec:.2f}",
                       f"{f_states:,} / {f_sec:.2f}"]
                agree = True
                if missing or n > args.rumur_max:
                    row += ["- (not run)", "- (not run)"]
                else:
                    r_states, r_rules, r_sec = rumur(murphi, const, n, "exhaustive", Path(tmp))
                    o_states, _, o_sec = rumur(murphi, const, n, "off", Path(tmp))
                    row += [f"{r_states:,} / {r_rules:,} / {r_sec:.2f}",
                            f"{o_states:,} / {o_sec:.2f}"]
                    agree = (r_states, r_rules, o_states) == (s_states, s_tr, f_states)
                tlc = TLC.get((name, n))
                row.append(f"{tlc:,}" if tlc else "-")
                agree = agree and (tlc is None or tlc == s_states)
                row.append("yes" if agree else "NO")
                ok = ok and agree
                print("| " + " | ".join(row) + " |", flush=True)
    memory_table(args.quick)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
