"""Plain result objects of a run; they serialise to JSON and know nothing of the terminal."""
from __future__ import annotations

import resource
import sys
from dataclasses import dataclass, field
from typing import Any, Sequence

from smp_explorer.runs.executions import ExecutionTrace
from smp_explorer.spec.memory import caveat

SCHEMA_VERSION = 1

# `check` says holds | violated | unreached | unknown; `prove` adds proved and not-inductive,
# `bmc` adds bounded (nothing found up to the depth); an axiomatic run (lkmm) says bounded when an
# execution reached its loop-unrolling bound, so "holds" could not be concluded.
FAILED_STATUSES = ("violated", "unreached", "not-inductive")


@dataclass
class Step:
    """One row of a trace: the step taken and the state after it (the initial state first)."""

    process: str | None
    label: str | None
    line: int | None
    action: str | None
    state: dict[str, Any]
    changed: list[str] = field(default_factory=list)
    failed: str | None = None  # the step could not complete: why (its state is the state before)
    # the step's loads in program order: {"loc", "value", "from": memory | own buffer | stale
    # view, "store": {"cpu", "line"} of the store the value came from, None: the initial value}
    reads: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"process": self.process, "label": self.label, "line": self.line,
                             "state": self.state}
        if self.action is not None:
            d["action"] = self.action
        if self.changed:
            d["changed"] = self.changed
        if self.failed is not None:
            d["failed"] = self.failed
        if self.reads:
            d["reads"] = self.reads
        return d


@dataclass
class Trace:
    steps: list[Step]
    owners: dict[str, str | None]  # slot name -> owning process instance (None: global)
    processes: list[str]           # process instances, in declaration order
    labels: dict[str, list[str]] = field(default_factory=dict)  # instance -> labels in order
    # a lasso (liveness counterexample): after the last step the run goes back to the state of
    # steps[loop_start] and repeats the steps after it forever (the last step itself, if it is
    # the loop start: the run stays in that end state)
    loop_start: int | None = None

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.steps]

    def __len__(self) -> int:
        """The number of steps taken (the initial state is not a step)."""
        return len(self.steps) - 1


@dataclass
class PropertyResult:
    name: str
    kind: str                   # invariant | assertion | runtime | deadlock | reachable
    status: str                 # holds | violated | unreached | unknown
    description: str = ""
    line: int | None = None
    message: str | None = None  # why it was violated
    trace: Trace | None = None  # counterexample (violated) or witness (reachable, holds)
    # (invariants/: Z3) the last state's slot values that alone make the invariant false:
    # [{"slot", "value", "text"}]
    explanation: list[dict[str, Any]] | None = None
    may_be_unreachable: bool = False  # the trace is a counterexample to induction (prove)
    warning: str | None = None        # e.g. the invariant is valid: it checks nothing
    execution: ExecutionTrace | None = None  # axiomatic models: the counterexample execution

    @property
    def failed(self) -> bool:
        """Violated, a goal never reached, or (prove) not inductive: exit status 1."""
        return self.status in FAILED_STATUSES

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "kind": self.kind, "status": self.status,
                             "trace": self.trace.to_json() if self.trace is not None else None}
        if self.line is not None:
            d["line"] = self.line
        if self.message:
            d["message"] = self.message
        if self.explanation is not None:
            d["explanation"] = self.explanation
        if self.may_be_unreachable:
            d["may_be_unreachable"] = True
        if self.warning:
            d["warning"] = self.warning
        if self.trace is not None and self.trace.loop_start is not None:
            d["loop"] = self.trace.loop_start
        if self.execution is not None:
            d["execution"] = self.execution.to_json()
        return d


@dataclass
class LivenessStats:
    """The liveness stage's cost: building the graph of every step, then the fair cycles."""
    seconds: float = 0.0          # the whole stage
    graph_seconds: float = 0.0    # the graph (including its code generation)
    states: int = 0               # of the graph (0: it hit a limit)
    edges: int = 0

    @property
    def analysis_seconds(self) -> float:
        return max(0.0, self.seconds - self.graph_seconds)

    def to_json(self) -> dict[str, Any]:
        return {"seconds": round(self.seconds, 6), "graph_seconds": round(self.graph_seconds, 6),
                "analysis_seconds": round(self.analysis_seconds, 6), "states": self.states,
                "edges": self.edges}


@dataclass
class Stats:
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    initial_states: int = 0
    coverage: dict[str, int] = field(default_factory=dict)  # step name -> times fired
    notes: list[str] = field(default_factory=list)  # e.g. a store buffer reached its capacity
    reductions: list[str] = field(default_factory=list)  # which reductions ran, what they saved
    peak_memory: int = 0          # the process's peak resident memory after the run, bytes
    # the liveness stage after the search (`seconds` is the search's only): None if it did not run
    liveness: LivenessStats | None = None
    # facts about the engine, not part of the result's JSON
    engine: str = ""              # which engine ran: reference | scalar | vector | auto
    storage: str = ""             # how states were stored (exact, fingerprint, ...)
    bytes_per_state: float = 0.0  # the engine's own estimate of its storage per state
    codegen_seconds: float = 0.0  # generating and compiling the model's code (all generators)
    code_bytes: int = 0           # the size of that generated source

    @property
    def rate(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else 0.0

    @property
    def never_fired(self) -> list[str]:
        return [name for name, n in self.coverage.items() if n == 0]


@dataclass
class RunResult:
    """One spec under one memory model, checked by one engine: `explore` (the `check`
    command: a breadth-first search), `prove` (k-induction up to `k`), `bmc` (bounded model
    checking up to `depth`) or `axiomatic` (an axiomatic memory model such as lkmm, loops
    unrolled up to `unroll`). The symbolic engines fill only `seconds` and `notes` of
    `stats`."""

    spec: str
    memory: str
    complete: bool              # False: a limit left the search unfinished
    stop_reason: str            # exhausted | all decided | first violation | max-states | ...
    stats: Stats
    properties: list[PropertyResult]
    engine: str = "explore"
    k: int | None = None        # prove: induction depths 1..k were tried
    depth: int | None = None    # bmc: traces of at most `depth` steps were searched
    unroll: int | None = None   # axiomatic: loops were unrolled up to `unroll` iterations

    @property
    def violated(self) -> bool:
        return any(p.failed for p in self.properties)

    @property
    def undecided(self) -> bool:
        """A property unknown (a limit stopped the run), or `bounded` under an axiomatic model
        (an execution reached the --unroll bound: `holds` was not concluded). bmc's own
        `bounded` (nothing up to the depth asked for) is its answer, not undecided."""
        return any(p.status == "unknown" or (p.status == "bounded" and self.engine == "axiomatic")
                   for p in self.properties)

    @property
    def statuses(self) -> dict[str, str]:
        """Each property's name and status (`holds`, `violated`, ...), in report order."""
        return {p.name: p.status for p in self.properties}

    def get(self, name: str) -> PropertyResult:
        """The result of the property called `name` (KeyError if there is none)."""
        for p in self.properties:
            if p.name == name:
                return p
        raise KeyError(f"no property {name!r} (known: {', '.join(self.statuses)})")

    def to_json(self) -> dict[str, Any]:
        said = caveat(self.memory)
        note = {"caveat": said} if said else {}
        if self.engine != "explore":
            bound = {"k": self.k} if self.engine == "prove" else \
                {"unroll": self.unroll} if self.engine == "axiomatic" else {"depth": self.depth}
            # an axiomatic run's notes say what it did not check (liveness, ...)
            notes = {"notes": self.stats.notes} if self.engine == "axiomatic" else {}
            return {"memory": self.memory, **note, "engine": self.engine, **bound,
                    "complete": self.complete, "seconds": round(self.stats.seconds, 6),
                    **notes, "properties": [p.to_json() for p in self.properties]}
        return {"memory": self.memory, **note, "states": self.stats.states,
                "transitions": self.stats.transitions, "depth": self.stats.depth,
                "complete": self.complete, "stop_reason": self.stop_reason,
                "seconds": round(self.stats.seconds, 6),
                "coverage": self.stats.coverage,
                "peak_memory_bytes": self.stats.peak_memory,
                "codegen_seconds": round(self.stats.codegen_seconds, 6),
                "generated_code_bytes": self.stats.code_bytes,
                "notes": self.stats.notes,
                **({"reductions": self.stats.reductions} if self.stats.reductions else {}),
                **({"liveness": self.stats.liveness.to_json()} if self.stats.liveness else {}),
                "properties": [p.to_json() for p in self.properties]}


def peak_memory_bytes() -> int:
    """The process's peak resident memory so far (getrusage: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def mebibytes(n: int) -> str:
    return f"{n / 2 ** 20:,.0f} MiB"


def exit_status(results: Sequence[RunResult]) -> int:
    """1: a property violated, a goal unreached or an induction failed; 3: a limit left
    something undecided (an axiomatic model's --unroll bound included); else 0. The same for every engine and any mix of them."""
    if any(r.violated for r in results):
        return 1
    if any(r.undecided for r in results):
        return 3
    return 0


def document(spec: str, results: Sequence[RunResult]) -> dict[str, Any]:
    return {"version": SCHEMA_VERSION, "spec": spec, "results": [r.to_json() for r in results]}
