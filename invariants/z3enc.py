"""The Z3 encoding of a Model: one encoder shared by every symbolic feature.

It translates the same IR expressions, guards, checks and updates that `runs.compiled`
compiles to Python, with the same meaning, into Z3 terms over one constant per slot and state
("keys" name the states of an unrolling, as mypyvy's translator does).

Values are bit-vectors or integers, as fits. Every slot is bounded by its type, so an interval
analysis bounds every subexpression; when the widest needs at most `MAX_BV_WIDTH` bits, values
are two's complement bit-vectors of one width wide enough that no operation can wrap around
(the usual case: Z3 then bit-blasts to SAT, which is fast on these small domains), else Z3
Ints. Either way the meaning is Python's: floor division and modulo are encoded explicitly
(bit-vector division truncates; Int div/mod are Euclidean), and bitwise operators follow
Python's infinite two's complement (with Ints, bit by bit over a width from the intervals).

Each expression has three encodings over a state, each an `ir.compile.ExprVisitor`: its integer
value (`value`), its truth as a condition (`truth`), and whether evaluating it succeeds
(`defined`); intervals come from `ir.bounds`. `defined` follows the evaluation order of
`ir.ops` exactly: `and`/`or` short-circuit, `ite` and `select` evaluate only the chosen branch, and `div`/`mod` by zero, a negative shift or an index out of bounds fail.
`defined` returns the Python value True for expressions that cannot fail, so total expressions
add nothing to the formulas.

`ActionTerms` gives an action's meaning in one state the way the generated successor function
computes it: the guard (its conjunct on the program counter first, as the dispatch tests it),
then the checks in order (a failing one ends the step), then the simultaneous updates; any
undefined operation on the way is a `no_runtime_error` failure of the step.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, TypeVar, Union, cast

import z3

from smp_explorer.ir.bounds import Interval, op_interval, signed_width
from smp_explorer.ir.compile import ExprVisitor
from smp_explorer.ir.properties import RUNTIME_NAME, Kind, Property
from smp_explorer.ir.expr import Const, Expr, Op, Ref, conjuncts, slots_read
from smp_explorer.ir.model import Action, Model
from smp_explorer.ir.types import SetT

Bool = Union[z3.BoolRef, bool]   # True: trivially so (a total expression)

MAX_SHIFT_CASES = 4096
MAX_BV_WIDTH = 64


T = TypeVar("T")


class EncodingError(Exception):
    """An expression the encoder cannot translate (an operator it does not know)."""


def conj(*parts: Bool) -> Bool:
    """And, dropping the parts that are trivially true; False if one is trivially false."""
    return _junction(parts, absorbing=False, join=z3.And)


def disj(*parts: Bool) -> Bool:
    """Or, dropping the parts that are trivially false; True if one is trivially true."""
    return _junction(parts, absorbing=True, join=z3.Or)


def _junction(parts: Iterable[Bool], absorbing: bool,
              join: Callable[..., z3.BoolRef]) -> Bool:
    out = []
    for p in parts:
        if p is absorbing:
            return absorbing
        if p is not (not absorbing):
            out.append(p)
    if not out:
        return not absorbing
    return out[0] if len(out) == 1 else join(*out)


def negate(p: Bool) -> Bool:
    if p is True:
        return False
    if p is False:
        return True
    return z3.Not(p)


def implies(a: Bool, b: Bool) -> Bool:
    return disj(negate(a), b)


class SymState:
    """One state of an unrolling: a Z3 term per slot (fresh constants, or terms over an
    earlier state), with the encodings made over it."""

    def __init__(self, enc: "Encoder", key: str, terms: list[z3.ArithRef] | None = None):
        self.key = key
        self.vars = terms if terms is not None else \
            [enc.var(f"{s.name}@{key}") for s in enc.model.slots]
        self.memo: dict[tuple[int, str], object] = {}

    def __getitem__(self, slot: int) -> z3.ArithRef:
        return self.vars[slot]


@dataclass
class ActionTerms:
    """What one action does from one state (see the module docstring)."""

    action: Action
    guard_defined: Bool
    enabled: Bool                        # the guard holds (and could be evaluated)
    fires: Bool                          # the step completes: a successor exists
    next: dict[int, z3.ArithRef]         # slot -> its new value when the step completes
    failures: dict[str, Bool] = field(default_factory=dict)  # property -> the step fails it


class Encoder:
    """IR -> Z3 over the slots of one model."""

    def __init__(self, model: Model, arith: str = "auto", extra: Iterable[Expr] = ()):
        """`arith`: "bv" or "int" to force a representation, "auto" to choose; `extra`:
        expressions to encode besides the model's own (they count for the width)."""
        self.model = model
        # Z3's answers depend on everything its context has seen: each encoder has its own, so
        # the same question gets the same model (counterexample, CTI) in any process
        self.ctx = z3.Context()
        self.ranges: list[Interval] = [(s.lo, s.hi) for s in model.slots]
        self._iv: dict[int, Interval] = {}
        self._keep: list[Expr] = []  # memo keys are ids: keep the nodes alive
        self.pc_slots = {p.pc_slot for p in model.processes}
        self._states: dict[str, SymState] = {}
        self._actions: dict[tuple[int, str], ActionTerms] = {}
        self._independent: dict[int, list[int]] | None = None
        need = self.width_needed(extra)
        if arith not in ("auto", "bv", "int"):
            raise ValueError(f"arith must be auto, bv or int, not {arith!r}")
        self.width: int | None = None if arith == "int" or \
            (arith == "auto" and need > MAX_BV_WIDTH) else need
        self.selector_width = max(len(model.actions), 1).bit_length() + 1
        # the IR of "no element outside the element type" per set slot (as lower.py checks)
        self._set_ok: dict[int, Expr] = {
            s.index: Op("eq", (Op("bandnot", (Ref(s.index), Const(s.type.mask()))), Const(0)))
            for s in model.slots if isinstance(s.type, SetT) and s.type.elem is not None}

    def width_needed(self, extra: Iterable[Expr] = ()) -> int:
        """Bits that hold every value of every expression of the model, plus one so that
        negating the most negative one cannot wrap."""
        need = max([signed_width(lo, hi) for lo, hi in self.ranges] + [2])
        exprs: list[Expr] = list(extra)
        for a in self.model.actions:
            exprs.append(a.guard)
            exprs.extend(e for _, e in a.updates)
            for c in a.checks:
                exprs.append(c.cond)
                if c.value is not None:
                    exprs.append(c.value)
        exprs.extend(p.expr for p in self.model.properties if p.expr is not None)
        todo = list(exprs)
        seen: set[int] = set()
        while todo:
            e = todo.pop()
            if id(e) in seen:
                continue
            seen.add(id(e))
            need = max(need, signed_width(*self.interval(e)))
            if isinstance(e, Op):
                todo.extend(e.args)
        return need + 1

    # ---- sorts ----------------------------------------------------------------------------
    def num(self, v: int) -> z3.ArithRef:
        return z3.IntVal(v, self.ctx) if self.width is None else \
            z3.BitVecVal(v, self.width, self.ctx)

    def var(self, name: str) -> z3.ArithRef:
        return z3.Int(name, self.ctx) if self.width is None else \
            z3.BitVec(name, self.width, self.ctx)

    def selector(self, name: str) -> z3.ArithRef:
        """The number of the action a step takes (-1: an idle step)."""
        return z3.Int(name, self.ctx) if self.width is None else \
            z3.BitVec(name, self.selector_width, self.ctx)

    def boolean(self, name: str) -> z3.BoolRef:
        return z3.Bool(name, self.ctx)

    def term(self, p: Bool) -> z3.BoolRef:
        """A Z3 term for a possibly trivial condition."""
        return z3.BoolVal(p, self.ctx) if isinstance(p, bool) else p

    def solver(self, logic: str | None = None) -> z3.Solver:
        """A solver in this encoder's context (for `logic`, e.g. "QF_BV", if given)."""
        return z3.SolverFor(logic, ctx=self.ctx) if logic else z3.Solver(ctx=self.ctx)

    def number(self, t: z3.ExprRef) -> int:
        """A numeral of this encoding as a Python int."""
        return t.as_signed_long() if z3.is_bv(t) else t.as_long()

    def _int(self, b: Bool) -> z3.ArithRef:
        if isinstance(b, bool):
            return self.num(int(b))
        return z3.If(b, self.num(1), self.num(0))

    # ---- states ---------------------------------------------------------------------------
    def state(self, key: str) -> SymState:
        """The symbolic state named `key` (the same object for the same key)."""
        st = self._states.get(key)
        if st is None:
            st = self._states[key] = SymState(self, key)
        return st

    def successor(self, st: SymState, key: str, selector: z3.ArithRef,
                  stutter: bool = False) -> tuple[SymState, Bool]:
        """The state after action number `selector` from `st`, as terms over `st`, and the
        condition that this action completes (with `stutter`, selector -1 is an idle step
        that changes nothing)."""
        assert key not in self._states
        actions = [a for a in self.model.actions if self.action(a, st).fires is not False]
        choice: list[Bool] = [selector == a.index for a in actions]
        if stutter:
            choice.append(selector == -1)
        parts: list[Bool] = [disj(*choice)]
        for a in actions:
            parts.append(implies(selector == a.index, self.action(a, st).fires))
        terms = []
        for slot, var in enumerate(st.vars):
            new: z3.ArithRef = var
            for a in reversed(actions):
                t = self.action(a, st)
                if slot in t.next:
                    new = z3.If(selector == a.index, t.next[slot], new)
            terms.append(new)
        nxt = self._states[key] = SymState(self, key, terms)
        return nxt, conj(*parts)

    def independent(self) -> dict[int, list[int]]:
        """For each action, the actions with a smaller number that commute with it: neither
        writes a slot the other reads or writes (guards, checks and updates included). Two
        such steps can be taken in either order from a state where both can, with the same
        outcome, which `Unrolling` uses to consider one order only."""
        if self._independent is None:
            reads, writes = [], []
            for a in self.model.actions:
                r: set[int] = set()
                slots_read(a.guard, r)
                for _, e in a.updates:
                    slots_read(e, r)
                for c in a.checks:
                    slots_read(c.cond, r)
                    if c.value is not None:
                        slots_read(c.value, r)
                w = {slot for slot, _ in a.updates}
                reads.append(r | w)
                writes.append(w)
            self._independent = {
                a.index: [b.index for b in self.model.actions[:a.index]
                          if not writes[a.index] & reads[b.index]
                          and not writes[b.index] & reads[a.index]]
                for a in self.model.actions}
        return self._independent

    def in_types(self, st: SymState) -> Bool:
        """Every slot holds a value of its declared type (a set: no element outside its
        element type, as the range checks of stores require)."""
        parts: list[Bool] = [z3.And(v >= lo, v <= hi) for v, (lo, hi) in zip(st.vars, self.ranges)]
        for s in self.model.slots:
            if isinstance(s.type, SetT) and s.type.elem is not None:
                mask = s.type.mask()
                if mask != s.hi:
                    parts.append(self.truth(self._set_ok[s.index], st))
        return conj(*parts)

    def initial(self, st: SymState) -> Bool:
        """`st` is one of the model's initial states."""
        parts: list[Bool] = []
        for v, values in zip(st.vars, self.model.init_values):
            vals = sorted(set(values))
            if not vals:
                return False
            if len(vals) == 1:
                parts.append(v == vals[0])
            elif vals == list(range(vals[0], vals[-1] + 1)):
                parts.append(z3.And(v >= vals[0], v <= vals[-1]))
            else:
                parts.append(disj(*(v == x for x in vals)))
        return conj(*parts)

    def equals(self, st: SymState, state: Iterable[int]) -> Bool:
        return conj(*(v == x for v, x in zip(st.vars, state)))

    def differ(self, a: SymState, b: SymState) -> Bool:
        return disj(*(x != y for x, y in zip(a.vars, b.vars)))

    # ---- intervals ------------------------------------------------------------------------
    def interval(self, e: Expr) -> Interval:
        """Bounds on the values `e` takes over states within the declared types."""
        if isinstance(e, Const):
            return (e.value, e.value)
        if isinstance(e, Ref):
            return self.ranges[e.slot]
        got = self._iv.get(id(e))
        if got is None:
            got = self._iv[id(e)] = op_interval(e, self.interval)
            self._keep.append(e)
        return got

    # ---- expressions ----------------------------------------------------------------------
    def value(self, e: Expr, st: SymState) -> z3.ArithRef:
        """The integer `e` evaluates to (meaningful where `defined`)."""
        if isinstance(e, Const):
            return self.num(e.value)
        if isinstance(e, Ref):
            return st.vars[e.slot]
        return self._memo(e, st, _Value)

    def truth(self, e: Expr, st: SymState) -> Bool:
        """`e` used as a condition (non-zero)."""
        if isinstance(e, Const):
            return bool(e.value)
        if isinstance(e, Ref):
            return st.vars[e.slot] != 0
        return self._memo(e, st, _Truth)

    def defined(self, e: Expr, st: SymState) -> Bool:
        """Evaluating `e` succeeds (no division by zero, bad index or negative shift)."""
        if not isinstance(e, Op):
            return True
        return self._memo(e, st, _Defined)

    def holds(self, e: Expr, st: SymState) -> Bool:
        """`e` can be evaluated and is true."""
        return conj(self.defined(e, st), self.truth(e, st))

    def _memo(self, e: Expr, st: SymState, encoding: "type[_Encoding[T]]") -> T:
        """`encoding` of `e` in `st`, once per node and state (keyed by identity: the node is
        kept alive so its id is not reused)."""
        key = (id(e), encoding.__name__)
        if key in st.memo:
            return cast(T, st.memo[key])
        got = st.memo[key] = encoding(self, st)(e)
        self._keep.append(e)
        return got

    # ---- operators with Python semantics ----------------------------------------------------
    def _floor_divmod(self, o: str, x: Expr, y: Expr, st: SymState) -> z3.ArithRef:
        a, b = self.value(x, st), self.value(y, st)
        if self.width is None:
            q, r = a / b, a % b   # Euclidean (0 <= r < |b|): floor when b > 0
            if self.interval(y)[0] >= 0:  # (b == 0 is undefined: the value does not matter)
                return q if o == "div" else r
            adjust = z3.And(b < 0, r != 0)
        else:
            q, r = a / b, z3.SRem(a, b)  # truncating: the remainder takes the dividend's sign
            adjust = z3.And(r != 0, (r < 0) != (b < 0))
        return z3.If(adjust, q - 1, q) if o == "div" else z3.If(adjust, r + b, r)

    def _bits(self, x: Expr, st: SymState, width: int) -> list[z3.BoolRef]:
        """The low `width` bits of x's two's complement (with Ints: floor division by 2**k,
        mod 2, which is Python's x >> k & 1)."""
        v = self.value(x, st)
        if self.width is not None:
            return [z3.Extract(k, k, v) == 1 for k in range(min(width, self.width))]
        return [((v / (1 << k)) % 2) == 1 if k else (v % 2) == 1 for k in range(width)]

    def _bitwise(self, o: str, x: Expr, y: Expr, st: SymState) -> z3.ArithRef:
        if self.width is not None:  # no wrap-around: Python's infinite two's complement
            p, q = self.value(x, st), self.value(y, st)
            return _BV_BITWISE[o](p, q)
        (a, b), (c, d) = self.interval(x), self.interval(y)
        signed = a < 0 or c < 0
        width = signed_width(min(a, c), max(b, d)) if signed else \
            max(1, max(b, d).bit_length())
        xs, ys = self._bits(x, st, width), self._bits(y, st, width)
        if o == "bor":
            out = [z3.Or(p, q) for p, q in zip(xs, ys)]
        elif o == "band":
            out = [z3.And(p, q) for p, q in zip(xs, ys)]
        elif o == "bxor":
            out = [z3.Xor(p, q) for p, q in zip(xs, ys)]
        else:
            out = [z3.And(p, z3.Not(q)) for p, q in zip(xs, ys)]
        total: z3.ArithRef = z3.IntVal(0, self.ctx)
        for k, bit in enumerate(out):
            weight = -(1 << k) if signed and k == len(out) - 1 else (1 << k)
            total = total + z3.If(bit, weight, 0)
        return total

    def _popcount(self, x: Expr, st: SymState) -> z3.ArithRef:
        # Python's int.bit_count() counts the bits of abs(x)
        lo, hi = self.interval(x)
        v = self.value(x, st)
        magnitude = v if lo >= 0 else z3.If(v < 0, -v, v)
        width = max(1, max(abs(lo), abs(hi)).bit_length())
        if self.width is not None:
            return sum((z3.ZeroExt(self.width - 1, z3.Extract(k, k, magnitude))
                        for k in range(width)), self.num(0))
        total: z3.ArithRef = z3.IntVal(0, self.ctx)
        for k in range(width):
            total = total + (((magnitude / (1 << k)) % 2) if k else magnitude % 2)
        return total

    def _bit(self, x: Expr, y: Expr, st: SymState) -> z3.ArithRef:
        # (x >> y) & 1 for y >= 0, else 0; x >> k is floor(x / 2**k), for negative x too
        lo, hi = self.interval(x)
        v = self.value(x, st)
        width = signed_width(lo, hi)
        sign = self._int(v < 0) if lo < 0 else self.num(0)

        def bit_k(k: int) -> z3.ArithRef:
            if self.width is not None:
                return z3.ZeroExt(self.width - 1, z3.Extract(k, k, v))
            return (v / (1 << k)) % 2 if k else v % 2
        if isinstance(y, Const):
            k = y.value
            return self.num(0) if k < 0 else (bit_k(k) if k < width else sign)
        i = self.value(y, st)
        c, d = self.interval(y)
        out = sign  # beyond the width: the sign bit
        for k in reversed(range(max(c, 0), min(d, width - 1) + 1)):
            out = z3.If(i == k, bit_k(k), out)
        if c < 0:
            out = z3.If(i < 0, self.num(0), out)
        return out

    def _shl(self, x: Expr, y: Expr, st: SymState) -> z3.ArithRef:
        v = self.value(x, st)
        c, d = self.interval(y)
        if d < 0:
            return self.num(0)  # always undefined
        if isinstance(y, Const):
            return v * (1 << y.value) if self.width is None else v << y.value
        if self.width is not None:
            return v << self.value(y, st)  # y >= 0 where defined; the result fits
        lo = max(c, 0)
        if d - lo > MAX_SHIFT_CASES:
            raise EncodingError(f"shift amount ranges over {d - lo + 1} values")
        i = self.value(y, st)
        out = v * (1 << d)
        for k in reversed(range(lo, d)):
            out = z3.If(i == k, v * (1 << k), out)
        return out

    # ---- actions --------------------------------------------------------------------------
    def guard_order(self, a: Action) -> list[Expr]:
        """The guard's conjuncts in the order the generated code tests them: the program
        counter test it dispatches on first (runs.compiled._dispatch), then the rest."""
        conds = list(conjuncts(a.guard))
        for k, c in enumerate(conds):
            if isinstance(c, Op) and c.op == "eq" and isinstance(c.args[0], Ref) and \
                    c.args[0].slot in self.pc_slots and isinstance(c.args[1], Const):
                return [c] + conds[:k] + conds[k + 1:]
        return conds

    def action(self, a: Action, st: SymState) -> ActionTerms:
        key = (a.index, st.key)
        got = self._actions.get(key)
        if got is None:
            got = self._actions[key] = self._action(a, st)
        return got

    def _action(self, a: Action, st: SymState) -> ActionTerms:
        conds = self.guard_order(a)
        guard_defined: Bool = True
        for c in reversed(conds):
            guard_defined = conj(self.defined(c, st), implies(self.truth(c, st), guard_defined))
        enabled = conj(guard_defined, *(self.truth(c, st) for c in conds))
        failures: dict[str, list[Bool]] = {}

        def fail(prop: str, cond: Bool) -> None:
            if cond is not False:
                failures.setdefault(prop, []).append(cond)
        fail(RUNTIME_NAME, negate(guard_defined))
        reached = enabled  # the generated code got this far
        for check in a.checks:
            evaluable = conj(self.defined(check.value, st) if check.value is not None else True,
                             self.defined(check.cond, st))
            fail(RUNTIME_NAME, conj(reached, negate(evaluable)))
            ok = self.truth(check.cond, st)
            fail(check.property, conj(reached, evaluable, negate(ok)))
            reached = conj(reached, evaluable, ok)
        updates_defined = conj(*(self.defined(e, st) for _, e in a.updates))
        fail(RUNTIME_NAME, conj(reached, negate(updates_defined)))
        fires = conj(reached, updates_defined)
        nxt = {slot: self.value(e, st) for slot, e in a.updates}
        return ActionTerms(a, guard_defined, enabled, fires, nxt,
                           {p: disj(*cs) for p, cs in failures.items()})

    def deadlock(self, st: SymState) -> Bool:
        """No step is enabled (every guard evaluates to false) and, for a model with
        processes, some process has not terminated."""
        idle = conj(*(conj(t.guard_defined, negate(t.enabled))
                      for t in (self.action(a, st) for a in self.model.actions)))
        if not self.model.processes:
            return idle
        running = disj(*(st.vars[p.pc_slot] != p.done for p in self.model.processes))
        return conj(idle, running)

    def step_failure(self, prop: str, st: SymState) -> Bool:
        """Some action fails property `prop` (an assertion or no_runtime_error) from `st`."""
        return disj(*(self.action(a, st).failures.get(prop, False) for a in self.model.actions))

    # ---- properties -----------------------------------------------------------------------
    def good(self, prop: Property, st: SymState, evaluated: list[Property]) -> Bool:
        """`st` is fine for `prop`, taken as a state predicate (for induction): an invariant
        evaluates to true; no step fails an assertion or with a runtime error (nor does
        evaluating the properties `evaluated`); the state is not a deadlock."""
        if prop.kind is Kind.INVARIANT:
            # an invariant that cannot be evaluated is a runtime error (no_runtime_error), not
            # a violation of the invariant (docs/language.md section 13), as the explorer says
            return implies(self.defined(prop.condition, st), self.truth(prop.condition, st))
        if prop.kind is Kind.ASSERTION:
            return negate(self.step_failure(prop.name, st))
        if prop.kind is Kind.RUNTIME:
            return conj(negate(self.step_failure(prop.name, st)),
                        *(self.defined(p.condition, st) for p in evaluated))
        if prop.kind is Kind.DEADLOCK:
            return negate(self.deadlock(st))
        raise EncodingError(f"{prop.name} is a reachability goal, not a safety property")


_BV_BITWISE: dict[str, Callable[[z3.BitVecRef, z3.BitVecRef], z3.BitVecRef]] = {
    "bor": lambda p, q: p | q, "band": lambda p, q: p & q, "bxor": lambda p, q: p ^ q,
    "bandnot": lambda p, q: p & ~q,
}

_COMPARE: dict[str, Callable[[z3.ArithRef, z3.ArithRef], z3.BoolRef]] = {
    "eq": lambda x, y: x == y, "ne": lambda x, y: x != y, "lt": lambda x, y: x < y,
    "le": lambda x, y: x <= y, "gt": lambda x, y: x > y, "ge": lambda x, y: x >= y,
}

class _Encoding(ExprVisitor[T], abstract=True):
    """One of an expression's encodings over one state; operands go through the encoder's
    memoizing `value`/`truth`/`defined`."""

    def __init__(self, enc: Encoder, st: SymState):
        self.enc = enc
        self.st = st

    def value(self, e: Expr) -> z3.ArithRef:
        return self.enc.value(e, self.st)

    def truth(self, e: Expr) -> Bool:
        return self.enc.truth(e, self.st)

    def defined(self, e: Expr) -> Bool:
        return self.enc.defined(e, self.st)


class _Value(_Encoding[z3.ArithRef]):
    """The integer an expression evaluates to (meaningful where it is defined)."""

    def on_Const(self, e: Const) -> z3.ArithRef:
        return self.enc.num(e.value)

    def on_Ref(self, e: Ref) -> z3.ArithRef:
        return self.st.vars[e.slot]

    def _boolean(self, e: Op) -> z3.ArithRef:
        return self.enc._int(self.truth(e))   # 0 or 1

    on_eq = on_ne = on_lt = on_le = on_gt = on_ge = on_not = on_and = on_or = _boolean

    def on_ite(self, e: Op) -> z3.ArithRef:
        c, a, b = e.args
        return z3.If(self.enc.term(self.truth(c)), self.value(a), self.value(b))

    def on_select(self, e: Op) -> z3.ArithRef:
        index, options = self.value(e.args[0]), e.args[1:]
        out = self.value(options[-1])
        for k in reversed(range(len(options) - 1)):
            out = z3.If(index == k, self.value(options[k]), out)
        return out

    def on_neg(self, e: Op) -> z3.ArithRef:
        return -self.value(e.args[0])

    def on_add(self, e: Op) -> z3.ArithRef:
        return self.value(e.args[0]) + self.value(e.args[1])

    def on_sub(self, e: Op) -> z3.ArithRef:
        return self.value(e.args[0]) - self.value(e.args[1])

    def on_mul(self, e: Op) -> z3.ArithRef:
        return self.value(e.args[0]) * self.value(e.args[1])

    def _division(self, e: Op) -> z3.ArithRef:
        return self.enc._floor_divmod(e.op, e.args[0], e.args[1], self.st)

    on_div = on_mod = _division

    def on_popcount(self, e: Op) -> z3.ArithRef:
        return self.enc._popcount(e.args[0], self.st)

    def on_bit(self, e: Op) -> z3.ArithRef:
        return self.enc._bit(e.args[0], e.args[1], self.st)

    def _bitwise(self, e: Op) -> z3.ArithRef:
        return self.enc._bitwise(e.op, e.args[0], e.args[1], self.st)

    on_bor = on_band = on_bandnot = on_bxor = _bitwise

    def on_shl(self, e: Op) -> z3.ArithRef:
        return self.enc._shl(e.args[0], e.args[1], self.st)


class _Truth(_Encoding[Bool]):
    """An expression used as a condition (non-zero)."""

    def on_Const(self, e: Const) -> Bool:
        return bool(e.value)

    def on_Ref(self, e: Ref) -> Bool:
        return self.st.vars[e.slot] != 0

    def _compare(self, e: Op) -> Bool:
        return _COMPARE[e.op](self.value(e.args[0]), self.value(e.args[1]))

    on_eq = on_ne = on_lt = on_le = on_gt = on_ge = _compare

    def on_not(self, e: Op) -> Bool:
        return negate(self.truth(e.args[0]))

    def on_and(self, e: Op) -> Bool:
        return conj(*(self.truth(x) for x in e.args))

    def on_or(self, e: Op) -> Bool:
        return disj(*(self.truth(x) for x in e.args))

    def on_ite(self, e: Op) -> Bool:
        c, x, y = (self.truth(a) for a in e.args)
        if isinstance(c, bool):
            return x if c else y
        return z3.If(c, self.enc.term(x), self.enc.term(y))

    def on_bit(self, e: Op) -> Bool:
        return self.value(e) == 1

    def _nonzero(self, e: Op) -> Bool:
        return self.value(e) != 0

    on_neg = on_popcount = on_add = on_sub = on_mul = on_div = on_mod = _nonzero
    on_bor = on_band = on_bandnot = on_bxor = on_shl = on_select = _nonzero


class _Defined(_Encoding[Bool]):
    """Evaluating an expression succeeds, following the evaluation order of `ir.ops`:
    `and`/`or` short-circuit, `ite` and `select` evaluate only the chosen option."""

    def on_Const(self, e: Const) -> Bool:
        return True

    def on_Ref(self, e: Ref) -> Bool:
        return True

    def _strict(self, e: Op) -> Bool:
        return conj(*(self.defined(x) for x in e.args))

    on_neg = on_not = on_popcount = on_add = on_sub = on_mul = _strict
    on_eq = on_ne = on_lt = on_le = on_gt = on_ge = _strict
    on_bit = on_bor = on_band = on_bandnot = on_bxor = _strict

    def _division(self, e: Op) -> Bool:
        lo, hi = self.enc.interval(e.args[1])
        nonzero: Bool = self.value(e.args[1]) != 0 if lo <= 0 <= hi else True
        return conj(*(self.defined(x) for x in e.args), nonzero)

    on_div = on_mod = _division

    def on_shl(self, e: Op) -> Bool:
        lo, _ = self.enc.interval(e.args[1])
        nonnegative: Bool = self.value(e.args[1]) >= 0 if lo < 0 else True
        return conj(*(self.defined(x) for x in e.args), nonnegative)

    def _short_circuit(self, e: Op) -> Bool:
        # x and y: x is evaluated; y only when x is true (when x is false, for `or`)
        a = e.args
        out: Bool = self.defined(a[-1])
        for x in reversed(a[:-1]):
            t = self.truth(x)
            rest = implies(t, out) if e.op == "and" else disj(t, out)
            out = conj(self.defined(x), rest)
        return out

    on_and = on_or = _short_circuit

    def on_ite(self, e: Op) -> Bool:
        c = self.truth(e.args[0])
        x, y = self.defined(e.args[1]), self.defined(e.args[2])
        if x is True and y is True:
            branch: Bool = True
        elif isinstance(c, bool):
            branch = x if c else y
        else:
            branch = z3.If(c, self.enc.term(x), self.enc.term(y))
        return conj(self.defined(e.args[0]), branch)

    def on_select(self, e: Op) -> Bool:
        index, options = e.args[0], e.args[1:]
        i = self.value(index)
        lo, hi = self.enc.interval(index)
        in_bounds = conj(True if lo >= 0 else i >= 0,
                         True if hi < len(options) else i < len(options))
        chosen = conj(*(implies(i == k, self.defined(x)) for k, x in enumerate(options)
                        if self.defined(x) is not True))
        return conj(self.defined(index), in_bounds, chosen)
