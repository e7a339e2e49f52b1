"""x86-TSO (Owens, Sarkar, Sewell 2009): a FIFO store buffer per CPU with store forwarding.

A store appends (address, value) to its CPU's buffer (waiting while it is full); a load takes the
newest buffered store to the same address, else memory; a separate flush step per CPU moves the
oldest entry to memory. MFENCE and serializing steps wait for an empty buffer; every RMW is
LOCK'd (empty buffer, atomic on memory); read and write fences are no-ops. After stores of its
own step, a fence or RMW flushes them at that point (spec.memory.base, "Draining inside a step").
"""
from __future__ import annotations

from typing import Callable

from smp_explorer.ir import expr as ir
from smp_explorer.ir.expr import Const, Expr, Ref, op
from smp_explorer.ir.types import IntT, show_text
from smp_explorer.spec.memory.base import (Assuming, Flush, Location, MemoryModel, Monitor, Port,
                                           SharedInfo, SlotAllocator, SlotRole, Usage, View, mem_read,
                                           mem_write)


class Tso(MemoryModel):
    name = "tso"
    orders_stores_across_locations = True

    def __init__(self, shared: SharedInfo, usage: Usage, alloc: SlotAllocator, capacity: int):
        super().__init__(shared, usage, alloc, capacity)
        K = self.capacity
        vt = self.shared.value_range()
        at = self.shared.address_type()
        self.buffers: dict[str, tuple[int, list[tuple[int, int]]]] = {}
        for cpu in self.cpus:
            if not self.usage.stores.get(cpu) and not self.usage.deferred.get(cpu):
                continue  # a CPU that never stores needs no buffer
            n = self.add_slot(f"{cpu}.sb.n", IntT(0, K), "store buffer", SlotRole("sb.n", cpu))
            entries = []
            for k in range(K):
                sa = self.add_slot(f"{cpu}.sb[{k}].addr", at, "store buffer",
                                   SlotRole(f"sb[{k}].addr", cpu, None, "address", n, k))
                sv = self.add_slot(f"{cpu}.sb[{k}].val", vt, "store buffer",
                                   SlotRole(f"sb[{k}].val", cpu, None, "value_at", n, k, sa))
                entries.append((sa, sv))
            self.buffers[cpu] = (n, entries)

    def load(self, port: Port, loc: Location, order: str) -> Expr:
        v = mem_read(port, loc)
        if port.cpu not in self.buffers:
            return v
        n, entries = self.buffers[port.cpu]
        a = self.shared.addr(loc)
        count = port.read(n)
        for k, (sa, sv) in enumerate(entries):  # ascending: the newest matching entry wins
            hit = ir.conj((op("lt", Const(k), count), op("eq", port.read(sa), a)))
            v = op("ite", hit, port.read(sv), v)
        return v

    def source(self, port: Port, loc: Location, value: Expr) -> Expr:
        if port.cpu not in self.buffers:
            return Const(0)
        n, entries = self.buffers[port.cpu]
        a = self.shared.addr(loc)
        hit = ir.disj(tuple(ir.conj((op("lt", Const(k), port.read(n)),
                                     op("eq", port.read(sa), a))) for k, (sa, _) in enumerate(entries)))
        return op("ite", hit, Const(1), Const(0))

    def store(self, port: Port, loc: Location, value: Expr, order: str) -> None:
        if port.cpu not in self.buffers:  # not a CPU: a TLA+-style action writes memory directly
            mem_write(port, loc, value)
            return
        n, entries = self.buffers[port.cpu]
        count = port.read(n)
        port.guard(op("lt", count, Const(self.capacity)))  # a full buffer makes the store wait
        a = self.shared.addr(loc)
        for k, (sa, sv) in enumerate(entries):
            hit = op("eq", count, Const(k))
            port.write(sa, op("ite", hit, a, port.read(sa)))
            port.write(sv, op("ite", hit, value, port.read(sv)))
        port.write(n, op("add", count, Const(1)))

    def fence(self, port: Port, kind: str) -> None:
        if kind in ("full", "serialize"):
            self.drain(port)

    def drain(self, port: Port, when: Expr = ir.TRUE) -> None:
        if port.cpu not in self.buffers:
            return
        n, entries = self.buffers[port.cpu]
        count = port.read(n)
        if count == Const(0):  # drained earlier in this step
            return
        before = op("eq", Ref(n), Const(0))
        port.guard(ir.disj((op("not", when), before)))
        if count == Ref(n):  # no store in this step yet: wait for an empty buffer
            return
        # the buffer holds this step's stores only: flush them all, oldest first
        view = Assuming(port, {n: Const(0)}, when)
        for _ in entries:
            flush = Assuming(view, {}, op("gt", view.read(n), Const(0)))
            if flush.when != ir.FALSE:
                self._pop(flush, n, entries)
                flush.commit()
        view.commit()

    def step_drained(self, port: Port) -> Expr:
        buffer = self.buffers.get(port.cpu)
        if buffer is not None and port.read(buffer[0]) not in (Ref(buffer[0]), Const(0)):
            # the step's own stores: still buffered, or flushed now (base module docstring)
            self.drain(port, op("eq", port.choice(2), Const(1)))
        return self.drained(port.read)

    def rmw(self, port: Port, loc: Location, name: str, operand: Expr, order: str,
            returns: bool) -> Expr | None:
        return self.locked_rmw(port, loc, name, operand)

    def drained(self, read: Callable[[int], Expr]) -> Expr:
        return ir.conj(tuple(op("eq", read(n), Const(0)) for n, _ in self.buffers.values()))

    def flushes(self) -> list[Flush]:
        return [Flush(cpu, f"{cpu}: flush", self._flush_body(cpu)) for cpu in self.buffers]

    def _flush_body(self, cpu: str) -> Callable[[Port], None]:
        n, entries = self.buffers[cpu]

        def body(port: Port) -> None:
            port.guard(op("gt", port.read(n), Const(0)))
            self._pop(port, n, entries)
        return body

    def _pop(self, port: Port, n: int, entries: list[tuple[int, int]]) -> None:
        """Move the oldest entry of a non-empty buffer to memory."""
        count = port.read(n)
        a0, v0 = port.read(entries[0][0]), port.read(entries[0][1])
        for i, slot in enumerate(self.shared.slots):
            port.write(slot, op("ite", op("eq", a0, Const(i)), v0, port.read(slot)))
        for k in range(len(entries) - 1):  # shift down; freed entries read as zero
            port.write(entries[k][0], port.read(entries[k + 1][0]))
            port.write(entries[k][1], port.read(entries[k + 1][1]))
        port.write(entries[-1][0], Const(0))
        port.write(entries[-1][1], Const(0))
        port.write(n, op("sub", count, Const(1)))

    def views(self) -> list[View]:
        views = []
        for cpu, (n, entries) in self.buffers.items():
            views.append(View(f"{cpu}.store_buffer", cpu, self._render(n, entries)))
        return views

    def _render(self, n: int, entries: list[tuple[int, int]]) -> Callable[[tuple], list[str]]:
        names, types = self.shared.names, self.shared.types

        def render(state: tuple) -> list[str]:
            out = []
            for sa, sv in entries[:state[n]]:
                a = state[sa]
                out.append(f"{names[a]}={show_text(types[a], state[sv])}")
            return out
        return render

    def monitors(self) -> list[Monitor]:
        if not self.buffers:
            return []
        full = ir.disj(tuple(op("eq", Ref(n), Const(self.capacity))
                             for n, _ in self.buffers.values()))
        return [Monitor("store buffer full", full,
                        f"a store buffer held {self.capacity} entries (--buffer {self.capacity}): "
                        "the verdicts hold for this capacity")]
