"""Z3 terms through Z3's C API (z3core): the very terms z3's Python operators build, without
their cost.

`z3.And(a, b)`, `a == b`, `p >= 1`, ... coerce and sort-check every argument through several
layers of Python before the one C call that makes the term; the axiomatic engine builds tens
of thousands of terms per test, all of known Boolean or integer sorts, and those layers were
most of its lowering time. Each function here makes the C call z3's own operator makes, with
the same arguments in the same order (`z3.Or(xs + [False])` keeps its False, `a != b` is
Z3_mk_distinct over two, `p >= 1` makes the numeral first), so the terms, the order they are
made in, and hence what Z3 answers, are what the Python operators gave.

Arguments are z3 expressions of the right sorts (no Python bools or ints: `num` and `true`
make those); a sort error is Z3's, raised as z3.Z3Exception by z3core.
"""
from __future__ import annotations

from typing import Any, Sequence

import z3
from z3 import z3core


def _raw(fn: Any) -> Any:
    """The C function behind a z3core wrapper (kept in its `_elems` default), else the
    wrapper: z3core.Z3_inc_ref also reads back an error code inc_ref never sets."""
    elems = (fn.__defaults__ or (None,))[-1]
    return getattr(elems, "f", fn)


_inc_ref = _raw(z3core.Z3_inc_ref)


def wrap(cls: type, ast: "z3.Ast", ctx: z3.Context) -> Any:
    """cls(ast, ctx) (a z3 AstRef subclass holding a reference to `ast`), without the checks
    of AstRef.__init__: `ast` is a fresh, valid term of `ctx`."""
    r: Any = object.__new__(cls)
    r.ast = ast
    r.ctx = ctx
    _inc_ref(ctx.ref(), ast)
    return r


def _array(xs: Sequence[z3.ExprRef]) -> "z3.Ast":
    arr = (z3.Ast * len(xs))()
    for i, x in enumerate(xs):
        arr[i] = x.as_ast()
    return arr


def and_(ctx: z3.Context, *xs: z3.BoolRef) -> z3.BoolRef:
    """z3.And(*xs)."""
    return wrap(z3.BoolRef, z3core.Z3_mk_and(ctx.ref(), len(xs), _array(xs)), ctx)


def or_(ctx: z3.Context, xs: Sequence[z3.BoolRef]) -> z3.BoolRef:
    """z3.Or(xs)."""
    return wrap(z3.BoolRef, z3core.Z3_mk_or(ctx.ref(), len(xs), _array(xs)), ctx)


def not_(ctx: z3.Context, a: z3.BoolRef) -> z3.BoolRef:
    """z3.Not(a)."""
    return wrap(z3.BoolRef, z3core.Z3_mk_not(ctx.ref(), a.as_ast()), ctx)


def implies(ctx: z3.Context, a: z3.BoolRef, b: z3.BoolRef) -> z3.BoolRef:
    """z3.Implies(a, b)."""
    return wrap(z3.BoolRef, z3core.Z3_mk_implies(ctx.ref(), a.as_ast(), b.as_ast()), ctx)


def eq(ctx: z3.Context, a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
    """a == b (both of one sort)."""
    return wrap(z3.BoolRef, z3core.Z3_mk_eq(ctx.ref(), a.as_ast(), b.as_ast()), ctx)


def distinct(ctx: z3.Context, a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
    """a != b (both of one sort)."""
    return wrap(z3.BoolRef, z3core.Z3_mk_distinct(ctx.ref(), 2, _array((a, b))), ctx)


def lt(ctx: z3.Context, a: z3.ArithRef, b: z3.ArithRef) -> z3.BoolRef:
    """a < b (integers)."""
    return wrap(z3.BoolRef, z3core.Z3_mk_lt(ctx.ref(), a.as_ast(), b.as_ast()), ctx)


def gt(ctx: z3.Context, a: z3.ArithRef, b: z3.ArithRef) -> z3.BoolRef:
    """a > b (integers)."""
    return wrap(z3.BoolRef, z3core.Z3_mk_gt(ctx.ref(), a.as_ast(), b.as_ast()), ctx)


def ge(ctx: z3.Context, a: z3.ArithRef, b: z3.ArithRef) -> z3.BoolRef:
    """a >= b (integers)."""
    return wrap(z3.BoolRef, z3core.Z3_mk_ge(ctx.ref(), a.as_ast(), b.as_ast()), ctx)


def le(ctx: z3.Context, a: z3.ArithRef, b: z3.ArithRef) -> z3.BoolRef:
    """a <= b (integers)."""
    return wrap(z3.BoolRef, z3core.Z3_mk_le(ctx.ref(), a.as_ast(), b.as_ast()), ctx)


def at_most_one(ctx: z3.Context, xs: Sequence[z3.BoolRef]) -> z3.BoolRef:
    """z3.AtMost(*xs, 1)."""
    return wrap(z3.BoolRef, z3core.Z3_mk_atmost(ctx.ref(), len(xs), _array(xs), 1), ctx)


def true(ctx: z3.Context) -> z3.BoolRef:
    """z3.BoolVal(True, ctx)."""
    return wrap(z3.BoolRef, z3core.Z3_mk_true(ctx.ref()), ctx)


def false(ctx: z3.Context) -> z3.BoolRef:
    """z3.BoolVal(False, ctx)."""
    return wrap(z3.BoolRef, z3core.Z3_mk_false(ctx.ref()), ctx)


def boolean(ctx: z3.Context, b: bool) -> z3.BoolRef:
    """z3.BoolVal(b, ctx)."""
    return true(ctx) if b else false(ctx)


def int_const(ctx: z3.Context, name: str) -> z3.ArithRef:
    """z3.Int(name, ctx)."""
    sort = z3core.Z3_mk_int_sort(ctx.ref())
    symbol = z3core.Z3_mk_string_symbol(ctx.ref(), name)
    return wrap(z3.ArithRef, z3core.Z3_mk_const(ctx.ref(), symbol, sort), ctx)


def bool_const(ctx: z3.Context, name: str) -> z3.BoolRef:
    """z3.Bool(name, ctx)."""
    sort = z3core.Z3_mk_bool_sort(ctx.ref())
    symbol = z3core.Z3_mk_string_symbol(ctx.ref(), name)
    return wrap(z3.BoolRef, z3core.Z3_mk_const(ctx.ref(), symbol, sort), ctx)


def int_num(ctx: z3.Context, v: int) -> z3.IntNumRef:
    """z3.IntVal(v, ctx)."""
    sort = z3core.Z3_mk_int_sort(ctx.ref())
    return wrap(z3.IntNumRef, z3core.Z3_mk_numeral(ctx.ref(), str(v), sort), ctx)
