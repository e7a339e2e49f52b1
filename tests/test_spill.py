"""--max-memory: a visited set beyond its budget spills to disk and the search finishes with the
counts of an unbudgeted run; a search that cannot spill stops with its statistics, exit 3.

The expected counts are rumur's (shared/peers/results/summary.tsv, as tests/test_peer_counts.py
reads them): the state graph of models/classic/filter.spec is isomorphic to filter.m's.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import MODELS, cli, rumur_rows
from smp_explorer.cli.args import memory_size
from smp_explorer.explorer import spill
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.pipeline import load_model

FILTER5 = MODELS / "classic/filter.spec"


@pytest.mark.parametrize("engine", ["vector", "auto"])
def test_a_small_budget_spills_and_gives_the_counts_of_rumur(shared, engine):
    row = rumur_rows(shared)["filter5"]
    model = load_model(FILTER5, {"N": "5"})
    r = explore(compile_model(model), Options(engine=engine, check_deadlock=False,
                                              max_memory=10 << 20, reduction=False))
    assert r.stop_reason == "exhausted"
    assert (r.stats.states, r.stats.transitions) == (int(row["states"]), int(row["transitions"]))
    assert all(p.status == "holds" for p in r.properties)
    assert any("spilled to disk" in n for n in r.stats.notes), r.stats.notes


def test_a_spilled_violation_has_the_shortest_trace():
    """Verdicts and traces do not depend on where the keys are: the counterexample found with
    a budget is the one found without (its length is the breadth-first depth of the first
    violating state in both)."""
    model = load_model(MODELS / "classic/dining.spec", {"N": "12"})
    want = explore(compile_model(model), Options(engine="vector"))
    got = explore(compile_model(model), Options(engine="vector", max_memory=12 << 20))
    assert any("spilled to disk" in n for n in got.stats.notes), got.stats.notes
    assert (got.stats.states, got.stats.transitions) == (want.stats.states, want.stats.transitions)
    for a, b in zip(want.properties, got.properties):
        assert (a.name, a.status) == (b.name, b.status)
        assert (a.trace is None) == (b.trace is None)
        if a.trace is not None:
            assert len(a.trace) == len(b.trace)


def test_where_it_cannot_spill_it_stops_with_exit_3():
    """The scalar engine's visited set is a Python set: it cannot spill. Run as a process of its
    own, as a user runs it: the budget is what the search adds to the process's memory, and
    memory that earlier tests in the same process freed (and the allocator kept) would be
    reused without the process growing."""
    done = subprocess.run([sys.executable, "-m", "smp_explorer", "check", str(FILTER5), "--const",
                           "N=5", "--engine", "scalar", "--max-memory", "3M", "--json", "--no-z3"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 3, done.stderr
    (res,) = json.loads(done.stdout)["results"]
    assert res["stop_reason"] == "max-memory" and not res["complete"]
    assert 0 < res["states"] < 230965
    assert "Traceback" not in done.stderr


def test_max_memory_is_a_size(capsys):
    assert memory_size("512M") == 512 << 20
    assert memory_size("1.5GiB") == 3 << 29
    assert memory_size("2g") == 2 << 30
    assert memory_size("4096") == 4096
    with pytest.raises(SystemExit) as info:
        cli(capsys, "check", str(FILTER5), "--max-memory", "lots")
    err = capsys.readouterr().err
    assert info.value.code == 2 and "--max-memory" in err and "Traceback" not in err


def test_disk_runs_merge_and_still_find_every_key(monkeypatch):
    monkeypatch.setattr(spill, "MERGE_SLICE", 64)
    rng = np.random.default_rng(5)
    keys = np.unique(rng.integers(0, 2**64 - 1, 5000, dtype=np.uint64))
    rng.shuffle(keys)
    runs = spill.DiskRuns()
    parts = np.array_split(keys[:4000], spill.MAX_RUNS + 3)
    for p in parts:
        runs.add(p)
    assert len(runs.runs) <= spill.MAX_RUNS and runs.count == 4000
    assert runs.contains(keys).tolist() == [True] * 4000 + [False] * (len(keys) - 4000)
    assert sorted(runs.keys().tolist()) == sorted(keys[:4000].tolist())
    d = runs.dir
    runs.close()
    import os
    assert not os.path.exists(d)


def test_the_default_budget_is_half_of_the_ram():
    ram = spill.physical_memory()
    assert ram is None or spill.default_budget() == ram // 2
