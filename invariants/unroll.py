"""Unrollings of the transition relation: states 0..n with one action selector per step.

Shared by bounded model checking (from the initial states) and k-induction (from any states
within the declared types). State 0 is a set of fresh constants; each later state is a term
over the one before (the functional form: no constants per step, which Z3 solves much faster
than one equation per slot and step). Every state is constrained to the declared types.

With `stutter`, a step may also be idle (selector -1: nothing changes), so "a bad state at
index n" means "within n steps": asking at the last index covers every depth at once, and the
smallest n with an answer is the shortest counterexample, which then has no idle step (one
would make a shorter one).
"""
from __future__ import annotations

import time

import z3

from invariants.z3enc import Bool, Encoder, SymState, term


class OutOfTime(Exception):
    """The time limit ran out (or Z3 gave up) before a query was answered."""


class Unrolling:
    def __init__(self, enc: Encoder, prefix: str, deadline: float | None = None,
                 initial: bool = True, stutter: bool = False):
        self.enc = enc
        self.prefix = prefix
        self.deadline = deadline
        self.stutter = stutter
        self.solver = z3.Solver()
        first = enc.state(f"{prefix}0")
        self.states: list[SymState] = [first]
        self.selectors: list[z3.ArithRef] = []
        self.solver.add(term(enc.in_types(first)))
        if initial:
            self.solver.add(term(enc.initial(first)))

    @property
    def depth(self) -> int:
        return len(self.states) - 1

    def extend(self, upto: int | None = None) -> None:
        """One more step (or steps up to depth `upto`)."""
        target = self.depth + 1 if upto is None else upto
        while self.depth < target:
            sel = z3.Int(f"{self.prefix}act{self.depth}")
            nxt, fires = self.enc.successor(self.states[-1], f"{self.prefix}{self.depth + 1}",
                                            sel, self.stutter)
            self.states.append(nxt)
            self.selectors.append(sel)
            self.solver.add(term(fires))
            self.solver.add(term(self.enc.in_types(nxt)))

    def add(self, cond: Bool) -> None:
        self.solver.add(term(cond))

    def check(self, cond: Bool) -> z3.ModelRef | None:
        """A model of the unrolling where `cond` holds, or None if there is none."""
        if cond is False:
            return None
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise OutOfTime()
            self.solver.set("timeout", max(1, int(left * 1000)))
        self.solver.push()
        try:
            self.solver.add(term(cond))
            result = self.solver.check()
            if result == z3.unknown:
                raise OutOfTime(self.solver.reason_unknown())
            return self.solver.model() if result == z3.sat else None
        finally:
            self.solver.pop()

    def decode(self, m: z3.ModelRef, upto: int | None = None) -> tuple[list[tuple], list[int]]:
        """The concrete states 0..upto and the actions between them, idle steps left out."""
        n = self.depth if upto is None else upto
        values = [tuple(value(m, v) for v in st.vars) for st in self.states[:n + 1]]
        states, actions = [values[0]], []
        for k in range(n):
            a = value(m, self.selectors[k])
            if a >= 0:
                states.append(values[k + 1])
                actions.append(a)
        return states, actions


def value(m: z3.ModelRef, t: z3.ArithRef) -> int:
    return m.eval(t, model_completion=True).as_long()


def true_in(m: z3.ModelRef, cond: Bool) -> bool:
    if isinstance(cond, bool):
        return cond
    return z3.is_true(m.eval(cond, model_completion=True))
