"""`explorer bmc`: bounded symbolic search. Two kinds of expectations:

- hand-derived lengths (tests/test_models.py derives those of the shipped models, the small
  specs here are derived in comments), independent of either engine;
- agreement with `check`: on every shipped model, every property's verdict and shortest trace
  length from Z3 is the one breadth-first search finds, with the search depth set to the
  explorer's depth (its deepest state), so "bounded" then covers every reachable state.
"""
from __future__ import annotations

import json

import pytest

from conftest import MODELS, cli
from smp_explorer.explorer.engines import explore
from smp_explorer.runs.compiled import compile_model
from smp_explorer.invariants.bmc import bmc
from smp_explorer.spec.pipeline import load_model, model_from_text


def lengths(run) -> dict[str, tuple[str, int | None]]:
    return {p.name: (p.status, None if p.trace is None else len(p.trace)) for p in run.properties}


# ---- hand-derived ---------------------------------------------------------------------------

@pytest.mark.parametrize("rel,consts,prop,steps", [
    ("ftrace/v3-no-final-sync.spec", None, "handler_sees_mfc", 15),
    ("ftrace/no-first-sync.spec", None, "no_torn_instruction", 5),
    ("classic/broken-mutex.spec", None, "mutual_exclusion", 4),
    ("classic/dining.spec", {"N": "3"}, "deadlock_free", 3),
    ("peers/int3.spec", {"SYNC2": "false"}, "crash: int3 trap with mfc = 0", 13),
])
def test_shortest_violations_of_the_shipped_models(rel, consts, prop, steps):
    # the lengths derived in tests/test_models.py; one step less finds nothing
    model = load_model(MODELS / rel, consts)
    assert lengths(bmc(model, steps))[prop] == ("violated", steps)
    assert lengths(bmc(model, steps - 1, check_deadlock=prop == "deadlock_free"))[prop] == \
        ("bounded", None)


SMALL = """var x: 0..3 = 0;
var f: bool = false;
process P { a: x := x + 1;     // x = 1, 2, 3, then x + 1 = 4 leaves 0..3
            goto a; }
process Q { b: f := true;
            c: await not f; }  // stuck at c after one step
invariant Inverse: 6 / (3 - x) > 1;   // 2, 3, 6 for x = 0, 1, 2; undefined at x = 3
reachable Two: x == 2;
"""


def test_runtime_errors_deadlock_and_goals():
    # - no_runtime_error: evaluating Inverse at x = 3 fails after 3 steps of P; the range
    #   error (x := 4) would need a 4th, failing step: 3 is the shortest.
    # - Inverse is never false where it can be evaluated: 6 / (3 - x) = 2, 3, 6.
    # - deadlock_free: Q waits at c forever after one step, but P's step is always there (it
    #   completes, or fails from x = 3, and a failing step is not a deadlock): none.
    # - Two: two steps of P.
    got = lengths(bmc(model_from_text(SMALL, "t.spec"), 6))
    assert got == {"Inverse": ("bounded", None), "Two": ("holds", 2),
                   "no_runtime_error": ("violated", 3), "deadlock_free": ("bounded", None)}


def test_a_failing_step_ends_the_trace():
    # x + 1 leaves 0..1 on the second step: the trace is one step plus the failing one
    model = model_from_text("var x: 0..1 = 0;\nprocess P { a: x := x + 1; goto a; }", "t.spec")
    run = bmc(model, 5)
    [p] = [p for p in run.properties if p.name == "no_runtime_error"]
    assert p.status == "violated" and len(p.trace) == 2
    assert p.trace.steps[-1].failed == "x would become 2, outside 0..1"


def test_a_deadlock():
    # P's one step sets f and terminates; Q, still at c, then waits for not f forever.
    model = model_from_text("""var f: bool = false;
process P { a: f := true; }
process Q { c: await not f; }
""", "t.spec")
    # (Q first, then P: both terminate, no deadlock.) Shortest: 1 step.
    assert lengths(bmc(model, 3))["deadlock_free"] == ("violated", 1)


# ---- agreement with the explorer -------------------------------------------------------------

SHIPPED = [(p.relative_to(MODELS).as_posix(), None) for p in sorted(MODELS.rglob("*.spec"))] \
    + [("peers/int3.spec", {"SYNC2": "false"}), ("classic/dining.spec", {"N": "3"})]


def agree(model, depth: int | None = None) -> None:
    """Z3 finds what BFS finds within `depth` steps (default: the deepest state's depth)."""
    bfs = explore(compile_model(model))
    depth = bfs.stats.depth if depth is None else depth
    run = bmc(model, depth)
    for p, q in zip(bfs.properties, run.properties):
        assert p.name == q.name
        found = p.trace is not None and len(p.trace) <= depth
        expected = (p.status, len(p.trace)) if found else ("bounded", None)
        assert (q.status, None if q.trace is None else len(q.trace)) == expected, p.name


@pytest.mark.parametrize("rel,consts", SHIPPED, ids=[f"{r}{'-' + str(c) if c else ''}"
                                                      for r, c in SHIPPED])
def test_bmc_agrees_with_check_on_every_shipped_model(rel, consts):
    agree(load_model(MODELS / rel, consts))


# violations under weaker memory models (the store buffers are IR slots like any other)
@pytest.mark.parametrize("rel,memory", [
    ("classic/peterson.spec", "tso"), ("classic/peterson.spec", "weak"),
    ("ftrace/v1-plain-int.spec", "pso"), ("ftrace/v2-atomic-generic.spec", "weak"),
    ("ftrace/no-first-sync.spec", "weak"),
])
def test_bmc_agrees_under_memory_models(rel, memory):
    model = load_model(MODELS / rel, None, memory)
    bfs = explore(compile_model(model))
    depth = max(len(p.trace) for p in bfs.properties if p.status == "violated")
    agree(model, depth)


@pytest.mark.slow
@pytest.mark.parametrize("rel,memory", [
    ("classic/filter.spec", "tso"), ("ftrace/v3-no-final-sync.spec", "tso"),
    ("ftrace/no-second-sync.spec", "pso"),
])
def test_bmc_agrees_on_deep_memory_model_violations(rel, memory):
    model = load_model(MODELS / rel, None, memory)
    bfs = explore(compile_model(model))
    agree(model, max(len(p.trace) for p in bfs.properties if p.status == "violated"))


# ---- the command line --------------------------------------------------------------------------

def test_bmc_exit_statuses_and_json(capsys):
    v3 = str(MODELS / "ftrace" / "v3-no-final-sync.spec")
    code, out, _ = cli(capsys, "bmc", v3, "--depth", "15", "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["version"] == 1 and doc["spec"] == v3
    [run] = doc["results"]
    assert run["engine"] == "bmc" and run["depth"] == 15 and run["memory"] == "sc"
    props = {p["name"]: p for p in run["properties"]}
    assert props["handler_sees_mfc"]["status"] == "violated"
    assert len(props["handler_sees_mfc"]["trace"]) == 16          # initial state + 15 steps
    assert len(props["handler_sees_mfc"]["explanation"]) == 2
    assert props["no_torn_instruction"]["status"] == "bounded"
    assert props["no_torn_instruction"]["message"] == "no violation up to depth 15"
    # goals: their shortest witnesses (test_models: 3, 14 and 13 steps)
    assert [len(props[g]["trace"]) - 1 for g in ("trap_taken", "new_insn_executed",
                                                 "patcher_done")] == [3, 14, 13]
    code, out, _ = cli(capsys, "bmc", v3, "--depth", "14", "--plain")
    assert code == 0 and "no violation" in out.lower()
    assert "handler_sees_mfc" in out and "bounded" in out


def test_bmc_report_shows_the_counterexample(capsys):
    code, out, _ = cli(capsys, "bmc", str(MODELS / "classic" / "broken-mutex.spec"),
                       "--depth", "4", "--plain")
    assert code == 1
    assert "invariant mutual_exclusion: violated" in out and "Trace (4 steps)" in out
    assert "violated because P[0] at cs, P[1] at cs" in out


@pytest.mark.parametrize("args,fragment", [
    ([], "--depth"), (["--depth", "-1"], "--depth"), (["--depth", "x"], "whole number"),
    (["--depth", "3", "--invariant", "Nope"], "no such invariant"),
    (["--depth", "3", "--memory", "arm"], "allowed"),
])
def test_bmc_usage_errors_exit_2(capsys, args, fragment):
    path = str(MODELS / "classic" / "broken-mutex.spec")
    try:
        code, out, err = cli(capsys, "bmc", path, *args)
    except SystemExit as e:
        code, (out, err) = e.code, capsys.readouterr()
    assert code == 2 and fragment in err and "Traceback" not in out + err


def test_bmc_under_several_memory_models(capsys):
    code, out, _ = cli(capsys, "bmc", str(MODELS / "ftrace" / "v1-plain-int.spec"),
                       "--depth", "6", "--memory", "sc,pso", "--json", "--invariant",
                       "handler_sees_mfc")
    assert code == 1
    got = {r["memory"]: {p["name"]: p["status"] for p in r["properties"]}
           for r in json.loads(out)["results"]}
    # test_memory_models: violated under pso only
    assert got["sc"]["handler_sees_mfc"] == "bounded"
    assert got["pso"]["handler_sees_mfc"] == "violated"
