"""The Z3 pre-check `explorer check` runs before exploring: an invariant valid over the
declared types (a warning: it checks nothing), one that can never hold (a spec error), and one
false in an initial state (a violation at depth 0). Every verdict here is derived by hand from
the small specs below."""
from __future__ import annotations

import json
import time

import pytest

from conftest import MODELS, cli
from smp_explorer.invariants.vacuity import INITIAL, NEVER, VALID, precheck
from smp_explorer.spec.pipeline import load_model, model_from_text

COUNTER = """var x: 0..9 = 0;
process P { a: if x < 9 { x := x + 1; } goto a; }
"""


def findings(text: str) -> dict[str, tuple]:
    return {f.prop.name: (f.kind, f.state) for f in precheck(model_from_text(text, "t.spec"))}


def test_valid_unsatisfiable_initially_false_and_fine():
    got = findings(COUNTER + """
invariant Fine: x >= 0;            // x: 0..9, so always true: checks nothing
invariant Tautology: x < 5 or x >= 5;
invariant Never: x > 9;            // no value of 0..9
invariant Contradiction: x < 3 and x > 4;
invariant NotZero: x != 0;         // false in the initial state x = 0
invariant Useful: x != 7;          // neither: true initially, false for x = 7
""")
    # the one initial state: x = 0 (slot 0), P at its first label a (slot 1)
    assert got == {"Fine": (VALID, None), "Tautology": (VALID, None), "Never": (NEVER, None),
                   "Contradiction": (NEVER, None), "NotZero": (INITIAL, (0, 0))}


def test_an_invariant_that_cannot_be_evaluated_can_never_hold():
    # x / 0 fails in every state: it is never true
    assert findings(COUNTER + "invariant Broken: x / 0 == 1;")["Broken"][0] == NEVER


def test_initial_states_are_checked_symbolically():
    # 16 initial states; only (x, y) = (3, 3) breaks the invariant
    got = findings("""var x: 0..3 = any;
var y: 0..3 = any;
action Nop { await false; }
invariant NotBoth: not (x == 3 and y == 3);
""")
    assert got == {"NotBoth": (INITIAL, (3, 3))}


def test_check_warns_about_a_valid_invariant(spec, capsys):
    path = spec(COUNTER + "invariant Fine: x >= 0;\n")
    code, out, err = cli(capsys, "check", path, "--plain")
    assert code == 0
    assert f"{path}:3:1: warning: invariant Fine is true in every state of the declared " \
           "types: it checks nothing" in err.replace("\n", " ")
    code, out, _ = cli(capsys, "check", path, "--json")
    [fine] = [p for p in json.loads(out)["results"][0]["properties"] if p["name"] == "Fine"]
    assert "checks nothing" in fine["warning"]
    code, _, err = cli(capsys, "check", path, "--plain", "--no-z3")
    assert code == 0 and "warning" not in err


def test_check_rejects_an_invariant_that_can_never_hold(spec, capsys):
    path = spec(COUNTER + "invariant Never: x > 9;\n")
    code, out, err = cli(capsys, "check", path, "--plain")
    assert code == 2
    assert f"{path}:3:1: error: invariant Never can never hold" in err
    assert "Traceback" not in out + err
    # without the pre-check the explorer finds it false in the initial state
    code, _, _ = cli(capsys, "check", path, "--plain", "--no-z3")
    assert code == 1


def test_an_initial_violation_is_reported_at_depth_0(spec, capsys):
    path = spec("""var x: 0..3 = any;
var y: 0..3 = any;
action Nop { await false; }
invariant NotBoth: not (x == 3 and y == 3);
""")
    code, out, _ = cli(capsys, "check", path, "--json", "--no-deadlock")
    assert code == 1
    [p] = json.loads(out)["results"][0]["properties"]
    assert p["status"] == "violated" and len(p["trace"]) == 1
    assert p["trace"][0]["state"] == {"x": 3, "y": 3}
    assert p["explanation"] == [{"slot": "x", "value": 3, "text": "x = 3"},
                                {"slot": "y", "value": 3, "text": "y = 3"}]


@pytest.mark.parametrize("path", sorted(MODELS.rglob("*.spec")), ids=lambda p: p.name)
def test_the_pre_check_is_fast_on_the_shipped_models(path):
    model = load_model(path)
    start = time.perf_counter()
    found = precheck(model)
    assert time.perf_counter() - start < 1.0
    # the shipped invariants are neither vacuous nor false initially
    assert found == []
