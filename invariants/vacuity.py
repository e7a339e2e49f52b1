"""Before exploring: is each invariant worth checking, and does it hold initially?

For each checked invariant, over the states within the declared types:
- valid (true, and evaluable, in every such state): it checks nothing (a warning);
- unsatisfiable (true in none of them): it can never hold (an error in the spec);
- false in some initial state (checked symbolically, whatever the number of initial states):
  a violation at depth 0, reported with that state, exactly as the explorer would report it
  (the invariant is evaluable there and false).
Three small queries per invariant, no unrolling: fast enough to run before every `check`.
"""
from __future__ import annotations

from dataclasses import dataclass

import z3

from smp_explorer.ir.properties import Kind, Property
from smp_explorer.invariants.z3enc import Bool, Encoder, conj, negate
from smp_explorer.ir.model import Model

VALID = "valid"
NEVER = "never"
INITIAL = "initial"


@dataclass
class Finding:
    prop: Property
    kind: str                   # VALID | NEVER | INITIAL
    message: str
    state: tuple | None = None  # INITIAL: an initial state where the invariant is false


def precheck(model: Model, selection: list[str] | None = None) -> list[Finding]:
    """The findings for the invariants `check` would check (all, or those in `selection`)."""
    invariants = [p for p in model.properties if p.kind is Kind.INVARIANT
                  and (selection is None or p.name in selection)]
    if not invariants:
        return []
    enc = Encoder(model)
    st = enc.state("vac")
    typed = enc.solver()
    typed.add(enc.term(enc.in_types(st)))
    initial = enc.solver()
    initial.add(enc.term(enc.in_types(st)), enc.term(enc.initial(st)))
    findings = []
    for p in invariants:
        holds = enc.holds(p.condition, st)
        if _answer(enc, typed, negate(holds)) == z3.unsat:
            findings.append(Finding(p, VALID, f"invariant {p.name} is true in every state of "
                                              "the declared types: it checks nothing"))
            continue
        if _answer(enc, typed, holds) == z3.unsat:
            findings.append(Finding(p, NEVER, f"invariant {p.name} can never hold: it is false "
                                              "(or cannot be evaluated) in every state of the "
                                              "declared types"))
            continue
        violated = conj(enc.defined(p.condition, st), negate(enc.truth(p.condition, st)))
        initial.push()
        initial.add(enc.term(violated))
        if initial.check() == z3.sat:
            m = initial.model()
            state = tuple(enc.number(m.eval(v, model_completion=True)) for v in st.vars)
            findings.append(Finding(p, INITIAL, f"{p.name} is false: {p.description}", state))
        initial.pop()
    return findings


def _answer(enc: Encoder, solver: z3.Solver, cond: Bool) -> z3.CheckSatResult:
    solver.push()
    solver.add(enc.term(cond))
    try:
        return solver.check()
    finally:
        solver.pop()
