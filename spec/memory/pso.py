"""PSO (SPARC partial store order): a FIFO per CPU and per address, so stores to different
addresses may become visible out of program order; smp_wmb orders them.

Each buffered entry carries the write-barrier group it was stored in. Groups are kept dense and
start at 0 (renumbered after every flush), so equal behaviours give equal states: an entry may
flush only when it is the head of its FIFO and in group 0; a write fence opens a new group when
the current one is not empty. A full fence or serializing step waits for all of the CPU's FIFOs
to drain. A fully ordered RMW is a full barrier acting atomically on memory; a relaxed,
acquire or release one acts atomically on memory with only the ordering its name gives it
(`ordered_rmw`); an unordered non-value-returning RMW (Linux-generic atomic_inc) is buffered as
a deferred operation that its flush applies to memory, and a later load of that address by
the same CPU waits until it has drained (memory-models.md, Decision 5). After stores of its own
step, a full fence or barrier RMW moves them to memory at that point (spec.memory.base,
"Draining inside a step").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from smp_explorer.ir import expr as ir
from smp_explorer.ir.expr import Const, Expr, Ref, op
from smp_explorer.ir.types import IntT, show_text
from smp_explorer.spec.memory.base import (Assuming, Flush, Location, MemoryModel, Monitor, Port,
                                           SharedInfo, SlotAllocator, SlotRole, Usage, View,
                                           apply_op,
                                           mem_read, mem_write)

KINDS = ("store", "add", "sub", "and", "or", "xor")  # what a buffered entry does when flushed


@dataclass
class Fifo:
    n: int                  # number of pending entries
    val: list[int]          # per entry: the value (or the operand of a deferred operation)
    group: list[int]        # per entry: its write-barrier group
    kind: list[int] | None  # per entry: KINDS index, when deferred operations can occur


class Pso(MemoryModel):
    name = "pso"

    def __init__(self, shared: SharedInfo, usage: Usage, alloc: SlotAllocator, capacity: int):
        super().__init__(shared, usage, alloc, capacity)
        K = self.capacity
        operands = tuple(self.usage.operands) + tuple(-x for x in self.usage.operands)
        vt = self.shared.value_range(operands)
        self.fifos: dict[str, dict[int, Fifo]] = {}
        self.current: dict[str, int] = {}
        for cpu in self.cpus:
            stored = sorted(self.usage.stores.get(cpu, set()) | self.usage.deferred.get(cpu, set()))
            if not stored:
                continue
            groups = IntT(0, K * len(stored))
            fifos = {}
            for slot in stored:
                name = self.shared.names[self.shared.address[slot]]
                base = f"{cpu}.sb[{name}]"
                deferred = slot in self.usage.deferred.get(cpu, set())
                n = self.add_slot(f"{base}.n", IntT(0, K), "store buffer",
                                  SlotRole("sb.n", cpu, slot))
                fifos[slot] = Fifo(
                    n,
                    [self.add_slot(f"{base}[{k}].val", vt, "store buffer",
                                   SlotRole(f"sb[{k}].val", cpu, slot, "value", n, k))
                     for k in range(K)],
                    [self.add_slot(f"{base}[{k}].group", groups, "store buffer",
                                   SlotRole(f"sb[{k}].group", cpu, slot)) for k in range(K)],
                    [self.add_slot(f"{base}[{k}].op", IntT(0, len(KINDS) - 1), "store buffer",
                                   SlotRole(f"sb[{k}].op", cpu, slot))
                     for k in range(K)] if deferred else None)
            self.fifos[cpu] = fifos
            self.current[cpu] = self.add_slot(f"{cpu}.sb.group", groups, "store buffer",
                                              SlotRole("sb.group", cpu))

    # ---- loads -----------------------------------------------------------------------------
    def forwarded(self, port: Port, slot: int) -> tuple[Expr, Expr]:
        """(has a buffered entry, the newest buffered value) for one address of this CPU."""
        fifo = self.fifos.get(port.cpu, {}).get(slot)
        if fifo is None:
            return ir.FALSE, Const(0)
        if fifo.kind is not None and port.read(fifo.n) not in (Ref(fifo.n), Const(0)):
            # a deferred RMW this step made here: the load waits for it, so it drains the step's
            # stores like a fence (spec.memory.base, "Draining inside a step")
            count = port.read(fifo.n)
            self.drain(port, ir.disj(tuple(
                ir.conj((op("lt", Const(k), count), op("ne", port.read(fifo.kind[k]), Const(0))))
                for k in range(self.capacity))))
        count = port.read(fifo.n)
        v: Expr = Const(0)
        for k in range(self.capacity):
            v = op("ite", op("lt", Const(k), count), port.read(fifo.val[k]), v)
        if fifo.kind is not None:  # a pending deferred operation: the load waits for it
            for k in range(self.capacity):
                port.guard(ir.disj((op("ge", Const(k), count),
                                    op("eq", port.read(fifo.kind[k]), Const(0)))))
        return op("gt", count, Const(0)), v

    def load(self, port: Port, loc: Location, order: str) -> Expr:
        values = []
        for k, slot in enumerate(loc.slots):
            has, v = self.forwarded(port, slot)
            values.append(op("ite", has, v, port.read(slot)))
        return values[0] if loc.index is None else op("select", loc.index, *values)

    def source(self, port: Port, loc: Location, value: Expr) -> Expr:
        fifos = self.fifos.get(port.cpu, {})
        parts = [op("ite", op("gt", port.read(fifos[slot].n), Const(0)), Const(1), Const(0))
                 if slot in fifos else Const(0) for slot in loc.slots]
        return parts[0] if loc.index is None else op("select", loc.index, *parts)

    # ---- stores ----------------------------------------------------------------------------
    def store(self, port: Port, loc: Location, value: Expr, order: str) -> None:
        if port.cpu not in self.fifos:
            mem_write(port, loc, value)
            return
        if order == "release":  # a release store is ordered after every earlier store
            self.write_fence(port)
        self._append(port, loc, value, 0)

    def _append(self, port: Port, loc: Location, value: Expr, kind: int) -> None:
        cur = port.read(self.current[port.cpu])
        for k, slot in enumerate(loc.slots):
            fifo = self.fifos[port.cpu][slot]
            here = loc.cond(k)
            count = port.read(fifo.n)
            port.guard(ir.disj((op("not", here), op("lt", count, Const(self.capacity)))))
            for j in range(self.capacity):
                hit = ir.conj((here, op("eq", count, Const(j))))
                port.write(fifo.val[j], op("ite", hit, value, port.read(fifo.val[j])))
                port.write(fifo.group[j], op("ite", hit, cur, port.read(fifo.group[j])))
                if fifo.kind is not None:
                    port.write(fifo.kind[j], op("ite", hit, Const(kind), port.read(fifo.kind[j])))
            port.write(fifo.n, op("ite", here, op("add", count, Const(1)), count))

    def _pending_in(self, port: Port, cpu: str, group: Expr) -> Expr:
        """Whether some pending entry of the CPU is in `group`."""
        parts = []
        for fifo in self.fifos[cpu].values():
            count = port.read(fifo.n)
            for k in range(self.capacity):
                parts.append(ir.conj((op("lt", Const(k), count),
                                      op("eq", port.read(fifo.group[k]), group))))
        return ir.disj(tuple(parts))

    def write_fence(self, port: Port) -> None:
        if port.cpu not in self.fifos:
            return
        cur_slot = self.current[port.cpu]
        cur = port.read(cur_slot)
        port.write(cur_slot, op("ite", self._pending_in(port, port.cpu, cur),
                                op("add", cur, Const(1)), cur))

    def empty(self, port: Port, cpu: str) -> Expr:
        return ir.conj(tuple(op("eq", port.read(f.n), Const(0))
                             for f in self.fifos.get(cpu, {}).values()))

    def fence(self, port: Port, kind: str) -> None:
        if kind == "write":
            self.write_fence(port)
        elif kind in ("full", "serialize"):
            self.drain(port)

    def drain(self, port: Port, when: Expr = ir.TRUE) -> None:
        fifos = self.fifos.get(port.cpu, {})
        counts = [port.read(f.n) for f in fifos.values()]
        if all(c == Const(0) for c in counts):  # nothing buffered, or drained earlier in this step
            return
        if all(c == Ref(f.n) for c, f in zip(counts, fifos.values())):
            # no store in this step yet: wait until the buffers are empty
            port.guard(ir.disj((op("not", when), self.empty(port, port.cpu))))
            return
        before: dict[int, Expr] = {f.n: Const(0) for f in fifos.values()}
        port.guard(ir.disj((op("not", when), ir.conj(tuple(op("eq", Ref(n), Const(0))
                                                             for n in before)))))
        # the buffers hold this step's stores only: each location's FIFO goes to memory in order
        # (the order among locations cannot be observed inside the step)
        view = Assuming(port, before, when)
        for slot, fifo in fifos.items():
            for _ in range(self.capacity):
                flush = Assuming(view, {}, op("gt", view.read(fifo.n), Const(0)))
                if flush.when != ir.FALSE:
                    self._pop(flush, slot)
                    flush.commit()
        group = self.current[port.cpu]
        if port.read(group) != Ref(group):  # a write fence in this step: empty buffers are in
            view.write(group, Const(0))      # group 0, as after the flushes
        view.commit()

    def step_drained(self, port: Port) -> Expr:
        fifos = self.fifos.get(port.cpu, {})
        if any(port.read(f.n) not in (Ref(f.n), Const(0)) for f in fifos.values()):
            # the step's own stores: still buffered, or flushed now (base module docstring)
            self.drain(port, op("eq", port.choice(2), Const(1)))
        return self.drained(port.read)

    # ---- read-modify-writes -----------------------------------------------------------------
    def rmw(self, port: Port, loc: Location, name: str, operand: Expr, order: str,
            returns: bool) -> Expr | None:
        if order == "full":
            return self.locked_rmw(port, loc, name, operand)
        if returns or order != "unordered" or port.cpu not in self.fifos:
            return self.ordered_rmw(port, loc, name, operand, order)
        if name == "xchg":
            self._append(port, loc, operand, 0)
        else:
            self._append(port, loc, operand, KINDS.index(name))
        return None

    def ordered_rmw(self, port: Port, loc: Location, name: str, operand: Expr, order: str,
                    when: Expr = ir.TRUE) -> Expr:
        """A relaxed, acquire or release RMW (Documentation/atomic_t.txt): one atomic step on
        memory, ordered as its name says and no more. Returns the value read."""
        self.rmw_before(port, loc, order, when)
        old = mem_read(port, loc)
        new = apply_op(name, old, operand)
        port.check_range(loc, new, when)
        self.write_mem(port, loc, new, when)
        self.rmw_after(port, order, when)
        return old

    def rmw_before(self, port: Port, loc: Location, order: str, when: Expr) -> None:
        """What an RMW of `order` waits for before it acts on memory, where `when` holds.

        full and release: every earlier store of the CPU has reached memory (a release write is
        ordered after all earlier accesses; loads are never delayed in these models). relaxed and
        acquire: only what the write itself must follow: the CPU's pending stores to the same
        location (coherence) and stores before a write fence (smp_wmb orders them before every
        later store); with write-barrier groups dense from 0 (module docstring) the latter is
        "the current group is 0". Stores the same step made that it must wait for are drained
        with all of the step's stores (spec.memory.base, "Draining inside a step")."""
        if order == "full":
            self.full_barrier_if(port, when)
            return
        if order == "release":
            self.drain(port, when)
            return
        fifos = self.fifos.get(port.cpu, {})
        group = self.current.get(port.cpu)
        mine = [(loc.cond(k), fifos[s]) for k, s in enumerate(loc.slots) if s in fifos]
        if any(port.read(f.n) != Ref(f.n) for _, f in mine) or \
                group is not None and port.read(group) != Ref(group):
            self.drain(port, when)   # this step stored here or fenced: drain its stores
            return
        waits = [ir.disj((op("not", here), op("eq", port.read(f.n), Const(0))))
                 for here, f in mine]
        if group is not None:
            waits.append(op("eq", port.read(group), Const(0)))
        port.guard(ir.disj((op("not", when), ir.conj(tuple(waits)))))

    def rmw_after(self, port: Port, order: str, when: Expr) -> None:
        """What an RMW of `order` orders after it (the weak model clears stale views)."""

    def cmpxchg(self, port: Port, loc: Location, expected: Expr, new: Expr, order: str,
                fail_order: str) -> Expr:
        # success: a full barrier and one atomic step on memory; failure, when the failure
        # ordering is unordered: a plain load that saw another value (atomic_t.txt)
        if fail_order != "unordered":
            return super().cmpxchg(port, loc, expected, new, order, fail_order)
        ok = op("eq", port.choice(2), Const(0))
        self.rmw_before(port, loc, order, ok)
        old = op("ite", ok, mem_read(port, loc), self.load(port, loc, "plain"))
        port.guard(op("ite", ok, op("eq", old, expected), op("ne", old, expected)))
        port.check_range(loc, new, ok)
        self.write_mem(port, loc, new, ok)
        self.rmw_after(port, order, ok)
        return old

    def rmw_unless(self, port: Port, loc: Location, name: str, operand: Expr, unless: Expr,
                   order: str, fail_order: str) -> Expr:
        if fail_order != "unordered":
            return super().rmw_unless(port, loc, name, operand, unless, order, fail_order)
        ok = op("eq", port.choice(2), Const(0))
        self.rmw_before(port, loc, order, ok)
        old = op("ite", ok, mem_read(port, loc), self.load(port, loc, "plain"))
        port.guard(op("ite", ok, op("ne", old, unless), op("eq", old, unless)))
        new = apply_op(name, old, operand)
        port.check_range(loc, new, ok)
        self.write_mem(port, loc, new, ok)
        self.rmw_after(port, order, ok)
        return old

    def full_barrier_if(self, port: Port, cond: Expr) -> None:
        """A full barrier on the paths where `cond` holds (a conditional RMW that succeeds)."""
        self.drain(port, cond)

    def drained(self, read: Callable[[int], Expr]) -> Expr:
        return ir.conj(tuple(op("eq", read(f.n), Const(0))
                             for fifos in self.fifos.values() for f in fifos.values()))

    # ---- flushes -----------------------------------------------------------------------------
    def flushes(self) -> list[Flush]:
        out = []
        for cpu, fifos in self.fifos.items():
            for slot in fifos:
                name = self.shared.names[self.shared.address[slot]]
                out.append(Flush(cpu, f"{cpu}: flush {name}", self._flush_body(cpu, slot)))
        return out

    def _flush_body(self, cpu: str, slot: int) -> Callable[[Port], None]:
        fifo = self.fifos[cpu][slot]
        K = self.capacity

        def body(port: Port) -> None:
            port.guard(op("gt", port.read(fifo.n), Const(0)))
            port.guard(op("eq", port.read(fifo.group[0]), Const(0)))
            self._pop(port, slot)
            # keep groups dense from 0: when group 0 is empty, every group moves down one
            still = self._pending_in(port, cpu, Const(0))
            for f in self.fifos[cpu].values():
                n = port.read(f.n)
                for k in range(K):
                    g = port.read(f.group[k])
                    port.write(f.group[k], op("ite", ir.conj((op("not", still),
                                                               op("lt", Const(k), n))),
                                              op("sub", g, Const(1)), g))
            cur_slot = self.current[cpu]
            cur = port.read(cur_slot)
            port.write(cur_slot, op("ite", ir.conj((op("not", still), op("gt", cur, Const(0)))),
                                    op("sub", cur, Const(1)), cur))
        return body

    def _pop(self, port: Port, slot: int) -> None:
        """Apply the oldest entry of one non-empty FIFO to memory (a store, or a deferred
        operation on the newest value) and remove it."""
        fifo = self.fifos[port.cpu][slot]
        i = self.shared.address[slot]
        loc = Location((slot,), None, self.shared.types[i], self.shared.names[i])
        K = self.capacity
        count = port.read(fifo.n)
        operand = port.read(fifo.val[0])
        old = port.read(slot)
        new = operand
        if fifo.kind is not None:
            kind = port.read(fifo.kind[0])
            for k, name in reversed(list(enumerate(KINDS))[1:]):
                new = op("ite", op("eq", kind, Const(k)), apply_op(name, old, operand), new)
            port.check_range(loc, new)
        self.write_mem(port, loc, new)
        columns = [fifo.val, fifo.group] + ([fifo.kind] if fifo.kind is not None else [])
        for col in columns:
            for k in range(K - 1):
                port.write(col[k], port.read(col[k + 1]))
            port.write(col[K - 1], Const(0))
        port.write(fifo.n, op("sub", count, Const(1)))

    def views(self) -> list[View]:
        return [View(f"{cpu}.store_buffer", cpu, self._render(cpu)) for cpu in self.fifos]

    def _render(self, cpu: str) -> Callable[[tuple], list[str]]:
        names, types, address = self.shared.names, self.shared.types, self.shared.address
        fifos = self.fifos[cpu]

        def render(state: tuple) -> list[str]:
            entries = []
            for slot, f in fifos.items():
                i = address[slot]
                for k in range(state[f.n]):
                    kind = KINDS[state[f.kind[k]]] if f.kind is not None else "store"
                    v = state[f.val[k]]
                    text = f"{names[i]}={show_text(types[i], v)}" if kind == "store" else \
                        f"{names[i]} {kind} {v}"
                    entries.append((state[f.group[k]], i, k, text))
            out, group = [], 0
            for g, _, _, text in sorted(entries):
                if g != group:
                    out.append("wmb")
                    group = g
                out.append(text)
            return out
        return render

    def monitors(self) -> list[Monitor]:
        fulls = tuple(op("eq", Ref(f.n), Const(self.capacity))
                      for fifos in self.fifos.values() for f in fifos.values())
        if not fulls:
            return []
        return [Monitor("store buffer full", ir.disj(fulls),
                        f"a per-address store buffer held {self.capacity} entries "
                        f"(--buffer {self.capacity}): the verdicts hold for this capacity")]
