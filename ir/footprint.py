"""Which state slots each action reads and writes, from the IR alone (for partial-order
reduction, `explorer.por`).

An action's footprint: the slots its guard, its checks (conditions and checked values) and its
update expressions read; the slots it assigns; the slot values its guard requires (a conjunct
`slot == constant`, as every program-counter test is); and the constants it assigns.

Two actions are *dependent* when one writes a slot the other reads or writes, unless their
guards require different constants of one slot (then no state enables both, and neither can
enable the other without a third action that writes that slot: see `explorer.por`). Actions
that are not dependent commute wherever both are enabled, neither enables nor disables the
other, and neither changes what the other's guard, checks or updates compute (so neither
changes whether the other fails an assertion or an operation): their slot sets are disjoint.
"""
from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

from smp_explorer.ir.expr import Const, Expr, Op, Ref, conjuncts, slots_read, substitute
from smp_explorer.ir.model import Action, Model


@dataclass(frozen=True)
class Footprint:
    reads: frozenset[int]
    writes: frozenset[int]
    requires: tuple[tuple[int, int], ...]   # (slot, value): a guard conjunct `slot == value`
    assigns: tuple[tuple[int, int], ...]    # (slot, value): an update to a constant

    def exclusive(self, other: "Footprint") -> bool:
        """No state enables both: their guards require different values of one slot."""
        mine = dict(self.requires)
        return any(slot in mine and mine[slot] != v for slot, v in other.requires)


def slot_test(c: Expr) -> tuple[int, int] | None:
    """(slot, value) when a guard conjunct is `slot == value`."""
    if isinstance(c, Op) and c.op == "eq" and len(c.args) == 2:
        a, b = c.args
        if isinstance(a, Ref) and isinstance(b, Const):
            return a.slot, b.value
        if isinstance(b, Ref) and isinstance(a, Const):
            return b.slot, a.value
    return None


def footprint(a: Action) -> Footprint:
    reads: set[int] = set()
    slots_read(a.guard, reads)
    for check in a.checks:
        slots_read(check.cond, reads)
        if check.value is not None:
            slots_read(check.value, reads)
    for _, e in a.updates:
        slots_read(e, reads)
    requires = tuple(t for t in map(slot_test, conjuncts(a.guard)) if t is not None)
    assigns = tuple((slot, e.value) for slot, e in a.updates if isinstance(e, Const))
    writes = frozenset(slot for slot, e in a.updates if e != Ref(slot))
    return Footprint(frozenset(reads), writes, requires, assigns)


def conflict(f: Footprint, g: Footprint) -> bool:
    """One writes what the other reads or writes."""
    return bool(f.writes & (g.reads | g.writes)) or bool(g.writes & f.reads)


def dependent(f: Footprint, g: Footprint) -> bool:
    return conflict(f, g) and not f.exclusive(g)


def may_make_true(writer: Footprint, c: Expr) -> bool:
    """Whether an action may change guard conjunct `c` from false to true: it writes a slot `c`
    reads, and (for `slot == value`) it does not always write another constant there."""
    read = slots_read(c)
    if not writer.writes & read:
        return False
    test = slot_test(c)
    if test is not None:
        slot, value = test
        written = dict(writer.assigns)
        if slot in written and written[slot] != value:
            return False
    return True


def property_exprs(model: Model, names: list[str] | None = None) -> list[Expr]:
    """The state conditions of the per-state properties (invariants and reachable goals, those
    named if `names` is given) and of the model's monitors (the statistics' notes, such as "a
    store buffer held 2 entries", are then those of the full graph)."""
    return [p.expr for p in model.properties
            if p.per_state and p.expr is not None and (names is None or p.name in names)] + \
        [e for _, e, _ in model.monitors]


@dataclass(frozen=True)
class ConditionParts:
    """A condition's top-level conjuncts (or disjuncts), and per slot the parts that read it:
    `may_change` looks only at the parts an action writes (a `forall` over N processes is N
    parts; every action substituting into all of them was quadratic)."""

    parts: tuple[Expr, ...]
    by_slot: dict[int, tuple[int, ...]]
    absorbing: Const | None     # false for conjuncts, true for disjuncts

    def reading(self, slots: Set[int]) -> list[Expr]:
        """The parts that read one of `slots`, in order."""
        return [self.parts[j] for j in sorted({j for s in slots
                                               for j in self.by_slot.get(s, ())})]


def condition_parts(e: Expr) -> ConditionParts:
    junction = isinstance(e, Op) and e.op in ("and", "or")
    parts = e.args if isinstance(e, Op) and junction else (e,)
    absorbing = Const(int(e.op == "or")) if isinstance(e, Op) and junction else None
    by_slot: dict[int, list[int]] = {}
    for j, p in enumerate(parts):
        for slot in slots_read(p):
            by_slot.setdefault(slot, []).append(j)
    return ConditionParts(parts, {s: tuple(js) for s, js in by_slot.items()}, absorbing)


def may_change(a: Action, f: Footprint, cond: ConditionParts) -> bool:
    """Whether action `a` may change the value of a condition: it writes a slot some part of
    it reads, and that part after the step, with the slot values the guard requires put in, is
    not the same expression as before it (`Cpu[0] at check` keeps its value when Cpu[0] moves
    from `run` to `trap`). Parts the same before and after make the whole the same."""
    parts = cond.reading(f.writes)
    if not parts:
        return False
    known: dict[int, Expr] = {slot: Const(v) for slot, v in f.requires}
    updates = dict(a.updates)
    if cond.absorbing is not None:
        # a part the guard's values make absorbing (false in a conjunction) before and after
        # the step: the whole is that constant both times
        for p in cond.reading(set(known)):
            if substitute(p, known) == cond.absorbing and \
                    substitute(substitute(p, updates), known) == cond.absorbing:
                return False
    return any(substitute(p, known) != substitute(substitute(p, updates), known)
               for p in parts)
