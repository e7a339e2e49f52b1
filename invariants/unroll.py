"""Unrollings of the transition relation: states 0..n with one action selector per step.

Shared by bounded model checking (from the initial states) and k-induction (from any states
within the declared types). Each state of an unrolling has its own key in the encoder, so the
symbols of different steps and of different unrollings never clash.
"""
from __future__ import annotations

import time

import z3

from invariants.z3enc import Bool, Encoder, SymState, term


class OutOfTime(Exception):
    """The time limit ran out (or Z3 gave up) before a query was answered."""


class Unrolling:
    def __init__(self, enc: Encoder, prefix: str, deadline: float | None = None,
                 initial: bool = True):
        self.enc = enc
        self.prefix = prefix
        self.deadline = deadline
        self.solver = z3.Solver()
        self.states: list[SymState] = []
        self.selectors: list[z3.ArithRef] = []
        self._add_state()
        if initial:
            self.solver.add(term(enc.initial(self.states[0])))

    def _add_state(self) -> None:
        st = self.enc.state(f"{self.prefix}{len(self.states)}")
        self.states.append(st)
        self.solver.add(term(self.enc.in_types(st)))

    @property
    def depth(self) -> int:
        return len(self.states) - 1

    def extend(self) -> None:
        """One more step: a state and the transition into it."""
        sel = z3.Int(f"{self.prefix}act{self.depth}")
        before = self.states[-1]
        self._add_state()
        self.selectors.append(sel)
        self.solver.add(term(self.enc.transition(before, self.states[-1], sel)))

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
        """The concrete states 0..upto and the actions between them."""
        n = self.depth if upto is None else upto
        states = [tuple(_int(m, v) for v in st.vars) for st in self.states[:n + 1]]
        actions = [_int(m, sel) for sel in self.selectors[:n]]
        return states, actions


def _int(m: z3.ModelRef, t: z3.ArithRef) -> int:
    return m.eval(t, model_completion=True).as_long()


def true_in(m: z3.ModelRef, cond: Bool) -> bool:
    if isinstance(cond, bool):
        return cond
    return z3.is_true(m.eval(cond, model_completion=True))
