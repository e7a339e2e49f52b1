"""IR expressions compiled to Python over a packed state (the scalar engine's generated code).

A slot read is a local decoded from the packed int once per scope; an array read through a
dynamic index shifts the packed state by a table of field offsets instead of decoding every
element. Everything else is the tuple compiler's (`runs.compiled.TupleCompiler`).
"""
from __future__ import annotations

from smp_explorer.explorer.store import Field, Layout
from smp_explorer.ir.bounds import Ranges, decide, interval, may_fail
from smp_explorer.ir.expr import Const, Expr, Op, Ref, nodes, op
from smp_explorer.ir.ops import COMPARISONS
from smp_explorer.runs.compiled import Failure, TupleCompiler


def simplify(e: Expr, ranges: Ranges, memo: dict[int, tuple[Expr, Expr]] | None = None) -> Expr:
    """Rewrite `select(i, c, c+1, ..., c+n-1)` (an index conversion) as `i + c` when `i` is
    always in range, and comparisons the ranges decide (that cannot fail) as constants;
    everything else is rebuilt through the folding constructors. Each distinct node is
    rewritten once (pass one `memo` to several calls with the same ranges to share it)."""
    if not isinstance(e, Op):
        return e
    memo = {} if memo is None else memo
    got = memo.get(id(e))
    if got is not None:
        return got[1]
    out = _simplify(e, tuple(simplify(a, ranges, memo) for a in e.args), ranges)
    memo[id(e)] = (e, out)   # (keeps the key's node alive: its id is not reused)
    return out


def _simplify(e: Op, args: tuple[Expr, ...], ranges: Ranges) -> Expr:
    if e.op in COMPARISONS:
        cmp = Op(e.op, args)
        d = decide(cmp, ranges)
        if d is not None and not may_fail(cmp, ranges):
            return Const(int(d))
    if e.op == "select":
        index, options = args[0], args[1:]
        values = [o.value for o in options if isinstance(o, Const)]
        if options and len(values) == len(options) and \
                all(v == values[0] + k for k, v in enumerate(values)):
            lo, hi = interval(index, ranges)
            if lo >= 0 and hi < len(options):
                return op("add", index, Const(values[0]))
    return op(e.op, *args, span=e.span, info=e.info)


def size(e: Expr) -> int:
    """The number of nodes (leaves too) of `e` written out as a tree."""
    sizes: dict[int, int] = {}
    for x in nodes(e):
        sizes[id(x)] = 1 + sum(sizes[id(a)] if isinstance(a, Op) else 1 for a in x.args)
    return sizes.get(id(e), 1)


class PackedCompiler(TupleCompiler):
    """IR expressions over a packed state: a slot read is a local `f<slot>` (state `s`) or
    `g<slot>` (state `t`), decoded once per scope by the engine."""

    def __init__(self, layout: Layout, ranges: Ranges, failures: list[Failure],
                 site_of: dict[int, tuple[Op, int]]):
        super().__init__(ranges, failures, site_of)
        self.layout = layout
        self.prefix = "f"

    def key(self, e: Op) -> tuple[str, int]:
        return (self.prefix, id(e))

    def on_Ref(self, e: Ref) -> str:
        f = self.layout.fields[e.slot]
        if f.width == 0:
            return str(f.lo)
        return f"{self.prefix}{e.slot}"

    def shifted_fields(self, e: Op) -> list[Field] | None:
        """The fields of a `select` among slots of one width and offset: read by a shift."""
        options = e.args[1:]
        if not options or not all(isinstance(o, Ref) for o in options):
            return None
        fields = [self.layout.fields[o.slot] for o in options if isinstance(o, Ref)]
        f0 = fields[0]
        if f0.width > 0 and all(f.width == f0.width and f.lo == f0.lo for f in fields):
            return fields
        return None

    def on_select(self, e: Op) -> str:
        fields = self.shifted_fields(e)
        if fields is None:
            return super().on_select(e)
        f0 = fields[0]
        var = "s" if self.prefix == "f" else "t"
        shifts = "(" + ", ".join(str(f.offset) for f in fields) + ",)"
        index = e.args[0]
        lo, hi = interval(index, self.ranges)
        if lo >= 0 and hi < len(fields):
            sh = f"{shifts}[{self(index)}]"
        else:
            sh = f"_sel({self(index)}, {shifts}, {self.site(e)})"
        base = f" + {f0.lo}" if f0.lo else ""
        return f"((({var} >> {sh}) & {f0.mask}){base})"

    def reads(self, e: Expr, out: set[int]) -> set[int]:
        """The slots `e` reads as locals (array reads through a shift table read none)."""
        seen: set[int] = set()
        stack = [e]
        while stack:
            x = stack.pop()
            if isinstance(x, Ref):
                if self.layout.fields[x.slot].width:
                    out.add(x.slot)
            elif isinstance(x, Op) and id(x) not in seen:
                seen.add(id(x))
                if x.op == "select" and self.shifted_fields(x) is not None:
                    stack.append(x.args[0])
                else:
                    stack.extend(x.args)
        return out
