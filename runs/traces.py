"""Rebuild a discovery's trace from the parent links of the search."""
from __future__ import annotations

from typing import Sequence

from smp_explorer.runs.compiled import Failure
from smp_explorer.runs.results import Step, Trace
from smp_explorer.ir.properties import Kind, Property
from smp_explorer.ir.evaluate import EvalError, evaluate
from smp_explorer.ir.model import READ_SOURCES, Action, Model

BUFFER = ".store_buffer"  # a memory model's store-buffer view: "{cpu}.store_buffer"


def _entry_loc(entry: str) -> str:
    """The location of a buffer entry as a view renders it ("mfc=1", "mfc add 1")."""
    return entry.split("=", 1)[0].split(" ", 1)[0]


def program_order(previous: list[str] | None, rendered: list[str]) -> list[str]:
    """A store buffer's entries oldest first. A memory model renders a per-address buffer
    (pso, weak) address by address within each write-barrier group: the trace knows when each
    entry came. Entries of one address leave oldest first, so the survivors of an address are
    its newest entries of the step before; what is new came last. "wmb" separates groups,
    which are in program order already."""
    if not previous:
        return rendered
    before = [e for e in previous if e != "wmb"]
    age: dict[int, float] = {}  # position in `rendered` -> its age
    by_loc: dict[str, list[int]] = {}
    for i, e in enumerate(rendered):
        if e != "wmb":
            by_loc.setdefault(_entry_loc(e), []).append(i)
    for loc, now in by_loc.items():
        old = [j for j, e in enumerate(before) if _entry_loc(e) == loc]
        kept = old[-len(now):] if len(now) <= len(old) else old
        for n, i in enumerate(now):
            age[i] = kept[n] if n < len(kept) else len(before) + i
    out: list[str] = []
    group: list[int] = []
    for i, e in enumerate(rendered + ["wmb"]):
        if e == "wmb":
            out += [rendered[k] for k in sorted(group, key=lambda k: age[k])]
            group = []
            if i < len(rendered):
                out.append("wmb")
        else:
            group.append(i)
    return out


class Writers:
    """Which store each location's value came from, followed along a trace: a store enters
    its CPU's buffer at the step that made it and reaches memory when the buffer shrinks; a
    write straight to memory (sc, a locked RMW, a TLA+-style action) is its step's."""

    def __init__(self, model: Model):
        self.shared = [s.name for s in model.slots if s.shared]
        self.memory: dict[str, dict | None] = {}    # loc -> the store memory holds
        self.previous: dict[str, dict | None] = {}  # loc -> the one before (a stale view's)
        self.buffered: dict[tuple[str, str], list[dict]] = {}  # (cpu, loc) -> oldest first

    def attribute(self, process: str | None, reads: list[dict]) -> None:
        for r in reads:
            loc = r["loc"]
            if r["from"] == "own buffer":
                fifo = self.buffered.get((process or "", loc))
                r["store"] = fifo[-1] if fifo else None
            elif r["from"] == "stale view":
                r["store"] = self.previous.get(loc)
            else:
                r["store"] = self.memory.get(loc)

    def advance(self, process: str | None, line: int | None, before: dict, after: dict) -> None:
        moved: set[str] = set()
        for key, entries in after.items():
            if not key.endswith(BUFFER):
                continue
            cpu = key[:-len(BUFFER)]
            old = [_entry_loc(e) for e in before.get(key, []) if e != "wmb"]
            new = [_entry_loc(e) for e in entries if e != "wmb"]
            for loc in sorted(set(old) | set(new)):
                d = new.count(loc) - old.count(loc)
                fifo = self.buffered.setdefault((cpu, loc), [])
                for _ in range(-d):  # reached memory, oldest first
                    self.previous[loc] = self.memory.get(loc)
                    self.memory[loc] = fifo.pop(0) if fifo else None
                    moved.add(loc)
                for _ in range(d):
                    fifo.append({"cpu": process, "line": line})
        for loc in self.shared:
            if loc not in moved and before.get(loc) != after.get(loc):
                self.previous[loc] = self.memory.get(loc)
                self.memory[loc] = {"cpu": process, "line": line}


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
        assert previous is not None  # a step starts from a state
        return Step(a.process, label, a.span.line if a.span else None, a.name, shown, changed,
                    reads=self.reads(a, previous))

    @staticmethod
    def order_buffers(before: Step, step: Step) -> None:
        for key, entries in step.state.items():
            if key.endswith(BUFFER) and isinstance(entries, list):
                step.state[key] = program_order(before.state.get(key), entries)

    def reads(self, a: Action, pre: tuple) -> list[dict]:
        """The loads of a step, evaluated on the state it starts from."""
        out = []
        names = {s.name: s for s in self.model.slots}
        for r in a.reads:
            try:
                loc = r.loc if r.index is None else r.names[evaluate(r.index, pre)]
                value = evaluate(r.value, pre)
                source = READ_SOURCES[evaluate(r.source, pre)]
            except (EvalError, IndexError):
                continue  # a load the step never reaches (its index out of range fails it)
            slot = names.get(loc)
            out.append({"loc": loc, "value": slot.show(value) if slot else value,
                        "from": source})
        return out

    def trace(self, pos: int) -> Trace:
        steps: list[Step] = []
        previous = None
        writers = Writers(self.model)
        for action, p in self.path(pos):
            state = self.states[p]
            step = self.step(action, state, previous)
            if steps:
                self.order_buffers(steps[-1], step)
            if previous is not None:
                before = self.model.describe(previous)
                writers.attribute(step.process, step.reads)
                writers.advance(step.process, step.line, before, step.state)
            steps.append(step)
            previous = state
        self.writers = writers
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
            self.order_buffers(trace.steps[-1], step)
            self.writers.attribute(step.process, step.reads)
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
