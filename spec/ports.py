"""How a step being lowered reaches its memory model (`spec.memory.base.Port`), and the usage
pass that tells a model which CPU touches which shared location.

`spec.lower` symbolically executes steps; every shared access of a CPU's step goes through a
`StepMemory` into the memory model, which works on the step through a `StepPort`. This module
sits above both `spec.elaborate` and `spec.memory`, so that the memory models need neither.
"""
from __future__ import annotations

import dataclasses
from typing import Protocol

from smp_explorer.ir import expr as ir
from smp_explorer.ir.expr import Const, Expr
from smp_explorer.ir.model import Check, Read, StepEvent
from smp_explorer.ir.span import Span
from smp_explorer.ir.types import ScalarT, SetT, Type
from smp_explorer.spec.elaborate import Context, Memory
from smp_explorer.spec.memory.base import (Location, MemoryModel, Port, SharedInfo,
                                           SlotAllocator, Usage)
from smp_explorer.spec.memory.sc import Sc
from smp_explorer.spec.scope import SlotDecl

CHOICE_BASE = 1 << 24  # pseudo-slots for nondeterministic choices, resolved when a step ends


class StepPath(Protocol):
    """What a memory model changes in the path being lowered (`spec.lower`'s path)."""

    env: dict[int, Expr]
    guard: list[Expr]
    checks: list[Check]
    choices: list[tuple[int, int]]
    stores: int
    slot_stores: dict[int, int]
    reads: list[Read]
    events: list[StepEvent]


class Lowering(Protocol):
    """What the ports need from the lowerer: its memory model and its range checks."""

    mm: MemoryModel
    stmt_span: Span | None  # the spec statement being lowered (not a prelude def's)

    def _text(self, span: Span) -> str: ...

    def range_check(self, p: StepPath, v: Expr, t: Type, name: str, span: Span | None,
                    when: Expr = ir.TRUE) -> None: ...


class StepPort:
    """The step being lowered, as the memory model sees it (`spec.memory.base.Port`)."""

    def __init__(self, lowerer: Lowering, path: StepPath, cpu: str, span: Span | None):
        self.lowerer = lowerer
        self.path = path
        self.cpu = cpu
        self.span = span or lowerer.stmt_span

    def read(self, slot: int) -> Expr:
        return self.path.env.get(slot, ir.Ref(slot))

    def write(self, slot: int, value: Expr) -> None:
        self.path.env[slot] = value

    def guard(self, cond: Expr) -> None:
        self.path.guard.append(cond)

    def check_range(self, loc: Location, value: Expr, when: Expr = ir.TRUE) -> None:
        self.lowerer.range_check(self.path, value, loc.type, loc.name, self.span, when)

    def choice(self, n: int) -> Expr:
        slot = CHOICE_BASE + len(self.path.choices)
        self.path.choices.append((slot, n))
        return ir.Ref(slot)

    def event(self, e: StepEvent) -> None:
        """Record a memory event (the axiomatic lowering), with the step's conditions so far,
        at the statement being lowered."""
        span = self.lowerer.stmt_span or self.span
        self.path.events.append(dataclasses.replace(
            e, ctrl=ir.conj(tuple(self.path.guard)), span=span,
            text=self.lowerer._text(span) if span is not None else ""))


class Recorder(Sc):
    """SC, noting which CPU touches which location how (`name`: the model the usage is for,
    for its error messages)."""

    def __init__(self, shared: SharedInfo, usage: Usage, alloc: SlotAllocator, capacity: int,
                 name: str = "sc"):
        super().__init__(shared, usage, alloc, capacity)
        self.name = name

    def load(self, port: Port, loc: Location, order: str) -> Expr:
        self.usage.note(self.usage.loads, port.cpu, loc)
        return super().load(port, loc, order)

    def store(self, port: Port, loc: Location, value: Expr, order: str) -> None:
        self.usage.note(self.usage.stores, port.cpu, loc)
        self._count(port, loc)
        super().store(port, loc, value, order)

    def _count(self, port: Port, loc: Location) -> None:
        if port.cpu:  # a CPU's buffered write; a TLA+-style action writes memory directly
            assert isinstance(port, StepPort)  # the lowerer makes every port
            path = port.path
            path.stores += 1
            if path.stores > self.usage.step_stores[0]:
                self.usage.step_stores = (path.stores, port.span)
            for slot in loc.slots:   # (a computed index may name any candidate)
                n = path.slot_stores[slot] = path.slot_stores.get(slot, 0) + 1
                if n > self.usage.step_location_stores[0]:
                    self.usage.step_location_stores = (n, port.span)

    def rmw(self, port: Port, loc: Location, name: str, operand: Expr, order: str,
            returns: bool) -> Expr | None:
        if returns or order != "unordered":
            self.usage.note(self.usage.loads, port.cpu, loc)
            self.usage.note(self.usage.rmws, port.cpu, loc)
        else:
            self.usage.note(self.usage.deferred, port.cpu, loc)
            self._count(port, loc)
            if isinstance(operand, Const):
                self.usage.operands.add(abs(operand.value))
        return super().rmw(port, loc, name, operand, order, returns)

    def cmpxchg(self, port: Port, loc: Location, expected: Expr, new: Expr, order: str,
                fail_order: str) -> Expr:
        self.usage.note(self.usage.loads, port.cpu, loc)
        self.usage.note(self.usage.rmws, port.cpu, loc)
        return super().cmpxchg(port, loc, expected, new, order, fail_order)

    def rmw_unless(self, port: Port, loc: Location, name: str, operand: Expr, unless: Expr,
                   order: str, fail_order: str) -> Expr:
        self.usage.note(self.usage.loads, port.cpu, loc)
        self.usage.note(self.usage.rmws, port.cpu, loc)
        return super().rmw_unless(port, loc, name, operand, unless, order, fail_order)


class SlotAdder:
    """Lets a memory model append slots of its own to the layout."""

    def __init__(self, slots: list[SlotDecl]):
        self.slots = slots

    def add(self, name: str, type: ScalarT | SetT, owner: str | None, var: str) -> int:
        self.slots.append(SlotDecl(name, type, owner, var, False, (type.values()[0],),
                                   internal=True))
        return len(self.slots) - 1


class StepMemory(Memory):
    """Shared accesses of a CPU's step go through the memory model."""

    def __init__(self, lowerer: Lowering, path: StepPath, cpu: str):
        self.lowerer, self.path, self.cpu = lowerer, path, cpu

    def port(self, span: Span | None = None) -> StepPort:
        return StepPort(self.lowerer, self.path, self.cpu, span)

    def load(self, ctx: Context, loc: Location, order: str) -> Expr:
        port = self.port()
        value = self.lowerer.mm.load(port, loc, self.lowerer.mm.order("load", order))
        self.note(port, loc, value, self.lowerer.mm.source(port, loc, value))
        return value

    def note(self, port: StepPort, loc: Location, value: Expr, source: Expr) -> None:
        """Record a load for traces (ir.model.Read); an atomic RMW reads memory."""
        shared = self.lowerer.mm.shared
        names = tuple(shared.names[shared.address[s]] for s in loc.slots) \
            if loc.index is not None else ()
        self.path.reads.append(Read(loc.name, value, source, loc.index, names))

    def rmw(self, ctx: Context, loc: Location, name: str, operand: Expr, order: str,
            span: Span) -> Expr:
        port = self.port(span)
        old = self.lowerer.mm.rmw(port, loc, name, operand, self.lowerer.mm.order("rmw", order),
                                  True)
        assert old is not None  # a value-returning RMW
        self.note(port, loc, old, Const(0))
        return old

    def cmpxchg(self, ctx: Context, loc: Location, expected: Expr, new: Expr, order: str,
                fail_order: str, span: Span) -> Expr:
        port = self.port(span)
        mm = self.lowerer.mm
        old = mm.cmpxchg(port, loc, expected, new, mm.order("rmw", order),
                         mm.order("fail", fail_order))
        self.note(port, loc, old, self.lowerer.mm.source(port, loc, old))
        return old

    def rmw_unless(self, ctx: Context, loc: Location, name: str, operand: Expr, unless: Expr,
                   order: str, fail_order: str, span: Span) -> Expr:
        port = self.port(span)
        mm = self.lowerer.mm
        old = mm.rmw_unless(port, loc, name, operand, unless, mm.order("rmw", order),
                            mm.order("fail", fail_order))
        self.note(port, loc, old, self.lowerer.mm.source(port, loc, old))
        return old

    def drained(self, ctx: Context) -> Expr:
        return self.lowerer.mm.step_drained(self.port())


class ObserverMemory(Memory):
    """Properties see memory as it is, and `drained()` asks the memory model."""

    def __init__(self, lowerer: Lowering):
        self.lowerer = lowerer

    def drained(self, ctx: Context) -> Expr:
        return self.lowerer.mm.drained(ctx.read)
