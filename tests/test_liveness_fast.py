"""The NumPy liveness path (explorer/livegraph.py) against the first, state-by-state one kept in
explorer/liveness.py (`reference=True`): on the shipped models with liveness properties and on
random specs with fairness and liveness properties, both must build the same graph (edge for
edge) and give the same verdicts; each lasso of the NumPy path is checked here, on the
reference's graph, to be a fair run violating its property (its steps are the model's, its
cycle's states are pending for the property's monitor, every weakly fair group fires in the
cycle or is disabled in one of its states, every strongly fair group fires in it or is
disabled in all of them), with a prefix no longer than the reference's."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzspecs import specs
from smp_explorer.explorer import livegraph
from smp_explorer.explorer.livegraph import (FairCore, FairGroups, PackedGraph, build_graph_packed,
                                             condition_values, cycle_packed, fair_states,
                                             product_bfs, scc_labels)
from smp_explorer.explorer.liveness import SMALL, Graph, Lasso, check_liveness, find_lasso
from smp_explorer.ir.evaluate import EvalError, evaluate
from smp_explorer.ir.model import Fairness, Model
from smp_explorer.ir.properties import Property
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.pipeline import load_model, model_from_text

ROOT = Path(__file__).resolve().parent.parent
FTRACE = sorted(p.name for p in (ROOT / "models/ftrace").glob("*.spec"))


def is_fair_violation(h: Graph, prop: Property, groups: list[Fairness], lasso: Lasso) -> str:
    """Why the lasso is not a fair run violating the property ('' if it is one), decided on
    the reference graph `h` from the definitions in docs/language.md ("Liveness")."""
    t = prop.temporal
    assert t is not None
    p = lambda s: bool(evaluate(t.p, h.states[s]))   # noqa: E731
    q = lambda s: t.q is not None and bool(evaluate(t.q, h.states[s]))   # noqa: E731
    steps = {s: list(h.steps(s)) for _, s in lasso.path + lasso.loop}
    a0, s0 = lasso.path[0]
    if a0 != -1 or s0 not in h.initial:
        return "the prefix does not start in an initial state"
    prev = s0
    for a, s in lasso.path[1:] + lasso.loop:
        if (a, s) not in steps[prev]:
            return f"({a}, {s}) is not a step of state {prev}"
        prev = s
    entry = lasso.entry
    if lasso.terminal:
        if lasso.loop or list(h.steps(entry)):
            return "an end state with a step enabled"
    elif not lasso.loop or lasso.loop[-1][1] != entry:
        return "the cycle does not come back to its first state"
    # the monitor: "P not yet" (eventually), "P not now" (always eventually), "P seen, Q not
    # yet" (leads to); eventually always: the cycle has a state where P is false
    cycle_states = [entry] + [s for _, s in lasso.loop]
    if t.form == "eventually":
        bad = [s for _, s in lasso.path] + cycle_states
        if any(p(s) for s in bad):
            return "P holds on the run"
    elif t.form == "always_eventually":
        if any(p(s) for s in cycle_states):
            return "P holds in the cycle"
    elif t.form == "leads_to":
        # some P after which no Q ever comes (the cycle repeats: no Q in it either)
        run = [s for _, s in lasso.path] + [s for _, s in lasso.loop]
        if any(q(s) for s in cycle_states) or \
                not any(p(run[i]) and not any(q(s) for s in run[i:]) for i in range(len(run))):
            return "every P is followed by a Q"
    else:
        if all(p(s) for s in cycle_states):
            return "P holds throughout the cycle"
    if lasso.terminal:
        return ""
    taken = {a for (a, s), (_, before) in zip(lasso.loop, [(0, entry)] + lasso.loop)
             if s != before}
    for f in groups:
        if f.actions & taken:
            continue
        enabled = [any(a in f.actions and t2 != s for a, t2 in h.steps(s)) for s in cycle_states]
        if f.strong and any(enabled):
            return f"strongly fair {f.name} enabled in the cycle, never taken"
        if not f.strong and all(enabled):
            return f"weakly fair {f.name} enabled throughout the cycle, never taken"
    return ""


def unshared_lasso(g: PackedGraph, prop: Property, groups: list[Fairness]) -> Lasso | None:
    """`find_lasso` for one property alone, as it ran before the fair core was shared: the
    product over every state to the end, then the fair components among all the pending
    states of the whole graph."""
    t = prop.temporal
    assert t is not None
    pv = condition_values(g, t.p)
    qv = np.zeros(len(pv), dtype=bool) if t.q is None else condition_values(g, t.q)
    product = product_bfs(g, t.form, pv, qv)
    accepting = ~pv if t.form == "eventually_always" else None
    comp_of, terminal = fair_states(FairGroups.of_graph(g, groups), product.pending(len(pv)),
                                    accepting)
    if not (comp_of >= 0).any():
        return None
    path = product.path_to(comp_of >= 0)
    k = int(comp_of[path[-1][1]])
    loop = cycle_packed(g, comp_of == k, bool(terminal[k]), groups, path[-1][1], accepting)
    return Lasso(path, loop, bool(terminal[k]))


def compare(model: Model, buffer_fairness: bool = True) -> None:
    cm = compile_model(model, [])
    props = list(model.liveness)
    fast = check_liveness(cm, props, buffer_fairness, small=0)
    ref = check_liveness(cm, props, buffer_fairness, reference=True)
    g, h = fast.graph, ref.graph
    assert g is not None and isinstance(h, Graph)
    assert g.initial == h.initial
    assert np.array_equal(g.start, np.asarray(h.start))
    assert np.array_equal(g.act, np.asarray(h.act))
    assert np.array_equal(g.dst, np.asarray(h.dst))
    assert all(g.states[i] == h.states[i] for i in range(len(h.states)))
    groups = [f for f in model.fairness if buffer_fairness or not f.memory]
    core = FairCore(g, groups)
    for prop, a, b in zip(props, fast.results, ref.results):
        assert (a.name, a.status) == (b.name, b.status), model.name
        if a.status == "unknown":
            continue
        lasso = find_lasso(g, prop, core)
        assert lasso == unshared_lasso(g, prop, groups), f"{a.name}: the core changed the lasso"
        if a.status != "violated":
            continue
        assert lasso is not None
        why = is_fair_violation(h, prop, groups, lasso)
        assert not why, f"{a.name}: {why}"
        assert b.trace is not None and a.trace is not None
        assert b.trace.loop_start is not None and a.trace.loop_start == len(lasso.path) - 1
        assert len(lasso.path) - 1 <= b.trace.loop_start, "a longer prefix than the reference's"
        assert len(a.trace.steps) == len(lasso.path) + len(lasso.loop)


@pytest.mark.parametrize("spec", FTRACE)
@pytest.mark.parametrize("memory", ["sc", "tso", "pso", "weak"])
def test_shipped_ftrace_models(spec: str, memory: str) -> None:
    compare(load_model(ROOT / "models/ftrace" / spec, memory=memory))


@pytest.mark.parametrize("spec", FTRACE)
@pytest.mark.parametrize("memory", ["tso", "weak"])
def test_shipped_ftrace_models_without_buffer_fairness(spec: str, memory: str) -> None:
    compare(load_model(ROOT / "models/ftrace" / spec, memory=memory), buffer_fairness=False)


@pytest.mark.parametrize("spec", ["classic/spinlock.spec", "classic/spinlock-strong.spec"])
def test_shipped_classic_models(spec: str) -> None:
    compare(load_model(ROOT / "models" / spec))


@pytest.mark.slow
@pytest.mark.parametrize("memory", ["sc", "tso", "pso", "weak"])
def test_v2_atomic_three_cpus(memory: str) -> None:
    compare(load_model(ROOT / "models/ftrace/v2-atomic.spec", {"N": "3"}, memory=memory))


PETERSON_LIVE = """
liveness p0_enters: eventually P[0] at cs;
liveness p0_again: always eventually P[0] at cs;
liveness trying_enters[i in PID]: P[i] at p2 leads_to P[i] at cs;
liveness p0_settles: eventually always P[0] at p1;
"""


@pytest.mark.parametrize("fair", [False, True])
@pytest.mark.parametrize("steps", [livegraph.TARJAN_STEPS, 0])
def test_several_properties_over_one_graph(fair: bool, steps: int, monkeypatch) -> None:
    """Five properties of every form share one graph and its fair core (Peterson, 24 states).
    Without fairness P[0] may stay at p1 forever while P[1] loops (p0_enters, p0_again
    violated), but once P[i] is at p2 the other passes at most once before it blocks, and some
    step is always taken (trying_enters holds: bounded bypass). With both weakly fair, every
    property but p0_settles holds (tests/test_liveness.py derives both). p0_settles is violated
    either way: the run where P[0] and P[1] take turns through all their labels is fair and
    leaves p1 again and again. With `steps` 0 every decomposition is SciPy's, else Tarjan's."""
    monkeypatch.setattr(livegraph, "TARJAN_STEPS", steps)
    text = (ROOT / "models/classic/peterson.spec").read_text()
    if fair:
        text = text.replace("\nprocess P", "\nfair process P", 1)
    model = model_from_text(text + PETERSON_LIVE, "peterson.spec")
    compare(model)
    run = check_liveness(compile_model(model, []), list(model.liveness), small=0)
    want = {"p0_enters": "holds", "p0_again": "holds", "trying_enters[0]": "holds",
            "trying_enters[1]": "holds", "p0_settles": "violated"} if fair else \
        {"p0_enters": "violated", "p0_again": "violated", "trying_enters[0]": "holds",
         "trying_enters[1]": "holds", "p0_settles": "violated"}
    assert {r.name: r.status for r in run.results} == want


@settings(derandomize=True, max_examples=60, deadline=None, database=None)
@given(st.integers(1, 40), st.floats(0.0, 3.0), st.integers(0, 2**32 - 1))
def test_tarjan_and_scipy_agree(n: int, density: float, seed: int) -> None:
    """The strongly connected components of random graphs (self loops, parallel steps), as
    partitions: Tarjan's here, SciPy's, and a third from reachability (s, t in one component
    iff each reaches the other, by a transitive closure in NumPy)."""
    rng = np.random.default_rng(seed)
    m = int(n * density)
    src = np.sort(rng.integers(0, n, m))
    dst = rng.integers(0, n, m)
    reach = np.eye(n, dtype=bool)
    reach[src, dst] = True
    for _ in range(n):
        reach = reach | ((reach.astype(np.int64) @ reach.astype(np.int64)) > 0)
    same = reach & reach.T
    for steps in (livegraph.TARJAN_STEPS, -1):
        livegraph.TARJAN_STEPS, saved = steps, livegraph.TARJAN_STEPS
        try:
            lab = scc_labels(n, src, dst)
        finally:
            livegraph.TARJAN_STEPS = saved
        assert sorted(set(lab.tolist())) == list(range(int(lab.max()) + 1))
        assert np.array_equal(lab[:, None] == lab[None, :], same)


# ---- random specs ------------------------------------------------------------------------------

@st.composite
def live_specs(draw) -> str:
    """A random spec (tests/fuzzspecs.py) with fair processes and labels and liveness
    properties of every form over program counters, shared variables and locals."""
    text = draw(specs())
    lines = text.splitlines()
    instances: list[tuple[str, str]] = []   # (instance, process name)
    for k, line in enumerate(lines):
        if line.startswith("process "):
            name = line.split()[1].split("[")[0]
            fairness = draw(st.sampled_from(["", "fair ", "fair(strong) "]))
            lines[k] = fairness + line
            instances += [(f"{name}[0]", name), (f"{name}[1]", name)] if "[" in line.split()[1] \
                else [(name, name)]
        elif line.startswith("  ") and ":" in line and not line.startswith("  local") \
                and draw(st.integers(0, 3)) == 0:
            label = line.split(":")[0].strip()
            lines[k] = f"  {draw(st.sampled_from(['fair', 'fair(strong)']))} {label}:" + \
                line.split(":", 1)[1]

    def cond() -> str:
        who, name = draw(st.sampled_from(instances))
        label = draw(st.sampled_from(["Done", f"{name.lower()}0"]))
        return draw(st.sampled_from([f"{who} at {label}", f"x0 == {draw(st.integers(0, 1))}",
                                     f"{who}.r == {draw(st.integers(0, 1))}"]))

    for k in range(draw(st.integers(1, 3))):
        form = draw(st.sampled_from(["eventually {}", "always eventually {}",
                                     "eventually always {}", "{} leads_to {}"]))
        lines.append(f"liveness L{k}: {form.format(cond(), cond())};")
    return "\n".join(lines) + "\n"


@settings(derandomize=True, max_examples=30, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(live_specs())
def test_random_specs_with_fairness(text: str) -> None:
    for memory in ("sc", "tso", "weak"):
        try:
            model = model_from_text(text, "random.spec", None, memory)
        except EvalError:
            return
        if model.initial_state_count() > 4 or not model.liveness:
            return
        for buffer_fairness in ((True, False) if memory != "sc" else (True,)):
            compare(model, buffer_fairness)


@pytest.mark.parametrize("limit", [dict(max_states=100), dict(max_memory=50_000),
                                   dict(timeout=0.0)])
def test_a_graph_over_a_limit_leaves_the_verdicts_unknown(limit: dict) -> None:
    """v2-atomic under tso has 659 states and 1,924 steps: each limit stops the graph."""
    model = load_model(ROOT / "models/ftrace/v2-atomic.spec", memory="tso")
    run = check_liveness(compile_model(model, []), list(model.liveness), small=0, **limit)
    assert run.graph is None and run.results
    for r in run.results:
        assert r.status == "unknown" and r.message.startswith("liveness not checked: the graph hit")


@pytest.mark.parametrize("spec", ["ftrace/v1-plain-int.spec", "classic/spinlock-strong.spec",
                                  "classic/spinlock.spec"])
def test_fairness_checks_without_the_dense_matrix(spec: str, monkeypatch) -> None:
    """Past livegraph.DENSE_CELLS the fairness checks run on sorted (component, group) pairs."""
    import smp_explorer.explorer.livegraph as livegraph
    monkeypatch.setattr(livegraph, "DENSE_CELLS", 0)
    for memory in (["sc", "weak"] if "ftrace" in spec else ["sc"]):
        model = load_model(ROOT / "models" / spec, memory=memory)
        g = build_graph_packed(compile_model(model, []))
        assert FairGroups.of_graph(g, list(model.fairness)).enabled is None
        compare(model, buffer_fairness=memory == "sc")


@pytest.mark.parametrize("spec", ["ftrace/v2-atomic.spec", "classic/spinlock.spec"])
def test_small_graphs_built_state_by_state_are_the_same(spec: str) -> None:
    """Up to liveness.SMALL states the graph is built by the tuple code: the same arrays, the
    same verdicts and lassos as the vector engine's graph."""
    model = load_model(ROOT / "models" / spec, memory="weak" if "ftrace" in spec else None)
    cm = compile_model(model, [])
    small = check_liveness(cm, list(model.liveness), False)
    big = check_liveness(cm, list(model.liveness), False, small=0)
    assert len(small.graph.states) < SMALL
    assert small.graph is not None and big.graph is not None
    for name in ("start", "act", "dst"):
        assert np.array_equal(getattr(small.graph, name), getattr(big.graph, name))
    assert all(np.array_equal(a, b) for a, b in zip(small.graph.words, big.graph.words))
    assert [(r.status, r.message, r.trace) for r in small.results] == \
        [(r.status, r.message, r.trace) for r in big.results]


@pytest.mark.parametrize("args, imported", [
    (["models/classic/dining.spec"], False),                  # no liveness property
    (["models/classic/spinlock.spec"], False),                # 11 states, 26 steps
    (["models/ftrace/v2-atomic.spec", "--memory", "weak", "--const", "N=3"], True),
])
def test_scipy_is_imported_only_for_a_large_graph(args: list[str], imported: bool) -> None:
    """Importing SciPy costs about 0.3 s: a run imports it only when a liveness graph has more
    than livegraph.TARJAN_STEPS (16,384) steps: v2-atomic N = 3 under weak has 23,624 states."""
    import subprocess
    import sys
    code = ("import sys; from smp_explorer.cli.main import main; "
            "main(['check', *sys.argv[1:], '--quiet']); print('scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.stdout.strip().splitlines()[-1] == str(imported), out.stderr


# ---- memory ----------------------------------------------------------------------------------

V2 = str(ROOT / "models/ftrace/v2-atomic.spec")


def test_a_small_budget_stops_before_the_analysis(capsys) -> None:
    """v2-atomic under weak (N = 2): the search passes --max-memory 100K (its resident set
    grows by less), the liveness graph (1,496 states, built state by state) is kept, but the
    fair-cycle analysis would need more than the budget: every liveness verdict is unknown,
    with the statistics, and the exit status is 3 (a limit left something undecided)."""
    from smp_explorer.cli.main import main
    assert main(["check", V2, "--memory", "weak", "--max-memory", "100K", "--json"]) == 3
    run = json.loads(capsys.readouterr().out)["results"][0]
    assert run["complete"] and run["states"] > 0 and run["liveness"]["states"] > 0
    live = [p for p in run["properties"] if p["kind"] == "liveness"]
    assert len(live) == 3
    for p in live:
        assert p["status"] == "unknown"
        assert "fair-cycle analysis needs about" in p["message"]
        assert "over the memory budget (0 MB)" in p["message"]
    assert all(p["status"] != "unknown" for p in run["properties"] if p["kind"] != "liveness")


@pytest.mark.parametrize("where", ["graph", "analysis"])
def test_memory_running_out_in_the_liveness_stage_is_a_clean_stop(where: str, monkeypatch,
                                                                   capsys) -> None:
    """A MemoryError while the graph is built or analysed (forced here) leaves the liveness
    verdicts unknown: the report and its statistics are printed, exit status 3, no traceback."""
    import smp_explorer.explorer.liveness as liveness
    from smp_explorer.cli.main import main

    def out_of_memory(*args, **kwargs):
        raise MemoryError
    monkeypatch.setattr(liveness, "build_graph" if where == "graph" else "FairCore",
                        out_of_memory)
    assert main(["check", V2, "--memory", "weak", "--json"]) == 3
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    run = json.loads(out)["results"][0]
    why = "while building the graph" if where == "graph" else "during the fair-cycle analysis"
    assert [p["message"] for p in run["properties"] if p["kind"] == "liveness"] == \
        [f"liveness not checked: memory ran out {why}"] * 3
    assert run["peak_memory_bytes"] > 0 and "liveness" in run
    assert main(["check", V2, "--memory", "weak", "--plain"]) == 3
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "peak memory" in out and "liveness time" in out


def test_peak_memory_covers_the_liveness_stage() -> None:
    """The report's peak memory is the process's peak after the liveness stage too (v2-atomic
    N = 3 under weak: the graph and its analysis peak about 20 MiB above the search)."""
    import subprocess
    import sys
    code = ("import contextlib, io, json, resource, sys; from smp_explorer.cli.main import main\n"
            "buf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf): main(['check', *sys.argv[1:], '--json'])\n"
            "peak = json.loads(buf.getvalue())['results'][0]['peak_memory_bytes']\n"
            "print(peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)\n")
    out = subprocess.run([sys.executable, "-c", code, V2, "--memory", "weak", "--const", "N=3"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    reported, at_exit = map(int, out.stdout.split())
    assert reported >= at_exit - (8 << 20), (reported >> 20, at_exit >> 20)
