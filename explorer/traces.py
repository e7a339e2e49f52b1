"""Rebuild a discovery's trace from the parent links of the search."""
from __future__ import annotations

from typing import Sequence

from explorer.codegen import Failure
from explorer.results import Step, Trace
from invariants.properties import Kind, Property
from ir.model import Model


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
        changed = [] if previous is None else \
            [s.name for s in model.slots if state[s.index] != previous[s.index]]
        if action < 0:
            return Step(None, None, None, None, model.describe(state), changed)
        a = model.actions[action]
        label = a.label if a.process is not None else a.name
        return Step(a.process, label, a.span.line if a.span else None, a.name,
                    model.describe(state), changed)

    def trace(self, pos: int) -> Trace:
        steps = []
        previous = None
        for action, p in self.path(pos):
            state = self.states[p]
            steps.append(self.step(action, state, previous))
            previous = state
        owners = {s.name: s.owner for s in self.model.slots}
        return Trace(steps, owners, [p.name for p in self.model.processes])

    def build(self, prop: Property, pos: int, action: int | None, failure: int | None,
              value: int | None) -> tuple[Trace, str]:
        trace = self.trace(pos)
        state = self.states[pos]
        if action is not None:
            f = self.failures[failure]  # type: ignore[index]
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
