#!/usr/bin/env python3
"""How time and memory grow with N for one model (a table; a PNG with the `plot` extra).

    python bench/scaling.py                                   # dining philosophers, N = 6..14
    python bench/scaling.py --spec classic/filter.spec --ns 3 4 5 6 --engines scalar,vector
    python bench/scaling.py --png scaling.png                 # needs: pip install -e '.[plot]'

Each point is one search in a fresh process (the median of --runs); memory is the peak resident
set of that process and the engine's own storage per state.
"""
from __future__ import annotations

import argparse
import statistics
import sys

from peers import ours  # bench/ is on the path when this script runs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", default="classic/dining.spec")
    ap.add_argument("--const", default="N")
    ap.add_argument("--ns", nargs="*", type=int, default=[6, 8, 10, 12, 13, 14])
    ap.add_argument("--memory", default="sc")
    ap.add_argument("--engines", default="scalar,vector")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--png", metavar="FILE")
    a = ap.parse_args()
    engines = a.engines.split(",")
    table = []
    print("| N | engine | states | transitions | s | states/s | peak MB | B/state (store) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n in a.ns:
        inst = (f"{a.spec} {a.const}={n}", a.spec, {a.const: str(n)}, a.memory, [], None)
        for engine in engines:
            rs = [ours(inst, engine) for _ in range(a.runs)]
            secs = statistics.median(r["seconds"] for r in rs)
            mb = statistics.median(r["peak_rss_bytes"] for r in rs) / 2**20
            bps = statistics.median(r["store_bytes_per_state"] for r in rs)
            r0 = rs[0]
            table.append((n, engine, r0["states"], secs, mb))
            print(f"| {n} | {engine} | {r0['states']:,} | {r0['transitions']:,} | {secs:.2f} | "
                  f"{r0['states'] / secs if secs else 0:,.0f} | {mb:.0f} | {bps:.1f} |")
            sys.stdout.flush()
    if a.png:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed (pip install -e '.[plot]'): no plot")
            return 0
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        for engine in engines:
            pts = [(n, s, mb) for n, e, _, s, mb in table if e == engine]
            ax1.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=engine)
            ax2.plot([p[0] for p in pts], [p[2] for p in pts], marker="o", label=engine)
        ax1.set_yscale("log"), ax2.set_yscale("log")
        ax1.set_xlabel(a.const), ax2.set_xlabel(a.const)
        ax1.set_ylabel("seconds"), ax2.set_ylabel("peak MB")
        ax1.legend(), ax2.legend()
        fig.suptitle(f"{a.spec} under {a.memory}")
        fig.tight_layout()
        fig.savefig(a.png, dpi=100)
        print(f"wrote {a.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
