"""Explanations: the slot values of a violating state that alone make an invariant false (a
minimal unsat core over `slot == value`). The expected sets are derived by hand from the
invariants' text: each value listed is needed (change it and the invariant can hold) and
together they suffice (whatever the other slots hold)."""
from __future__ import annotations

import json

import pytest

from conftest import MODELS
from smp_explorer.explorer.engines import explore
from smp_explorer.cli.main import main
from smp_explorer.runs.compiled import compile_model
from smp_explorer.invariants.explain import encode_value, explain, explain_results
from smp_explorer.spec.pipeline import load_model, model_from_text


def violation(rel: str, prop: str, memory: str | None = None):
    model = load_model(MODELS / rel, None, memory)
    result = explore(compile_model(model))
    explain_results(model, result.properties)
    return next(p for p in result.properties if p.name == prop)


def slots(p) -> dict[str, object]:
    return {e["slot"]: e["value"] for e in p.explanation}


@pytest.mark.parametrize("memory", ["sc", "pso"])
def test_ftrace_exit_race(memory):
    # handler_sees_mfc: forall c: Cpu[c] at h_check implies Cpu[c].seen > 0. It is false only
    # for a CPU at h_check with seen = 0; both values are needed (elsewhere, or seen = 1, the
    # implication holds) and the other CPU, the patcher and memory do not matter.
    rel = "ftrace/v3-no-final-sync.spec" if memory == "sc" else "ftrace/v1-plain-int.spec"
    p = violation(rel, "handler_sees_mfc", memory)
    cpu = next(c for c in ("Cpu[0]", "Cpu[1]") if p.trace.steps[-1].state[f"{c}.pc"] == "h_check")
    assert slots(p) == {f"{cpu}.pc": "h_check", f"{cpu}.seen": 0}
    assert [e["text"] for e in p.explanation] == [f"{cpu} at h_check", f"{cpu}.seen = 0"]


def test_ftrace_torn_instruction():
    # no_torn_instruction: a CPU at exec must have (OLD0, OLDT) or (NEW0, NEWT). The torn
    # instruction (test_models: OLD0 with NEWT) needs all three: the pc, fb = OLD0 (NEW0 would
    # match NEWT) and ft = NEWT (OLDT would match OLD0).
    p = violation("ftrace/no-first-sync.spec", "no_torn_instruction")
    cpu = p.trace.steps[-1].process
    assert slots(p) == {f"{cpu}.pc": "exec", f"{cpu}.fb": "OLD0", f"{cpu}.ft": "NEWT"}


def test_broken_mutex():
    # not (P[i] at cs and P[j] at cs) for i != j: both pcs, nothing else (the lock's value
    # does not matter)
    p = violation("classic/broken-mutex.spec", "mutual_exclusion")
    assert slots(p) == {"P[0].pc": "cs", "P[1].pc": "cs"}


SPEC = """var x: 0..9 = 0;
var y: 0..9 = 0;
var z: 0..9 = 0;
process P { a: skip; }
invariant Sum: x + y < 5;
invariant Both: x < 5 and y < 5;
invariant Any: x < 5 or y < 5 or z < 5;
"""


def test_explanations_are_minimal():
    model = model_from_text(SPEC, "t.spec")
    values = {0: 7, 1: 7, 2: 7}  # x, y, z

    def why(name):
        return explain(model, model.property(name), values)
    # x + y < 5 with x = y = 7: x = 7 alone makes it false whatever y is (7 + y >= 5), and
    # so does y = 7 alone: one of them, either is minimal
    assert why("Sum") in ([0], [1])
    # with x = y = 3 neither alone does (3 + 0 < 5): both
    assert explain(model, model.property("Sum"), {0: 3, 1: 3, 2: 0}) == [0, 1]
    # x < 5 and y < 5: either value alone makes it false
    assert why("Both") in ([0], [1])
    # x < 5 or y < 5 or z < 5: all three are needed
    assert why("Any") == [0, 1, 2]
    # a state where it holds has no explanation
    assert explain(model, model.property("Any"), {0: 1, 1: 7, 2: 7}) is None


def test_values_round_trip_through_the_display_form():
    model = model_from_text("""type E = enum { A, B, C };
var s: set of E = {A, C};
var b: bool = true;
var e: E = B;
var n: -3..3 = -2;
process P { a: skip; }
""", "t.spec")
    state = next(model.initial_states())
    shown = model.describe(state)
    for slot in model.slots:
        assert encode_value(slot, shown[slot.name]) == state[slot.index]


def test_the_report_and_json_show_the_explanation(capsys):
    path = str(MODELS / "ftrace" / "v3-no-final-sync.spec")
    assert main(["check", path, "--plain"]) == 1
    out = capsys.readouterr().out
    assert "violated because Cpu[" in out and "at h_check, Cpu[" in out
    assert main(["check", path, "--json"]) == 1
    props = {p["name"]: p for p in json.loads(capsys.readouterr().out)["results"][0]["properties"]}
    assert len(props["handler_sees_mfc"]["explanation"]) == 2
    assert "explanation" not in props["no_torn_instruction"]  # it holds
    assert main(["check", path, "--json", "--no-z3"]) == 1
    props = {p["name"]: p for p in json.loads(capsys.readouterr().out)["results"][0]["properties"]}
    assert "explanation" not in props["handler_sees_mfc"]
