"""The contract between the two halves of the axiomatic engine.

The front half turns a spec's processes into ONE symbolic candidate execution: every event any
bounded run could perform, each with a Z3 condition saying whether it executes, its location and
value as Z3 terms, and rf/co as Z3 choices with their well-formedness already asserted (each
executed read reads exactly one write of its location with its value; co totally orders the
executed writes of a location, initial writes first; an RMW's read and write are atomic pairs
in the data, the atomicity AXIOM is the model's). The back half (models/: relation algebra over
these terms, and the LKMM, SC and x86-TSO definitions) adds the axioms. Neither half knows how
the other is built; tests can build an Execution by hand.

Relations are given between event ids. `static` relations hold between two events whenever both
execute (program order, dependencies, rmw pairs, RCU critical sections); `rf`, `co` and
`same_location` are Z3 terms because they depend on the choices the solver makes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

import z3

from smp_explorer.ir.span import Span

# Event kinds.
READ, WRITE, FENCE = "R", "W", "F"

# The tags an event may carry (the LKMM's names, as in explanation.txt). Every event carries
# exactly one access tag when it is a memory access: Once, Acquire, Release, Plain or Noreturn
# (a value-discarding RMW's read is tagged Noreturn besides its ordering). An RMW's two events
# carry the RMW's ordering (Once for _relaxed, Acquire/Release, Mb for a fully ordered one: the
# LKMM models a fully ordered RMW as Mb fences around a relaxed RMW; the front half emits those
# F[Mb] events itself, so an Mb-tagged access never appears). "IW": an initial write.
ACCESS_TAGS = ("Once", "Acquire", "Release", "Plain", "Noreturn")
FENCE_TAGS = ("Mb", "Rmb", "Wmb", "Before-atomic", "After-atomic", "After-spinlock",
              "After-unlock-lock", "Rcu-lock", "Rcu-unlock", "Sync-rcu", "Srcu-lock",
              "Srcu-unlock", "Sync-srcu")
# Spin locks as events on the lock's location: a successful lock is a read (LKR) and a write
# (LKW) forming an rmw pair (the read is Acquire), an unlock a Release write (UL), a failed
# trylock or spin_is_locked a read (LF / RL, RU: read a locked / unlocked lock).
# The front half also tags LKR and LKW Acquire and Once, UL Release, LF/RL/RU Once.
LOCK_TAGS = ("LKR", "LKW", "UL", "LF", "RL", "RU")
# "RMW": an event of an atomic RMW operation, including the lone read of a FAILED conditional
# RMW (cmpxchg, atomic_add_unless), which herd's RMW set has too: smp_mb__after_atomic() after a
# failed cmpxchg is a full fence (Documentation/litmus-tests/atomic/cmpxchg-fail-ordered-*).
OTHER_TAGS = ("IW", "RMW")
TAGS = ACCESS_TAGS + FENCE_TAGS + LOCK_TAGS + OTHER_TAGS

# Static relations every Execution provides (possibly empty). Models may ask for more by name
# (e.g. "rcu-rscs": matching Rcu-lock -> Rcu-unlock in one CPU; "srcu-rscs": Srcu-lock ->
# Srcu-unlock on the same srcu_struct); asking for an unknown name is a KeyError.
STATIC_RELATIONS = ("po", "addr", "data", "ctrl", "rmw", "int", "rcu-rscs", "srcu-rscs")


@dataclass(frozen=True)
class Event:
    id: int                          # dense: 0 .. n-1, the initial writes first
    thread: int                      # CPU index in declaration order; -1 for an initial write
    kind: str                        # READ | WRITE | FENCE
    tags: frozenset[str]             # from TAGS
    locations: tuple[str, ...] = ()  # the static locations it may access ("x", "a[1]"); () = fence
    span: Span | None = None         # where the operation is written
    label: str | None = None         # its step label
    text: str = ""                   # the operation as written, for reports


class Execution(Protocol):
    ctx: z3.Context
    events: Sequence[Event]

    def executed(self, e: int) -> z3.BoolRef:
        """Whether event e takes place (its path's conditions hold; initial writes: true)."""
        ...

    def same_location(self, a: int, b: int) -> z3.BoolRef:
        """Whether memory events a and b access the same location (false for fences)."""
        ...

    def rf(self, w: int, r: int) -> z3.BoolRef | None:
        """Whether read r takes its value from write w; None when it statically cannot."""
        ...

    def co(self, w1: int, w2: int) -> z3.BoolRef | None:
        """Whether write w1 precedes write w2 in coherence order; None when it cannot."""
        ...

    def static(self, name: str) -> frozenset[tuple[int, int]]:
        """A static relation (see STATIC_RELATIONS), holding where both events execute."""
        ...


@dataclass
class Constraints:
    """What a model says about an Execution."""

    axioms: list[tuple[str, z3.BoolRef]] = field(default_factory=list)  # (axiom name, must hold)
    # flags (LKMM: data races): name -> a term true exactly when the execution is flagged,
    # and, for a witness, a function from a Z3 model to the flagged pairs of events
    flags: dict[str, z3.BoolRef] = field(default_factory=dict)
    # flag name -> the pairs of events a Z3 model (one where the flag holds) flags
    witnesses: dict[str, Callable[[z3.ModelRef], list[tuple[int, int]]]] = \
        field(default_factory=dict)


class AxiomaticModel(Protocol):
    name: str  # lkmm | sc | tso

    def constrain(self, execution: Execution) -> Constraints:
        ...
