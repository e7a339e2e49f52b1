"""The Z3 encoder against the one definition of the IR (`ir.evaluate`) and the compiled
explorer: every operator, with Python's meaning (floor division, infinite two's complement,
short-circuit evaluation of partial operators), in both representations (bit-vectors, Ints).
(`test_ir_backends` compares every backend with `ir.evaluate` on well-kinded expressions; here
`and`/`or` also get integer operands, which both take by their truth.)
"""
from __future__ import annotations

import itertools

import pytest
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smp_explorer.runs.compiled import compile_model
from smp_explorer.invariants.z3enc import Encoder
from smp_explorer.ir.evaluate import EvalError, evaluate
from smp_explorer.ir.expr import Const, Op, Ref
from smp_explorer.ir.ops import OPS
from smp_explorer.ir.model import Model, Slot
from smp_explorer.spec.pipeline import model_from_text
from smp_explorer.ir.types import IntT, SetT

SLOTS = (Slot(0, "x", IntT(-4, 4), None, "x"), Slot(1, "y", IntT(-3, 3), None, "y"),
         Slot(2, "s", SetT(IntT(0, 2)), None, "s"))
X, Y, S = Ref(0), Ref(1), Ref(2)
MODEL = Model("t", SLOTS, ((0,), (0,), (0,)), (), (), ())
STATES = list(itertools.product(range(-4, 5), range(-3, 4), range(0, 8)))


def check_on_states(e, arith: str, states) -> None:
    enc = Encoder(MODEL, arith, [e])
    assert (enc.width is None) == (arith == "int")
    sym = enc.state("s")
    value, truth, defined = (enc.term(enc.value(e, sym)) if not isinstance(enc.value(e, sym), bool)
                             else enc.value(e, sym)), enc.term(enc.truth(e, sym)), \
        enc.term(enc.defined(e, sym))
    for state in states:
        m = z3.Model(ctx=enc.ctx)
        for v, x in zip(sym.vars, state):
            m.update_value(v, enc.num(x))
        try:
            want = evaluate(e, state)
        except EvalError:
            assert z3.is_false(m.eval(defined, model_completion=True)), (e, state)
            continue
        assert z3.is_true(m.eval(defined, model_completion=True)), (e, state)
        assert enc.number(m.eval(value, model_completion=True)) == want, (e, state)
        assert z3.is_true(m.eval(truth, model_completion=True)) == bool(want), (e, state)


EDGE_CASES = [
    Op("div", (X, Y)), Op("mod", (X, Y)), Op("div", (Y, X)), Op("mod", (Y, X)),
    Op("bor", (X, Y)), Op("band", (X, Y)), Op("bandnot", (X, Y)), Op("bxor", (X, Y)),
    Op("bit", (X, Y)), Op("bit", (X, Const(7))), Op("bit", (X, Const(-1))), Op("bit", (S, Y)),
    Op("shl", (X, Y)), Op("shl", (Y, Const(3))), Op("popcount", (X,)), Op("popcount", (S,)),
    Op("neg", (X,)), Op("mul", (X, Y)), Op("and", (X, Y)), Op("or", (X, Y)),
    Op("select", (Y, X, Op("div", (X, Y)), Const(7))),
    Op("ite", (Op("gt", (Y, Const(0))), Op("div", (X, Y)), Op("mod", (Y, X)))),
    # short-circuit: the division is evaluated only when y != 0
    Op("and", (Op("ne", (Y, Const(0))), Op("gt", (Op("div", (X, Y)), Const(0))))),
    Op("or", (Op("eq", (Y, Const(0))), Op("gt", (Op("mod", (X, Y)), Const(0))))),
]


@pytest.mark.parametrize("arith", ["bv", "int"])
@pytest.mark.parametrize("e", EDGE_CASES, ids=repr)
def test_every_operator_on_every_state(e, arith):
    check_on_states(e, arith, STATES)


LEAVES = st.sampled_from([X, Y, S, Const(0), Const(1), Const(2), Const(-1), Const(3)])


def _op(children):
    binary = sorted(k for k, info in OPS.items() if info.arity == 2)
    return st.one_of(
        st.builds(lambda o, a: Op(o, (a,)), st.sampled_from(["neg", "not", "popcount"]),
                  children),
        st.builds(lambda o, a, b: Op(o, (a, b)), st.sampled_from(binary), children, children),
        st.builds(lambda a, b, c: Op("ite", (a, b, c)), children, children, children),
        st.builds(lambda o, xs: Op(o, tuple(xs)), st.sampled_from(["and", "or"]),
                  st.lists(children, min_size=2, max_size=3)),
        st.builds(lambda i, xs: Op("select", (i, *xs)), children,
                  st.lists(children, min_size=1, max_size=3)),
    )


EXPRS = st.recursive(LEAVES, _op, max_leaves=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRS, st.sampled_from(["bv", "int"]),
       st.lists(st.sampled_from(STATES), min_size=1, max_size=12))
def test_random_expressions_mean_what_python_says(e, arith, states):
    check_on_states(e, arith, states)


def test_the_width_covers_every_intermediate_value():
    # x * y * x reaches -48 and 48 = 0b110000: 6 bits, a sign bit and the margin bit
    e = Op("mul", (Op("mul", (X, Y)), X))
    enc = Encoder(MODEL, "bv", [e])
    assert enc.width == 8
    check_on_states(e, "bv", [(-4, 3, 0), (-4, -3, 0), (4, 3, 0), (4, -3, 0)])


def test_auto_prefers_bit_vectors_and_falls_back_to_ints_for_huge_values():
    assert Encoder(MODEL).width is not None
    huge = Op("shl", (Const(1), Const(200)))
    assert Encoder(MODEL, "auto", [huge]).width is None
    assert Encoder(MODEL, "bv", [huge]).width > 200


SPEC = """
var x: 0..3 = 0;
var s: set of 0..2 = {};
var a: array[0..2] of 0..3 = 0;
process P {
  l: if x > 0 and 3 / x == 1 { x := x - 1; } else { x := x + 1; }
     a[x] := a[x] + 1;
     s := s union {x};
  m: assert card(s) < 3 : "small";
     goto l;
}
invariant I: x % 2 == 0 or a[x] > 0;
"""


def test_actions_mean_what_the_generated_code_does():
    """Every step from every state in the types: the same successors and the same failures."""
    model = model_from_text(SPEC, "t.spec")
    cm = compile_model(model)
    for arith in ("bv", "int"):
        enc = Encoder(model, arith)
        sym = enc.state("a")
        terms = [(a.index, enc.action(a, sym)) for a in model.actions]
        ranges = [range(s.lo, s.hi + 1) for s in model.slots]
        for state in itertools.islice(itertools.product(*ranges), 0, None, 7):
            m = z3.Model(ctx=enc.ctx)
            for v, x in zip(sym.vars, state):
                m.update_value(v, enc.num(x))

            def true(c):
                return c if isinstance(c, bool) else z3.is_true(m.eval(c, model_completion=True))
            out, bad = cm.successors(state)
            want_out, want_bad = set(), set()
            for index, t in terms:
                if true(t.fires):
                    nxt = list(state)
                    for slot, v in t.next.items():
                        nxt[slot] = enc.number(m.eval(v, model_completion=True))
                    want_out.add((index, tuple(nxt)))
                want_bad |= {(index, p) for p, c in t.failures.items() if true(c)}
            assert set(out) == want_out, state
            assert {(ai, cm.failures[fid].property) for ai, fid, _ in bad} == want_bad, state
