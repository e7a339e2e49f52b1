"""Why a state violates an invariant: a minimal set of its slot values that alone make it false.

Z3 is asked whether the invariant can hold (and be evaluated) in a state within the declared
types that agrees with the violating one on some slots: with every slot the invariant reads
fixed, it cannot. The unsat core over the `slot == value` assumptions, shrunk one assumption at
a time until no assumption can be dropped, is the explanation: every state with those values is
a violation, whatever the other slots hold, and no smaller subset of them says as much.
"""
from __future__ import annotations

from typing import Any, Sequence

import z3

from smp_explorer.ir.properties import Property
from smp_explorer.runs.results import PropertyResult
from smp_explorer.invariants.symbolic import NOT_INDUCTIVE
from smp_explorer.invariants.z3enc import Encoder, EncodingError
from smp_explorer.ir.expr import slots_read
from smp_explorer.ir.model import Model, Slot
from smp_explorer.ir.types import BoolT, EnumT, SetT, element_position


def explain_results(model: Model, results: Sequence[PropertyResult]) -> None:
    """Attach to each violated invariant (or counterexample to induction) the slot values of
    its last state that alone make it false."""
    todo = [p for p in results if p.kind == "invariant" and p.trace is not None
            and p.status in ("violated", NOT_INDUCTIVE)]
    if not todo:
        return
    try:
        enc = Encoder(model)
    except EncodingError:
        return
    for p in todo:
        assert p.trace is not None
        prop = model.property(p.name)
        assert prop.expr is not None
        values = values_from_display(model, p.trace.steps[-1].state, slots_read(prop.expr))
        slots = explain(model, prop, values, enc)
        if slots is not None:
            p.explanation = describe(model, slots, values)


def explain(model: Model, prop: Property, values: dict[int, int],
            enc: Encoder | None = None) -> list[int] | None:
    """The slots (in layout order) whose values in `values` (slot -> value; at least the slots
    the invariant reads) make `prop` false; None if those values do not violate it."""
    assert prop.expr is not None
    enc = enc or Encoder(model)
    st = enc.state("why")
    solver = enc.solver()
    solver.add(enc.term(enc.in_types(st)), enc.term(enc.holds(prop.expr, st)))
    read = sorted(slots_read(prop.expr))
    if any(j not in values for j in read):
        return None
    lits: dict[int, z3.BoolRef] = {}
    for j in read:
        lits[j] = enc.boolean(f"why_{model.slots[j].name}")
        solver.add(z3.Implies(lits[j], st.vars[j] == values[j]))

    def refuted(chosen: list[int]) -> list[int] | None:
        """The part of `chosen` that an unsat core needs, or None if the invariant can hold."""
        if solver.check(*(lits[j] for j in chosen)) != z3.unsat:
            return None
        core = {c.get_id() for c in solver.unsat_core()}
        return [j for j in chosen if lits[j].get_id() in core]

    core = refuted(read)
    if core is None:
        return None
    for j in list(core):
        if j not in core:
            continue
        smaller = refuted([x for x in core if x != j])
        if smaller is not None:
            core = smaller
    return core


def describe(model: Model, slots: list[int], values: dict[int, int]) -> list[dict[str, Any]]:
    """The explanation as JSON-ready entries: slot name, display value, and a phrase."""
    out = []
    for j in slots:
        s = model.slots[j]
        out.append({"slot": s.name, "value": s.show(values[j]), "text": phrase(s, values[j])})
    return out


def phrase(slot: Slot, value: int) -> str:
    """"Cpu[1] at h_check" for a program counter, "Cpu[1].seen = 0" for anything else."""
    if slot.is_pc and slot.owner:
        return f"{slot.owner} at {slot.show_text(value)}"
    return f"{slot.name} = {slot.show_text(value)}"


def values_from_display(model: Model, state: dict[str, Any], slots) -> dict[int, int]:
    """The encoded values of `slots` from a trace state (slot name -> display value), as
    `Model.describe` shows them; slots missing from it (a memory model's own) are left out."""
    out = {}
    for j in slots:
        s = model.slots[j]
        if s.name in state:
            try:
                out[j] = encode_value(s, state[s.name])
            except (ValueError, TypeError):
                continue
    return out


def encode_value(slot: Slot, shown: Any) -> int:
    """The inverse of `Slot.show`."""
    t = slot.type
    if isinstance(t, BoolT):
        return int(bool(shown))
    if isinstance(t, EnumT):
        return t.members.index(shown) if isinstance(shown, str) else int(shown)
    if isinstance(t, SetT) and t.elem is not None:
        mask = 0
        for x in shown:
            mask |= 1 << element_position(t.elem, _element(t.elem, x))
        return mask
    return int(shown)


def _element(t, shown: Any) -> int:
    if isinstance(t, BoolT):
        return int(bool(shown))
    if isinstance(t, EnumT):
        return t.members.index(shown)
    return int(shown)
