"""Interval analysis of IR expressions: what values an expression can take over the slot ranges.

The one analysis every backend uses: to drop checks and bounds tests that can never fail
(code generators), to choose what can be computed in int64 columns (NumPy), and to choose the
bit-vector width (Z3). The interval of an expression bounds its value wherever it is defined
(a division by a divisor that may be 0 is bounded by its defined values); `may_fail` says
whether it may be undefined.
"""
from __future__ import annotations

from typing import Callable, Sequence

from smp_explorer.ir.expr import Const, Expr, Op, Ref, contains_partial, nodes
from smp_explorer.ir.ops import BOOLEAN, COMPARISONS, OPS, Failure

Interval = tuple[int, int]
Ranges = Sequence[Interval]


def hull(*ivs: Interval) -> Interval:
    return (min(lo for lo, _ in ivs), max(hi for _, hi in ivs))


def signed_width(lo: int, hi: int) -> int:
    """Bits of a two's complement that holds every value in lo..hi (sign bit included)."""
    need = max((-lo - 1).bit_length() if lo < 0 else 0, hi.bit_length() if hi > 0 else 0)
    return need + 1


def _mul(a: Interval, b: Interval) -> Interval:
    products = (a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1])
    return (min(products), max(products))


def _div(a: Interval, b: Interval) -> Interval:
    m = max(abs(a[0]), abs(a[1]))   # |a // b| <= |a| for b != 0
    return (-m, m)


def _mod(a: Interval, b: Interval) -> Interval:
    c, d = b   # the remainder takes the divisor's sign and is smaller in magnitude
    if c > 0:
        return (0, d - 1)
    if d < 0:
        return (c + 1, 0)
    m = max(abs(c), abs(d), 1)
    return (-(m - 1), m - 1)


def _popcount(a: Interval) -> Interval:
    return (0, max(abs(a[0]), abs(a[1])).bit_length())


def _bitwise(name: str) -> Callable[[Interval, Interval], Interval]:
    def rule(x: Interval, y: Interval) -> Interval:
        (a, b), (c, d) = x, y
        if a >= 0 and c >= 0:
            if name in ("bor", "bxor"):
                return (0, (1 << max(b, d).bit_length()) - 1)
            return (0, min(b, d) if name == "band" else b)
        w = signed_width(min(a, c), max(b, d))
        return (-(1 << (w - 1)), (1 << (w - 1)) - 1)
    return rule


def _shl(x: Interval, y: Interval) -> Interval:
    (a, b), (c, d) = x, y
    if d < 0:
        return (0, 0)   # never defined
    lo_k, hi_k = max(c, 0), d
    corners = (a << lo_k, a << hi_k, b << lo_k, b << hi_k)
    return (min(corners), max(corners))


# the rules of the strict integer operators, from their operands' intervals
RULES: dict[str, Callable[..., Interval]] = {
    "neg": lambda a: (-a[1], -a[0]),
    "add": lambda a, b: (a[0] + b[0], a[1] + b[1]),
    "sub": lambda a, b: (a[0] - b[1], a[1] - b[0]),
    "mul": _mul,
    "div": _div,
    "mod": _mod,
    "popcount": _popcount,
    "bor": _bitwise("bor"),
    "band": _bitwise("band"),
    "bandnot": _bitwise("bandnot"),
    "bxor": _bitwise("bxor"),
    "shl": _shl,
}


def op_interval(e: Op, of: Callable[[Expr], Interval]) -> Interval:
    """The interval of `e`, given how to get its operands' (`of`, which may memoize)."""
    o, args = e.op, e.args
    if o in BOOLEAN:
        return (0, 1)
    if o == "ite":
        return hull(of(args[1]), of(args[2]))
    if o == "select":
        return hull(*(of(x) for x in args[1:]))
    return RULES[o](*(of(x) for x in args))


def interval(e: Expr, ranges: Ranges, memo: dict[int, Interval] | None = None) -> Interval:
    if isinstance(e, Const):
        return (e.value, e.value)
    if isinstance(e, Ref):
        return ranges[e.slot]
    memo = {} if memo is None else memo

    def of(x: Expr) -> Interval:
        if isinstance(x, Const):
            return (x.value, x.value)
        if isinstance(x, Ref):
            return ranges[x.slot]
        return memo[id(x)]
    stack: list[tuple[Op, bool]] = [(e, False)]
    while stack:   # children first, each distinct node once, none already in `memo`
        x, ready = stack.pop()
        if id(x) in memo:
            continue
        if ready:
            memo[id(x)] = op_interval(x, of)
        else:
            stack.append((x, True))
            stack.extend((a, False) for a in x.args if isinstance(a, Op) and id(a) not in memo)
    return memo[id(e)]


def may_fail(e: Expr, ranges: Ranges) -> bool:
    """Whether evaluating `e` can fail (a partial operator outside its domain)."""
    if not isinstance(e, Op) or not contains_partial(e):
        return False
    memo: dict[int, Interval] = {}
    return any(node_may_fail(x, ranges, memo) for x in nodes(e))


def node_may_fail(x: Op, ranges: Ranges, memo: dict[int, Interval]) -> bool:
    """Whether the operator of `x` itself can fail on the values its operands may take (its
    operands' own failures aside); `memo` as `interval`'s."""
    failure = OPS[x.op].failure
    if failure is Failure.DIVISION_BY_ZERO:
        lo, hi = interval(x.args[1], ranges, memo)
        return lo <= 0 <= hi
    if failure is Failure.NEGATIVE_SHIFT:
        return interval(x.args[1], ranges, memo)[0] < 0
    if failure is Failure.INDEX:
        lo, hi = interval(x.args[0], ranges, memo)
        return lo < 0 or hi >= len(x.args) - 1
    return False


def decide(e: Expr, ranges: Ranges) -> bool | None:
    """True/False when a boolean expression's value follows from the ranges alone, wherever
    it is defined (whether it may fail is `may_fail`'s question)."""
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
    if e.op in COMPARISONS:
        (alo, ahi), (blo, bhi) = interval(e.args[0], ranges), interval(e.args[1], ranges)
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
