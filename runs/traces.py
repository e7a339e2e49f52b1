"""Rebuild a discovery's trace from the parent links of the search."""
from __future__ import annotations

from typing import Sequence

from smp_explorer.runs.compiled import Failure
from smp_explorer.runs.results import Step, Trace
from smp_explorer.ir.properties import Kind, Property
from smp_explorer.ir.model import Model


class TraceBuilder:
    def __init__(self, model: Model, states: Sequence[tuple], parent: Sequence[int],
                 via: Sequence[int], failures: list[Failure]):
        self.model = model
        self.states = states
        self.parent = parent
        self.via = via
        self.failures = failures

    def path(self, pos: int) -> list[tuple[int, int]]:
        """(action, state position) from an initial state (action -1) to `pos`."""
        out = []
        while pos != -1:
            out.append((self.via[pos], pos))
            pos = self.parent[pos]
        return out[::-1]

    def step(self, action: int, state: tuple, previous: tuple | None) -> Step:
        model = self.model
        shown = model.describe(state)
        before = model.describe(previous) if previous is not None else None
        changed = [] if before is None else [k for k, v in shown.items() if before.get(k) != v]
        if action < 0:
            return Step(None, None, None, None, shown, changed)
        a = model.actions[action]
        label = a.label if a.process is not None else a.name
        return Step(a.process, label, a.span.line if a.span else None, a.name, shown, changed)

    def trace(self, pos: int) -> Trace:
        steps = []
        previous = None
        for action, p in self.path(pos):
            state = self.states[p]
            steps.append(self.step(action, state, previous))
            previous = state
        owners = {name: self.model.owner_of(name) for name in steps[0].state}
        return Trace(steps, owners, [p.name for p in self.model.processes],
                     {p.name: list(p.labels) for p in self.model.processes})

    def build(self, prop: Property, pos: int, action: int | None, failure: int | None,
              value: int | None) -> tuple[Trace, str]:
        trace = self.trace(pos)
        state = self.states[pos]
        if action is not None:
            assert failure is not None  # a failed step names its failure
            f = self.failures[failure]
            message = f.text(value)
            step = self.step(action, state, state)
            step.failed = message
            trace.steps.append(step)
            return trace, message
        if failure is not None:
            return trace, self.failures[failure].text(value)
        if prop.kind is Kind.DEADLOCK:
            waiting = [f"{p.name} at {p.labels[state[p.pc_slot]]}" for p in self.model.processes
                       if state[p.pc_slot] != p.done]
            message = "no step is enabled"
            if waiting:
                message += "; not terminated: " + ", ".join(waiting)
            return trace, message
        if prop.kind is Kind.REACHABLE:
            return trace, f"reached: {prop.description}"
        return trace, f"{prop.name} is false: {prop.description}"
