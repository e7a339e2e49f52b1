#!/usr/bin/env python3
"""`--workers 2` against one process and `--workers 1` on this machine, with the bytes each
state costs on the wire (the cost at 100 machines is estimated from them, on paper).

    python bench/workers.py          # both workloads below, one table each
    python bench/workers.py --workload filter6               # filter N = 6 under sc (5.9M states)
    python bench/workers.py --workload int3-pso3             # the mission's own workload (17.7M)
    python bench/workers.py --spec models/classic/dining.spec --const N=14 --workers 1 2 4
    python bench/workers.py --ray auto                       # on a running Ray cluster
    python bench/workers.py --repeat 3     # the fastest of 3 rounds of every run, interleaved

The workloads: `filter6` (models/classic/filter.spec, N = 6, sc, no deadlock check: small
states, little work per state, 71 levels) and `int3-pso3` (bench/int3/percpu-refs.spec, N = 3
CPUs, pso, deadlocks checked: 317-bit states stored as fingerprints, heavier steps, 152 levels).
Symmetry and partial-order reduction are off in every run (`--workers` turns both off, and the
counts must be the same).

Needs Ray (pip install -e '.[ray]'). Ray starts once, before the runs (its start-up is printed,
not counted). Each run is one search in this process: one process's vector engine, then the
search partitioned over 1, 2, ... Ray workers; the counts must be identical. The seconds are
the search's own: for one process they include generating its code (about a second); for the
partitioned runs, "workers ready" (starting the worker processes, each building its code, in
parallel) is shown apart and left out of the search's seconds and rates.

On a shared machine wall seconds are noisy, so a second table splits each partitioned run's
time (from the partitions' own clocks): per partition the CPU seconds of its expansions and
merges and the seconds it sat idle between them; the driver's CPU seconds during the levels
(its own thread, and with Ray's threads); and the CPU critical path, the sum over levels of the
slowest partition's expansion plus the slowest partition's merge (CPU seconds): the wall time
the run would take with no message latency and no other process on the cores. The ratio of
two runs' critical paths is the speed-up their partitioning allows; the wall-time ratio, what
the messages and the machine left of it.

A third table (Linux: from /proc, sampled during each run) gives the CPU seconds of every
process the run used: this one (the driver, with Ray's threads in it), the partitions, and
Ray's own processes (raylet, GCS, ...: every other process this one started): with as many
partitions as cores, Ray's processes take their CPU from the partitions.

A fourth table is the machine's own limit, whatever the partitioning: the one-process search
in a fresh process alone, then in two fresh processes at once (each on its own core: they
share the cache and memory). From it, the best `--workers 2` could do against `--workers 1`
if partitioning added no work at all: every process's CPU of that run would be `--workers
1`'s partition CPU, slowed as much as two searches at once slow each other, plus the CPU the
driver's process and Ray's other processes took in the `--workers 2` run, on two cores.
`--twice 0` leaves it out.
"""
from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import re
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTE = re.compile(r"ready in ([\d.]+) s; ([\d.]+) bytes/state sent between partitions, "
                  r"([\d.]+) to and from the driver; the busiest partition worked ([\d.]+) s "
                  r"\(([\d.]+) s of CPU\)")


WORKLOADS = {   # name: (spec, consts, memory, check deadlocks)
    "filter6": ("models/classic/filter.spec", {"N": "6"}, "sc", False),
    "int3-pso3": ("bench/int3/percpu-refs.spec", {"N": "3"}, "pso", True),
    "int3-weak2": ("bench/int3/percpu-refs.spec", {"N": "2"}, "weak", True),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workload", nargs="*", choices=sorted(WORKLOADS),
                    default=["filter6", "int3-pso3"])
    ap.add_argument("--spec", help="instead: this spec (a path from the repository's root)")
    ap.add_argument("--const", action="append", default=None, metavar="NAME=VALUE")
    ap.add_argument("--memory", default="sc")
    ap.add_argument("--workers", nargs="*", type=int, default=[1, 2])
    ap.add_argument("--ray", metavar="ADDRESS", help="join this Ray cluster")
    ap.add_argument("--deadlock", action="store_true", help="(--spec) check deadlocks too")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each; the fastest is shown")
    ap.add_argument("--twice", type=int, choices=(0, 1), default=1,
                    help="1 (default): also the one-process search twice at once (the fourth "
                         "table); 0: not")
    a = ap.parse_args()
    try:
        import ray
    except ImportError:
        print("bench/workers.py needs Ray: pip install -e '.[ray]'", file=sys.stderr)
        return 2
    # this process's allocator as the command line sets it (the partitions keep the system's)
    from smp_explorer.explorer.allocator import set_for_search
    print(f"allocator: {'set for the search' if set_for_search() else 'as the system has it'}")
    t = time.perf_counter()
    quiet = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    if a.ray:
        ray.init(address=a.ray, **quiet)
    else:
        # as `--workers` starts it (explorer.distributed.SYSTEM_CONFIG: workers at niceness 0)
        from smp_explorer.explorer.distributed import SYSTEM_CONFIG
        ray.init(num_cpus=max(a.workers), _system_config=SYSTEM_CONFIG, **quiet)
    print(f"Ray started in {time.perf_counter() - t:.1f} s, "
          f"{ray.cluster_resources().get('CPU', 0):.0f} CPUs")
    if a.spec:
        consts = dict(c.split("=", 1) for c in (a.const or []))
        work = [(a.spec, consts, a.memory, a.deadlock)]
    else:
        work = [WORKLOADS[w] for w in a.workload]
    same = True
    for spec, consts, memory, deadlock in work:
        same &= workload(a, spec, consts, memory, deadlock)
    return 0 if same else 1


def workload(a, spec: str, consts: dict, memory: str, deadlock: bool) -> bool:
    """One workload's two tables; whether every run gave the same counts."""
    from smp_explorer.explorer import distributed
    from smp_explorer.explorer.engines import explore
    from smp_explorer.explorer.options import Options
    from smp_explorer.runs.compiled import compile_model
    from smp_explorer.spec.pipeline import load_model

    model = load_model(ROOT / spec, consts, memory=memory)
    cm = compile_model(model)
    print(f"\n{spec} {consts} [{memory}]{' deadlocks checked' if deadlock else ''}\n")
    runs = [("one process (vector)", None)] + [(f"--workers {n}", n) for n in a.workers]
    base = one = None
    counts = set()
    splits = []
    processes: list = []
    best: dict = {}
    seen: dict = {name: [] for name, _ in runs}   # every run's search seconds
    # the repeats go round the runs (one process, 1 worker, 2, ..., then again): a machine
    # whose speed drifts over minutes (a shared host) slows every configuration alike
    twice = (a.twice and not a.ray and (os.cpu_count() or 1) >= 2 and 2 in a.workers
             and 1 in a.workers)
    alone: list[tuple[float, float]] = []        # (search s, CPU s) of each round
    pairs: list[list[tuple[float, float]]] = []
    for _ in range(a.repeat):
        if twice:
            alone.append(fresh_searches(1, spec, consts, memory, deadlock)[0])
            pairs.append(fresh_searches(2, spec, consts, memory, deadlock))
        for name, n in runs:
            options = Options(engine="vector", check_deadlock=deadlock, workers=n,
                              ray_address=a.ray if n else None, symmetry=False,
                              reduction=False)
            distributed.PROFILE = []
            cpu0 = time.process_time()
            with ProcessCPU() as used:
                r = explore(cm, options, memory)
            counts.add((r.stats.states, r.stats.transitions, r.stats.depth,
                        tuple(sorted(r.stats.coverage.items())),
                        tuple((p.name, p.status) for p in r.properties)))
            note = next((x for x in r.stats.notes if x.startswith("ray:")), "")
            m = NOTE.search(note)
            ready, between, driver, busy, cpu = (float(x) for x in m.groups()) if m else \
                (0.0, 0.0, 0.0, 0.0, time.process_time() - cpu0)
            search = r.stats.seconds - ready
            seen[name].append(search)
            if name not in best or search < best[name][0]:
                best[name] = (search, r, ready, between, driver, busy, cpu,
                              distributed.PROFILE, used.groups())
    print("| run | states | transitions | total s | workers ready s | search s | states/s "
          "| vs one process | vs 1 worker | B/state between workers | B/state driver "
          "| busiest worker s (CPU s) | every run's search s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, n in runs:
        search, r, ready, between, driver, busy, cpu, profile, groups = best[name]
        if n:
            splits.append((name, split(profile[0])))
            processes.append((name, search, groups))
        base = base or search
        if n == 1:
            one = search
        vs_one = f"{one / search:.2f}x" if one and n else ""
        print(f"| {name} | {r.stats.states:,} | {r.stats.transitions:,} | "
              f"{r.stats.seconds:.2f} | {ready:.2f} | {search:.2f} | "
              f"{r.stats.states / search:,.0f} | {base / search:.2f}x | {vs_one} | "
              f"{between:.1f} | {driver:.1f} | {busy:.1f} ({cpu:.1f}) | "
              f"{', '.join(f'{x:.2f}' for x in seen[name])} |")
        sys.stdout.flush()
    print()
    print("| run | partition CPU s: expand + merge (idle s) | driver CPU s: own thread "
          "(with Ray's) | CPU critical path s |")
    print("|---|---|---:|---:|")
    for name, (parts, own, total, path) in splits:
        print(f"| {name} | " + ", ".join(f"{e:.2f} + {m:.2f} ({i:.2f})" for e, m, i in parts) +
              f" | {own:.2f} ({total:.2f}) | {path:.2f} |")
    if processes and processes[0][2] is not None:
        print()
        print("| run | search s | CPU s: driver process | partitions | Ray's other processes "
              "| in all | of the cores' |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        cores = os.cpu_count() or 1
        for name, search, (own, parts, other) in processes:
            print(f"| {name} | {search:.2f} | {own:.2f} | " + " + ".join(f"{c:.2f}" for c in parts)
                  + f" | {other:.2f} | {own + sum(parts) + other:.2f} | {cores * search:.2f} |")
    if twice and processes[0][2] is not None:
        machine_bound(alone, pairs, best, processes)
    print()
    print("same counts in every run" if len(counts) == 1 else "COUNTS DIFFER")
    sys.stdout.flush()
    return len(counts) == 1


def fresh_search(spec: str, consts: dict, memory: str, deadlock: bool, start, out) -> None:
    """(In a fresh process.) The one-process search, begun when every such process is ready;
    its search seconds and CPU seconds are put on `out`."""
    from smp_explorer.explorer.allocator import set_for_search
    from smp_explorer.explorer.engines import explore
    from smp_explorer.explorer.options import Options
    from smp_explorer.runs.compiled import compile_model
    from smp_explorer.spec.pipeline import load_model
    set_for_search()           # as the command line and this bench's own one-process row
    cm = compile_model(load_model(ROOT / spec, consts, memory=memory))
    options = Options(engine="vector", check_deadlock=deadlock, symmetry=False, reduction=False)
    explore(cm, options, memory)        # once before: the code is built and cached
    start.wait()
    cpu = time.process_time()
    r = explore(cm, options, memory)
    out.put((r.stats.seconds, time.process_time() - cpu))


def fresh_searches(n: int, spec: str, consts: dict, memory: str,
                   deadlock: bool) -> list[tuple[float, float]]:
    """The one-process search in n fresh processes at once: each one's (search s, CPU s)."""
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=fresh_search, args=(spec, consts, memory, deadlock, start, out))
             for _ in range(n)]
    for p in procs:
        p.start()
    got = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return sorted(got)


def machine_bound(alone: list, pairs: list, best: dict, processes: list) -> None:
    """The fourth table: the one-process search alone and twice at once (fresh processes), and
    the bound that sets on `--workers 2` against `--workers 1` (the module's doc)."""
    print()
    print("| one-process search in fresh processes | search s (CPU s) of each round | "
          "fastest |")
    print("|---|---|---:|")
    print("| alone | " + ", ".join(f"{s:.2f} ({c:.2f})" for s, c in alone) +
          f" | {min(s for s, _ in alone):.2f} |")
    print("| two at once | " + ", ".join(" + ".join(f"{s:.2f} ({c:.2f})" for s, c in pair)
                                         for pair in pairs) +
          f" | {min(max(s for s, _ in pair) for pair in pairs):.2f} |")
    # each round's slowdown of two at once over alone, by CPU seconds (each has a core)
    slow = min(sum(c for _, c in pair) / (2 * c1) for pair, (_, c1) in zip(pairs, alone))
    cpu = {name: groups for name, _, groups in processes}
    _, parts1, _ = cpu["--workers 1"]
    own2, _, other2 = cpu["--workers 2"]
    w1 = best["--workers 1"][0]
    w2 = best["--workers 2"][0]
    floor = (slow * sum(parts1) + own2 + other2) / 2
    print(f"\ntwo searches at once each take {slow:.2f}x the CPU of one alone (the least of "
          f"the rounds). Partitioning that added no work: `--workers 2` would use at least "
          f"{slow:.2f} x {sum(parts1):.2f} (`--workers 1`'s partition) + {own2 + other2:.2f} "
          f"(its driver's and Ray's other processes) CPU s on two cores: {floor:.2f} s at "
          f"best, {w1 / floor:.2f}x of `--workers 1` ({w1:.2f} s); measured {w2:.2f} s, "
          f"{w1 / w2:.2f}x.")


class ProcessCPU:
    """The CPU seconds (user + system) of this process and of every process it started (Ray's,
    the partitions among them) while it was open, from /proc (Linux; elsewhere `groups` is
    None), sampled four times a second: the Ray partitions end with the run, so their last
    sample counts."""

    TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self) -> None:
        self.start: dict[int, float] = {}
        self.cpu: dict[int, float] = {}
        self.name: dict[int, str] = {}       # the last command line seen (not a zombie's)
        self.parent: dict[int, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def snapshot(self) -> dict[int, float]:
        out = {}
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            pid = int(d.name)
            try:
                stat = (d / "stat").read_text()
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").strip().decode(
                    errors="replace")
            except OSError:
                continue
            f = stat.rsplit(")", 1)[1].split()
            out[pid] = (int(f[11]) + int(f[12])) / self.TICK
            self.parent[pid] = int(f[1])
            if cmd:
                self.name[pid] = cmd
        return out

    def _sample(self) -> None:
        while not self.stop.wait(0.25):
            self.cpu.update(self.snapshot())

    def __enter__(self) -> "ProcessCPU":
        if Path("/proc/self/stat").exists():
            self.start = self.snapshot()
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.thread.is_alive():
            self.stop.set()
            self.thread.join()
            self.cpu.update(self.snapshot())

    def groups(self) -> tuple[float, list[float], float] | None:
        """CPU s of this process, of each partition, and of the other processes it started."""
        if not self.start:
            return None
        me = os.getpid()
        own, parts, other = 0.0, [], 0.0
        for pid, c in self.cpu.items():
            used = c - self.start.get(pid, 0.0)
            up, seen = self.parent.get(pid, 0), 0
            while up not in (me, 0, 1) and seen < 64:
                up, seen = self.parent.get(up, 0), seen + 1
            if pid == me:
                own = used
            elif up != me:
                continue            # not started by this process
            elif self.name.get(pid, "").startswith("ray::Partition"):
                parts.append(used)
            else:
                other += used
        return own, sorted(parts, reverse=True), other


def split(timeline: list) -> tuple:
    """Per partition (expansion CPU s, merge CPU s, idle s), the driver's CPU s (its thread,
    the process), and the CPU critical path, from one run's timeline (explorer.distributed)."""
    driver, *workers = timeline
    start = min(t[1] for t in driver)
    end = max(t[2] for t in driver)
    parts, per_level = [], []
    for w in workers:
        inside = [t for t in w if t[1] >= start and t[2] <= end]
        parts.append((sum(t[3] for t in inside if t[0] == "expand"),
                      sum(t[3] for t in inside if t[0] == "merge"),
                      (end - start) - sum(t[2] - t[1] for t in inside)))
        per_level.append(([t[3] for t in w if t[0] == "expand"],
                          [t[3] for t in w if t[0] == "merge"]))
    levels = min(len(m) for _, m in per_level)
    path = sum(max(e[k] for e, _ in per_level) + max(m[k] for _, m in per_level)
               for k in range(levels))
    own = sum(t[3] for t in driver if t[0] == "driver thread")
    total = sum(t[3] for t in driver if t[0] == "driver")
    return parts, own, total, path


if __name__ == "__main__":
    sys.exit(main())
