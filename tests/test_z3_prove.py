"""`explorer prove`: k-induction. Each verdict below is derived by hand in the comment beside
it (the small counter spec), or is the textbook one (Peterson's inductive invariant)."""
from __future__ import annotations

import json

import pytest

from conftest import MODELS, cli
from smp_explorer.cli.main import main
from smp_explorer.invariants.induction import prove
from smp_explorer.spec.pipeline import model_from_text

# x and y step together up to 5: x == y and both stay <= 5.
COUNTERS = """var x: 0..10 = 0;
var y: 0..10 = 0;
process P { a: if x < 5 { x := x + 1; y := y + 1; } goto a; }
invariant Eq: x == y;
invariant XBound: x <= 5;
invariant YBound: y <= 5;
invariant Small: x < 3;
"""


def run(names, helpers=(), k=1, text=COUNTERS):
    r = prove(model_from_text(text, "t.spec"), list(names), list(helpers), k)
    return {p.name: p for p in r.properties}


def test_an_inductive_invariant_is_proved():
    # Eq: from x == y a step adds 1 to both or changes neither. XBound: x < 5 -> x + 1 <= 5,
    # else x stays. Both hold initially (x = y = 0).
    got = run(["Eq", "XBound"])
    assert {n: p.status for n, p in got.items()} == {"Eq": "proved", "XBound": "proved"}
    assert got["Eq"].trace is None and got["Eq"].message == "proved: inductive"


def test_a_true_invariant_that_is_not_inductive_gets_a_counterexample_to_induction():
    # YBound holds (y == x <= 5) but a state with x < 5 and y == 5, unreachable, steps to
    # y == 6: one step from a state satisfying it to one violating it.
    p = run(["YBound"])["YBound"]
    assert p.status == "not-inductive" and p.may_be_unreachable
    first, last = p.trace.steps[0].state, p.trace.steps[-1].state
    assert len(p.trace) == 1
    assert first["y"] == 5 and first["x"] < 5 and first["x"] != first["y"]
    assert last["y"] == 6 and last["x"] == first["x"] + 1
    assert "need not be reachable" in p.message
    assert p.to_json()["may_be_unreachable"] is True


def test_the_helper_invariant_makes_it_provable():
    # with Eq, x < 5 implies y < 5, so y + 1 <= 5: the conjunction is inductive
    p = run(["YBound"], helpers=["Eq"])["YBound"]
    assert p.status == "proved" and p.message == "proved: inductive together with Eq"


def test_k_induction_needs_k_6_without_the_helper():
    # A path of k + 1 distinct states, each step incrementing x and y (the only other step is
    # a self-loop, which a simple path excludes), ending at y = 6, starts at x = 5 - k' with
    # x >= 0 for the step from x <= 4: such paths exist for k <= 5 and not for k = 6.
    assert run(["YBound"], k=5)["YBound"].status == "not-inductive"
    assert len(run(["YBound"], k=5)["YBound"].trace) == 5
    p = run(["YBound"], k=6)["YBound"]
    assert p.status == "proved" and p.message == "proved: 6-inductive"


def test_a_false_invariant_is_violated_with_a_real_trace():
    # Small (x < 3) fails after 3 increments; with k = 1 only the initial state is in the base
    # case, so it is merely not inductive; with k = 4 the base case covers depth 3.
    assert run(["Small"])["Small"].status == "not-inductive"
    p = run(["Small"], k=4)["Small"]
    assert p.status == "violated" and not p.may_be_unreachable
    assert len(p.trace) == 3 and p.trace.steps[-1].state["x"] == 3


def test_a_violated_helper_is_reported():
    got = run(["YBound"], helpers=["Small"], k=4)
    assert got["YBound"].status == "unknown" and "helper Small is violated" in got["YBound"].message
    assert got["Small"].status == "violated" and len(got["Small"].trace) == 3


def test_deadlock_freedom_and_assertions_are_state_properties_too():
    # P loops at a forever: in every state P is at a (a step is enabled) or at Done.
    assert run(["deadlock_free"])["deadlock_free"].status == "proved"
    # "y bounded" fails in a state where Q is at b and y > 5. Alone it is not inductive: Q at
    # b with x = 4, y = 5 steps (by P) to y = 6. With Eq, x < 5 gives y + 1 <= 5.
    text = COUNTERS + 'process Q { b: assert y <= 5 : "y bounded"; goto b; }\n'
    p = run(["y bounded"], text=text)["y bounded"]
    assert p.status == "not-inductive" and p.kind == "assertion"
    assert p.trace.steps[-1].failed == "y bounded"  # the CTI ends with the failing step
    assert run(["y bounded"], ["Eq"], text=text)["y bounded"].status == "proved"


PETERSON_HELPERS = """
invariant flag_means_trying:
  forall i in PID: flag[i] == (P[i] at p2 or P[i] at p3 or P[i] at cs or P[i] at p4);
invariant turn_protects:
  forall i in PID: ((P[i] at cs or P[i] at p4) and
                    (P[1 - i] at p3 or P[1 - i] at cs or P[1 - i] at p4)) implies turn == i;
"""


def test_peterson_mutual_exclusion_with_the_textbook_invariant():
    text = (MODELS / "classic" / "peterson.spec").read_text() + PETERSON_HELPERS
    assert run(["mutual_exclusion"], text=text)["mutual_exclusion"].status == "not-inductive"
    got = run(["mutual_exclusion"], ["flag_means_trying", "turn_protects"], text=text)
    assert got["mutual_exclusion"].status == "proved"


# ---- the command line ------------------------------------------------------------------

@pytest.fixture
def spec(spec):
    """The counters spec, written to a file: its path (conftest's `spec` writes it)."""
    return spec(COUNTERS, "c.spec")


def test_prove_exit_statuses_and_report(spec, capsys):
    code, out, _ = cli(capsys, "prove", spec, "--invariant", "Eq", "--plain")
    assert code == 0 and "proved" in out and "PROVED" in out
    code, out, _ = cli(capsys, "prove", spec, "--invariant", "YBound", "--plain")
    assert code == 1 and "not-inductive" in out
    assert "Counterexample to induction" in out and "not necessarily reachable" in out
    assert "it fails because y = 6" in out  # the explanation of the last state
    code, _, _ = cli(capsys, "prove", spec, "--invariant", "YBound", "--assume", "Eq")
    assert code == 0
    code, _, _ = cli(capsys, "prove", spec, "--invariant", "Small", "--k", "4", "--quiet")
    assert code == 1


def test_prove_json_is_the_check_document(spec, capsys):
    code, out, _ = cli(capsys, "prove", spec, "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["version"] == 1 and doc["spec"] == spec
    [run_] = doc["results"]
    assert run_["memory"] == "sc" and run_["engine"] == "prove" and run_["k"] == 1
    props = {p["name"]: p for p in run_["properties"]}
    assert {n: p["status"] for n, p in props.items()} == {
        "Eq": "proved", "XBound": "proved", "YBound": "not-inductive", "Small": "not-inductive"}
    assert props["Eq"]["trace"] is None
    assert props["YBound"]["may_be_unreachable"] is True and len(props["YBound"]["trace"]) == 2
    assert props["YBound"]["explanation"] == [{"slot": "y", "value": 6, "text": "y = 6"}]


@pytest.mark.parametrize("args,fragment", [
    (["--invariant", "Nope"], "no such property"),
    (["--assume", "Nope"], "no such invariant"),
    (["--assume", "deadlock_free"], "no such invariant"),
    (["--k", "0"], "--k"),
])
def test_prove_usage_errors_exit_2(spec, capsys, args, fragment):
    try:
        code, out, err = cli(capsys, "prove", spec, *args)
    except SystemExit as e:  # argparse
        code, (out, err) = e.code, capsys.readouterr()
    assert code == 2 and fragment in err and "Traceback" not in out + err


def test_a_reachable_goal_is_not_proved_by_induction(spec, tmp_path, capsys):
    p = tmp_path / "g.spec"
    p.write_text(COUNTERS + "reachable Five: x == 5;\n")
    code, _, err = cli(capsys, "prove", str(p), "--invariant", "Five")
    assert code == 2 and "reachable goal" in err


def test_prove_under_a_memory_model(capsys):
    # Peterson without a barrier breaks under x86-TSO (the store-buffering pattern); k = 1
    # cannot show it (the violation is many steps deep), but the step case fails.
    code, out, _ = cli(capsys, "prove", str(MODELS / "classic" / "peterson.spec"),
                       "--memory", "sc,tso", "--json")
    assert code == 1
    assert [r["memory"] for r in json.loads(out)["results"]] == ["sc", "tso"]


# ---- no traceback, whatever the spec ------------------------------------------------------

ODD_SPECS = [
    "", "process P {", "var x: 0..3;\nprocess P { a: x := x / 0; }",
    "var x: 0..3 = any;\nprocess P { a: x := x * 2; goto a; }\ninvariant I: 6 / (3 - x) > 0;",
    "var v: bool = false;\naction A { await false; }\ninvariant T: true;",  # stuck at once
    "type E = enum { A, B };\nvar s: set of E = {};\naction Add(e in E) { s := s union {e}; }\n"
    "invariant Card: card(s) <= 2;\nreachable Full: card(s) == 2;",
    "var x: -5..5 = 0;\nprocess P { a: x := x % 3 - x / 2; goto a; }\ninvariant M: x >= -5;",
]


@pytest.mark.parametrize("text", ODD_SPECS)
@pytest.mark.parametrize("command", [["prove", "--k", "2"], ["bmc", "--depth", "3"]])
def test_prove_and_bmc_never_raise(tmp_path, capsys, text, command):
    p = tmp_path / "odd.spec"
    p.write_text(text)
    code = main([command[0], str(p), *command[1:], "--plain"])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2)
    assert "Traceback" not in out + err
