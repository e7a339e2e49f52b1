"""Our state and transition counts equal rumur's on the peer models (shared/peers/results/summary.tsv).

The shipped specs models/classic/filter.spec, models/classic/dining.spec and models/peers/int3.spec
are written rule for rule from the Murphi models in shared/peers/models/ (filter.m, dphil.m,
int3.m), so each state graph is isomorphic to rumur's: the same number of states, and the same
number of transitions (rules fired, self-loops included; rumur ran with deadlock detection off,
so we do too). The expected numbers are read from the TSV when the test runs.
"""
from __future__ import annotations

import re
import time

import pytest

from conftest import MODELS, rumur_rows
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.pipeline import load_model

# TSV model name -> (our spec, constants). int3c2nosync2 was run with the property off
# (CHECK = false): rumur drops the successor of a failing rule, so the full graph needs it off.
SPECIAL = {
    "int3c2": ("peers/int3.spec", {}),
    "int3c3": ("peers/int3.spec", {"C": "3"}),
    "int3c2nosync2": ("peers/int3.spec", {"SYNC2": "false", "CHECK": "false"}),
}
# rows of the TSV that are not models of ours (the store-buffering litmus tests belong to the
# memory-model work, not to these shipped specs)
NOT_OURS = {"sb", "sbfence"}


def spec_for(name: str) -> tuple[str, dict[str, str]]:
    if name in SPECIAL:
        return SPECIAL[name]
    m = re.fullmatch(r"(filter|dphil)(\d+)", name)
    if m is None:
        raise KeyError(name)
    spec = {"filter": "classic/filter.spec", "dphil": "classic/dining.spec"}[m.group(1)]
    return spec, {"N": m.group(2)}


# Timings on the development machine (2 cores; BFS in CPython): filter5 (231k states) ~2 s,
# dphil10 ~0.4 s, the rest well under a second; dphil14 (1.3M states) ~19 s and filter6 (5.9M
# states, ~2 GB of memory) ~50 s, so those two only run with -m slow.
SLOW = {"filter6", "dphil14"}
CASES = ["filter2", "filter3", "filter4", "filter5", "filter6",
         "dphil6", "dphil8", "dphil10", "dphil14",
         "int3c2", "int3c3", "int3c2nosync2"]


def test_every_rumur_row_is_checked(shared):
    """A row added to the TSV is noticed here rather than silently left out."""
    rows = rumur_rows(shared)
    assert set(rows) - NOT_OURS == set(CASES)
    for name in CASES:
        spec, _ = spec_for(name)
        assert (MODELS / spec).is_file(), spec
    # the nosync2 row is the one with the property off, which is why CHECK is false for it
    assert rows["int3c2nosync2"]["options"].endswith("property off")


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                  for n in CASES])
def test_counts_equal_rumur(shared, name):
    row = rumur_rows(shared)[name]
    spec, consts = spec_for(name)
    start = time.perf_counter()
    r = explore(compile_model(load_model(MODELS / spec, consts)), Options(check_deadlock=False,
                                                                          reduction=False))
    elapsed = time.perf_counter() - start
    assert r.complete and r.stop_reason == "exhausted", r.stop_reason
    assert (r.stats.states, r.stats.transitions) == \
        (int(row["states"]), int(row["transitions"])), f"{name} ({spec} {consts}), {elapsed:.1f} s"
