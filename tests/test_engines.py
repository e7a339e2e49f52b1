"""The engines agree: scalar, vector and auto give the reference engine's results exactly.

For every shipped model (models/**/*.spec) under sc and tso (pso and weak too, with a state
limit), and for the litmus corpus when ../shared is present: the same states, transitions,
depth, stop reason, per-step coverage, notes (the fingerprint note aside), verdicts, messages
and traces (the whole JSON of each trace, so the same shortest counterexample). The reference
engine (`explorer/engines/reference.py`, the first BFS over tuples) is the definition; the
vector engine is forced on every level, so its batches, its cuts at discoveries and its exact
rows are all exercised even on small models.
"""
from __future__ import annotations

import pytest

from conftest import MODELS
from smp_explorer.explorer.engines import explore
from smp_explorer.runs.compiled import compile_model
from smp_explorer.explorer.options import Options
from smp_explorer.explorer.store import KeyTable, Layout, fp_numpy, fp_python
from smp_explorer.spec.pipeline import load_model, model_from_text

SPECS = sorted(p.relative_to(MODELS).as_posix() for p in MODELS.rglob("*.spec"))
ENGINES = ("scalar", "vector", "auto")


def summary(r):
    notes = [n for n in r.stats.notes if "fingerprint" not in n]
    return (r.stats.states, r.stats.transitions, r.stats.depth, r.complete, r.stop_reason,
            r.stats.initial_states, r.stats.coverage, notes,
            [(p.name, p.status, p.message, p.trace.to_json() if p.trace else None)
             for p in r.properties])


def agree(model, memory="sc", **options):
    want = summary(explore(compile_model(model), Options(engine="reference", **options), memory))
    for engine in ENGINES:
        got = summary(explore(compile_model(model), Options(engine=engine, **options), memory))
        assert got == want, f"{engine} differs from the reference on {model.name} {options}"
    return want


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("memory", ["sc", "tso"])
def test_shipped_models_agree(spec, memory):
    model = load_model(MODELS / spec, {}, memory)
    agree(model, memory, max_states=5000)
    agree(model, memory, check_deadlock=False, max_states=5000)
    agree(model, memory, stop_at_first=True, max_states=5000)
    agree(model, memory, max_states=40)
    agree(model, memory, max_depth=4)


@pytest.mark.parametrize("spec", [s for s in SPECS if "ftrace" in s or "classic" in s])
@pytest.mark.parametrize("memory", ["pso", "weak"])
def test_wide_states_agree(spec, memory):
    """pso and weak states need 2 or more words: exact keys, then fingerprints."""
    model = load_model(MODELS / spec, {}, memory)
    agree(model, memory, max_states=3000)


def test_larger_instances_agree():
    """Levels wide enough for auto to switch to the vector engine mid-run."""
    agree(load_model(MODELS / "classic/filter.spec", {"N": "4"}))
    agree(load_model(MODELS / "classic/dining.spec", {"N": "9"}))
    agree(load_model(MODELS / "classic/dining.spec", {"N": "9"}), stop_at_first=True)
    agree(load_model(MODELS / "classic/filter.spec", {"N": "4"}), max_states=7000)
    many = "var x: 0..99 = any;\nvar y: 0..99 = any;\nprocess P { a: skip; }"
    agree(model_from_text(many, "many.spec"), max_states=10)


@pytest.mark.parametrize("text", [
    # a runtime error on a path, an assertion, division and an array index by a state value
    "var x: 0..3 = 0;\nprocess P { a: x := x + 1; goto a; }",
    "var i: 0..3 = 0; var a: array[0..1] of bool;\n"
    "process P { l: a[i] := true; i := i + 1; goto l; }",
    "var d: 0..2 = 0; var x: 0..9;\nprocess P { a: x := 6 / d; }",
    "var x: 0..3 = 0;\nprocess P { a: assert x > 0 : \"x positive\"; x := 1;\nb: skip; }",
    "var x: 0..3 = any; var a: array[0..1] of bool = any;\n"
    "invariant Small: x < 3 or a[1];\naction Nop { await x < 3; x := x + 1; }",
    "var s: set of 0..5 = {};\nvar k: 0..5 = 0;\n"
    "action Add { await k < 5; s := s union {k}; k := k + 1; }\nreachable Full: 4 in s;",
    # a goal decided in the initial state; evaluating it later would divide by zero
    "var x: 0..3 = 0;\nprocess P { a: if x < 3 { x := x + 1; } goto a; }\n"
    "reachable G: x == 1 or 6 / (2 - x) > 0;",
])
def test_small_programs_agree(text):
    agree(model_from_text(text, "t.spec"))
    agree(model_from_text(text, "t.spec"), stop_at_first=True)


class Recorder:
    """A search visitor that keeps what an engine reported for each state."""

    def __init__(self):
        self.invariants = {}
        self.steps = {}

    def discovered(self, state, failing_invariants, reached_goals):
        assert state not in self.invariants, "a state discovered twice"
        self.invariants[state] = [k if isinstance(k, int) else "undefined"
                                  for k in failing_invariants]

    def expanded(self, state, successors, failures):
        self.steps[state] = (sorted(successors), sorted(failures))


@pytest.mark.parametrize("model", [
    load_model(MODELS / "classic/filter.spec", {"N": "4"}),
    load_model(MODELS / "ftrace/v1-plain-int.spec", {}, "tso"),
    model_from_text("var d: 0..2 = 0; var x: 0..9;\nprocess P { a: x := 6 / d; }", "t.spec"),
    pytest.param(load_model(MODELS / "classic/dining.spec", {"N": "10"}), marks=pytest.mark.slow),
], ids=["filter4", "ftrace-tso", "division", "dining10"])
def test_every_engine_tells_its_visitor_the_same(model):
    """The visitor hears from the engine that runs (auto switches to vector on dining10), and
    every engine reports the reference engine's states, properties and steps."""
    want = Recorder()
    explore(compile_model(model), Options(engine="reference", visitor=want), model.memory)
    assert want.invariants and want.steps
    for engine in ENGINES:
        got = Recorder()
        r = explore(compile_model(model), Options(engine=engine, visitor=got), model.memory)
        assert len(got.invariants) == r.stats.states
        assert got.invariants == want.invariants, engine
        assert got.steps == want.steps, engine


def test_fingerprints_are_noted_and_exact_forces_whole_states():
    model = load_model(MODELS / "classic/filter.spec", {"N": "3"}, "pso")
    assert Layout(model).storage == "fingerprint"
    r = explore(compile_model(model), Options(engine="vector", max_states=5000), "pso")
    assert r.stats.storage == "fingerprint"
    # about 5,000 states: a merge probability near 1e-12, below the note's 1e-9 threshold
    assert not any("fingerprint" in n for n in r.stats.notes)
    r2 = explore(compile_model(model), Options(engine="vector", exact=True, max_states=5000),
                 "pso")
    assert not any("fingerprint" in n for n in r2.stats.notes)
    assert (r.stats.states, r.stats.transitions) == (r2.stats.states, r2.stats.transitions)
    assert r2.stats.storage.startswith("exact")


def test_fingerprint_functions_agree():
    import numpy as np
    words = [[1, 2, 3], [2**62, 5, 0], [7, 7, 7]]
    cols = [np.array(c, dtype=np.uint64) for c in zip(*words)]
    assert fp_numpy(cols).tolist() == [fp_python(w) for w in words]


def test_key_table_keeps_the_smallest_rank_of_equal_keys():
    import numpy as np
    t = KeyTable(1, 16)
    keys = np.array([5, 9, 5, 7, 9, 11], dtype=np.uint64)
    rank = np.array([4, 3, 1, 0, 2, 5], dtype=np.int32)
    new = t.insert([keys], rank)
    assert new.tolist() == [3, 2, 4, 5]       # 7 (rank 0), 5 (rank 1), 9 (rank 2), 11
    assert t.contains([np.array([5, 6, 11], dtype=np.uint64)]).tolist() == [True, False, True]
    assert t.insert([keys], rank).tolist() == []


def test_litmus_corpus_agrees(shared):
    from smp_explorer.spec.litmus import read_litmus, read_manifest, translate
    root = shared / "litmus"
    rows = read_manifest(root / "MANIFEST.tsv")
    checked = 0
    for path in sorted(rows)[::11]:       # every 11th test, under every memory model
        test = read_litmus(root / path)
        for memory in ("sc", "tso", "pso", "weak"):
            try:
                tr = translate(test, memory)
                model = model_from_text(tr.text, test.file, None, memory, tr.buffer)
            except Exception:  # not ours to judge here (test_litmus_corpus does)
                continue
            agree(model, memory, check_deadlock=False, max_states=5000)
            checked += 1
    assert checked > 80


@pytest.mark.slow
@pytest.mark.parametrize("name, spec, consts", [
    ("filter5", "classic/filter.spec", {"N": "5"}),
    ("dphil12", "classic/dining.spec", {"N": "12"}),
    ("int3c3-tso", "peers/int3.spec", {"C": "3"}),
])
def test_big_models_agree(name, spec, consts):
    memory = "tso" if name.endswith("tso") else "sc"
    agree(load_model(MODELS / spec, consts, memory), memory)


@pytest.mark.slow
def test_full_litmus_corpus_agrees(shared):
    from smp_explorer.spec.litmus import read_litmus, read_manifest, translate
    root = shared / "litmus"
    for path in sorted(read_manifest(root / "MANIFEST.tsv")):
        test = read_litmus(root / path)
        for memory in ("sc", "tso", "pso", "weak"):
            try:
                tr = translate(test, memory)
                model = model_from_text(tr.text, test.file, None, memory, tr.buffer)
            except Exception:
                continue
            agree(model, memory, check_deadlock=False, max_states=50000)


TIES = """
var x: 0..3 = 0;
var y: 0..3 = 0;
process A { a: x := x + 1; b: x := x + 1; }
process B { a: y := y + 1; b: y := y + 1; }
process C { a: either { x := 2; } or { y := 2; } }
invariant Small: x + y < 3;
invariant NotBoth: not (x == 2 and y == 2);
"""


@pytest.mark.parametrize("memory", ["sc", "tso", "pso", "weak"])
def test_ties_between_equal_length_traces_break_alike(memory):
    """Small fails after 2 steps along many paths (C's choice then an increment, in any of
    several orders), NotBoth after 3 or 4: every engine must pick the same shortest trace."""
    model = model_from_text(TIES, "ties.spec", None, memory)
    for options in ({}, {"stop_at_first": True}, {"max_states": 7}, {"check_deadlock": False}):
        agree(model, memory, **options)
    want = agree(model, memory)
    small = next(p for p in want[-1] if p[0] == "Small")
    assert small[1] == "violated" and small[3] is not None
