"""Exploration semantics: verdicts, shortest traces, limits, runtime errors, determinism.

Every expected count below is derived by hand in a comment.
"""
from __future__ import annotations

import pytest

from conftest import prop, run

COUNTER = """
var x: 0..3 = 0;
process P { a: x := x + 1; goto a; }
"""


def test_value_leaving_its_range_is_a_violation_with_its_trace():
    # x goes 0 -> 1 -> 2 -> 3; the fourth increment would store 4: 3 steps reach x = 3, the
    # failing step is the 4th row of the trace.
    r = run(COUNTER)
    p = prop(r, "no_runtime_error")
    assert p.status == "violated"
    assert p.message == "x would become 4, outside 0..3"
    assert len(p.trace) == 4 and p.trace.steps[-1].failed == p.message
    # the failing step has no successor: states are x = 0..3 only
    assert r.stats.states == 4


def test_floor_division_and_modulo_follow_tla():
    # TLA+: -7 \div 2 = -4, -7 % 2 = 1, 7 \div -2 = -4, 7 % -2 = -1 (floor division, the
    # remainder takes the divisor's sign).
    r = run("""
var q1: -9..9; var r1: -9..9; var q2: -9..9; var r2: -9..9; var done: bool;
action Compute { await not done; q1 := -7 / 2; r1 := -7 % 2; q2 := 7 / -2; r2 := 7 % -2;
                 done := true; }
invariant Results: done implies q1 == -4 and r1 == 1 and q2 == -4 and r2 == -1;
reachable Done: done;
""", check_deadlock=False)
    assert prop(r, "Results").status == "holds"
    assert prop(r, "Done").status == "holds"


def test_division_by_zero_is_a_violation():
    r = run("var d: 0..2 = 0; var x: 0..9;\nprocess P { a: x := 6 / d; }")
    p = prop(r, "no_runtime_error")
    assert p.status == "violated" and p.message == "division by zero"
    assert len(p.trace) == 1 and p.trace.steps[-1].line == 2


def test_index_out_of_bounds_is_a_violation():
    r = run("var i: 0..3 = 0; var a: array[0..1] of bool;\n"
            "process P { l: a[i] := true; i := i + 1; goto l; }")
    p = prop(r, "no_runtime_error")
    # i = 0 and i = 1 succeed; the third step writes a[2]
    assert p.status == "violated" and "index 2 is outside 0..1 of 'a'" in p.message
    assert len(p.trace) == 3


def test_failed_assertion_ends_its_path_and_is_not_a_deadlock():
    r = run("var x: 0..3 = 0;\nprocess P { a: assert x > 0 : \"x positive\"; x := 1;\nb: skip; }")
    assert prop(r, "x positive").status == "violated"
    assert prop(r, "deadlock_free").status == "holds"
    assert r.stats.states == 1 and r.stats.transitions == 0


def test_deadlock_is_a_state_with_no_enabled_step_before_termination():
    r = run("var f: bool = false;\nprocess P { a: await f;\nb: skip; }")
    p = prop(r, "deadlock_free")
    assert p.status == "violated" and len(p.trace) == 0
    assert "P at a" in p.message
    # terminated processes are not deadlocked
    r = run("var f: bool = true;\nprocess P { a: await f;\nb: skip; }")
    assert prop(r, "deadlock_free").status == "holds"
    # without processes, any state with no enabled action is a deadlock
    r = run("var x: 0..2 = 0;\naction Inc { await x < 2; x := x + 1; }")
    p = prop(r, "deadlock_free")
    assert p.status == "violated" and len(p.trace) == 2


def test_no_deadlock_option_drops_the_property():
    r = run("var f: bool = false;\nprocess P { a: await f; }", check_deadlock=False)
    assert "deadlock_free" not in [p.name for p in r.properties]


def test_unreached_goal_fails_and_reached_goal_has_a_witness():
    r = run(COUNTER + "reachable Two: x == 2;\nreachable Five: x == 0 and P at Done;")
    assert prop(r, "Two").status == "holds" and len(prop(r, "Two").trace) == 2
    assert prop(r, "Five").status == "unreached"
    assert r.violated


def test_any_gives_every_initial_value():
    # x in 0..3 and a 2-element bool array: 4 * 2 * 2 initial states, no steps
    r = run("var x: 0..3 = any; var a: array[0..1] of bool = any;\n"
            "action Nop { await false; }", check_deadlock=False)
    assert r.stats.states == 16 and r.stats.initial_states == 16


def test_invariant_violated_in_an_initial_state_has_an_empty_trace():
    r = run("var x: 0..3 = any;\ninvariant Small: x < 3;\naction Nop { await false; }",
            check_deadlock=False)
    p = prop(r, "Small")
    assert p.status == "violated" and len(p.trace) == 0
    assert p.trace.steps[0].state["x"] == 3


def test_every_property_gets_a_verdict_in_one_run():
    # Two independent bugs: the invariant breaks after 1 step, the assertion after 2.
    r = run("""
var x: 0..7 = 0;
process P { a: x := x + 1;
b: assert x < 2 : "x small"; x := x + 1;
c: skip; }
invariant Zero: x == 0;
""")
    assert prop(r, "Zero").status == "violated" and len(prop(r, "Zero").trace) == 1
    assert prop(r, "x small").status == "holds"
    r = run("""
var x: 0..7 = 0;
process P { a: x := x + 2;
b: assert x < 2 : "x small"; x := x + 1;
c: skip; }
invariant Zero: x == 0;
""")
    assert prop(r, "Zero").status == "violated"
    assert prop(r, "x small").status == "violated" and len(prop(r, "x small").trace) == 2


def test_stop_at_first_leaves_other_properties_unknown():
    text = COUNTER + "invariant Zero: x == 0;\ninvariant Small: x < 3;"
    r = run(text, stop_at_first=True)
    assert prop(r, "Zero").status == "violated"
    assert prop(r, "Small").status == "unknown"
    assert not r.complete and r.stop_reason == "first violation"


@pytest.mark.parametrize("option,reason", [({"max_states": 3}, "max-states"),
                                           ({"max_depth": 2}, "max-depth")])
def test_limits_end_the_run_incomplete_with_counts_so_far(option, reason):
    text = "var x: 0..9 = 0;\nprocess P { a: if x < 9 { x := x + 1; } goto a; }\n" \
           "invariant Fine: x >= 0;"
    r = run(text, **option)
    assert not r.complete and r.stop_reason == reason
    assert prop(r, "Fine").status == "unknown"
    assert r.stats.states == 3


def test_transitions_count_self_loops_and_revisits():
    # states x = 0..2; from each: the step (x < 2: x+1, else stay) fires once: 3 transitions,
    # one of them a self-loop at x = 2.
    r = run("var x: 0..2 = 0;\nprocess P { a: if x < 2 { x := x + 1; } goto a; }")
    assert (r.stats.states, r.stats.transitions, r.stats.depth) == (3, 3, 2)


def test_coverage_counts_firings_per_step():
    r = run("var x: 0..2 = 0;\nprocess P { a: x := 1;\nb: await x == 2;\nc: skip; }",
            check_deadlock=False)
    assert r.stats.coverage == {"P: a": 1, "P: b": 0, "P: c": 0}
    assert r.stats.never_fired == ["P: b", "P: c"]


def test_same_spec_gives_the_same_counts_and_counterexample():
    text = """
const N = 3;
var lock: bool = false;
process P[i in 0..N-1] { a: await not lock;
b: lock := true;
cs: skip;
d: lock := false; goto a; }
invariant Mutex: forall i in 0..N-1: forall j in 0..N-1: i == j or not (P[i] at cs and P[j] at cs);
"""
    one, two = run(text), run(text)
    assert (one.stats.states, one.stats.transitions) == (two.stats.states, two.stats.transitions)
    assert prop(one, "Mutex").trace.to_json() == prop(two, "Mutex").trace.to_json()
    # shortest: two processes pass the test (2 steps), then each sets the lock, which ends its
    # step at label cs (2 steps): 4 steps
    assert len(prop(one, "Mutex").trace) == 4


def test_sets_membership_union_minus_card():
    r = run("""
type E = enum { A, B, C };
var s: set of E = {A};
action Add(e in E) { await not (e in s); s := s union {e}; }
action Drop(e in E) { await e in s and card(s) > 1; s := s minus {e}; }
invariant NonEmpty: card(s) >= 1;
""")
    # every non-empty subset of {A, B, C} is reachable: 7 states
    assert r.stats.states == 7
    assert prop(r, "NonEmpty").status == "holds"


def test_a_runtime_error_in_one_invariant_does_not_hide_another():
    r = run("var y: 0..1 = 0;\nprocess P { a: skip; }\ninvariant div: 10 / y > 0;\n"
            "invariant always_false: false;")
    assert prop(r, "always_false").status == "violated"
    assert prop(r, "no_runtime_error").status == "violated"
    assert prop(r, "no_runtime_error").message == "division by zero"


def test_a_runtime_error_in_a_reachable_goal_is_reported():
    r = run("var y: 0..1 = 0;\nprocess P { a: y := 1; }\nreachable r: 10 / y == 0 or y == 0;")
    assert prop(r, "no_runtime_error").status == "violated"


def test_assertion_names_never_collide_with_other_properties():
    r = run('var x: 0..1;\nprocess P { a: assert x == 1 : "safe"; }\ninvariant safe: x == 0;')
    assert prop(r, "safe").status == "holds"                 # the invariant
    assert prop(r, "safe (line 2)").status == "violated"     # the assertion


def test_integer_sets_share_one_encoding_across_ranges():
    # {1} is a set of 1..1 and s a set of 0..3: bit v stands for v in both, so they mix
    r = run("var s: set of 0..3 = {1, 2};\naction Add(x in 0..3) { await not (x in s); "
            "s := s union {x}; }\ninvariant keeps: {1} minus s == {} and card(s) >= 2;")
    assert prop(r, "keeps").status == "holds"
    assert r.stats.states == 4  # {1,2} plus any subset of {0, 3}


def test_large_sets_are_cheap_when_not_enumerated():
    r = run("var big: set of 0..63 = {};\naction Put(x in 0..1) { big := big union {x * 63}; }",
            check_deadlock=False)
    assert r.stats.states == 4


def test_a_type_used_as_a_value_is_the_set_of_its_values():
    r = run("type RM = enum { a, b, c };\nvar t: set of RM = {};\n"
            "action Add(r in RM) { t := t union {r}; }\nreachable all: t == RM and card(RM) == 3;",
            check_deadlock=False)
    assert prop(r, "all").status == "holds" and len(prop(r, "all").trace) == 3


def test_index_messages_name_the_index_value_not_its_position():
    r = run("var i: 1..4 = 1; var a: array[1..3] of bool;\n"
            "process P { l: a[i] := true; i := i + 1; goto l; }")
    # i = 1, 2, 3 succeed; the fourth step writes a[4]
    assert prop(r, "no_runtime_error").message == "index 4 is outside 1..3 of 'a'"
    assert len(prop(r, "no_runtime_error").trace) == 4


def test_max_states_also_bounds_the_initial_states():
    # 100 * 100 initial states; the limit stops the run among them
    r = run("var x: 0..99 = any;\nvar y: 0..99 = any;\nprocess P { a: skip; }", max_states=10)
    assert r.stats.states == 10 and r.stop_reason == "max-states" and not r.complete
