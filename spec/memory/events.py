"""The axiomatic lowering: a CPU's shared accesses become memory events, not buffer updates.

Under `--memory lkmm` (an axiomatic model, invariants/axiomatic/) the steps of a spec are
lowered as for sc, except that every load, store, fence and RMW half a step performs is
recorded, in program order, as an `ir.model.StepEvent` of its action with the LKMM's tags, and
the value a load returns is a fresh internal slot (one per load site, per path through the
step) whose value the axiomatic engine chooses: the write it reads from decides it. Stores
change no slot: the final value of a location is the coherence-last write's.

The Linux words of the preludes become tags (execution.py): `once` (READ_ONCE/WRITE_ONCE) Once,
a direct access of a `shared` variable Plain, `acquire`/`release` Acquire/Release; fences
Mb (`full`; `serialize` too: under lkmm the engine notes it in the result), Rmb, Wmb,
Before-atomic, After-atomic, After-spinlock, After-unlock-lock, and the RCU and SRCU fences. RMWs: a fully ordered one is F[Mb], R[Once], W[Once], F[Mb]; `unordered` (the
_relaxed variants) R[Once] W[Once]; `acquire` R[Acquire] W[Once]; `release` R[Once]
W[Release]; a value-discarding one (atomic_inc) adds Noreturn to its read. A conditional RMW
(cmpxchg, rmw_unless) is that on success and, on failure, only a read with the failure
ordering (`unordered`: Once; `full`, as linux.x86 has it: F[Mb] R[Once] F[Mb]): its success
and failure reads are two events for the same value, exactly one of which happens. All these
RMW events are also tagged RMW (the failed read too, as herd's RMW set has it). Spin locks
(the `lock`/`unlock` words): a successful lock is LKR (also Acquire) and LKW (also Once), an
rmw pair; a failed trylock LF; spin_is_locked RL or RU (also Once) as the value read says; an
unlock UL (also Release).
"""
from __future__ import annotations

from typing import Callable

from smp_explorer.ir import expr as ir
from smp_explorer.ir.expr import Const, Expr, op
from smp_explorer.ir.model import StepEvent
from smp_explorer.ir.span import Span
from smp_explorer.ir.types import ArrayT
from smp_explorer.spec.errors import SpecError
from smp_explorer.spec.memory.base import Location, MemoryModel, Port, apply_op

LOAD_TAGS = {"plain": "Plain", "once": "Once", "acquire": "Acquire"}
STORE_TAGS = {"plain": "Plain", "once": "Once", "release": "Release", "unlock": "Release"}
# fence(serialize) (x86's serializing instructions, sync_core()) is a full fence to the axiomatic
# models; the LKMM has no word for it: it is read as smp_mb() and the lkmm result says so
FENCE_TAGS = {"full": "Mb", "serialize": "Mb", "read": "Rmb", "write": "Wmb",
              "before_atomic": "Before-atomic",
              "after_atomic": "After-atomic", "after_spinlock": "After-spinlock",
              "after_unlock_lock": "After-unlock-lock", "rcu_lock": "Rcu-lock",
              "rcu_unlock": "Rcu-unlock", "sync_rcu": "Sync-rcu", "srcu_lock": "Srcu-lock",
              "srcu_unlock": "Srcu-unlock", "sync_srcu": "Sync-srcu"}
# an RMW's ordering -> (fences around it, its read's tag, its write's tag)
RMW_TAGS = {"full": (True, "Once", "Once"), "unordered": (False, "Once", "Once"),
            "acquire": (False, "Acquire", "Once"), "release": (False, "Once", "Release")}


def _span(port: Port) -> Span | None:
    """The statement being lowered (ports.StepPort knows it)."""
    span = getattr(port, "span", None)
    return span if isinstance(span, Span) else None


def _tags(*names: str) -> frozenset[str]:
    return frozenset(names)


class Events(MemoryModel):
    """Lowering rules that record events (see the module docstring)."""

    name = "lkmm"
    reads = 0  # read slots made so far

    def order(self, access: str, order: str) -> str:
        return order  # the Linux words are the events' tags

    def fence_kind(self, kind: str) -> str:
        return kind

    # ---- helpers ----------------------------------------------------------------------------
    def _value(self, port: Port, loc: Location) -> Expr:
        """A fresh slot for the value a read returns."""
        t = loc.type
        if isinstance(t, ArrayT):
            raise SpecError(f"'{loc.name}' is a whole array: read its elements one by one",
                            _span(port))
        self.reads += 1
        return ir.Ref(self.alloc.add(f"{port.cpu}.read#{self.reads}", t, port.cpu or None,
                                     f"read#{self.reads}"))

    def _read(self, port: Port, loc: Location, tags: frozenset[str], value: Expr,
              when: Expr = ir.TRUE) -> None:
        port.event(StepEvent("R", tags, loc.slots, loc.index, value, when))

    def _write(self, port: Port, loc: Location, tags: frozenset[str], value: Expr,
               when: Expr = ir.TRUE, rmw: bool = False, deps: tuple[Expr, ...] = ()) -> None:
        port.event(StepEvent("W", tags, loc.slots, loc.index, value, when, rmw=rmw, deps=deps))

    def _fence(self, port: Port, tag: str, when: Expr = ir.TRUE) -> None:
        port.event(StepEvent("F", _tags(tag), when=when))

    # ---- the hooks ------------------------------------------------------------------------
    def load(self, port: Port, loc: Location, order: str) -> Expr:
        value = self._value(port, loc)
        if order == "lock":  # spin_is_locked: RL or RU as the value read says
            held = op("ne", value, Const(0))
            self._read(port, loc, _tags("RL", "Once"), value, held)
            self._read(port, loc, _tags("RU", "Once"), value, op("not", held))
        else:
            self._read(port, loc, _tags(LOAD_TAGS[order]), value)
        return value

    def store(self, port: Port, loc: Location, value: Expr, order: str) -> None:
        tags = _tags("UL", "Release") if order == "unlock" else _tags(STORE_TAGS[order])
        self._write(port, loc, tags, value)

    def fence(self, port: Port, kind: str) -> None:
        port.event(StepEvent("F", _tags(FENCE_TAGS[kind]), serializing=kind == "serialize"))

    def srcu_fence(self, port: Port, kind: str, struct: Location) -> None:
        if struct.index is not None or len(struct.slots) != 1:
            raise SpecError(f"an srcu_struct must be one shared variable, not "
                            f"'{struct.name}' chosen by an index", _span(port))
        port.event(StepEvent("F", _tags(FENCE_TAGS[kind]), srcu=struct.slots[0]))

    def rmw(self, port: Port, loc: Location, name: str, operand: Expr, order: str,
            returns: bool) -> Expr | None:
        old = self._value(port, loc)
        new = apply_op(name, old, operand)
        port.check_range(loc, new)
        self._rmw(port, loc, order, old, new, ir.TRUE, (operand,),
                  () if returns else ("Noreturn",))
        return old

    def _rmw(self, port: Port, loc: Location, order: str, old: Expr, new: Expr, ok: Expr,
             deps: tuple[Expr, ...], extra: tuple[str, ...] = ()) -> None:
        """The events of a successful RMW, where `ok` holds."""
        if order == "lock":
            self._read(port, loc, _tags("LKR", "Acquire"), old, ok)
            self._write(port, loc, _tags("LKW", "Once"), new, ok, rmw=True, deps=deps)
            return
        fences, rtag, wtag = RMW_TAGS[order]
        if fences:
            self._fence(port, "Mb", ok)
        self._read(port, loc, _tags(rtag, "RMW", *extra), old, ok)
        self._write(port, loc, _tags(wtag, "RMW"), new, ok, rmw=True, deps=deps)
        if fences:
            self._fence(port, "Mb", ok)

    def _failed(self, port: Port, loc: Location, fail_order: str, old: Expr, failed: Expr) -> None:
        """The read of a conditional RMW that failed, where `failed` holds."""
        if fail_order == "lock":
            self._read(port, loc, _tags("LF", "Once"), old, failed)
            return
        fences, rtag, _ = RMW_TAGS[fail_order]
        if fences:
            self._fence(port, "Mb", failed)
        self._read(port, loc, _tags(rtag, "RMW"), old, failed)
        if fences:
            self._fence(port, "Mb", failed)

    def cmpxchg(self, port: Port, loc: Location, expected: Expr, new: Expr, order: str,
                fail_order: str) -> Expr:
        old = self._value(port, loc)
        ok = op("eq", old, expected)
        port.check_range(loc, new, ok)
        self._conditional(port, loc, order, fail_order, old, new, ok, (expected, new))
        return old

    def rmw_unless(self, port: Port, loc: Location, name: str, operand: Expr, unless: Expr,
                   order: str, fail_order: str) -> Expr:
        old = self._value(port, loc)
        ok = op("ne", old, unless)
        new = apply_op(name, old, operand)
        port.check_range(loc, new, ok)
        self._conditional(port, loc, order, fail_order, old, new, ok, (operand, unless))
        return old

    def _conditional(self, port: Port, loc: Location, order: str, fail_order: str, old: Expr,
                     new: Expr, ok: Expr, deps: tuple[Expr, ...]) -> None:
        # in program order the two outcomes are alternatives: success's events, then failure's
        self._rmw(port, loc, order, old, new, ok, deps)
        self._failed(port, loc, fail_order, old, op("not", ok))

    def write_mem(self, port: Port, loc: Location, value: Expr, when: Expr = ir.TRUE) -> None:
        """A TLA+-style action writes memory directly: it has no events (the axiomatic engine
        refuses such actions at their declaration)."""

    def drained(self, read: Callable[[int], Expr]) -> Expr:
        """In a property: there are no store buffers, every write of a finished execution has
        taken its place in coherence order (a final-state condition's `drained()` holds)."""
        return ir.TRUE

    def step_drained(self, port: Port) -> Expr:
        raise SpecError("drained() inside a step asks about store buffers, which the "
                        "Linux-kernel memory model does not have: order the accesses with "
                        "the fences or release/acquire the code uses", _span(port))
