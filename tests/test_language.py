"""The language front end: parsing, checking (every error kind, with its position) and lowering."""
from __future__ import annotations

import pytest

from smp_explorer.ir.evaluate import evaluate
from smp_explorer.ir.expr import Const, Op, Ref
from smp_explorer.spec import ast
from smp_explorer.spec.parser import parse_text
from smp_explorer.spec.pipeline import model_from_text

from conftest import spec_errors as errors_of

GOOD = """
// a comment
const N = 2;  /* block
comment */
type CPUS = 0..N-1;
type Site = enum { OLD, INT3, NEW };
shared b0: Site = OLD;
var ipi: array[CPUS] of bool = false;
var seen: set of Site = {};
process Cpu[c in CPUS] {
  local x: 0..3 = 0;
fetch:
  either { await ipi[self]; ipi[self] := false; goto fetch; }
  or { if b0 == INT3 { goto trap; } else { x := 1; } }
trap:
  seen := seen union {b0};
  assert card(seen) <= 3 : "bounded";
}
invariant I: forall c in CPUS: Cpu[c] at trap implies Cpu[c].x >= 0;
reachable R: exists c in CPUS: Cpu[c] at Done;
"""


def where(text: str, consts: dict[str, str] | None = None) -> tuple[int, int, str]:
    e = errors_of(text, consts)[0]
    assert e.span is not None
    return e.span.line, e.span.col, e.message


# ---- parsing ----------------------------------------------------------------------------

def test_reparse_gives_an_equal_tree_spans_excluded():
    a = parse_text(GOOD, "a.spec")
    b = parse_text("\n\n" + GOOD.replace("  ", " "), "b.spec")
    assert a.decls == b.decls


def test_precedence_follows_the_grammar():
    [d] = parse_text("invariant I: a or b and not c implies x + 1 * 2 == 3;").decls
    assert isinstance(d, ast.PropertyDecl)
    e = d.expr
    # implies is lowest, then or, then and, then not; * binds tighter than +, both than ==
    assert isinstance(e, ast.BinOp) and e.op == "implies"
    assert e.left.op == "or" and e.left.right.op == "and"
    assert isinstance(e.left.right.right, ast.Not)
    assert e.right.op == "==" and e.right.left.op == "+" and e.right.left.right.op == "*"


def test_good_spec_lowers():
    m = model_from_text(GOOD, "t.spec")
    names = [s.name for s in m.slots]
    assert names == ["b0", "ipi[0]", "ipi[1]", "seen", "Cpu[0].pc", "Cpu[0].x", "Cpu[1].pc",
                     "Cpu[1].x"]
    assert {p.name for p in m.properties} >= {"I", "R", "bounded", "deadlock_free"}


# ---- errors: each kind with its line and column ---------------------------------------------

@pytest.mark.parametrize("text,line,col,fragment", [
    ("const N = 2\nvar x: bool = true;", 1, 12, "missing ';'"),
    ("var x: 0..3 = 0 $;", 1, 17, "unexpected character '$'"),
    ("process P { a: skip;", 1, 21, "unexpected end of file"),
    ("var x: 0..3 = 0;\nprocess P { a: x := y + 1; }", 2, 21, "unknown name 'y'"),
    ("var x: 0..3 = 0;\nprocess P { a: x := true; }", 2, 21, "cannot assign a bool"),
    ("var x: 0..3 = 5;", 1, 15, "outside 0..3"),
    ("var x: Foo = 0;", 1, 8, "unknown type 'Foo'"),
    ("var x: bool;\nvar x: bool;", 2, 1, "declared twice"),
    ("var x: 0..3 = 0;\nprocess P { a: x := 1;\n a: x := 2; }", 3, 2, "duplicate label 'a'"),
    ("var x: 0..3 = 0;\nprocess P { a: x := 1; goto zz; }", 2, 24, "unknown label 'zz'"),
    ("var x: 0..3 = 0;\nprocess P { a: x := 1;\n while x < 3 { x := x + 1; } }", 3, 2,
     "needs a label"),
    ("var x: 0..3 = 0;\nprocess P { x := 1; }", 2, 13, "needs a label"),
    ("type E = enum {A, B};\nvar x: E = A;\ninvariant I: x == 1;", 3, 14, "cannot compare"),
    ("process P { a: skip; }\ninvariant I: P at zz;", 2, 14, "no label 'zz'"),
    ("var x: 0..3;\nprocess P { a: x := self; }", 2, 21, "'self'"),
    ("var x: 0..3;\nprocess P { a: goto b;\n x := 1;\nb: skip; }", 3, 2, "can never run"),
    ("var a: array[0..1] of bool;\nprocess P { l: a[2] := true; }", 2, 18, "outside 0..1"),
    ("var x: 0..3;\ninvariant I: x + true > 0;", 2, 18, "expected an integer"),
    ("var x: 0..3;\ninvariant I: card(x) > 0;", 2, 19, "card() takes a set"),
    ("var x: 3..1;", 1, 8, "empty range"),
    ("def f(self) { skip; }\nprocess P { a: f(1); }", 1, 1, "cannot be named 'self'"),
])
def test_error_kinds_point_at_line_and_column(text, line, col, fragment):
    got = where(text)
    assert got[:2] == (line, col), got
    assert fragment in got[2]


def test_bad_const_override_is_reported_without_cascade():
    errs = errors_of("const N = 2;\nvar x: 0..N = 0;", {"N": "x"})
    assert len(errs) == 1
    assert "--const N: expected an integer" in errs[0].message and "got 'x'" in errs[0].message
    errs = errors_of("const N = 2;", {"M": "3"})
    assert "no constant 'M'" in errs[0].message and "N" in errs[0].message
    errs = errors_of("const N = 2;", {"N": "true"})
    assert "--const N: expected an integer" in errs[0].message and "(a bool)" in errs[0].message


def test_several_errors_are_reported_together_in_source_order():
    errs = errors_of("var x: 0..3;\nprocess P { a: x := y; }\ninvariant I: z;")
    assert [(e.span.line, e.message) for e in errs] == [
        (2, "unknown name 'y'"), (3, "unknown name 'z'")]


# ---- lowering -----------------------------------------------------------------------------

def actions_of(text: str):
    return model_from_text(text, "t.spec").actions


def test_if_else_lowers_to_two_actions_with_complementary_guards():
    acts = actions_of("var x: 0..3;\nprocess P { a: if x > 1 { x := 0; } else { x := x + 1; }"
                      "\nb: skip; }")
    a_steps = [a for a in acts if a.label == "a"]
    assert len(a_steps) == 2
    for x in range(4):
        state = (0, x)  # slot 0 is x, slot 1 is P.pc (0 = a)
        state = (x, 0)
        enabled = [a for a in a_steps if evaluate(a.guard, state)]
        assert len(enabled) == 1, f"exactly one branch is enabled for x={x}"
        new_x = evaluate(dict(enabled[0].updates)[0], state)
        assert new_x == (0 if x > 1 else x + 1)


def test_sequential_assignments_within_a_step_see_earlier_ones():
    [a, _] = actions_of("var x: 0..7 = 1;\nvar y: 0..7;\nprocess P { a: x := x + 1; y := x * 2;"
                        "\nb: skip; }")
    updates = dict(a.updates)
    state = (1, 0, 0)
    assert evaluate(updates[0], state) == 2 and evaluate(updates[1], state) == 4


def test_either_forks_and_with_gives_one_action_per_value():
    acts = actions_of("var x: 0..9;\nprocess P { a: either { x := 1; } or { x := 2; } or "
                      "{ with v in 3..5 { x := v; } }\nb: skip; }")
    targets = sorted(evaluate(dict(a.updates)[0], (0, 0)) for a in acts if a.label == "a")
    assert targets == [1, 2, 3, 4, 5]


def test_loop_body_end_returns_to_the_loop_label():
    acts = actions_of("var x: 0..3;\nprocess P { l: while x < 3 { x := x + 1; }\nafter: skip; }")
    loop = [a for a in acts if a.label == "l"]
    # two actions: iterate (pc stays l) and leave (pc becomes after)
    pcs = sorted(evaluate(dict(a.updates).get(1, Ref(1)), (0, 0)) for a in loop)
    assert pcs == [0, 1]


def test_await_mid_step_is_evaluated_after_earlier_assignments():
    [a, _] = actions_of("var x: 0..3;\nprocess P { a: x := x + 1; await x == 2;\nb: skip; }")
    assert evaluate(a.guard, (1, 0)) == 1 and evaluate(a.guard, (0, 0)) == 0


def test_computed_index_assignment_updates_only_the_chosen_element():
    [a, _] = actions_of("var i: 0..2;\nvar arr: array[0..2] of 0..3;\n"
                        "process P { a: arr[i] := 3;\nb: skip; }")
    up = dict(a.updates)
    state = (1, 0, 0, 0, 0)  # i = 1
    assert [evaluate(up.get(k, Ref(k)), state) for k in (1, 2, 3)] == [0, 3, 0]


def test_constant_folding_in_the_ir():
    from smp_explorer.ir.expr import op
    assert op("add", Const(2), Const(3)) == Const(5)
    assert op("div", Const(-7), Const(2)) == Const(-4)
    assert op("mod", Const(-7), Const(2)) == Const(1)
    assert isinstance(op("div", Const(1), Const(0)), Op)  # kept: fails when evaluated


def test_for_unrolls_within_one_step_in_order():
    [a, _] = actions_of("var f: array[0..2] of bool; var n: 0..9;\n"
                        "process P { a: for c in 0..2 { f[c] := true; n := n * 2 + c; }\n"
                        "b: skip; }")
    up = dict(a.updates)
    state = (0, 0, 0, 0, 0)
    # n = ((0*2+0)*2+1)*2+2 = 4, every element set
    assert [evaluate(up[k], state) for k in range(4)] == [1, 1, 1, 4]


def test_labels_inside_for_are_rejected():
    line, col, message = where("var x: 0..3;\nprocess P { a: for c in 0..1 {\n b: x := c; } }")
    assert (line, col) == (3, 2) and "inside 'with' or 'for'" in message


def test_def_calls_in_a_while_condition_run_each_iteration():
    m = model_from_text("use linux.generic;\nshared x: 0..3 = 0;\nvar n: 0..9;\n"
                        "process P { l: while READ_ONCE(x) < 2 { x := x + 1; n := n + 1; }\n"
                        "done: skip; }", "t.spec")
    assert {a.label for a in m.actions} >= {"l"}


def test_a_type_assigned_as_a_value_is_the_set_of_its_values():
    [a, _] = actions_of("type RM = enum { r1, r2 };\nvar t: set of RM;\n"
                        "process P { a: t := RM;\nb: skip; }")
    assert evaluate(dict(a.updates)[0], (0, 0)) == 0b11
