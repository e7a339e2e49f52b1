"""How a step being lowered reaches its memory model (`spec.memory.base.Port`), and the usage
pass that tells a model which CPU touches which shared location.

`spec.lower` symbolically executes steps; every shared access of a CPU's step goes through a
`StepMemory` into the memory model, which works on the step through a `StepPort`.
"""
from __future__ import annotations

from smp_explorer.ir import expr as ir
from smp_explorer.ir.expr import Const, Expr
from smp_explorer.spec.elaborate import Memory
from smp_explorer.ir.span import Span
from smp_explorer.spec.memory.base import Location
from smp_explorer.spec.memory.sc import Sc
from smp_explorer.ir.types import Type

CHOICE_BASE = 1 << 24  # pseudo-slots for nondeterministic choices, resolved when a step ends


class Recorder(Sc):
    """SC, noting which CPU touches which location how."""

    def load(self, port, loc, order):
        self.usage.note(self.usage.loads, port.cpu, loc)
        return super().load(port, loc, order)

    def store(self, port, loc, value, order):
        self.usage.note(self.usage.stores, port.cpu, loc)
        self._count(port)
        super().store(port, loc, value, order)

    def _count(self, port) -> None:
        if port.cpu:  # a CPU's buffered write; a TLA+-style action writes memory directly
            port.path.stores += 1
            if port.path.stores > self.usage.step_stores[0]:
                self.usage.step_stores = (port.path.stores, port.span)

    def rmw(self, port, loc, name, operand, order, returns):
        if returns or order != "unordered":
            self.usage.note(self.usage.loads, port.cpu, loc)
            self.usage.note(self.usage.rmws, port.cpu, loc)
        else:
            self.usage.note(self.usage.deferred, port.cpu, loc)
            self._count(port)
            if isinstance(operand, Const):
                self.usage.operands.add(abs(operand.value))
        return super().rmw(port, loc, name, operand, order, returns)

    def cmpxchg(self, port, loc, expected, new, order, fail_order):
        self.usage.note(self.usage.loads, port.cpu, loc)
        self.usage.note(self.usage.rmws, port.cpu, loc)
        return super().cmpxchg(port, loc, expected, new, order, fail_order)

    def rmw_unless(self, port, loc, name, operand, unless, order, fail_order):
        self.usage.note(self.usage.loads, port.cpu, loc)
        self.usage.note(self.usage.rmws, port.cpu, loc)
        return super().rmw_unless(port, loc, name, operand, unless, order, fail_order)


class SlotAdder:
    """Lets a memory model append slots of its own to the layout."""

    def __init__(self, slots: list):
        self.slots = slots

    def add(self, name: str, type: Type, owner: str | None, var: str) -> int:
        from smp_explorer.spec.checker import SlotDecl
        self.slots.append(SlotDecl(name, type, owner, var, False, (type.values()[0],),  # type: ignore[union-attr]
                                   internal=True))
        return len(self.slots) - 1


class StepPort:
    """The step being lowered, as the memory model sees it (`spec.memory.base.Port`)."""

    def __init__(self, lowerer, path, cpu: str, span: Span | None):
        self.lowerer = lowerer
        self.path = path
        self.cpu = cpu
        self.span = span

    def read(self, slot: int) -> Expr:
        return self.path.env.get(slot, ir.Ref(slot))

    def write(self, slot: int, value: Expr) -> None:
        self.path.env[slot] = value

    def guard(self, cond: Expr) -> None:
        self.path.guard.append(cond)

    def check_range(self, loc: Location, value: Expr, when: Expr = ir.TRUE) -> None:
        self.lowerer._range_check(self.path, value, loc.type, loc.name, self.span, when)

    def choice(self, n: int) -> Expr:
        slot = CHOICE_BASE + len(self.path.choices)
        self.path.choices.append((slot, n))
        return ir.Ref(slot)


class StepMemory(Memory):
    """Shared accesses of a CPU's step go through the memory model."""

    def __init__(self, lowerer, path, cpu: str):
        self.lowerer, self.path, self.cpu = lowerer, path, cpu

    def port(self, span: Span | None = None) -> StepPort:
        return StepPort(self.lowerer, self.path, self.cpu, span)

    def load(self, ctx, loc, order):
        return self.lowerer.mm.load(self.port(), loc, order)

    def rmw(self, ctx, loc, name, operand, order, span):
        return self.lowerer.mm.rmw(self.port(span), loc, name, operand, order, True)

    def cmpxchg(self, ctx, loc, expected, new, order, fail_order, span):
        return self.lowerer.mm.cmpxchg(self.port(span), loc, expected, new, order, fail_order)

    def rmw_unless(self, ctx, loc, name, operand, unless, order, fail_order, span):
        return self.lowerer.mm.rmw_unless(self.port(span), loc, name, operand, unless, order,
                                          fail_order)

    def drained(self, ctx):
        return self.lowerer.mm.step_drained(self.port())


class ObserverMemory(Memory):
    """Properties see memory as it is, and `drained()` asks the memory model."""

    def __init__(self, lowerer):
        self.lowerer = lowerer

    def drained(self, ctx):
        return self.lowerer.mm.drained(ctx.read)
