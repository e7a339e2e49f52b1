"""Compile a Model's actions and properties to Python source once, then keep the functions.

As Amaranth's simulator does: the per-state work is generated straight-line code over the slots
of a state tuple, dispatched on program counters, not a tree walk. Partial operators call named
helpers that raise `Undefined`; the generated code turns that into a failure of the action.
SMP_EXPLORER_DUMP=DIR writes the generated source to a file for reading (`runs.pysource`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Sequence

from smp_explorer.ir.properties import RUNTIME_NAME, Kind
from smp_explorer.ir.bounds import Interval, Ranges, interval
from smp_explorer.ir.compile import ExprVisitor
from smp_explorer.ir.expr import (Const, Expr, Op, Ref, conjuncts, contains_partial,
                                  failure_template, nodes)
from smp_explorer.ir.model import Action, Model
from smp_explorer.ir.ops import OPS, PARTIAL
from smp_explorer.ir.ops import Failure as FailureKind
from smp_explorer.ir.share import shared
from smp_explorer.runs.pysource import Emitter, load_source


class Undefined(Exception):
    """A partial operator failed; `site` indexes `CompiledModel.sites`."""

    def __init__(self, site: int, value: int):
        super().__init__(site, value)
        self.site = site
        self.value = value


@dataclass(frozen=True)
class Failure:
    """Why an action could not complete: a failed check or an undefined operation."""

    property: str
    message: str        # may contain {value}
    line: int | None
    offset: int = 0     # added to the reported value (an index failure reports a position)

    def text(self, value: int | None) -> str:
        shown = "?" if value is None else str(value + self.offset)
        return self.message.replace("{value}", shown)


@dataclass
class CompiledModel:
    model: Model
    successors: Callable  # state -> (list of (action, next state), list of (action, failure, value))
    invariants: Callable  # state -> list of failing invariant positions, or raises Undefined
    goals: Callable       # state -> list of satisfied goal positions
    monitors: Callable    # state -> list of satisfied monitor positions (statistics only)
    invariant_names: list[str]
    goal_names: list[str]
    failures: list[Failure]
    source: str
    # each code generator that ran for this model: (name, seconds to generate and compile,
    # bytes of source); the statistics report the sums
    codegen: list[tuple[str, float, int]] = field(default_factory=list)

    def note_codegen(self, generator: str, started: float, source: str) -> None:
        """Record a generator that started at `started` (time.perf_counter) and wrote `source`."""
        self.codegen.append((generator, time.perf_counter() - started, len(source)))


def _sel(index, options, site):
    if 0 <= index < len(options):
        return options[index]
    raise Undefined(site, index)


def _div(a, b, site):
    if b == 0:
        raise Undefined(site, a)
    return a // b


def _mod(a, b, site):
    if b == 0:
        raise Undefined(site, a)
    return a % b


def _shl(a, b, site):
    if b < 0:
        raise Undefined(site, b)
    return a << b


def _raise(u):
    raise u


def _bit(a, b):
    return (a >> b) & 1 if b >= 0 else 0


HELPERS = {"_sel": _sel, "_div": _div, "_mod": _mod, "_shl": _shl, "_bit": _bit, "_raise": _raise,
           "Undefined": Undefined}

BINARY = {"add": "+", "sub": "-", "mul": "*", "eq": "==", "ne": "!=", "lt": "<", "le": "<=",
          "gt": ">", "ge": ">=", "bor": "|", "band": "&", "bxor": "^"}


class TupleCompiler(ExprVisitor[str]):
    """IR expression -> Python source over local names s0, s1, ... (one per slot).

    `and`/`or` become Python's: on boolean (0/1) operands they give 0/1 (or False/True, equal
    as values), evaluated left to right with short circuit, as `ir.ops` defines them."""

    def __init__(self, ranges: Ranges, failures: list[Failure],
                 site_of: dict[int, tuple[Op, int]]):
        self.ranges = ranges
        self.failures = failures
        self.site_of = site_of
        # temporaries of shared subexpressions (`ir.share`) visible at the current point of
        # the generated code: key -> (node, name, lazy); `push`/`pop` follow its blocks
        self.names: dict[tuple[str, int], tuple[Op, str, bool]] = {}
        self.fallible: dict[int, tuple[Op, bool]] = {}   # (the node is kept: ids stay unique)
        self.intervals: dict[int, Interval] = {}
        self.saved: list[dict[tuple[str, int], tuple[Op, str, bool]]] = []
        self.counter = 0

    def push(self) -> None:
        self.saved.append(dict(self.names))

    def pop(self) -> None:
        self.names = self.saved.pop()

    def key(self, e: Op) -> tuple[str, int]:
        """What a temporary is bound to (a subclass that compiles over several states adds
        which state)."""
        return ("", id(e))

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def bind(self, em: Emitter, roots: Sequence[Expr]) -> None:
        """Give the shared subexpressions of one statement evaluating `roots` temporaries,
        computed before it, children first (`ir.share`). One that may fail keeps its failure
        (an `Undefined`), raised where the statement uses it."""
        for x in shared(roots, lambda x: self.key(x) in self.names):
            src = self(x)
            name = self.fresh("t")
            fallible = self.may_fail(x)
            if fallible:
                em.line("try:")
                em.line(f"    {name} = {src}")
                em.line("except Undefined as u:")
                em.line(f"    {name} = u")
            else:
                em.line(f"{name} = {src}")
            self.names[self.key(x)] = (x, name, fallible)

    def may_fail(self, e: Op) -> bool:
        """Whether evaluating `e` can fail, given the slot ranges (each node decided once)."""
        got = self.fallible.get(id(e))
        if got is None:
            for x in nodes(e):
                if id(x) not in self.fallible:
                    own = self._own_failure(x)
                    self.fallible[id(x)] = (x, own or any(
                        isinstance(a, Op) and self.fallible[id(a)][1] for a in x.args))
            got = self.fallible[id(e)]
        return got[1]

    def _own_failure(self, x: Op) -> bool:
        if x.op not in PARTIAL:
            return False
        info = OPS[x.op].failure
        if info is FailureKind.DIVISION_BY_ZERO:
            lo, hi = interval(x.args[1], self.ranges, self.intervals)
            return lo <= 0 <= hi
        if info is FailureKind.NEGATIVE_SHIFT:
            return interval(x.args[1], self.ranges, self.intervals)[0] < 0
        lo, hi = interval(x.args[0], self.ranges, self.intervals)
        return lo < 0 or hi >= len(x.args) - 1

    def __call__(self, e: Expr) -> str:
        if type(e) is Op and self.names:
            got = self.names.get(self.key(e))
            if got is not None:
                _, name, fallible = got
                return f"(_raise({name}) if {name}.__class__ is Undefined else {name})" \
                    if fallible else name
        return super().__call__(e)

    def site(self, node: Op) -> int:
        """The failure index of a partial operator node. Keyed by identity (equal nodes at other
        spans are other sites); the entry keeps the node alive, so its id is never reused by
        another node while the table exists (a freed temporary once lent its id to a new one,
        and a runtime error got another expression's message)."""
        got = self.site_of.get(id(node))
        if got is None:
            template, offset = failure_template(node)
            self.failures.append(Failure(RUNTIME_NAME, template,
                                         node.span.line if node.span else None, offset))
            got = self.site_of[id(node)] = (node, len(self.failures) - 1)
        return got[1]

    def nonnegative(self, e: Expr) -> bool:
        return interval(e, self.ranges)[0] >= 0

    def on_Const(self, e: Const) -> str:
        return str(e.value)

    def on_Ref(self, e: Ref) -> str:
        return f"s{e.slot}"

    def on_and(self, e: Op) -> str:
        return "(" + " and ".join(map(self, e.args)) + ")"

    def on_or(self, e: Op) -> str:
        return "(" + " or ".join(map(self, e.args)) + ")"

    def on_not(self, e: Op) -> str:
        return f"(not {self(e.args[0])})"

    def on_neg(self, e: Op) -> str:
        return f"(-{self(e.args[0])})"

    def on_ite(self, e: Op) -> str:
        c, a, b = e.args
        return f"({self(a)} if {self(c)} else {self(b)})"

    def _infix(self, e: Op) -> str:
        return f"({self(e.args[0])} {BINARY[e.op]} {self(e.args[1])})"

    on_add = on_sub = on_mul = on_bor = on_band = on_bxor = _infix
    on_eq = on_ne = on_lt = on_le = on_gt = on_ge = _infix

    def on_bandnot(self, e: Op) -> str:
        return f"({self(e.args[0])} & ~{self(e.args[1])})"

    def on_popcount(self, e: Op) -> str:
        return f"{self(e.args[0])}.bit_count()"

    def on_bit(self, e: Op) -> str:
        a, b = e.args
        if self.nonnegative(b):
            return f"(({self(a)} >> {self(b)}) & 1)"
        return f"_bit({self(a)}, {self(b)})"

    def _division(self, e: Op) -> str:
        return f"_{e.op}({self(e.args[0])}, {self(e.args[1])}, {self.site(e)})"

    on_div = on_mod = _division

    def on_shl(self, e: Op) -> str:
        a, b = e.args
        if self.nonnegative(b):
            return f"({self(a)} << {self(b)})"
        return f"_shl({self(a)}, {self(b)}, {self.site(e)})"

    def on_select(self, e: Op) -> str:
        index, options = e.args[0], e.args[1:]
        lo, hi = interval(index, self.ranges)
        opts = "(" + ", ".join(map(self, options)) + ",)"
        lazy = any(contains_partial(x) for x in options)
        if lo >= 0 and hi < len(options) and not lazy:
            return f"{opts}[{self(index)}]"
        if not lazy:
            return f"_sel({self(index)}, {opts}, {self.site(e)})"
        # evaluate only the chosen option (the index once, first)
        i = self(index)
        first = i
        if isinstance(index, Op):
            name = self.fresh("_i")
            first = f"({name} := {i})"
            i = name
        chain = f"_sel({i}, (), {self.site(e)})"
        for k in reversed(range(len(options))):
            chain = f"({self(options[k])} if {first if k == 0 else i} == {k} else {chain})"
        return chain


def compile_model(model: Model, properties: list[str] | None = None) -> CompiledModel:
    """Generate and compile the successor, invariant and goal functions of a model.

    `properties` restricts which invariants and goals are compiled (by name; None = all).
    """
    started = time.perf_counter()
    ranges = [(s.lo, s.hi) for s in model.slots]
    failures: list[Failure] = []
    site_of: dict[int, tuple[Op, int]] = {}
    ex = TupleCompiler(ranges, failures, site_of)
    em = Emitter()
    # `s0, s1, = state` (or `_ = state` for a model without slots)
    unpack = ", ".join(f"s{i}" for i in range(len(model.slots))) + "," if model.slots else "_"
    em.line("def successors(state):")
    with em.indent():
        em.line(f"{unpack} = state")
        em.line("out = []")
        em.line("bad = []")
        for pc_slot, groups, rest in _dispatch(model):
            if pc_slot is not None:
                def case(value: int, acts: list[Action], pc_slot: int = pc_slot) -> None:
                    for a in acts:
                        _emit_action(em, ex, model, a, skip=(pc_slot, value), failures=failures)
                em.switch(f"s{pc_slot}", [(value, partial(case, value, acts))
                                          for value, acts in groups])
            for a in rest:
                _emit_action(em, ex, model, a, skip=None, failures=failures)
        em.line("return out, bad")
    em.line("")
    selected = (lambda p: properties is None or p.name in properties)
    invariants = [p for p in model.properties if p.kind is Kind.INVARIANT and selected(p)]
    goals = [p for p in model.properties if p.kind is Kind.REACHABLE and selected(p)]
    monitors = [(name, expr) for name, expr, _ in model.monitors]
    for fname, named in (("invariants", [(p.name, p.expr) for p in invariants]),
                         ("goals", [(p.name, p.expr) for p in goals]), ("monitors", monitors)):
        em.line(f"def {fname}(state):")
        with em.indent():
            if named:
                em.line(f"{unpack} = state")
            em.line("r = []")
            for k, (name, e) in enumerate(named):
                ex.push()
                if contains_partial(e):  # one failing property must not hide the others
                    em.line("try:")
                    with em.indent():
                        ex.bind(em, [e])
                        test = f"not {ex(e)}" if fname == "invariants" else ex(e)
                        em.line(f"if {test}: r.append({k})  # {name}")
                    em.line("except Undefined as u:")
                    with em.indent():
                        em.line("r.append(u)")
                else:
                    ex.bind(em, [e])
                    test = f"not {ex(e)}" if fname == "invariants" else ex(e)
                    em.line(f"if {test}: r.append({k})  # {name}")
                ex.pop()
            em.line("return r")
        em.line("")
    source = em.source()
    namespace: dict = dict(HELPERS)
    load_source(source, model, "tuple", namespace)
    cm = CompiledModel(model, namespace["successors"], namespace["invariants"],
                       namespace["goals"], namespace["monitors"], [p.name for p in invariants],
                       [p.name for p in goals], failures, source)
    cm.note_codegen("tuple", started, source)
    return cm


def _dispatch(model: Model):
    """Group actions by the program counter they test, preserving order within each group."""
    pc_slots = {p.pc_slot for p in model.processes}
    by_slot: dict[int, dict[int, list[Action]]] = {}
    rest: list[Action] = []
    for a in model.actions:
        key = None
        for c in conjuncts(a.guard):
            if isinstance(c, Op) and c.op == "eq" and isinstance(c.args[0], Ref) and \
                    c.args[0].slot in pc_slots and isinstance(c.args[1], Const):
                key = (c.args[0].slot, c.args[1].value)
                break
        if key is None:
            rest.append(a)
        else:
            by_slot.setdefault(key[0], {}).setdefault(key[1], []).append(a)
    for slot in sorted(by_slot):
        yield slot, sorted(by_slot[slot].items()), []
    if rest:
        yield None, [], rest


SPREAD_SLOTS = 32   # a successor of more slots than this takes its untouched runs by slices
SPREAD_RUN = 8      # of at least this many slots


def _emit_action(em: Emitter, ex: TupleCompiler, model: Model, a: Action,
                 skip: tuple[int, int] | None, failures: list[Failure]) -> None:
    line = a.span.line if a.span else "?"
    em.line(f"# action {a.index}: {a.name} (line {line})")
    conds = [c for c in conjuncts(a.guard)
             if not (skip and c == Op("eq", (Ref(skip[0]), Const(skip[1]))))]
    risky = contains_partial(a.guard) or any(contains_partial(e) for _, e in a.updates) or \
        any(contains_partial(c.cond) or (c.value is not None and contains_partial(c.value))
            for c in a.checks)
    if risky:
        em.line("try:")
        em.level += 1
    ex.push()
    ex.bind(em, conds)
    guard = " and ".join(ex(c) for c in conds) if conds else "True"
    em.line(f"if {guard}:")
    with em.indent():
        temps: dict[Expr, str] = {}
        for check in a.checks:
            failures.append(Failure(check.property, check.message,
                                    check.span.line if check.span else None))
            fid = len(failures) - 1
            ex.bind(em, [x for x in (check.value, check.cond) if x is not None])
            if check.value is not None:
                t = temps.get(check.value) or em.fresh("v")
                if check.value not in temps:
                    em.line(f"{t} = {ex(check.value)}")
                    temps[check.value] = t
                value = t
            else:
                value = "None"
            em.line(f"if not {ex(check.cond)}:")
            with em.indent():
                em.line(f"bad.append(({a.index}, {fid}, {value}))")
            em.line("else:")
            em.level += 1
        updates = dict(a.updates)
        ex.bind(em, [e for _, e in a.updates if e not in temps])
        parts = []
        same = 0            # slots left as they are just before slot i
        spread = len(model.slots) > SPREAD_SLOTS
        for i in range(len(model.slots) + 1):
            if i < len(model.slots) and i not in updates:
                same += 1
                continue
            # a long run of untouched slots is a slice of the state: the source stays the size
            # of the step, not of the state (800 dining philosophers made 33 MB of source)
            if spread and same >= SPREAD_RUN:
                parts.append(f"*state[{i - same}:{i}]")
            else:
                parts.extend(f"s{j}" for j in range(i - same, i))
            same = 0
            if i < len(model.slots):
                e = updates[i]
                parts.append(temps.get(e) or ex(e))
        em.line(f"out.append(({a.index}, ({''.join(p + ', ' for p in parts)})))")
        em.level -= len(a.checks)
    ex.pop()
    if risky:
        em.level -= 1
        em.line("except Undefined as u:")
        with em.indent():
            em.line(f"bad.append(({a.index}, u.site, u.value))")
