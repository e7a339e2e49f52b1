"""How a symmetric type's permutations act on a Model's state (docs/language.md, "Symmetry").

A permutation p of a scalarset's values (0..size-1) moves slots and renames values:
- a slot indexed by the type (an element of an array over it, a local or the pc of a process
  instance it indexes) has a `base` and `coords`, its positions along each such index; the
  slot at (base, coords) moves to the slot at (base, p(coords)). Other slots stay in place.
- a slot holding a value of the type holds p(value); a set of it, the set of images.
The lowering (`spec.symmetry`) fills this; `explorer.symmetry` canonicalises with it.
"""
from __future__ import annotations

from dataclasses import dataclass

from smp_explorer.ir.types import ScalarsetT


@dataclass(frozen=True)
class SymmetricType:
    type: ScalarsetT
    base: tuple[int, ...]                 # per slot: its base, or -1 if not indexed by the type
    coords: tuple[tuple[int, ...], ...]   # per slot: its positions along the type's indices
    processes: tuple[str, ...] = ()       # the process sets the type indexes

    @property
    def name(self) -> str:
        return self.type.name

    @property
    def size(self) -> int:
        return len(self.type.members)
