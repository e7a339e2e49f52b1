"""What a memory model is: lowering rules for the loads, stores, fences and atomic
read-modify-writes a CPU makes to `shared` locations.

A model adds its own slots (store buffers, stale views) and actions (flushes) to the Model; the
engines never learn that memory models exist. It works on the step being lowered through a
`Port`: read and write slots in the step's symbolic environment, add to its guard, add checks,
and make nondeterministic choices that are resolved into separate actions when the step ends.

Draining inside a step. A full or serializing fence, an ordered (full-barrier) RMW, `drained()`
and (pso, weak) a load of a location with a deferred RMW pending wait for the CPU's buffered
stores to reach memory. A step is atomic, so such an operation that follows stores the same step
made cannot wait for them: it drains them itself. The rule, for a draining operation D in a step
of CPU c (`MemoryModel.drain`):

1. The stores c buffered in EARLIER steps must have reached memory before the step begins: the
   step is enabled only where c's buffers are empty in the state it starts from (evaluated on that
   state, not on the buffers the step itself has filled). Their flushes stay separate steps, so
   every interleaving of other CPUs between them remains reachable. (Draining them inside the
   step too would reach no other state, since those flushes can always be taken just before the
   step; it would only add shortcut transitions.) A step whose fence comes before any of its own
   stores means exactly what it meant before this rule.
2. The stores the step made before D (and its deferred RMWs) reach memory at D, oldest first, as
   the model's own flush steps would move them (tso: FIFO; pso/weak: each location's FIFO in
   order, deferred operations applied to the newest value, a written value ageing the other
   CPUs' views under weak exactly as a flush does), atomically with the step: the step equals
   "its operations up to D, then those flushes back to back, then the rest", a schedule the
   hardware allows (nothing else needs to run between them) and the only one in which D's wait
   ends inside the step. Write-barrier groups only constrain the order in which other CPUs may
   see the stores; drained together, no CPU sees an intermediate state, so the order among
   locations does not matter.
3. Loads after D read memory, which now holds the step's stores: the value store forwarding gave.

Under sc nothing is buffered, so every step keeps its sc meaning and each step enabled under sc
from a state with empty buffers is enabled under tso, pso and weak: a state reachable under sc
stays reachable. `drained()` after the step's own stores is a nondeterministic alternative: the
stores are still buffered (false), or, when the earlier steps' stores have drained, they are
flushed at that point and `drained()` asks about the other CPUs.

One under-approximation remains: a load that waits for a deferred RMW of its own step needs only
the entries ahead of that RMW (its location's FIFO, earlier write-barrier groups) to drain, but
rule 1 makes the step wait for all of c's earlier stores; the states in which such a step has run
while a store of an earlier step to another location is still buffered are not explored.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, Protocol

from smp_explorer.ir import expr as ir
from smp_explorer.ir.expr import Const, Expr, op
from smp_explorer.ir.model import StepEvent
from smp_explorer.ir.types import EnumT, IntT, ScalarT, SetT, Type
from smp_explorer.spec.errors import SpecError

ORDERS_LOAD = ("plain", "acquire", "once", "lock")
ORDERS_STORE = ("plain", "release", "once", "unlock")
ORDERS_RMW = ("unordered", "acquire", "release", "full", "lock")
# The Linux fences the LKMM tells apart (the preludes' smp_mb__*() and RCU); the operational
# models give the first four a full fence's meaning and have none for RCU (`fence_kind`).
LINUX_FENCES = ("before_atomic", "after_atomic", "after_spinlock", "after_unlock_lock")
RCU_FENCES = ("rcu_lock", "rcu_unlock", "sync_rcu", "srcu_lock", "srcu_unlock", "sync_srcu")
FENCES = ("full", "read", "write", "serialize") + LINUX_FENCES + RCU_FENCES
# What the Linux words mean to an operational model: `once` (READ_ONCE, WRITE_ONCE) is a plain
# access, `lock` a spin lock's acquire (on failure or in spin_is_locked: a plain load), `unlock`
# its release store. The axiomatic lowering (memory/events.py) keeps the words: they are tags.
OPERATIONAL_ORDER = {("load", "once"): "plain", ("load", "lock"): "plain",
                     ("store", "once"): "plain", ("store", "unlock"): "release",
                     ("rmw", "lock"): "acquire", ("fail", "lock"): "unordered"}
RCU_NAMES = {"rcu_lock": "rcu_read_lock()", "rcu_unlock": "rcu_read_unlock()",
             "sync_rcu": "synchronize_rcu()", "srcu_lock": "srcu_read_lock()",
             "srcu_unlock": "srcu_read_unlock()", "sync_srcu": "synchronize_srcu()"}
RMW_OPS = ("add", "sub", "and", "or", "xor", "xchg")


def apply_op(name: str, old: Expr, operand: Expr) -> Expr:
    """The new value of a location after an RMW operation."""
    if name == "xchg":
        return operand
    table = {"add": "add", "sub": "sub", "and": "band", "or": "bor", "xor": "bxor"}
    return op(table[name], old, operand)


@dataclass(frozen=True)
class Location:
    """A shared location an access names: one slot, or one of several chosen by `index`."""

    slots: tuple[int, ...]
    index: Expr | None  # position among `slots`; None when there is a single candidate
    type: Type
    name: str

    def cond(self, k: int) -> Expr:
        """Whether candidate k is the location accessed."""
        if self.index is None:
            return ir.TRUE
        return op("eq", self.index, Const(k))


class SlotReader(Protocol):
    """Anything that reads a slot's current value: a port, or an elaboration context."""

    def read(self, slot: int) -> Expr: ...


class Port(SlotReader, Protocol):
    """The step being lowered, as a memory model sees it."""

    cpu: str

    def write(self, slot: int, value: Expr) -> None: ...
    def guard(self, cond: Expr) -> None: ...
    def check_range(self, loc: Location, value: Expr, when: Expr = ir.TRUE) -> None: ...
    def choice(self, n: int) -> Expr: ...
    def event(self, e: StepEvent) -> None: ...


class SlotAllocator(Protocol):
    def add(self, name: str, type: ScalarT | SetT, owner: str | None, var: str) -> int: ...


@dataclass(frozen=True)
class SlotRole:
    """What a memory model's slot is, for symmetry reduction (spec.symmetry, ir.symmetry): the
    same `role` for the same slot of every CPU and location, so that a permutation of a
    scalarset indexing the CPUs or a shared array moves the slot to the one of the same role of
    the permuted CPU and location, and renames what it holds."""

    role: str                      # e.g. "sb[1].val": equal across CPUs and locations
    cpu: str | None                # the CPU it belongs to (None: memory's own)
    address: int | None = None     # the shared slot it is about (a pso FIFO, a weak view)
    holds: str = ""                # "", "value" (of the location's type), "address", "value_at"
    count: int | None = None       # an entry: in use while this slot's value > entry
    entry: int = 0
    at: int | None = None          # "value_at": the slot holding the entry's address
    flags: tuple[int, ...] = ()    # in use while one of these is set (a stale view)


@dataclass
class View:
    """A display-only value computed from several internal slots (a store buffer, stale views)."""

    name: str
    owner: str | None
    render: Callable[[tuple], object]


@dataclass
class Flush:
    """A memory-model step of a CPU: `body` lowers it through a port."""

    cpu: str
    name: str
    body: Callable[[Port], None]


@dataclass
class Monitor:
    """A condition whose reachability the statistics report (e.g. a store buffer was full)."""

    name: str
    expr: Expr
    note: str


@dataclass
class SharedInfo:
    """The shared locations of a spec, in slot order; their address is their position."""

    slots: list[int]
    names: list[str]
    types: list[ScalarT | SetT]
    address: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.address = {s: i for i, s in enumerate(self.slots)}

    def value_range(self, extra: tuple[int, ...] = ()) -> IntT:
        lo = min([t.values()[0] for t in self.types] + list(extra) + [0])
        hi = max([t.values()[-1] for t in self.types] + list(extra) + [0])
        return IntT(lo, hi)

    def address_type(self) -> EnumT:
        return EnumT("address", tuple(self.names))

    def addr(self, loc: Location) -> Expr:
        ids = [Const(self.address[s]) for s in loc.slots]
        if loc.index is None:
            return ids[0]
        return op("select", loc.index, *ids)


class Assuming:
    """A step as a model's drain sees it: reads assume `facts` (slot values the step's guard
    ensures wherever `when` holds, e.g. "the CPU's buffer was empty when the step began"), so
    the drained entries fold to constants; writes, guards and checks apply only where `when`
    holds, and reach the step when `commit` is called."""

    def __init__(self, port: Port, facts: dict[int, Expr], when: Expr = ir.TRUE):
        self.port, self.cpu, self.facts, self.when = port, port.cpu, facts, when
        self.written: dict[int, Expr] = {}
        self.memo: dict[int, tuple[Expr, Expr]] = {}   # one substitution for every read

    def read(self, slot: int) -> Expr:
        if slot in self.written:
            return self.written[slot]
        return ir.substitute(self.port.read(slot), self.facts, self.memo) if self.facts else \
            self.port.read(slot)

    def write(self, slot: int, value: Expr) -> None:
        self.written[slot] = value

    def guard(self, cond: Expr) -> None:
        self.port.guard(ir.disj((op("not", self.when), cond)))

    def check_range(self, loc: Location, value: Expr, when: Expr = ir.TRUE) -> None:
        self.port.check_range(loc, value, ir.conj((self.when, when)))

    def choice(self, n: int) -> Expr:
        return self.port.choice(n)

    def event(self, e: StepEvent) -> None:
        self.port.event(e)

    def commit(self) -> None:
        for slot, value in self.written.items():
            before = self.port.read(slot)
            if value == before or self.facts and \
                    value == ir.substitute(before, self.facts, self.memo):
                continue  # unchanged: keep the step's own expression
            self.port.write(slot, value if self.when == ir.TRUE else
                            op("ite", self.when, value, before))


def mem_read(memory: SlotReader, loc: Location) -> Expr:
    if loc.index is None:
        return memory.read(loc.slots[0])
    return op("select", loc.index, *(memory.read(s) for s in loc.slots))


def mem_write(port: Port, loc: Location, value: Expr, when: Expr = ir.TRUE) -> None:
    for k, s in enumerate(loc.slots):
        cond = ir.conj((when, loc.cond(k)))
        port.write(s, value if cond == ir.TRUE else op("ite", cond, value, port.read(s)))


@dataclass
class Usage:
    """Which CPU touches which shared slot, and how: found by lowering once under SC, so that a
    model allocates buffers and views only where they can matter."""

    cpus: list[str] = field(default_factory=list)
    loads: dict[str, set[int]] = field(default_factory=dict)
    stores: dict[str, set[int]] = field(default_factory=dict)
    deferred: dict[str, set[int]] = field(default_factory=dict)
    rmws: dict[str, set[int]] = field(default_factory=dict)     # locked (memory-atomic) RMWs
    operands: set[int] = field(default_factory=set)  # constant operands of deferred RMWs
    step_stores: tuple = (0, None)  # the most buffered writes one step makes, and where
    step_location_stores: tuple = (0, None)  # the same to one location

    def note(self, table: dict[str, set[int]], cpu: str, loc: Location) -> None:
        table.setdefault(cpu, set()).update(loc.slots)

    def writers(self, slot: int) -> set[str]:
        """Who writes a slot: CPUs, and "" for TLA+-style actions (they write memory too)."""
        return {c for table in (self.stores, self.deferred, self.rmws)
                for c, slots in table.items() if slot in slots}


class MemoryModel(ABC):
    """One memory model: a set of lowering rules plus the slots and steps they need."""

    name: str = ""
    # whether the stores of one step to different locations reach memory in the order they
    # were made (one FIFO per CPU, as tso's): a step storing every element of an array over a
    # scalarset then makes an order of its values, which breaks symmetry (spec.symmetry)
    orders_stores_across_locations: bool = False

    def order(self, access: str, order: str) -> str:
        """The ordering an access of kind `access` (load, store, rmw, fail: a conditional RMW's
        failure) written with the Linux word `order` has under this model."""
        return OPERATIONAL_ORDER.get((access, order), order)

    def fence_kind(self, kind: str) -> str:
        """The fence this model makes of `fence(kind)`; SpecError (no span: the caller adds
        the statement's) for RCU, which has no operational meaning here."""
        if kind in RCU_FENCES:
            raise SpecError(f"{RCU_NAMES[kind]} (RCU) has no meaning under --memory "
                            f"{self.name}: check it under the Linux-kernel memory model, "
                            "--memory lkmm")
        return "full" if kind in LINUX_FENCES else kind

    def srcu_fence(self, port: Port, kind: str, struct: Location) -> None:
        """An SRCU fence on the srcu_struct `struct` (only the axiomatic lowering has them)."""
        self.fence(port, self.fence_kind(kind))

    def __init__(self, shared: SharedInfo, usage: Usage, alloc: SlotAllocator, capacity: int):
        self.shared = shared
        self.usage = usage
        self.cpus = usage.cpus
        self.alloc = alloc
        self.capacity = capacity
        self.roles: dict[int, SlotRole] = {}   # per slot the model added: what it is

    def add_slot(self, name: str, type: ScalarT | SetT, var: str, role: SlotRole) -> int:
        """Allocate a slot of the model's own (owned by role.cpu) and note its role."""
        slot = self.alloc.add(name, type, role.cpu, var)
        self.roles[slot] = role
        return slot

    @abstractmethod
    def load(self, port: Port, loc: Location, order: str) -> Expr: ...

    def source(self, port: Port, loc: Location, value: Expr) -> Expr:
        """For traces, after `load` returned `value`: where it came from, an index into
        ir.model.READ_SOURCES (0 memory, 1 the CPU's own buffer, 2 a stale view)."""
        return Const(0)

    @abstractmethod
    def store(self, port: Port, loc: Location, value: Expr, order: str) -> None: ...

    @abstractmethod
    def fence(self, port: Port, kind: str) -> None: ...

    @abstractmethod
    def rmw(self, port: Port, loc: Location, name: str, operand: Expr, order: str,
            returns: bool) -> Expr | None: ...

    def cmpxchg(self, port: Port, loc: Location, expected: Expr, new: Expr, order: str,
                fail_order: str) -> Expr:
        """Compare-and-exchange; the default makes the whole operation a locked RMW."""
        self.fence(port, "full")
        old = mem_read(port, loc)
        ok = op("eq", old, expected)
        port.check_range(loc, new, ok)
        self.write_mem(port, loc, new, ok)
        return old

    def rmw_unless(self, port: Port, loc: Location, name: str, operand: Expr, unless: Expr,
                   order: str, fail_order: str) -> Expr:
        self.fence(port, "full")
        old = mem_read(port, loc)
        go = op("ne", old, unless)
        new = apply_op(name, old, operand)
        port.check_range(loc, new, go)
        self.write_mem(port, loc, new, go)
        return old

    def write_mem(self, port: Port, loc: Location, value: Expr, when: Expr = ir.TRUE) -> None:
        """A write that reaches memory (a flush or a locked RMW); the weak model also ages the
        other CPUs' views here."""
        mem_write(port, loc, value, when)

    def locked_rmw(self, port: Port, loc: Location, name: str, operand: Expr) -> Expr:
        """An RMW acting atomically on memory after a full barrier."""
        self.fence(port, "full")
        old = mem_read(port, loc)
        new = apply_op(name, old, operand)
        port.check_range(loc, new)
        self.write_mem(port, loc, new)
        self.fence(port, "full")
        return old

    def drain(self, port: Port, when: Expr = ir.TRUE) -> None:
        """Where `when` holds: wait until the stores of the CPU's earlier steps have drained and
        move the stores of the current step to memory (module docstring, rule 1-2)."""

    def drained(self, read: Callable[[int], Expr]) -> Expr:
        return ir.TRUE

    def step_drained(self, port: Port) -> Expr:
        """`drained()` inside a CPU's step."""
        return self.drained(port.read)

    def flushes(self) -> list[Flush]:
        return []

    def views(self) -> list[View]:
        return []

    def monitors(self) -> list[Monitor]:
        return []
