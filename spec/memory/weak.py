"""A weak, ARM-like, multi-copy-atomic model (memory-models.md, Decision 2).

Writes are buffered per CPU and per address exactly as in PSO. Reads may in addition return a
value older than the newest one: memory keeps, per location, the previous value, and a CPU that
has not yet observed the newest write of a location is *stale* on it and may still read the
previous value. A CPU stops being stale on a location when it reads the newest value (coherence:
it never goes back), and on every location at a read fence, an acquire load (for later reads),
an acquire or full RMW, a full fence or a serializing step (a relaxed or release RMW ends none:
`Pso.ordered_rmw`). When a write reaches memory every other CPU that reads the
location becomes stale on it, and the writer does not. There is one memory, so all CPUs see
writes in the same order (multi-copy atomic), and writes enter the buffers in program order after
earlier reads, so load buffering (LB) stays forbidden, a documented gap against ARMv8.
The history kept per location is one value deep: a bounded under-approximation of the values a
read may return.
"""
from __future__ import annotations

from typing import Callable

from smp_explorer.ir import expr as ir
from smp_explorer.ir.expr import Const, Expr, op
from smp_explorer.ir.types import BOOL, show_text
from smp_explorer.spec.memory.base import (Location, Port, SharedInfo, SlotAllocator, SlotRole,
                                           Usage, View, mem_read)
from smp_explorer.spec.memory.pso import Pso

CAVEAT = ("weak does not explore load buffering (LB), non-multi-copy-atomic propagation or "
          "release sequences: `--memory lkmm` checks the Linux-kernel memory model (LKMM) "
          "exactly")


class Weak(Pso):
    name = "weak"

    def __init__(self, shared: SharedInfo, usage: Usage, alloc: SlotAllocator, capacity: int):
        super().__init__(shared, usage, alloc, capacity)
        self.stale: dict[str, dict[int, int]] = {}   # cpu -> memory slot -> its stale flag
        self.prev: dict[int, int] = {}               # memory slot -> its previous value
        for cpu in self.cpus:
            for slot in sorted(self.usage.loads.get(cpu, set())):
                if self.usage.writers(slot) - {cpu}:  # only another CPU's write can age a view
                    name = self.shared.names[self.shared.address[slot]]
                    self.stale.setdefault(cpu, {})[slot] = self.add_slot(
                        f"{cpu}.stale[{name}]", BOOL, "view", SlotRole("stale", cpu, slot))
        for slot in sorted({s for flags in self.stale.values() for s in flags}):
            i = self.shared.address[slot]
            readers = tuple(flag for _, flag in self._readers(slot))
            self.prev[slot] = self.add_slot(f"{self.shared.names[i]}.previous",
                                            self.shared.types[i], "view",
                                            SlotRole("previous", None, slot, "value",
                                                     flags=readers))

    def _readers(self, slot: int) -> list[tuple[str, int]]:
        return [(cpu, flags[slot]) for cpu, flags in self.stale.items() if slot in flags]

    def _normalize(self, port: Port, slot: int) -> None:
        """The previous value matters only while someone may still read it: otherwise it is
        the type's first value (as in the initial state), so equal behaviours give equal
        states, and a permutation of a scalarset has no value to rename there."""
        if slot not in self.prev:
            return
        anyone = ir.disj(tuple(port.read(flag) for _, flag in self._readers(slot)))
        prev = self.prev[slot]
        empty = Const(self.shared.types[self.shared.address[slot]].values()[0])
        port.write(prev, op("ite", anyone, port.read(prev), empty))

    def clear_stale(self, port: Port, when: Expr = ir.TRUE) -> None:
        flags = self.stale.get(port.cpu, {})
        for slot, flag in flags.items():
            port.write(flag, ir.FALSE if when == ir.TRUE else
                       op("ite", when, ir.FALSE, port.read(flag)))
        for slot in flags:
            self._normalize(port, slot)

    def rmw_after(self, port: Port, order: str, when: Expr) -> None:
        # the read half of an acquire RMW orders every later read: no stale view survives it
        # (a full RMW cleared them before it acted, and its own write ages no view of its CPU)
        if order == "acquire":
            self.clear_stale(port, when)

    def load(self, port: Port, loc: Location, order: str) -> Expr:
        flags = self.stale.get(port.cpu, {})
        stale_somewhere = any(s in flags for s in loc.slots)
        old = port.choice(2) if stale_somewhere else None
        reads_old = op("eq", old, Const(1)) if old is not None else ir.FALSE
        values = []
        for k, slot in enumerate(loc.slots):
            here = loc.cond(k)
            has, fv = self.forwarded(port, slot)
            mem = port.read(slot)
            if slot in flags:
                flag, prev = flags[slot], self.prev[slot]
                may_read_old = ir.conj((op("not", has), port.read(flag),
                                        op("ne", port.read(prev), mem)))
                port.guard(ir.disj((op("not", here), op("not", reads_old), may_read_old)))
                values.append(op("ite", has, fv, op("ite", reads_old, port.read(prev), mem)))
                # reading the newest value from memory ends the stale view (coherence)
                saw_newest = ir.conj((here, op("not", has), op("not", reads_old)))
                port.write(flag, op("ite", saw_newest, ir.FALSE, port.read(flag)))
                self._normalize(port, slot)
            else:
                port.guard(ir.disj((op("not", here), op("not", reads_old))))
                values.append(op("ite", has, fv, mem))
        value = values[0] if loc.index is None else op("select", loc.index, *values)
        if order == "acquire":
            self.clear_stale(port)
        return value

    def source(self, port: Port, loc: Location, value: Expr) -> Expr:
        # a read from memory returns the newest value; the load's guard lets it return the
        # previous one only where that differs
        own = super().source(port, loc, value)
        mem = mem_read(port, loc)
        return op("ite", op("eq", own, Const(1)), Const(1),
                  op("ite", op("eq", value, mem), Const(0), Const(2)))

    def full_barrier_if(self, port: Port, cond: Expr) -> None:
        super().full_barrier_if(port, cond)
        self.clear_stale(port, cond)

    def fence(self, port: Port, kind: str) -> None:
        super().fence(port, kind)
        if kind in ("read", "full", "serialize"):
            self.clear_stale(port)

    def write_mem(self, port: Port, loc: Location, value: Expr, when: Expr = ir.TRUE) -> None:
        for k, slot in enumerate(loc.slots):
            here = ir.conj((when, loc.cond(k)))
            old = port.read(slot)
            changed = ir.conj((here, op("ne", value, old)))
            port.write(slot, op("ite", here, value, old))
            if slot in self.prev:
                prev = self.prev[slot]
                port.write(prev, op("ite", changed, old, port.read(prev)))
            for cpu, flag in self._readers(slot):
                if cpu == port.cpu:   # the writer has seen its own write
                    port.write(flag, op("ite", here, ir.FALSE, port.read(flag)))
                else:
                    port.write(flag, op("ite", changed, ir.TRUE, port.read(flag)))
            self._normalize(port, slot)

    def views(self) -> list[View]:
        views = super().views()
        for cpu, flags in self.stale.items():
            views.append(View(f"{cpu}.stale", cpu, self._render_stale(flags)))
        return views

    def _render_stale(self, flags: dict[int, int]) -> Callable[[tuple], list[str]]:
        names, types, address, prev = self.shared.names, self.shared.types, self.shared.address, \
            self.prev

        def render(state: tuple) -> list[str]:
            out = []
            for slot, flag in flags.items():
                if state[flag]:
                    i = address[slot]
                    out.append(f"{names[i]} may still read {show_text(types[i], state[prev[slot]])}")
            return out
        return render
