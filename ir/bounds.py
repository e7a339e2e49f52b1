"""Interval analysis of IR expressions: what values an expression can take over the slot ranges.

Used to drop checks that can never fail and to skip bounds tests in generated code.
"""
from __future__ import annotations

from smp_explorer.ir.expr import Const, Expr, Op, Ref

Interval = tuple[int, int] | None


def interval(e: Expr, ranges: list[tuple[int, int]]) -> Interval:
    if isinstance(e, Const):
        return (e.value, e.value)
    if isinstance(e, Ref):
        return ranges[e.slot]
    o, args = e.op, e.args
    if o in ("eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not", "bit"):
        return (0, 1)
    if o == "ite":
        a, b = interval(args[1], ranges), interval(args[2], ranges)
        return None if a is None or b is None else (min(a[0], b[0]), max(a[1], b[1]))
    if o == "select":
        parts = [interval(x, ranges) for x in args[1:]]
        if any(p is None for p in parts):
            return None
        return (min(p[0] for p in parts), max(p[1] for p in parts))  # type: ignore[index]
    if o in ("add", "sub", "mul", "neg"):
        xs = [interval(x, ranges) for x in args]
        if any(x is None for x in xs):
            return None
        if o == "neg":
            return (-xs[0][1], -xs[0][0])  # type: ignore[index]
        (a, b), (c, d) = xs  # type: ignore[misc]
        if o == "add":
            return (a + c, b + d)
        if o == "sub":
            return (a - d, b - c)
        products = (a * c, a * d, b * c, b * d)
        return (min(products), max(products))
    if o == "popcount":
        return (0, 64)
    return None


def decide(e: Expr, ranges: list[tuple[int, int]]) -> bool | None:
    """True/False when a boolean expression's value follows from the ranges alone."""
    if isinstance(e, Const):
        return bool(e.value)
    if not isinstance(e, Op):
        return None
    if e.op == "and":
        vals = [decide(a, ranges) for a in e.args]
        if any(v is False for v in vals):
            return False
        return True if all(v is True for v in vals) else None
    if e.op == "or":
        vals = [decide(a, ranges) for a in e.args]
        if any(v is True for v in vals):
            return True
        return False if all(v is False for v in vals) else None
    if e.op == "not":
        v = decide(e.args[0], ranges)
        return None if v is None else not v
    if e.op in ("lt", "le", "gt", "ge", "eq", "ne"):
        a, b = interval(e.args[0], ranges), interval(e.args[1], ranges)
        if a is None or b is None:
            return None
        (alo, ahi), (blo, bhi) = a, b
        if e.op == "lt":
            return True if ahi < blo else False if alo >= bhi else None
        if e.op == "le":
            return True if ahi <= blo else False if alo > bhi else None
        if e.op == "gt":
            return True if alo > bhi else False if ahi <= blo else None
        if e.op == "ge":
            return True if alo >= bhi else False if ahi < blo else None
        if e.op == "eq":
            return False if ahi < blo or bhi < alo else (True if alo == ahi == blo == bhi else None)
        return True if ahi < blo or bhi < alo else (False if alo == ahi == blo == bhi else None)
    return None
