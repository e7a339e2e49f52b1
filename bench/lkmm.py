"""The 144 C tests of ../shared/litmus under --memory lkmm (the axiomatic engine), beside herd7.

    python bench/lkmm.py [--herd PATH] [--only SUBSTRING ...] [--out FILE.tsv]

For each C test with an LKMM verdict in MANIFEST.tsv: our time (translation, lowering, the
model's encoding and Z3; wall and CPU seconds), our verdict and the MANIFEST's; then herd7 on
the same files in the same run, once per test (per-test time, its verdict) and once on all of
them in one invocation (herd7's total, how its README measured 3.2 s). Totals, the ratio to
herd7, and the tests over one second are printed last. Targets (issue 9): within 3x of herd7's
total and no test over a second.

herd7 is a peer, built by ../shared/peers/herd7/build.sh (about 5 minutes):
    OUT=$(mktemp -d); HERD7=$(bash ../shared/peers/herd7/build.sh "$OUT" | tail -1)
and found through --herd, $HERD7 or `herd7` on PATH; without it the herd7 columns are skipped
with a message. herd7 runs beside ../shared/peers/herd7/lkmm (its README: the model files as
shipped in herdtools7 7.57, older than the kernel's; 4 tests differ from the MANIFEST there).

CPU seconds are the meaningful figure on a shared machine (wall time there counts waiting for
a core); measure both on a quiet machine.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import shared_dir  # noqa: E402

from smp_explorer.cli.litmus import run_axiomatic_test  # noqa: E402
from smp_explorer.spec.litmus import read_litmus, read_manifest, verdict  # noqa: E402

HERD_VERDICT = re.compile(r"^Observation\s+(\S+)\s+(Never|Sometimes|Always)\b", re.MULTILINE)


def find_herd(given: str | None) -> Path | None:
    for cand in (given, os.environ.get("HERD7"), shutil.which("herd7")):
        if cand and Path(cand).is_file():
            return Path(cand)
    return None


def herd_libdir(herd: Path) -> Path | None:
    """herd7's own library folder (x86tso.cat, cross.cat, ...) in the source tree it was built in."""
    for parent in herd.parents:
        lib = parent / "herd" / "libdir"
        if lib.is_dir():
            return lib
    return None


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_herd(herd: Path, lib: Path | None, peers: Path, files: list[Path]) -> tuple[str, float, float]:
    """herd7 under the LKMM on `files`: its output, wall and CPU seconds."""
    cmd = [str(herd)]
    if lib is not None:
        cmd += ["-set-libdir", str(lib)]
    cmd += ["-I", "lkmm", "-conf", "lkmm/linux-kernel.cfg"] + [str(f) for f in files]
    cpu0, t0 = children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=peers, capture_output=True, text=True, timeout=600)
    return proc.stdout + proc.stderr, time.perf_counter() - t0, children_cpu() - cpu0


def herd_word(word: str, quantifier: str) -> str:
    if quantifier == "forall":
        return "Always" if word == "Always" else "Not always"
    return "Forbidden" if word == "Never" else "Allowed"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--herd", help="herd7 binary (default: $HERD7, then herd7 on PATH)")
    ap.add_argument("--only", nargs="*", default=[], help="only tests whose path contains one")
    ap.add_argument("--out", type=Path, help="also write the per-test table as TSV")
    args = ap.parse_args(argv)
    shared = shared_dir()
    if shared is None:
        print("bench/lkmm.py: ../shared not found (set SMP_SHARED)", file=sys.stderr)
        return 2
    root = shared / "litmus"
    rows = {p: r for p, r in read_manifest(root / "MANIFEST.tsv").items()
            if r.arch == "C" and (not args.only or any(o in p for o in args.only))}
    herd = find_herd(args.herd)
    peers = shared / "peers" / "herd7"
    lib = herd_libdir(herd) if herd else None
    if herd is None:
        print("herd7 not found (--herd, $HERD7 or herd7 on PATH): its columns are skipped. "
              "Build it with: HERD7=$(bash ../shared/peers/herd7/build.sh $(mktemp -d) | tail -1)")

    table = []
    ours_wall = ours_cpu = 0.0
    for path, row in sorted(rows.items()):
        test = read_litmus(root / path)
        c0, t0 = time.process_time(), time.perf_counter()
        got = run_axiomatic_test(test, "lkmm", None).verdict
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        ours_wall += wall
        ours_cpu += cpu
        entry = {"test": row.stem, "path": path, "wall": wall, "cpu": cpu, "verdict": got,
                 "manifest": verdict(row.lkmm_or_arch, row.quantifier),
                 "herd_wall": None, "herd_cpu": None, "herd": None}
        if herd is not None:
            out, hw, hc = run_herd(herd, lib, peers, [root / path])
            m = HERD_VERDICT.search(out)
            entry.update(herd_wall=hw, herd_cpu=hc,
                         herd=herd_word(m.group(2), row.quantifier) if m else "no verdict")
        table.append(entry)

    width = max(len(e["test"]) for e in table)
    print(f"{'test':<{width}}  {'ours s':>7} {'cpu s':>7}  {'herd7 s':>7}  "
          f"{'ours':<10} {'herd7':<10} MANIFEST")
    for e in table:
        hs = f"{e['herd_wall']:7.3f}" if e["herd_wall"] is not None else f"{'-':>7}"
        print(f"{e['test']:<{width}}  {e['wall']:7.3f} {e['cpu']:7.3f}  {hs}  "
              f"{e['verdict']:<10} {str(e['herd'] or '-'):<10} {e['manifest']}")
    agree = sum(e["verdict"] == e["manifest"] for e in table)
    slowest = max(table, key=lambda e: e["cpu"])
    over = [e["test"] for e in table if e["cpu"] > 1.0]
    print(f"\nlkmm (ours): {len(table)} tests, {ours_wall:.2f} s wall, {ours_cpu:.2f} s CPU; "
          f"{agree}/{len(table)} agree with the MANIFEST; slowest {slowest['test']} "
          f"{slowest['cpu']:.3f} s CPU; over 1 s CPU: {len(over)} {' '.join(over)}")
    if herd is not None:
        batch_files = [root / e["path"] for e in table]
        out, hw, hc = run_herd(herd, lib, peers, batch_files)
        read = len(HERD_VERDICT.findall(out))
        per_wall = sum(e["herd_wall"] for e in table)
        herd_agree = sum(e["herd"] == e["manifest"] for e in table)
        print(f"herd7: one invocation on all {len(table)} files: {hw:.2f} s wall, {hc:.2f} s CPU "
              f"({read} tests read); one per test: {per_wall:.2f} s wall; "
              f"{herd_agree}/{len(table)} agree with the MANIFEST")
        print(f"ratio ours/herd7 (one invocation): {ours_wall / hw:.2f}x wall, "
              f"{ours_cpu / max(hc, 1e-9):.2f}x CPU (target: within 3x)")
    if args.out:
        with open(args.out, "w") as f:
            f.write("test\tpath\twall\tcpu\tverdict\tmanifest\therd_wall\therd\n")
            for e in table:
                f.write(f"{e['test']}\t{e['path']}\t{e['wall']:.4f}\t{e['cpu']:.4f}\t"
                        f"{e['verdict']}\t{e['manifest']}\t{e['herd_wall'] or ''}\t"
                        f"{e['herd'] or ''}\n")
    return 0 if agree == len(table) else 1


if __name__ == "__main__":
    sys.exit(main())
