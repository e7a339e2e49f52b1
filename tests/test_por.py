"""Issue 10, item 3: partial-order reduction (explorer/por.py, ir/footprint.py).

The counts of the small specs are derived by hand in each test; the differential tests compare
each verdict, each counterexample's length and the steps that never fired with the unreduced
search on every shipped model, on the litmus corpus and on random specs."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from conftest import MODELS, ROOT, cli
from fuzzspecs import MEMORIES, STATE_LIMIT, _model, specs
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.pipeline import load_model, model_from_text

ENGINES = ("reference", "scalar", "vector", "auto")


def run(text: str, memory: str = "sc", engine: str = "reference", reduction: bool = True,
        **options):
    model = model_from_text(text, "t.spec", None, memory)
    return explore(compile_model(model), Options(engine=engine, reduction=reduction, **options),
                   memory)


def verdicts(r) -> list:
    """What reduction must keep: each verdict and the length of its trace."""
    return [(p.name, p.status, None if p.trace is None else len(p.trace)) for p in r.properties]


# Two processes of three steps on their own locals: 4 x 4 = 16 states in full.
LOCAL = """
type IDS = 0..1;
process P[i in IDS] {
  local x: 0..3 = 0;
  a: x := x + 1;
  b: x := x + 1;
  c: x := x + 1;
}
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_independent_steps_are_explored_in_one_order(engine):
    """No step reads or writes a slot of the other process and no property reads any: in
    every state with both enabled, P[0]'s step alone is a stubborn set, so P[0] runs to Done
    and then P[1]: 1 + 3 + 3 = 7 states instead of 16."""
    full = run(LOCAL, engine=engine, reduction=False)
    assert full.stats.states == 16
    reduced = run(LOCAL, engine=engine)
    assert reduced.stats.states == 7
    assert reduced.complete and verdicts(reduced) == verdicts(full)
    assert reduced.stats.reductions[0].startswith("partial-order reduction: on (3 of 7 states")


def test_a_visible_step_is_not_pruned_and_the_trace_is_the_shortest():
    """The invariant reads P[0].x: P[0]'s steps are visible, so P[1]'s step is taken alone
    while both are enabled: P[1] runs to Done first (4 states), then P[0] (3 more). The reduced
    graph reaches P[0].x = 3 after 6 steps; the shortest counterexample has 3 (P[0]'s steps),
    and that is the one reported."""
    text = LOCAL + "invariant small: P[0].x < 3;\n"
    full = run(text, reduction=False)
    reduced = run(text)
    assert reduced.stats.states == 7
    assert verdicts(full) == verdicts(reduced)
    assert reduced.get("small").status == "violated" and len(reduced.get("small").trace) == 3
    assert "traces shortened to the shortest" in reduced.stats.reductions[0]


def test_a_condition_a_step_cannot_change_does_not_make_it_visible():
    """`P[1] at c` reads P[1]'s pc, which every step of P[1] writes; P[1]'s steps from `a` and
    to `Done` keep its value, so they are invisible; the two steps that enter or leave `c` are
    visible. In full: 16 states; reduced (P[0]'s steps first wherever P[0] can move: P[0]'s
    steps are all invisible): P[0] runs to Done from the initial state (4 states), then P[1]
    alone (3 more): 7."""
    text = LOCAL + "reachable p1_at_c: P[1] at c;\n"
    reduced = run(text)
    assert reduced.stats.states == 7
    assert verdicts(reduced) == verdicts(run(text, reduction=False))
    assert len(reduced.get("p1_at_c").trace) == 2


def test_a_reached_goal_no_longer_makes_steps_visible():
    """The goal reads both processes' x: every step may change it, so the initial state
    (0,0) is expanded fully, to (1,0) and (0,1), where the goal is reached. From the next level
    on no step is visible and P[0]'s step alone is a stubborn set while it has one:
    L1 (1,0) -> (2,0), (0,1) -> (1,1); L2 (2,0) -> (3,0), (1,1) -> (2,1), all partly;
    L3 (3,0) -> (3,1) (P[1]'s step is its only one), (2,1) -> (3,1), found in this level:
    partly; L4 (3,2); L5 (3,3). 10 states instead of 16, 5 of them expanded partly (with the
    goal visible throughout, nothing would be pruned)."""
    text = LOCAL + "reachable one_moved: P[0].x == 1 or P[1].x == 1;\n"
    full, reduced = run(text, reduction=False), run(text)
    assert full.stats.states == 16
    assert reduced.stats.states == 10
    assert verdicts(reduced) == verdicts(full)
    assert reduced.stats.reductions[0].startswith("partial-order reduction: on (5 of 10 states")


def test_dependent_steps_are_all_explored():
    """Both processes write the same shared variable at every step: no stubborn set is
    smaller than the enabled steps, so nothing is pruned."""
    text = """
type IDS = 0..1;
shared g: 0..1 = 0;
process P[i in IDS] {
  a: g := self;
  b: g := 1 - self;
}
"""
    full, reduced = run(text, reduction=False), run(text)
    assert reduced.stats.states == full.stats.states
    # (seen before the stubborn sets are built: test_steps_that_all_write_one_slot_...)
    assert reduced.stats.reductions == ["partial-order reduction: off (every step writes g: "
                                        "no two steps are independent)"]


def test_the_proviso_keeps_a_step_that_a_cycle_would_ignore():
    """P flips a local bit forever; Q's one step is visible (the goal reads Q's pc). P's step
    alone is a stubborn set everywhere, so without a cycle proviso the reduced search would
    follow P's cycle and never take Q's step: the goal would be unreached. The proviso expands
    fully the state whose only reduced successor was seen before this level (P's flip back to
    x = 0, of level 0, from x = 1, of level 1), where Q's step is taken."""
    text = """
process P { local x: 0..1 = 0; a: x := 1 - x; goto a; }
process Q { local y: 0..1 = 0; b: y := 1; }
reachable q_done: Q at Done;
"""
    full, reduced = run(text, reduction=False), run(text)
    assert full.get("q_done").status == reduced.get("q_done").status == "holds"
    assert len(reduced.get("q_done").trace) == 1
    assert reduced.stats.states == full.stats.states == 4


def test_one_new_kept_successor_is_enough_for_the_proviso():
    """P flips g forever, R copies g once into r, Q sets y once; nothing is visible. States
    (g, R, Q) with R in b, D0 (done, r = 0), D1 (done, r = 1): in full g x R x Q = 12.
    P's and R's steps are dependent (g), Q's step depends on nothing: while R is at b the
    stubborn set is {P, R}; after it, {P}. Reduced, level by level:
    L0 (0,b,c) -> (1,b,c), (0,D0,c), partly (Q pruned);
    L1 (1,b,c): P -> (0,b,c) seen at level 0, R -> (1,D1,c) new: one new kept successor is
       enough, partly (Q pruned: the proviso that wanted every kept successor new expanded this
       state fully and reached (1,b,D)); (0,D0,c) -> (1,D0,c) new, partly;
    L2 (1,D1,c) -> (0,D1,c) new, partly; (1,D0,c): its only kept successor (0,D0,c) is of
       level 1: fully, Q gives (1,D0,D);
    L3 (0,D1,c): (1,D1,c) is of level 2: fully, (0,D1,D); (1,D0,D) -> (0,D0,D);
    L4 (0,D1,D) -> (1,D1,D); L5 nothing new. 10 states: (0,b,D) and (1,b,D) are never
    reached, and no verdict changes."""
    text = """
shared g: 0..1 = 0;
process P { a: g := 1 - g; goto a; }
process R { local r: 0..1 = 0; b: r := g; }
process Q { local y: 0..1 = 0; c: y := 1; }
"""
    full, reduced = run(text, reduction=False), run(text)
    assert full.stats.states == 12
    assert reduced.stats.states == 10
    assert verdicts(reduced) == verdicts(full)
    assert reduced.stats.reductions[0].startswith("partial-order reduction: on (4 of 10 states")


def test_a_failing_assertion_of_a_pruned_step_is_found():
    """P[1]'s step asserts that P[0] has not moved; P[0]'s steps and P[1]'s write disjoint
    locals but P[1] reads P[0].x, so P[1]'s step depends on P[0]'s: every interleaving
    matters, and the assertion fails after one step of P[0] (shortest trace: 2 steps)."""
    text = """
process P0 { local x: 0..2 = 0; a: x := x + 1; b: x := x + 1; }
process P1 { local y: 0..1 = 0; c: assert P0.x == 0 : "P0 moved"; y := 1; }
"""
    for engine in ENGINES:
        full, reduced = run(text, engine=engine, reduction=False), run(text, engine=engine)
        assert verdicts(full) == verdicts(reduced)
        assert [p.status for p in reduced.properties if p.kind == "assertion"] == ["violated"]
        assert [len(p.trace) for p in reduced.properties if p.kind == "assertion"] == [2]


def test_deadlocks_are_kept():
    """P[0] and P[1] each take their own lock, then wait for the other's: the deadlock (both
    holding one lock) is found with and without reduction, with the same shortest trace."""
    text = """
type IDS = 0..1;
var lock: array[IDS] of bool = false;
process P[i in IDS] {
  take: await not lock[self]; lock[self] := true;
  other: await not lock[1 - self]; lock[1 - self] := true;
}
"""
    full, reduced = run(text, reduction=False), run(text)
    assert verdicts(full) == verdicts(reduced)
    assert reduced.get("deadlock_free").status == "violated"
    assert len(reduced.get("deadlock_free").trace) == 2


def test_max_depth_turns_reduction_off():
    r = run(LOCAL, max_depth=2)
    assert r.stats.states == run(LOCAL, reduction=False, max_depth=2).stats.states == 6
    assert r.stats.reductions == ["partial-order reduction: off (--max-depth bounds the "
                                  "unreduced search)"]


# ---- every shipped model, with and without ---------------------------------------------------

def shipped() -> list[tuple[str, str]]:
    out = []
    for path in sorted(MODELS.glob("*/*.spec")):
        for memory in MEMORIES:
            # filter (N = 3) under pso and weak: tens of millions of states (bench/por.py)
            if path.name == "filter.spec" and memory in ("pso", "weak"):
                continue
            out.append((str(path.relative_to(MODELS)), memory))
    return out


QUICK = {("peers/int3.spec", "pso"), ("peers/int3.spec", "weak"),
         ("ftrace/v2-atomic.spec", "pso"), ("tutorial/seqlock-v1.spec", "weak"),
         ("classic/peterson.spec", "weak"), ("litmus/sb-mfence.spec", "tso")}


def compare_model(rel: str, memory: str, engine: str = "auto") -> None:
    model = load_model(MODELS / rel, None, memory)
    cm = compile_model(model)
    full = explore(cm, Options(engine=engine, reduction=False), memory)
    reduced = explore(cm, Options(engine=engine, reduction=True), memory)
    assert full.complete and reduced.complete
    assert not any(line.startswith("partial-order") for line in full.stats.reductions)
    assert verdicts(reduced) == verdicts(full)
    assert reduced.stats.never_fired == full.stats.never_fired
    assert reduced.stats.states <= full.stats.states


@pytest.mark.parametrize("rel,memory", sorted(QUICK))
def test_shipped_models_keep_their_verdicts(rel, memory):
    compare_model(rel, memory, "reference")


@pytest.mark.slow
@pytest.mark.parametrize("rel,memory", shipped())
def test_every_shipped_model_keeps_its_verdicts(rel, memory):
    compare_model(rel, memory)


def test_an_ftrace_model_is_reduced():
    """A figure bench/por.py measures, kept as a floor: under pso the reduction removes some
    states of v2-atomic (the verdicts are compared above)."""
    model = load_model(MODELS / "ftrace" / "v2-atomic.spec", None, "pso")
    cm = compile_model(model)
    full = explore(cm, Options(engine="reference", reduction=False), "pso")
    reduced = explore(cm, Options(engine="reference", reduction=True), "pso")
    assert reduced.stats.states < full.stats.states


# ---- random specs ------------------------------------------------------------------------------

def compare_text(text: str) -> None:
    for memory in MEMORIES:
        cm = compile_model(_model(text, memory))
        full = explore(cm, Options(engine="reference", max_states=STATE_LIMIT, reduction=False),
                       memory)
        if not full.complete:
            continue
        reduced = explore(cm, Options(engine="reference", reduction=True), memory)
        assert reduced.complete
        assert verdicts(reduced) == verdicts(full), (memory, text)
        assert reduced.stats.never_fired == full.stats.never_fired, (memory, text)


@settings(derandomize=True, max_examples=30, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(specs())
def test_random_specs_keep_their_verdicts(text):
    compare_text(text)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(specs())
def test_many_random_specs_keep_their_verdicts(text):
    compare_text(text)


# ---- the litmus corpus -----------------------------------------------------------------------

def litmus_outcomes(shared: Path, memory: str, reduction: bool, limit: int | None = None):
    from smp_explorer.explorer.litmus import run_test
    from smp_explorer.spec.litmus import read_litmus, read_manifest
    root = shared / "litmus"
    rows = sorted(read_manifest(root / "MANIFEST.tsv"))[:limit]
    out = {}
    for path in rows:
        o = run_test(read_litmus(root / path), memory, reduction=reduction)
        out[path] = (o.verdict, o.outcomes)
    return out


@pytest.mark.parametrize("memory", ["tso", "weak"])
def test_litmus_outcomes_are_kept(shared, memory):
    """Every final state (the states where no step is enabled: a stubborn set keeps them
    all) and so every verdict, on the first 40 tests of the corpus."""
    assert litmus_outcomes(shared, memory, True, 40) == litmus_outcomes(shared, memory, False, 40)


@pytest.mark.slow
@pytest.mark.parametrize("memory", MEMORIES)
def test_the_whole_litmus_corpus_is_kept(shared, memory):
    assert litmus_outcomes(shared, memory, True) == litmus_outcomes(shared, memory, False)


# ---- the command line --------------------------------------------------------------------------

def test_the_report_says_which_reduction_ran(capsys, tmp_path):
    """Partial-order reduction is on by default (as SPIN's); --no-reduction explores every
    interleaving and says nothing of a reduction; --reduction is still accepted."""
    spec = tmp_path / "local.spec"
    spec.write_text(LOCAL)
    for flags in ((), ("--reduction",)):
        code, out, _ = cli(capsys, "check", str(spec), "--plain", *flags)
        assert code == 0 and "partial-order reduction: on" in out and "7 distinct states" in out
    code, out, _ = cli(capsys, "check", str(spec), "--plain", "--no-reduction")
    assert code == 0 and "partial-order reduction" not in out
    assert "16 distinct states" in out
    code, out, _ = cli(capsys, "check", str(spec), "--json")
    doc = json.loads(out)["results"][0]
    assert doc["states"] == 7 and doc["reductions"][0].startswith("partial-order reduction: on")


# Four processes counting to 300 on their own locals: each takes 301 steps (300 iterations, then
# the step that finds the loop's condition false and terminates).
COUNTERS = """
type IDS = 0..3;
process P[i in IDS] {
  local x: 0..300 = 0;
  L: while x < 300 {
    x := x + 1;
  }
}
"""


def test_a_reduction_that_pays_runs_past_the_sample():
    """More states than the sample (explorer.por.SAMPLE) and a large saving: the default
    engine goes on reduced. No step reads another process's slot and no property reads any, so
    the first enabled step alone is a stubborn set: P[0] runs to its end, then P[1], ...: one
    path of 1 + 4 x 301 = 1,205 states (302^4 in full), partly expanded while two or more
    processes are left (3 x 301 states), 3 + 2 + 1 steps pruned in each third of those."""
    r = run(COUNTERS, engine="auto")
    assert r.complete and r.stats.states == 1 + 4 * 301
    assert r.stats.reductions == ["partial-order reduction: on (903 of 1,205 states expanded "
                                  "partly, 1,806 steps pruned)"]


@pytest.mark.parametrize("engine", ["scalar", "vector", "auto"])
def test_a_reduction_that_cannot_pay_leaves_the_run_unreduced(engine):
    """Dining philosophers (3,104 states): every philosopher's step touches a fork its
    neighbour uses, and the deadlock goal makes every step visible until it is reached; the
    reduced search of the first 1,000 states saves few: the run is unreduced from the start,
    its counts, traces and verdicts those of --no-reduction, the same on every run."""
    model = load_model(MODELS / "classic" / "dining.spec", None, "sc")
    cm = compile_model(model)
    full = explore(cm, Options(engine=engine, reduction=False), "sc")
    runs = [explore(cm, Options(engine=engine, reduction=True), "sc") for _ in range(2)]
    for r in runs:
        assert (r.stats.states, r.stats.transitions) == (full.stats.states, full.stats.transitions)
        assert verdicts(r) == verdicts(full)
        assert [p.trace.steps for p in r.properties if p.trace is not None] == \
            [p.trace.steps for p in full.properties if p.trace is not None]
        assert len(r.stats.reductions) == 1
        assert r.stats.reductions[0].startswith("partial-order reduction: off (it saved ")
    assert runs[0].stats.reductions == runs[1].stats.reductions


def test_steps_that_all_write_one_slot_are_not_reduced():
    """One process: every step writes its pc, so any two steps enabled together are dependent
    and every stubborn set holds them all; the run is unreduced without building the stubborn
    sets (a spec of thousands of labels would pay for them quadratically) and says why."""
    text = "var x: 0..3 = 0;\nprocess A {\n" + \
        "".join(f"  l{i}: x := {i % 2};\n" for i in range(5)) + "}\n"
    for engine in ("reference", "auto"):
        r = run(text, engine=engine)
        assert r.stats.states == 6   # by hand: the initial state and one after each label
        assert r.stats.reductions == ["partial-order reduction: off (every step writes x: "
                                      "no two steps are independent)"]


def test_symmetry_wins_over_partial_order_reduction(capsys):
    """Where symmetry reduction runs (TwoPhase's RM scalarset), partial-order reduction is
    off and the report says so; with --no-symmetry it runs; where the memory model refuses the
    symmetry, partial-order reduction is not held back by it."""
    spec = str(MODELS / "classic" / "twophase.spec")
    code, out, _ = cli(capsys, "check", spec, "--json")
    lines = json.loads(out)["results"][0]["reductions"]
    assert lines[0].startswith("symmetry: on")
    assert lines[1].startswith("partial-order reduction: off (symmetry reduction ran")
    code, out, _ = cli(capsys, "check", spec, "--json", "--no-symmetry")
    lines = json.loads(out)["results"][0]["reductions"]
    assert lines[0] == "symmetry: off (--no-symmetry)"
    assert lines[1].startswith("partial-order reduction: on")
    cm = compile_model(load_model(ROOT / "bench" / "int3" / "percpu-refs.spec",
                                  {"N": "2"}, "tso"))
    r = explore(cm, Options(reduction=True), "tso")
    assert r.stats.reductions[0].startswith("symmetry: off")
    assert r.stats.reductions[1].startswith("partial-order reduction: ")
    assert "symmetry reduction ran" not in r.stats.reductions[1]


def test_a_reduction_that_prunes_nothing_says_so():
    """A copies y into x while B copies x into y: each step reads what the other writes, so
    no stubborn set leaves one out. By hand: (x, y) = (1, 2); A first: (2, 2), then B: (2, 2)
    at B's end; B first: (1, 1), then A: (1, 1) at A's end: 5 states, 4 transitions."""
    text = ("var x: 0..3 = 1;\nvar y: 0..3 = 2;\n"
            "process A {\n  a0: x := y;\n}\nprocess B {\n  b0: y := x;\n}\n")
    r = run(text)
    assert (r.stats.states, r.stats.transitions) == (5, 4)
    assert r.stats.reductions == [
        "partial-order reduction: on (pruned nothing: 5 states expanded fully)"]
