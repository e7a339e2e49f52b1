"""Unrollings of the transition relation: states 0..n with one action selector per step.

Shared by bounded model checking (from the initial states) and k-induction (from any states
within the declared types). State 0 is a set of fresh constants; each later state is a term
over the one before (the functional form: no constants per step, which Z3 solves much faster
than one equation per slot and step). Every state is constrained to the declared types.

With `stutter`, a step may also be idle (selector -1: nothing changes), so "a bad state at
index n" means "within n steps": asking at the last index covers every depth at once, and the
smallest n with an answer is the shortest counterexample, which then has no idle step (one
would make a shorter one). Idle steps come last: a path of m < n steps is padded at its end.

With `reduce`, two consecutive steps that commute (`Encoder.independent`) are taken in one
order only: the lower-numbered action first. Any path can be brought to that form by swapping
such neighbours (each swap removes one inversion), without changing its length, its last state
or its last step, so no shortest counterexample is lost, and the interleavings that differ only
in the order of independent steps are searched once. Only for searches from the initial states:
the swaps change the intermediate states, which induction's hypotheses constrain.

Queries over bit-vectors go to a fresh solver each time, given only the steps they need: Z3
then simplifies and bit-blasts the whole problem to SAT, far faster here than its incremental
mode. Queries over Ints share one incremental solver.
"""
from __future__ import annotations

import time

import z3

from smp_explorer.invariants.z3enc import Bool, Encoder, SymState, conj, implies


class OutOfTime(Exception):
    """The time limit ran out (or Z3 gave up) before a query was answered."""


class Unrolling:
    def __init__(self, enc: Encoder, prefix: str, deadline: float | None = None,
                 initial: bool = True, stutter: bool = False, reduce: bool = False):
        self.enc = enc
        self.reduce = reduce
        self.prefix = prefix
        self.deadline = deadline
        self.stutter = stutter
        self.fresh = enc.width is not None
        self.solver = None if self.fresh else enc.solver()
        first = enc.state(f"{prefix}0")
        self.states: list[SymState] = [first]
        self.selectors: list[z3.ArithRef] = []
        self.layers: list[list[z3.BoolRef]] = [[]]   # per state: what constrains it
        self.extra: list[z3.BoolRef] = []             # added with `add`: holds throughout
        self._constrain(0, enc.in_types(first))
        if initial:
            self._constrain(0, enc.initial(first))

    def _constrain(self, n: int, cond: Bool) -> None:
        t = self.enc.term(cond)
        self.layers[n].append(t)
        if self.solver is not None:
            self.solver.add(t)

    @property
    def depth(self) -> int:
        return len(self.states) - 1

    def extend(self, upto: int | None = None) -> None:
        """One more step (or steps up to depth `upto`)."""
        target = self.depth + 1 if upto is None else upto
        while self.depth < target:
            sel = self.enc.selector(f"{self.prefix}act{self.depth}")
            nxt, fires = self.enc.successor(self.states[-1], f"{self.prefix}{self.depth + 1}",
                                            sel, self.stutter)
            self.states.append(nxt)
            self.selectors.append(sel)
            self.layers.append([])
            self._constrain(self.depth, fires)
            if len(self.selectors) > 1:
                self._order(self.selectors[-2], sel)
            self._constrain(self.depth, self.enc.in_types(nxt))

    def _order(self, before: z3.ArithRef, sel: z3.ArithRef) -> None:
        parts: list[Bool] = []
        if self.stutter:
            parts.append(implies(before == -1, sel == -1))
        if self.reduce:
            for a, smaller in self.enc.independent().items():
                if smaller:
                    parts.append(implies(before == a, conj(*(sel != b for b in smaller))))
        self._constrain(self.depth, conj(*parts))

    def add(self, cond: Bool) -> None:
        """A constraint for every later query."""
        t = self.enc.term(cond)
        self.extra.append(t)
        if self.solver is not None:
            self.solver.add(t)

    def check(self, cond: Bool, upto: int | None = None) -> z3.ModelRef | None:
        """A model of the unrolling (its states 0..upto suffice) where `cond` holds, or None
        if there is none."""
        if cond is False:
            return None
        timeout = None
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise OutOfTime()
            timeout = max(1, int(left * 1000))
        if self.solver is None:
            solver = self.enc.solver("QF_BV")
            if timeout is not None:
                solver.set("timeout", timeout)
            n = self.depth if upto is None else upto
            for layer in self.layers[:n + 1]:
                solver.add(layer)
            solver.add(self.extra)
            solver.add(self.enc.term(cond))
            return self._answer(solver)
        if timeout is not None:
            self.solver.set("timeout", timeout)
        self.solver.push()
        try:
            self.solver.add(self.enc.term(cond))
            return self._answer(self.solver)
        finally:
            self.solver.pop()

    @staticmethod
    def _answer(solver: z3.Solver) -> z3.ModelRef | None:
        result = solver.check()
        if result == z3.unknown:
            raise OutOfTime(solver.reason_unknown())
        return solver.model() if result == z3.sat else None

    def value(self, m: z3.ModelRef, t: z3.ArithRef) -> int:
        return self.enc.number(m.eval(t, model_completion=True))

    def decode(self, m: z3.ModelRef, upto: int | None = None) -> tuple[list[tuple], list[int]]:
        """The concrete states 0..upto and the actions between them, idle steps left out."""
        n = self.depth if upto is None else upto
        values = [tuple(self.value(m, v) for v in st.vars) for st in self.states[:n + 1]]
        states, actions = [values[0]], []
        for k in range(n):
            a = self.value(m, self.selectors[k])
            if a >= 0:
                states.append(values[k + 1])
                actions.append(a)
        return states, actions


def true_in(m: z3.ModelRef, cond: Bool) -> bool:
    if isinstance(cond, bool):
        return cond
    return z3.is_true(m.eval(cond, model_completion=True))
