#!/usr/bin/env python3
"""Our engines beside SPIN and Rumur on the same models, with the same state counts.

    python bench/peers.py                     # filter 4..6, dining 10..14, ftrace tso (3 CPUs)
    python bench/peers.py --quick             # without filter6 and dining 14
    python bench/peers.py --only filter6 dphil14 --runs 5 --engines scalar,vector

Models: our DSL versions (models/classic/filter.spec, models/classic/dining.spec) of the peer
models in ../shared/peers/models (filter.pml/.m, dphil.pml/.m), and the ftrace models under
`tso` with 3 CPUs (ours only: the peers have no memory models). Every figure is the median of
--runs runs in this one invocation, each run in a fresh process (time and peak memory of the
search only; our loading and code generation are reported apart). The state counts of every run
must equal each other and, for the peer models, the peers' (SPIN's "transitions" is its edges +
1, as ../shared/peers/RESULTS.md explains).

The peers are built and run exactly as ../shared/peers/bench.py does: SPIN `spin -a`, `gcc -O2
-DSAFETY -DNOREDUCE` (depth-first, no partial-order reduction), `./pan -m<depth> -w<hash> -E
-c0`; Rumur `rumur --deadlock-detection off --threads 1`, `gcc -std=c11 -O2 -mcx16`. They come
from the distribution: `apt-get install spin rumur gcc time`. A missing peer is skipped with a
message. Nothing here is a test: CI does not need the peers. Our side runs the installed package
(`pip install -e .`) with the interpreter that runs this script.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SMP_SHARED", ROOT.parent / "shared"))
PEER_MODELS = SHARED / "peers" / "models"

# name, spec, consts, memory, extra flags, (peer family, -D define, rumur const, pan -w, pan -m)
INSTANCES = [
    ("filter4", "classic/filter.spec", {"N": "4"}, "sc", [], ("filter", "N", 18, 100000)),
    ("filter5", "classic/filter.spec", {"N": "5"}, "sc", [], ("filter", "N", 19, 100000)),
    ("filter6", "classic/filter.spec", {"N": "6"}, "sc", [], ("filter", "N", 24, 1000000)),
    ("dphil10", "classic/dining.spec", {"N": "10"}, "sc", [], ("dphil", "N", 18, 100000)),
    ("dphil12", "classic/dining.spec", {"N": "12"}, "sc", [], ("dphil", "N", 20, 400000)),
    ("dphil14", "classic/dining.spec", {"N": "14"}, "sc", [], ("dphil", "N", 22, 1200000)),
] + [(f"ftrace-{p.stem}-tso3", f"ftrace/{p.name}", {"N": "3"}, "tso", ["--buffer", "3"], None)
     for p in sorted((ROOT / "models" / "ftrace").glob("*.spec"))]
SCALED = {"filter6", "dphil14"}

# the child: one search in a fresh process, reporting JSON on stdout
CHILD = r"""
import json, resource, sys, time
from smp_explorer.explorer.engines import explore
from smp_explorer.runs.compiled import compile_model
from smp_explorer.explorer.options import Options
from smp_explorer.spec.pipeline import load_model
spec, consts, memory, buffer, engine = json.loads(sys.argv[1])
t0 = time.perf_counter()
model = load_model(spec, consts, memory, buffer)
cm = compile_model(model)
load = time.perf_counter() - t0
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
r = explore(cm, Options(engine=engine, reduction=False), memory)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"states": r.stats.states, "transitions": r.stats.transitions,
                  "seconds": r.stats.seconds, "load": load,
                  "rss_bytes": (peak - base) * 1024, "peak_rss_bytes": peak * 1024,
                  "store_bytes_per_state": getattr(r.stats, "bytes_per_state", 0.0),
                  "storage": getattr(r.stats, "storage", ""),
                  "verdicts": {p.name: p.status for p in r.properties}}))
"""


def ours(inst, engine: str) -> dict:
    name, spec, consts, memory, extra, _ = inst
    buffer = int(extra[1]) if extra else None
    arg = json.dumps([str(ROOT / "models" / spec), consts, memory, buffer, engine])
    p = subprocess.run([sys.executable, "-c", CHILD, arg], cwd=ROOT, capture_output=True,
                       text=True)
    if p.returncode != 0:
        raise SystemExit(f"{name} {engine} failed:\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def sh(cmd, cwd):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stdout}{p.stderr}")
    return p.stdout


def timed(cmd, cwd) -> tuple[str, float, int]:
    tfile = os.path.join(cwd, ".time")
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", "-o", tfile] + cmd, cwd=cwd,
                       capture_output=True, text=True)
    wall = time.perf_counter() - t0
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                        open(tfile).read()).group(1)) * 1024
    return p.stdout, wall, rss


def set_const(text: str, name: str, value: str) -> str:
    text, n = re.subn(r"^const %s: [^;]*;" % name, "const %s: %s;" % (name, value), text,
                      flags=re.M)
    assert n == 1, name
    return text


class Peers:
    def __init__(self, workdir: str):
        self.dir = workdir
        self.have_spin = shutil.which("spin") and shutil.which("gcc")
        self.have_rumur = shutil.which("rumur") and shutil.which("gcc")
        self.have_time = os.path.exists("/usr/bin/time")
        for tool, ok in (("spin", self.have_spin), ("rumur", self.have_rumur),
                         ("/usr/bin/time", self.have_time)):
            if not ok:
                print(f"note: {tool} not found, its rows are skipped "
                      f"(install with: apt-get install spin rumur gcc time)")
        if not PEER_MODELS.is_dir():
            print(f"note: {PEER_MODELS} not found (set SMP_SHARED): no peer rows")
            self.have_spin = self.have_rumur = False

    def spin(self, inst, runs: int):
        name, _, consts, _, _, peer = inst
        if not (peer and self.have_spin and self.have_time):
            return None
        fam, define, w, m = peer
        d = os.path.join(self.dir, name, "spin")
        os.makedirs(d, exist_ok=True)
        pml = {"filter": "filter.pml", "dphil": "dphil.pml"}[fam]
        shutil.copy(PEER_MODELS / pml, d)
        sh(["spin", f"-D{define}={consts[define]}", "-a", pml], d)
        sh(["gcc", "-O2", "-DSAFETY", "-DNOREDUCE", "-o", "pan", "pan.c"], d)
        out = []
        for _ in range(runs):
            text, wall, rss = timed(["./pan", f"-m{m}", f"-w{w}", "-E", "-c0"], d)
            st = int(float(re.search(r"([\d.e+]+) states, stored", text).group(1)))
            tr = int(float(re.search(r"([\d.e+]+) transitions \(= stored\+matched\)",
                                     text).group(1)))
            out.append({"states": st, "transitions": tr - 1, "seconds": wall, "rss": rss})
        return out

    def rumur(self, inst, runs: int):
        name, _, consts, _, _, peer = inst
        if not (peer and self.have_rumur and self.have_time):
            return None
        fam, define, _, _ = peer
        d = os.path.join(self.dir, name, "rumur")
        os.makedirs(d, exist_ok=True)
        src = {"filter": "filter.m", "dphil": "dphil.m"}[fam]
        text = set_const((PEER_MODELS / src).read_text(), define, consts[define])
        Path(d, "model.m").write_text(text)
        sh(["rumur", "-q", "--deadlock-detection", "off", "--threads", "1", "model.m", "-o",
            "model.c"], d)
        sh(["gcc", "-std=c11", "-O2", "-mcx16", "-o", "model", "model.c", "-lpthread"], d)
        out = []
        for _ in range(runs):
            text, wall, rss = timed(["./model"], d)
            mm = re.search(r"(\d+) states, (\d+) rules fired", text)
            out.append({"states": int(mm.group(1)), "transitions": int(mm.group(2)),
                        "seconds": wall, "rss": rss})
        return out


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="skip filter6 and dining 14")
    ap.add_argument("--only", nargs="*", help="instance names")
    ap.add_argument("--engines", default="scalar,vector,auto")
    ap.add_argument("--json", metavar="FILE", help="also write every run to FILE")
    a = ap.parse_args()
    engines = a.engines.split(",")
    insts = [i for i in INSTANCES if (not a.quick or i[0] not in SCALED)
             and (not a.only or i[0] in a.only)]
    print(f"load average: {os.getloadavg()[0]:.2f} (2-core machine: measure when low)")
    work = tempfile.mkdtemp(prefix="smp-bench-")
    peers = Peers(work)
    rows, problems, raw = [], [], {}
    try:
        for inst in insts:
            name = inst[0]
            results = {}
            for engine in engines:
                results[engine] = [ours(inst, engine) for _ in range(a.runs)]
            for tool, fn in (("spin", peers.spin), ("rumur", peers.rumur)):
                got = fn(inst, a.runs)
                if got:
                    results[tool] = got
            raw[name] = results
            counts = {(r["states"], r["transitions"]) for rs in results.values() for r in rs}
            if len(counts) != 1:
                problems.append(f"{name}: state/transition counts differ: {sorted(counts)}")
            for tool, rs in results.items():
                rows.append((name, tool, rs))
            print(f"== {name}: " + ", ".join(
                f"{t} {med(rs, 'seconds'):.2f}s" for t, rs in results.items()))
            sys.stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # the table
    print()
    print("| model | tool | states | transitions | s (median) | states/s | peak MB | "
          "B/state (store) | vs SPIN | vs Rumur |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, tool, rs in rows:
        secs = med(rs, "seconds")
        rate = rs[0]["states"] / secs if secs else 0
        peer_rate = {}
        for p in ("spin", "rumur"):
            pr = raw[name].get(p)
            if pr:
                peer_rate[p] = pr[0]["states"] / med(pr, "seconds")
        if tool in ("spin", "rumur"):
            mb = med(rs, "rss") / 2**20
            bps = "-"
        else:
            mb = med(rs, "peak_rss_bytes") / 2**20
            bps = f"{med(rs, 'store_bytes_per_state'):.1f}"
        ratios = [f"{rate / peer_rate[p]:.2f}" if p in peer_rate and tool not in
                  ("spin", "rumur") else "-" for p in ("spin", "rumur")]
        print(f"| {name} | {tool} | {rs[0]['states']:,} | {rs[0]['transitions']:,} | "
              f"{secs:.2f} | {rate:,.0f} | {mb:.0f} | {bps} | {ratios[0]} | {ratios[1]} |")
    if a.json:
        Path(a.json).write_text(json.dumps(raw, indent=1))
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
