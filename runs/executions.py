"""A candidate execution of an axiomatic memory model, as a report shows it.

An axiomatic engine (invariants/axiomatic/) does not find a sequence of states: it finds a set
of events (one per load, store, fence and RMW half a CPU performed, in program order) with the
write each read took its value from (rf) and, per location, the order of the writes (co). These
plain objects carry one such execution from the engine to the reports and to JSON; they know
nothing of Z3 or of the terminal.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ExecEvent:
    id: int                        # unique within the execution; initial writes come first
    cpu: str | None                # the process instance; None for an initial write
    index: int                     # position in the CPU's program order (0, 1, ...)
    kind: str                      # R | W | F (an RMW is an R and a W linked by `rmw_pair`)
    tags: tuple[str, ...] = ()     # Linux tags: Once, Acquire, Release, Mb, Rmb, Wmb, Noreturn, ...
    location: str | None = None    # "x", "a[2]"; None for a fence
    value: int | None = None       # the value read or written
    line: int | None = None        # the spec line of the operation
    label: str | None = None       # the step label it belongs to
    text: str | None = None        # the operation as written, e.g. "r1 = READ_ONCE(x)"
    reads_from: int | None = None  # R: the id of the write it read
    co_index: int | None = None    # W: its position in its location's coherence order (0 = initial)
    rmw_pair: int | None = None    # the other half of an RMW

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "cpu": self.cpu, "index": self.index,
                             "kind": self.kind, "tags": list(self.tags)}
        for key in ("location", "value", "line", "label", "text", "reads_from", "co_index",
                    "rmw_pair"):
            v = getattr(self, key)
            if v is not None:
                d[key] = v
        return d


@dataclass(frozen=True)
class ExecutionTrace:
    """One execution the model allows: its events and the final values it ends with."""

    memory: str                                   # the axiomatic model: lkmm | sc | tso
    events: tuple[ExecEvent, ...]
    processes: tuple[str, ...]                    # CPUs in declaration order (the columns)
    final: dict[str, int] = field(default_factory=dict)   # final shared values and locals
    flagged: tuple[tuple[int, int], ...] = ()     # e.g. the two accesses of a data race

    def to_json(self) -> dict[str, Any]:
        return {"memory": self.memory, "processes": list(self.processes),
                "events": [e.to_json() for e in self.events], "final": dict(self.final),
                "flagged": [list(p) for p in self.flagged]}
