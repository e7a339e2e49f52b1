"""The Model: the single meaning of a spec, shared by every engine.

A fixed layout of finite-domain slots, the initial states, guarded actions (guard, simultaneous
updates, checks) and the properties. Engines never see statements, memory models or processes'
code: only this.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Iterator

from smp_explorer.ir.properties import Property
from smp_explorer.ir.expr import TRUE, Expr
from smp_explorer.ir.span import Span
from smp_explorer.ir.types import ScalarT, SetT, show_text, show_value


@dataclass(frozen=True)
class Slot:
    """One finite-domain component of the state."""

    index: int
    name: str            # "mfc", "ipi[1]", "Cpu[0].seen", "Cpu[0].pc"
    type: ScalarT | SetT # a scalar type, a set type, or (for a pc) the enum of its labels
    owner: str | None    # the process instance owning a local or pc; None for globals
    var: str             # the declared name ("ipi", "seen", "pc")
    shared: bool = False # accessed through the memory model
    is_pc: bool = False
    internal: bool = False  # a memory model's own slot (store buffer, view): shown via a View

    @property
    def lo(self) -> int:
        return self.type.values()[0]

    @property
    def hi(self) -> int:
        return self.type.values()[-1]

    def show(self, value: int) -> object:
        return show_value(self.type, value)

    def show_text(self, value: int) -> str:
        return show_text(self.type, value)


@dataclass(frozen=True)
class Check:
    """A condition that must hold when its action fires, else `property` is violated."""

    kind: str            # "assert" | "range"
    cond: Expr
    property: str
    message: str
    span: Span | None
    value: Expr | None = None  # for a range check: the value that would be stored


# Where a load's value came from (`Read.source` evaluates to an index into this).
READ_SOURCES = ("memory", "own buffer", "stale view")


@dataclass(frozen=True)
class Read:
    """A load a step performs, for traces only (the engines never look at it): expressions over
    the state the step starts from."""

    loc: str        # the location's name as written ("mfc", "ipi[1]" when the index is fixed)
    value: Expr
    source: Expr    # an index into READ_SOURCES
    index: Expr | None = None  # the element read, for a location chosen by an index
    names: tuple[str, ...] = ()  # the candidates' names, when `index` is set


@dataclass(frozen=True)
class StepEvent:
    """A memory event a step performs, for the axiomatic engines only (invariants/axiomatic):
    the operational lowering never makes one. In program order within the step."""

    kind: str                      # R | W | F
    tags: frozenset[str]           # the LKMM's tags (invariants.axiomatic.execution.TAGS)
    slots: tuple[int, ...] = ()    # the shared slots it may access (a fence: none)
    index: Expr | None = None      # which of `slots` (None: the only one)
    value: Expr | None = None      # R: a Ref to the slot holding the value read; W: the value
    when: Expr = TRUE              # within the step, it happens where this holds (cmpxchg)
    ctrl: Expr = TRUE              # the step's conditions before it (its `if`s, `await`s)
    rmw: bool = False              # a W: the write half of an RMW whose read is just before
    deps: tuple[Expr, ...] = ()    # more expressions its value depends on (an RMW's operand)
    span: Span | None = None
    text: str = ""
    srcu: int | None = None        # an SRCU fence: the slot naming its srcu_struct
    serializing: bool = False      # fence(serialize): F[Mb] to sc/tso, no LKMM meaning


@dataclass(frozen=True)
class Action:
    """A guarded action: one alternative of a step (or one TLA+-style action instance).

    Order of evaluation (every engine and the Z3 encoding follow it; docs/language.md section
    13): first the guard, as a conjunction evaluated left to right with short circuit, its
    program-counter test first and then the other conjuncts in the order the lowering wrote
    them, which is program order (the `if` conditions that select the path and the `await`s);
    a partial operation that fails in a conjunct reached that way (every earlier conjunct held)
    fails the step with a runtime error, whatever the later conjuncts would give. Only where the
    whole guard holds are the checks evaluated, in order (the first failing one ends the step),
    then the updates (simultaneously); a failing operation there is also a runtime error. So a
    false `await` later in the step prevents the step's assertions and assignments from being
    evaluated, but not the conditions written before it. An engine may test a conjunct early
    (as a mask or a known slot value) only if no conjunct before it can fail
    (`explorer.engines.scalar.split_guard`)."""

    index: int
    name: str                        # "Cpu[0]: fetch" or "RMPrepare(r1)"
    process: str | None              # the process instance, None for a TLA+-style action
    label: str | None                # the label the step starts at
    span: Span | None
    guard: Expr
    updates: tuple[tuple[int, Expr], ...]
    checks: tuple[Check, ...] = ()
    reads: tuple[Read, ...] = ()     # for traces: the loads of the step, in program order
    events: tuple[StepEvent, ...] = ()  # axiomatic lowering only: its memory events in order


@dataclass(frozen=True)
class Fairness:
    """A fairness constraint on a group of actions (docs/language.md, "Liveness").

    weak: a run in which some action of the group is enabled from some point on forever takes
    one of them infinitely often; strong: a run in which one is enabled infinitely often takes
    one infinitely often. `memory`: a memory model's flushes (buffer fairness, which
    `--no-buffer-fairness` turns off)."""

    name: str                 # "Cpu[0]", "Cpu[0]: acquire #2", "Cpu[0]: flush"
    strong: bool
    actions: frozenset[int]   # Action.index values
    memory: bool = False


@dataclass(frozen=True)
class ProcessInstance:
    name: str                         # "Cpu[1]" or "Patcher"
    proc: str                         # "Cpu"
    id: int | None                    # the parameter value, None for a single process
    pc_slot: int
    labels: tuple[str, ...]           # the pc's values; the last one is "Done"
    label_spans: dict[str, Span] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return len(self.labels) - 1


@dataclass(frozen=True)
class Model:
    name: str
    slots: tuple[Slot, ...]
    init_values: tuple[tuple[int, ...], ...]   # per slot, its possible initial values
    actions: tuple[Action, ...]
    processes: tuple[ProcessInstance, ...]
    properties: tuple[Property, ...]
    source: str = ""                           # the spec text, for reports
    memory: str = "sc"
    views: tuple = ()                          # memory-model state rendered for people
    monitors: tuple = ()                       # (name, expr, note): reachability reported in stats
    buffer: int = 0                            # store-buffer capacity the model was built with
    liveness: tuple[Property, ...] = ()        # Kind.LIVENESS, checked by explorer.liveness
    fairness: tuple[Fairness, ...] = ()

    def initial_states(self) -> Iterator[tuple[int, ...]]:
        """Every initial state, in a fixed order (the first slot varies slowest)."""
        return itertools.product(*self.init_values)

    def initial_state_count(self) -> int:
        n = 1
        for vals in self.init_values:
            n *= len(vals)
        return n

    def property(self, name: str) -> Property:
        for p in self.properties:
            if p.name == name:
                return p
        raise KeyError(name)

    def describe(self, state: tuple[int, ...]) -> dict[str, object]:
        """The state as a flat name -> display value mapping (JSON-ready); a memory model's own
        slots appear through its views (store buffers, stale views)."""
        out: dict[str, object] = {s.name: s.show(state[s.index]) for s in self.slots
                                  if not s.internal}
        for v in self.views:
            out[v.name] = v.render(state)
        return out

    def owner_of(self, name: str) -> str | None:
        for s in self.slots:
            if s.name == name:
                return s.owner
        for v in self.views:
            if v.name == name:
                return v.owner
        return None
