"""How a symmetric type's permutations act on a Model's state (docs/language.md, "Symmetry").

A permutation p of a scalarset's values (0..size-1) moves slots and renames values:
- a slot indexed by the type (an element of an array over it, a local or the pc of a process
  instance it indexes) has a `base` and `coords`, its positions along each such index; the
  slot at (base, coords) moves to the slot at (base, p(coords)). Other slots stay in place.
- a slot holding a value of the type holds p(value); a set of it, the set of images.
- a memory model's slot (store buffer, stale view) moves with the CPU instance and the shared
  location it belongs to (its base and coords, as above), and a `Rename` says which of them hold
  a value of the type or a shared address, and when: a buffer entry only while it is in use.
The lowering (`spec.symmetry`) fills this; `explorer.symmetry` canonicalises with it.
"""
from __future__ import annotations

from dataclasses import dataclass

from smp_explorer.ir.types import ScalarsetT


@dataclass(frozen=True)
class Rename:
    """A memory model's slot whose value a permutation renames, where `valid` holds: the
    entry is in use (`count` slot > `entry`) or some of `flags` is set (a stale view), or
    always when neither is given.

    kind "value": the slot holds a value of the type; "address": a shared address (an index
    into `SymmetricType.addresses`), which moves with its location; "value_at": a value of the
    shared address held in slot `at` (a tso entry's value), renamed when that location holds
    values of the type."""

    slot: int
    kind: str
    count: int = -1
    entry: int = 0
    flags: tuple[int, ...] = ()
    at: int = -1


@dataclass(frozen=True)
class SymmetricType:
    type: ScalarsetT
    base: tuple[int, ...]                 # per slot: its base, or -1 if not indexed by the type
    coords: tuple[tuple[int, ...], ...]   # per slot: its positions along the type's indices
    processes: tuple[str, ...] = ()       # the process sets the type indexes
    renames: tuple[Rename, ...] = ()      # memory-model slots holding values or addresses
    addresses: tuple[int, ...] = ()       # the shared slot at each address (Rename "address")
    address_typed: tuple[bool, ...] = ()  # per address: it holds values of the type
    refused: str = ""                     # why the memory model's slots cannot be permuted

    @property
    def name(self) -> str:
        return self.type.name

    @property
    def size(self) -> int:
        return len(self.type.members)
