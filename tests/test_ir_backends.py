"""Every backend over IR expressions against the one definition (`ir.evaluate`).

Random expression trees, built with each operand of the kind the operator table gives it, are
compiled by every backend (the tuple code, the packed code, the NumPy code, the Z3 encoding)
and compared with the reference evaluator on small domains: the same values, and the same
failures with the same messages. And every backend has a handler for every operator.
"""
from __future__ import annotations

import functools
import itertools
from typing import Any, Callable

import numpy as np
import pytest
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import MODELS
from smp_explorer.explorer.engines.numpy_expr import VecCompiler, vectorisable
from smp_explorer.explorer.engines.packed_expr import PackedCompiler
from smp_explorer.explorer.store import Layout
from smp_explorer.invariants import z3enc
from smp_explorer.ir.bounds import interval
from smp_explorer.ir.compile import ExprVisitor, MissingHandler, missing_handlers
from smp_explorer.ir.evaluate import EvalError, Evaluator, evaluate
from smp_explorer.ir.expr import Const, Expr, IndexInfo, Op, Ref, describe_failure, op
from smp_explorer.ir.model import Model, Slot
from smp_explorer.ir.ops import OPS, Kind
from smp_explorer.ir.types import BOOL, IntT, SetT
from smp_explorer.runs.compiled import HELPERS, Failure, TupleCompiler, Undefined
from smp_explorer.runs.pysource import Emitter
from smp_explorer.spec.pipeline import load_model

SLOTS = (Slot(0, "x", IntT(-4, 4), None, "x"), Slot(1, "y", IntT(-3, 3), None, "y"),
         Slot(2, "s", SetT(IntT(0, 2)), None, "s"), Slot(3, "b", BOOL, None, "b"))
MODEL = Model("t", SLOTS, ((0,), (0,), (0,), (0,)), (), (), ())
RANGES = [(s.lo, s.hi) for s in SLOTS]
STATES = list(itertools.product(*(range(lo, hi + 1) for lo, hi in RANGES)))
LAYOUT = Layout(MODEL)
INFO = IndexInfo("a", 1, "1..3")

INT_LEAVES = st.sampled_from([Ref(0), Ref(1), Ref(2), Const(0), Const(2), Const(-1)])
BOOL_LEAVES = st.sampled_from([Ref(3), Const(0), Const(1)])


@functools.lru_cache(maxsize=None)
def exprs(kind: Kind, depth: int) -> st.SearchStrategy[Expr]:
    """Expressions of `kind` at most `depth` operators deep, built as the language builds them:
    through the folding constructor `op`, with operands of the kinds the table gives."""
    leaves = BOOL_LEAVES if kind is Kind.BOOL else st.one_of(INT_LEAVES, BOOL_LEAVES)
    if depth == 0:
        return leaves
    choices = [leaves]
    for name, info in OPS.items():
        if info.result is not kind:
            continue
        if name == "select":
            choices.append(st.builds(lambda i, xs: op("select", i, *xs, info=INFO),
                                     exprs(Kind.INT, depth - 1),
                                     st.lists(exprs(Kind.INT, depth - 1), min_size=1, max_size=3)))
        elif info.arity is None:
            choices.append(st.lists(exprs(info.operands[0], depth - 1), min_size=2, max_size=3)
                           .map(functools.partial(lambda n, xs: op(n, *xs), name)))
        else:
            choices.append(st.tuples(*(exprs(k, depth - 1) for k in info.operands))
                           .map(functools.partial(lambda n, xs: op(n, *xs), name)))
    return st.one_of(choices)


EXPRS = st.one_of(exprs(Kind.INT, 3), exprs(Kind.BOOL, 3))
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def reference(e: Expr, state: tuple[int, ...]) -> int | str:
    """The value, or the failure message."""
    try:
        return evaluate(e, state)
    except EvalError as err:
        return describe_failure(err.node, err.value)


def python_function(lines: list[str], namespace: dict[str, Any]) -> Callable[..., Any]:
    exec("\n".join(lines), namespace)
    return namespace["f"]  # type: ignore[no-any-return]


def run_generated(f: Callable[..., Any], failures: list[Failure], *args: Any) -> int | str:
    try:
        return int(f(*args))
    except Undefined as u:
        return failures[u.site].text(u.value)


@SETTINGS
@given(EXPRS)
def test_tuple_code_means_what_the_reference_says(e: Expr) -> None:
    failures: list[Failure] = []
    src = TupleCompiler(RANGES, failures, {})(e)
    f = python_function(["def f(s0, s1, s2, s3):", f"    return {src}"], dict(HELPERS))
    for state in STATES:
        assert run_generated(f, failures, *state) == reference(e, state), (e, state)


@SETTINGS
@given(EXPRS)
def test_packed_code_means_what_the_reference_says(e: Expr) -> None:
    failures: list[Failure] = []
    pc = PackedCompiler(LAYOUT, RANGES, failures, {})
    src = pc(e)
    lines = ["def f(s):"]
    for slot in sorted(pc.reads(e, set())):
        fld = LAYOUT.fields[slot]
        lines.append(f"    f{slot} = ((s >> {fld.offset}) & {fld.mask}) + {fld.lo}")
    f = python_function([*lines, f"    return {src}"], dict(HELPERS))
    for state in STATES:
        assert run_generated(f, failures, LAYOUT.pack(state)) == reference(e, state), (e, state)


@SETTINGS
@given(EXPRS)
def test_numpy_code_means_what_the_reference_says(e: Expr) -> None:
    if not vectorisable(e, RANGES):
        return   # the vector engine takes the exact step for these
    em = Emitter()
    consts: dict[tuple[int, ...], str] = {}
    vc = VecCompiler(LAYOUT, em, consts)
    em.line("def f(w0):")
    with em.indent():
        src = vc(e)
        em.line(f"return {src}")
    ns: dict[str, Any] = {"_np": np, "_i64": np.int64, "_u64": np.uint64}
    ns.update({f"_U{b}": np.uint64(b) for b in range(64)})
    ns.update({f"_U{(1 << b) - 1}": np.uint64((1 << b) - 1) for b in range(64)})
    ns.update({name: np.array(values, dtype=np.uint64) for values, name in consts.items()})
    f = python_function(em.lines, ns)
    words = np.array([LAYOUT.pack(state) for state in STATES], dtype=np.uint64)
    got = np.broadcast_to(np.asarray(f(words)).astype(np.int64), (len(STATES),))
    assert got.tolist() == [evaluate(e, state) for state in STATES], e


@SETTINGS
@given(EXPRS, st.sampled_from(["bv", "int"]), st.lists(st.sampled_from(STATES), min_size=1,
                                                       max_size=8))
def test_z3_encoding_means_what_the_reference_says(e: Expr, arith: str,
                                                   states: list[tuple[int, ...]]) -> None:
    enc = z3enc.Encoder(MODEL, arith, [e])
    sym = enc.state("s")
    value, truth, defined = enc.value(e, sym), enc.term(enc.truth(e, sym)), \
        enc.term(enc.defined(e, sym))
    for state in states:
        m = z3.Model(ctx=enc.ctx)
        for v, x in zip(sym.vars, state):
            m.update_value(v, enc.num(x))
        want = reference(e, state)
        assert z3.is_true(m.eval(defined, model_completion=True)) == isinstance(want, int)
        if isinstance(want, int):
            assert enc.number(m.eval(value, model_completion=True)) == want, (e, state)
            assert z3.is_true(m.eval(truth, model_completion=True)) == bool(want), (e, state)


@SETTINGS
@given(EXPRS)
def test_intervals_bound_every_defined_value(e: Expr) -> None:
    lo, hi = interval(e, RANGES)
    for state in STATES:
        v = reference(e, state)
        assert not isinstance(v, int) or lo <= v <= hi, (e, state)


BACKENDS = [Evaluator, TupleCompiler, PackedCompiler, VecCompiler, z3enc._Value,
            z3enc._Truth, z3enc._Defined]


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.__qualname__)
def test_every_backend_handles_every_operator(backend: type) -> None:
    assert missing_handlers(backend) == []
    assert set(backend._dispatch) == set(OPS)


def test_a_backend_missing_an_operator_fails_when_defined() -> None:
    with pytest.raises(MissingHandler, match="on_mul"):
        class Incomplete(TupleCompiler):
            on_mul = None   # type: ignore[assignment]
    with pytest.raises(MissingHandler, match="on_Const, on_Ref, on_neg"):
        class Empty(ExprVisitor[int]):
            pass


def _operands_of_and_or(e: Expr) -> list[Expr]:
    if not isinstance(e, Op):
        return []
    own = list(e.args) if e.op in ("and", "or", "not") else []
    return own + [x for a in e.args for x in _operands_of_and_or(a)]


@pytest.mark.parametrize("path", sorted(MODELS.rglob("*.spec")), ids=lambda p: p.name)
def test_shipped_models_give_and_or_boolean_operands(path: Any) -> None:
    """The table's operand kinds hold for what the language builds (so Python's `and`/`or`
    in the generated code give 0/1 as the reference does)."""
    model = load_model(path)
    ranges = [(s.lo, s.hi) for s in model.slots]
    exprs_: list[Expr] = [p.expr for p in model.properties if p.expr is not None]
    for a in model.actions:
        exprs_ += [a.guard, *(e for _, e in a.updates), *(c.cond for c in a.checks)]
    for e in exprs_:
        for operand in _operands_of_and_or(e):
            lo, hi = interval(operand, ranges)
            assert 0 <= lo and hi <= 1, (path.name, operand)
