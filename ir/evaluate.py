"""The reference meaning of IR expressions: a tree walk over Python ints.

Every backend (generated tuple, packed and NumPy code, the Z3 encoding) must agree with this
one, and the tests compare them against it. Engines compile; this is for tests and one-off
evaluation (checking a property on the last state of a Z3 trace).
"""
from __future__ import annotations

from typing import Sequence

from smp_explorer.ir.compile import ExprVisitor
from smp_explorer.ir.expr import Const, Expr, Op, Ref
from smp_explorer.ir.ops import OPS, fails


class EvalError(Exception):
    """A partial operator failed: division by zero, index out of bounds, element out of range."""

    def __init__(self, node: Op, value: int):
        super().__init__(node, value)
        self.node = node
        self.value = value


class Evaluator(ExprVisitor[int]):
    """The value of an expression in one state (a sequence of slot values)."""

    def __init__(self, state: Sequence[int]):
        self.state = state
        self.memo: dict[int, tuple[Op, int]] = {}   # a node shared in the DAG: evaluated once

    def __call__(self, e: Expr) -> int:
        if type(e) is not Op:
            return super().__call__(e)
        got = self.memo.get(id(e))
        if got is None:
            got = self.memo[id(e)] = (e, super().__call__(e))   # (keeps the node: its id stays)
        return got[1]

    def on_Const(self, e: Const) -> int:
        return e.value

    def on_Ref(self, e: Ref) -> int:
        return self.state[e.slot]

    def _strict(self, e: Op) -> int:
        values = tuple(self(a) for a in e.args)
        info = OPS[e.op]
        if info.failure is not None and fails(e.op, values):
            raise EvalError(e, values[info.failure.reported])
        assert info.fold is not None
        return info.fold(*values)

    on_neg = on_not = on_popcount = _strict
    on_add = on_sub = on_mul = on_div = on_mod = _strict
    on_eq = on_ne = on_lt = on_le = on_gt = on_ge = _strict
    on_bit = on_bor = on_band = on_bandnot = on_bxor = on_shl = _strict

    def on_and(self, e: Op) -> int:
        return int(all(self(a) for a in e.args))   # stops at the first false operand

    def on_or(self, e: Op) -> int:
        return int(any(self(a) for a in e.args))

    def on_ite(self, e: Op) -> int:
        return self(e.args[1] if self(e.args[0]) else e.args[2])

    def on_select(self, e: Op) -> int:
        i = self(e.args[0])
        if not 0 <= i < len(e.args) - 1:
            raise EvalError(e, i)
        return self(e.args[1 + i])


def evaluate(e: Expr, state: Sequence[int]) -> int:
    """The value of `e` in `state`; raises EvalError where a partial operator fails."""
    return Evaluator(state)(e)
