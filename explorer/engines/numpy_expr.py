"""IR expressions compiled to NumPy over the int64 field columns of a batch of packed states
(the vector engine's generated code), and which expressions can be compiled so.
"""
from __future__ import annotations

from typing import Iterable

from smp_explorer.explorer.store import Layout
from smp_explorer.ir.bounds import Interval, Ranges, interval, may_fail, node_may_fail
from smp_explorer.ir.compile import ExprVisitor
from smp_explorer.ir.expr import Const, Expr, Op, Ref, nodes, slots_read
from smp_explorer.ir.ops import BOOLEAN
from smp_explorer.runs.compiled import BINARY
from smp_explorer.ir.share import worth_naming
from smp_explorer.runs.pysource import Emitter

LIMIT = 1 << 62   # every intermediate value stays within +-LIMIT: no int64 overflow

# NumPy's operators on int64 columns mean Python's here (floor division, the divisor's sign
# for %, two's complement): operands are in range and nothing can fail (`vectorisable`)
_INFIX = {**BINARY, "div": "//", "mod": "%", "shl": "<<"}


def vectorisable(e: Expr, ranges: Ranges, memo: VecMemo | None = None) -> bool:
    """Every subexpression has a value range within int64, shifts are by 0..62, and nothing
    can fail. With a `memo` (one per `ranges`), each distinct node of all the expressions it
    was given is judged once."""
    if memo is None:
        if may_fail(e, ranges):
            return False
        intervals: dict[int, Interval] = {}
        return all(_node_ok(x, ranges, intervals) for x in nodes(e))   # each distinct node once
    if not isinstance(e, Op):
        return True
    judged = memo.judged
    got = judged.get(id(e))
    if got is not None:
        return got[1]
    stack: list[tuple[Op, bool]] = [(e, False)]
    while stack:   # children first, each node not judged yet once
        x, ready = stack.pop()
        if id(x) in judged:
            continue
        if ready:
            ok = all(judged[id(a)][1] for a in x.args if isinstance(a, Op)) and \
                not node_may_fail(x, ranges, memo.intervals) and _node_ok(x, ranges, memo.intervals)
            judged[id(x)] = (x, ok)   # (keeps the node alive: its id is not reused)
        else:
            stack.append((x, True))
            stack.extend((a, False) for a in x.args if isinstance(a, Op) and id(a) not in judged)
    return judged[id(e)][1]


class VecMemo:
    """What `vectorisable` found about the nodes it judged under one `ranges` (keyed by node
    id, the nodes kept alive with their verdicts, so the intervals' ids stay theirs)."""

    def __init__(self) -> None:
        self.judged: dict[int, tuple[Op, bool]] = {}
        self.intervals: dict[int, Interval] = {}


def _node_ok(x: Op, ranges: Ranges, intervals: dict[int, Interval]) -> bool:
    """`x`'s own value range within int64, and a shift by 0..62 (its operands aside)."""
    if x.op in ("bit", "shl"):
        lo, hi = interval(x.args[1], ranges, intervals)
        if lo < 0 or hi > 62:
            return False
    if x.op not in BOOLEAN:
        lo, hi = interval(x, ranges, intervals)
        if lo <= -LIMIT or hi >= LIMIT:
            return False
    return True


class VecCompiler(ExprVisitor[str]):
    """IR expression -> NumPy source over int64 field columns `f<slot>` (decoded on demand
    from word columns `w<k>`) of the rows of one batch. Booleans are bool columns."""

    def __init__(self, layout: Layout, em: Emitter, consts: dict[tuple[int, ...], str]):
        self.layout = layout
        self.em = em
        self.consts = consts
        self.decoded: set[int] = set()
        self.temps: dict[int, tuple[Op, str]] = {}

    def reset(self) -> None:
        self.decoded = set()
        self.temps = {}

    def __call__(self, e: Expr) -> str:
        """Every operator node over another is computed once into a temporary (the columns
        are computed whole anyway: nothing here is lazy), so the code grows with the DAG."""
        if type(e) is not Op or not worth_naming(e):
            return super().__call__(e)
        got = self.temps.get(id(e))
        if got is None:
            src = super().__call__(e)
            got = (e, f"t{len(self.temps)}")
            self.em.line(f"{got[1]} = {src}")
            self.temps[id(e)] = got   # (keeps the node: its id is not reused)
        return got[1]

    def const_array(self, values: Iterable[int]) -> str:
        key = tuple(values)
        if key not in self.consts:
            self.consts[key] = f"_k{len(self.consts)}"
        return self.consts[key]

    def field(self, slot: int) -> str:
        f = self.layout.fields[slot]
        if f.width == 0:
            return str(f.lo)
        if slot not in self.decoded:
            src = f"w{f.word}" if not f.shift else f"(w{f.word} >> _U{f.shift})"
            src = f"({src} & _U{f.mask}).view(_i64)"
            if f.lo:
                src += f" + {f.lo}"
            self.em.line(f"f{slot} = {src}")
            self.decoded.add(slot)
        return f"f{slot}"

    def boolean(self, e: Expr) -> str:
        s = self(e)
        if isinstance(e, Op) and e.op in BOOLEAN:
            return s
        return f"({s} != 0)"

    def on_Const(self, e: Const) -> str:
        return str(e.value)

    def on_Ref(self, e: Ref) -> str:
        return self.field(e.slot)

    def on_and(self, e: Op) -> str:
        return "(" + " & ".join(self.boolean(x) for x in e.args) + ")"

    def on_or(self, e: Op) -> str:
        return "(" + " | ".join(self.boolean(x) for x in e.args) + ")"

    def on_not(self, e: Op) -> str:
        return f"(~{self.boolean(e.args[0])})"

    def on_neg(self, e: Op) -> str:
        return f"(-{self(e.args[0])})"

    def _infix(self, e: Op) -> str:
        return f"({self(e.args[0])} {_INFIX[e.op]} {self(e.args[1])})"

    on_eq = on_ne = on_lt = on_le = on_gt = on_ge = _infix
    on_add = on_sub = on_mul = on_band = on_bor = on_bxor = on_div = on_mod = on_shl = _infix

    def on_bandnot(self, e: Op) -> str:
        return f"({self(e.args[0])} & ~{self(e.args[1])})"

    def on_ite(self, e: Op) -> str:
        c, a, b = e.args
        # x + k if c else x (a counter stepped where c holds: the stale views of weak memory
        # age so): x + k * c, one operation instead of a sum and a choice
        k = _step(a, b) if self._column(c) else None
        if k is not None:
            return _plus(self(b), self.boolean(c), k)
        k = _step(b, a) if self._column(c) else None
        if k is not None:
            return _plus(self(a), f"(~{self.boolean(c)})", k)
        return f"_np.where({self.boolean(c)}, {self(a)}, {self(b)})"

    def _column(self, e: Expr) -> bool:
        """Whether the code of `e` is a column (it reads a slot of more than one value), not
        a Python scalar."""
        return any(self.layout.fields[slot].width for slot in slots_read(e))

    def on_bit(self, e: Op) -> str:
        return f"((({self(e.args[0])} >> {self(e.args[1])}) & 1) != 0)"

    def on_popcount(self, e: Op) -> str:
        return f"_np.bitwise_count({self(e.args[0])}).astype(_i64)"

    def on_select(self, e: Op) -> str:
        index, options = e.args[0], e.args[1:]
        fields = [self.layout.fields[x.slot] for x in options if isinstance(x, Ref)]
        if len(fields) == len(options) and fields and fields[0].width and \
                all(f.word == fields[0].word and f.width == fields[0].width and
                    f.lo == fields[0].lo for f in fields):
            f0 = fields[0]
            sh = self.const_array([f.shift for f in fields])
            src = f"((w{f0.word} >> {sh}[{self(index)}]) & _U{f0.mask}).view(_i64)"
            return src + (f" + {f0.lo}" if f0.lo else "")
        idx = self(index)
        chain = self(options[-1])
        for k in range(len(options) - 2, -1, -1):
            chain = f"_np.where({idx} == {k}, {self(options[k])}, {chain})"
        return chain


def _step(a: Expr, b: Expr) -> int | None:
    """k when `a` is `b + k` or `b - (-k)` for a constant k, else None."""
    if not isinstance(a, Op) or len(a.args) != 2:
        return None
    x, y = a.args
    if a.op == "add" and x == b and isinstance(y, Const):
        return y.value
    if a.op == "add" and y == b and isinstance(x, Const):
        return x.value
    if a.op == "sub" and x == b and isinstance(y, Const):
        return -y.value
    return None


def _plus(x: str, cond: str, k: int) -> str:
    """x + k where the bool column `cond` holds (NumPy counts True as 1)."""
    if k == 1:
        return f"({x} + {cond})"
    if k == -1:
        return f"({x} - {cond})"
    return f"({x} + {cond} * {k})"
