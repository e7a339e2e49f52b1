"""Symmetry reduction (scalarsets): reduced counts are orbit counts, verdicts are unchanged,
traces are real runs, and the checker refuses what would break the symmetry.

The orbit counts are computed here independently of `explorer.symmetry`: the full reachable
graph by the compiled successor function, and every permutation of every scalarset applied in
plain Python from the slots' names ("flag[P_2]" -> "flag[P_3]") and types.
"""
from __future__ import annotations

import itertools
import json
import re

import pytest

from conftest import MODELS, cli, spec_errors
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.ir.model import Model
from smp_explorer.ir.types import ScalarsetT, SetT
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.pipeline import load_model, model_from_text

# Processes interchangeable: values of the type in globals and locals, sets of it inside the
# processes' rows (not decided by signatures: every ordering of equal rows is tried).
MUTEX = """
const N = 3;
type P = scalarset(N);
var flag: array[P] of bool = false;
var last: P = any;
var waiting: set of P = {};
process Cpu[i in P] {
  local seen: set of P = {};
  local peer: P = self;
  test: await not (exists j in P: flag[j] and j != self);
        waiting := waiting union {self};
  set:  flag[self] := true; last := self;
  cs:   with j in P { if flag[j] and j != self { peer := j; seen := seen union {j}; } }
        assert card(seen) <= 1: "saw two";
  rel:  flag[self] := false; waiting := waiting minus {self};
        goto test;
}
invariant excl: forall a in P: forall b in P: a != b implies not (Cpu[a] at cs and Cpu[b] at cs);
reachable two_seen: exists a in P: card(Cpu[a].seen) == 2;
"""

# Two scalarsets that touch one slot (owner: indexed by B, holding A values) and a
# two-dimensional array over A: every permutation of the product group is tried.
GRAPH = """
type A = scalarset(3);
type B = scalarset(2);
var link: array[A] of array[A] of bool = false;
var owner: array[B] of A = any;
var tok: array[B] of 0..2 = 0;
action Link(x in A, y in A) { await x != y and card(A) > 0 and not link[x][y]; link[x][y] := true; }
action Move(b in B, x in A) { await link[owner[b]][x]; owner[b] := x; tok[b] := (tok[b] + 1) % 3; }
invariant no_self: forall x in A: not link[x][x];
invariant apart: not (exists b in B: exists c in B: b != c and owner[b] == owner[c] and tok[b] == 2);
"""

# Two scalarsets on disjoint slots: canonicalised one after the other.
DISJOINT = """
type A = scalarset(2);
type B = scalarset(3);
var x: array[A] of 0..2 = 0;
var y: set of B = {};
action Bump(a in A) { await x[a] < 2; x[a] := x[a] + 1; }
action Add(b in B) { await card(y) < 2; y := y union {b}; }
action Clear { await card(y) == 2; y := {}; }
reachable full: forall a in A: x[a] == 2;
"""


def full_graph(model: Model):
    """Every reachable state of the model (by the compiled successors), breadth first."""
    cm = compile_model(model)
    seen = set(model.initial_states())
    frontier = list(seen)
    while frontier:
        nxt = []
        for s in frontier:
            for _, t in cm.successors(s)[0]:
                if t not in seen:
                    seen.add(t)
                    nxt.append(t)
        frontier = nxt
    return cm, seen


def permutations_by_name(model: Model, sizes: dict[str, int]):
    """Every permutation of the scalarsets `sizes` names as a function on state tuples, built
    from the slots' names and types only."""
    names = sorted(sizes)
    index = {s.name: s.index for s in model.slots}
    funcs = []
    for combo in itertools.product(*(itertools.permutations(range(sizes[n])) for n in names)):
        perm = dict(zip(names, combo))

        def rename(name: str) -> str:
            return re.sub(r"\b(\w+)_(\d+)\b",
                          lambda m: f"{m.group(1)}_{perm[m.group(1)][int(m.group(2)) - 1] + 1}"
                          if m.group(1) in perm else m.group(0), name)
        target = [index[rename(s.name)] for s in model.slots]
        value = []
        for s in model.slots:
            if isinstance(s.type, ScalarsetT):
                value.append(lambda v, p=perm[s.type.name]: p[v])
            elif isinstance(s.type, SetT) and isinstance(s.type.elem, ScalarsetT):
                value.append(lambda v, p=perm[s.type.elem.name]:
                             sum(1 << p[k] for k in range(len(p)) if v >> k & 1))
            else:
                value.append(lambda v: v)

        def apply(state, target=target, value=value):
            out = [0] * len(state)
            for i, v in enumerate(state):
                out[target[i]] = value[i](v)
            return tuple(out)
        funcs.append(apply)
    return funcs


def orbit_count(model: Model, names: dict[str, int]) -> int:
    _, states = full_graph(model)
    perms = permutations_by_name(model, names)
    return len({min(p(s) for p in perms) for s in states})


def verdicts(r):
    return {p.name: p.status for p in r.properties}


@pytest.mark.parametrize("text,consts,names", [
    (MUTEX, {}, {"P": 3}), (MUTEX, {"N": "2"}, {"P": 2}), (GRAPH, {}, {"A": 3, "B": 2}),
    (DISJOINT, {}, {"A": 2, "B": 3}),
    ((MODELS / "classic" / "twophase.spec").read_text(), {"NRM": "3"}, {"RM": 3}),
    ((MODELS / "classic" / "twophase.spec").read_text(), {"NRM": "4"}, {"RM": 4}),
])
@pytest.mark.parametrize("engine", ["scalar", "reference", "auto", "vector"])
def test_reduced_counts_are_orbit_counts_and_verdicts_are_unchanged(text, consts, names, engine):
    model = model_from_text(text, "<spec>", consts)
    assert model.symmetry
    cm = compile_model(model)
    reduced = explore(cm, Options(engine=engine))
    full = explore(cm, Options(engine=engine, symmetry=False))
    assert reduced.stats.states == orbit_count(model, names)
    assert reduced.stats.states < full.stats.states
    assert full.stats.states == len(full_graph(model)[1])
    assert verdicts(reduced) == verdicts(full)
    assert reduced.stats.reductions and reduced.stats.reductions[0].startswith("symmetry: on (")
    # a shortest trace is as short in the reduced graph (an orbit's states are equally deep)
    for p, q in zip(reduced.properties, full.properties):
        assert (p.trace is None) == (q.trace is None)
        if p.trace is not None:
            assert len(p.trace) == len(q.trace)


def test_twophase_matches_tlc_with_symmetry():
    # TLC, SYMMETRY Permutations(RM) on TLA+ TwoPhase (issue 10): 314 / 553 / 920; without
    # symmetry 8,832 / 50,816 / 296,448 (the last two are in the slow test below)
    model = load_model(MODELS / "classic" / "twophase.spec", {"NRM": "5"})
    cm = compile_model(model)
    assert explore(cm, Options(engine="scalar")).stats.states == 314
    assert explore(cm, Options(engine="scalar", symmetry=False, reduction=False)).stats.states \
        == 8832


@pytest.mark.slow
def test_twophase_matches_tlc_at_six_and_seven_resource_managers():
    for n, reduced, full in ((6, 553, 50816), (7, 920, 296448)):
        cm = compile_model(load_model(MODELS / "classic" / "twophase.spec", {"NRM": str(n)}))
        assert explore(cm).stats.states == reduced
        assert explore(cm, Options(symmetry=False, reduction=False)).stats.states == full


@pytest.mark.parametrize("text", [MUTEX, GRAPH])
def test_traces_are_concrete_runs_of_the_spec(text):
    model = model_from_text(text)
    cm, states = full_graph(model)
    by_shown = {json.dumps(model.describe(s), sort_keys=True): s for s in states}
    r = explore(cm, Options(engine="scalar"))
    traced = [p for p in r.properties if p.trace is not None]
    assert traced
    initial = set(model.initial_states())
    for p in traced:
        steps = p.trace.steps
        run = [by_shown[json.dumps(st.state, sort_keys=True)] for st in steps
               if st.failed is None]
        assert run[0] in initial
        for step, before, after in zip(steps[1:], run, run[1:]):
            names = {model.actions[a].name for a, t in cm.successors(before)[0] if t == after}
            assert step.action in names, (p.name, step.action, names)
        if steps[-1].failed is not None:   # the failing step fails from the last state
            bad = {model.actions[a].name for a, _, _ in cm.successors(run[-1])[1]}
            assert steps[-1].action in bad


def test_mutex_violations_found_with_and_without_symmetry():
    r = explore(compile_model(model_from_text(MUTEX)))
    v = verdicts(r)
    # by hand: two processes pass `test` before either sets its flag, then both set it:
    # four steps to two processes at cs
    assert v["excl"] == "violated"
    excl = next(p for p in r.properties if p.name == "excl")
    assert len(excl.trace) == 4
    # seeing a second peer fails the assertion within that step, so no state has two seen
    assert v["saw two"] == "violated"
    assert v["two_seen"] == "unreached"


def test_report_line_and_flag(tmp_path, capsys):
    spec = tmp_path / "mutex.spec"
    spec.write_text(MUTEX)
    code, out, _ = cli(capsys, "check", str(spec), "--plain", "--engine", "scalar")
    assert "symmetry: on (P (processes Cpu), 3! permutations)" in out
    code2, out2, _ = cli(capsys, "check", str(spec), "--plain", "--no-symmetry")
    assert code == code2 == 1
    assert "symmetry: off (--no-symmetry)" in out2
    code, out, _ = cli(capsys, "check", str(spec), "--json", "--engine", "scalar")
    doc = json.loads(out)
    run = doc["results"][0] if "results" in doc else doc
    assert "symmetry: on" in json.dumps(run)


@pytest.mark.parametrize("body,line,col,says", [
    ("var x: P = any;\naction A(p in P) { x := p + 1; }", 3, 25, "not a number"),
    ("var x: P = any;\naction A(p in P) { await p < x; x := p; }", 3, 26, "not a number"),
    ("var x: P = any;\naction A { x := P_1; }", 3, 17, "cannot name one"),
    ("var a: array[0..2] of bool = false;\naction A(p in P) { a[p] := true; }", 3, 22,
     "can only index"),
    ("var x: P;\naction A { skip; }", 2, 1, "needs an initial value"),
    ("var c: 0..9 = 0;\naction A { for p in P { c := c + 1; } }", 3, 21, "'for' over symmetric"),
    ("var x: scalarset(3) = any;\naction A { skip; }", 2, 8, "needs a name"),
    ("type Q = scalarset(0);\naction A { skip; }", 2, 20, "1 to 64 values"),
    ("var c: 0..9 = 0;\naction A { local t: P; c := 1; }", 3, 12, "needs an initial value"),
])
def test_symmetry_breaking_is_refused_with_its_place(body, line, col, says):
    errs = spec_errors("type P = scalarset(3);\n" + body + "\n")
    assert any(says in e.message and e.span is not None and (e.span.line, e.span.col) ==
               (line, col) for e in errs), [str(e) for e in errs]


def test_cli_reports_a_symmetry_error_with_file_line_col(tmp_path, capsys):
    spec = tmp_path / "bad.spec"
    spec.write_text("type P = scalarset(3);\nvar x: P = any;\naction A(p in P) { await p < x; }\n")
    code, out, err = cli(capsys, "check", str(spec), "--plain")
    assert code == 2
    assert f"{spec}:3:26" in out + err
    assert "Traceback" not in out + err


def test_an_alias_is_the_same_scalarset():
    model = model_from_text("type P = scalarset(3);\ntype Q = P;\nvar x: array[Q] of bool = false;"
                            "\naction A(p in P) { x[p] := true; }\n")
    assert len(model.symmetry) == 1
    r = explore(compile_model(model))
    assert r.stats.states == 4   # by hand: how many of the three are true


def test_memory_models_with_buffers_keep_the_reduction():
    # (the orbit counts under tso, pso and weak: tests/test_symmetry_memory.py)
    text = """
type P = scalarset(2);
shared x: array[P] of 0..1 = 0;
process Cpu[i in P] { a: x[self] := 1; b: await x[self] == 1; }
"""
    for memory in ("tso", "pso", "weak"):
        r = explore(compile_model(model_from_text(text, memory=memory)))
        assert r.stats.reductions == ["symmetry: on (P (processes Cpu), 2! permutations)"]


def test_memory_model_slots_without_a_role_refuse_the_reduction():
    import dataclasses

    from smp_explorer.explorer.symmetry import refusal
    text = "type P = scalarset(2);\nshared x: array[P] of 0..1 = 0;\n" \
           "process Cpu[i in P] { a: x[self] := 1; }\n"
    model = model_from_text(text, memory="tso")
    assert refusal(model) is None
    st = dataclasses.replace(model.symmetry[0], refused="the memory model's own slots are "
                             "not described")
    assert refusal(dataclasses.replace(model, symmetry=(st,))) == \
        "symmetry: off (the memory model's own slots are not described under tso)"


CONDITIONS = ["f[x] < 1", "f[x] == f[y]", "x != y", "g[x] == y", "x in h", "not (y in h)",
              "z == x", "card(h) < 2", "(forall w in S: f[w] <= f[x])",
              "(exists w in S: g[w] == x and w != x)", "m[x][y]", "not m[y][x]"]
UPDATES = ["f[x] := (f[x] + 1) % 2;", "f[y] := f[x];", "g[x] := y;", "h := h union {x};",
           "h := h minus {y};", "z := g[y];", "m[x][y] := not m[x][y];", "z := x;",
           "with w in S { g[w] := x; }"]


def random_symmetric_spec(seed: int) -> tuple[str, int]:
    """A random spec over one scalarset from symmetric pieces (seeded: the same every run)."""
    import random
    rnd = random.Random(seed)
    n = rnd.choice((2, 3))
    lines = [f"type S = scalarset({n});", "var f: array[S] of 0..1 = 0;",
             "var g: array[S] of S = any;", "var h: set of S = {};", "var z: S = any;"]
    conditions, updates = CONDITIONS, UPDATES
    if n == 2:   # the two-dimensional array with the small set only: the suite stays quick
        lines.append("var m: array[S] of array[S] of bool = false;")
    else:
        conditions = [c for c in CONDITIONS if "m[" not in c]
        updates = [u for u in UPDATES if "m[" not in u]
    for i in range(rnd.randint(2, 4)):
        guard = " and ".join(rnd.sample(conditions, rnd.randint(1, 2)))
        body = " ".join(rnd.sample(updates, rnd.randint(1, 2)))
        lines.append(f"action A{i}(x in S, y in S) {{ await {guard}; {body} }}")
    inv = rnd.choice(conditions)
    goal = rnd.choice(conditions)
    lines.append(f"invariant I: forall x in S: forall y in S: not ({inv}) or card(h) < {n}")
    lines[-1] += ";"
    lines.append(f"reachable R: exists x in S: exists y in S: {goal} and f[x] == 1;")
    return "\n".join(lines) + "\n", n


@pytest.mark.parametrize("seed", range(30))
def test_random_symmetric_specs_differential(seed):
    text, n = random_symmetric_spec(seed)
    model = model_from_text(text)
    cm = compile_model(model)
    reduced = explore(cm, Options(engine="scalar"))
    full = explore(cm, Options(engine="scalar", symmetry=False))
    assert full.stats.states == len(full_graph(model)[1]), text
    assert reduced.stats.states == orbit_count(model, {"S": n}), text
    assert verdicts(reduced) == verdicts(full), text
    for p, q in zip(reduced.properties, full.properties):
        assert (p.trace is None) == (q.trace is None)
        if p.trace is not None:
            assert len(p.trace) == len(q.trace), text


@pytest.mark.parametrize("text,consts", [
    ((MODELS / "classic" / "twophase.spec").read_text(), {"NRM": "4"}),   # NumPy sort
    (MUTEX, {}),                                                           # state by state
])
def test_batch_canonical_states_equal_the_scalar_ones(text, consts):
    import numpy as np

    from smp_explorer.explorer.store import Layout
    from smp_explorer.explorer.symmetry import BatchCanonical, Symmetry
    model = model_from_text(text, "<spec>", consts)
    _, states = full_graph(model)
    layout = Layout(model)
    sym = Symmetry(model)
    batch = BatchCanonical(sym, layout)
    assert batch.vectorised == (text is not MUTEX)
    packed = [layout.pack(s) for s in sorted(states)]
    words = [np.array([(t >> (63 * k)) & ((1 << 63) - 1) for t in packed], dtype=np.uint64)
             for k in range(layout.nwords)]
    got = batch(words)
    want = [layout.pack(sym.canonical(s)) for s in sorted(states)]
    assert [sum(int(w[i]) << (63 * k) for k, w in enumerate(got))
            for i in range(len(packed))] == want


def test_too_many_permutations_refuse_the_reduction():
    # values of the type stored in a variable: an exact representative may need 9! orderings
    text = "type P = scalarset(9);\nvar x: P = any;\naction A(p in P) { x := p; }\n"
    r = explore(compile_model(model_from_text(text)))
    assert r.stats.reductions == ["symmetry: off (an exact canonical state could need 362,880 "
                                  "permutations of P; at most 40,320)"]
    assert r.stats.states == 9
    # without stored values the signatures decide: one permutation per state, on
    text = "type P = scalarset(20);\nvar b: array[P] of bool = false;\n" \
           "action A(p in P) { b[p] := true; }\n"
    r = explore(compile_model(model_from_text(text)))
    assert r.stats.reductions == ["symmetry: on (P, 20! permutations)"]
    assert r.stats.states == 21   # by hand: how many of the twenty are true
