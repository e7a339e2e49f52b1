"""Semantic types of the language. Every value is encoded as an int in the IR.

bool: 0/1; a range lo..hi: the integer itself; an enum: the member's position; a set over a finite
scalar type: a bitmask with bit v for the element encoded as v (so integer sets over different
ranges share one encoding, and ranges of set elements start at 0 or above); arrays are flattened
into one slot per element.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TypeGuard, Union


@dataclass(frozen=True)
class BoolT:
    def values(self) -> range:
        return range(0, 2)

    def __str__(self) -> str:
        return "bool"


@dataclass(frozen=True)
class IntT:
    """A bounded range `lo..hi` (declared) or, with no bounds, an intermediate integer."""

    lo: int | None = None
    hi: int | None = None

    @property
    def bounded(self) -> bool:
        return self.lo is not None

    def values(self) -> range:
        assert self.lo is not None and self.hi is not None
        return range(self.lo, self.hi + 1)

    def __str__(self) -> str:
        return f"{self.lo}..{self.hi}" if self.bounded else "int"


@dataclass(frozen=True)
class EnumT:
    name: str
    members: tuple[str, ...]

    def values(self) -> range:
        return range(len(self.members))

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ScalarsetT(EnumT):
    """A symmetric type (Murphi's scalarset, TLC's SYMMETRY): `size` interchangeable values,
    encoded 0..size-1 and shown as `members`, which a spec cannot name. Every engine treats it
    as an enum; `ir.symmetry` says how a permutation of its values acts on the state."""

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class SetT:
    elem: "ScalarT | None"  # None: the empty literal `{}`, compatible with every set type

    def values(self) -> range:
        """Every mask up to the largest (a superset of the valid ones, all below 2**(hi+1))."""
        assert self.elem is not None
        return range(0, 1 << (self.elem.values()[-1] + 1))

    def mask(self) -> int:
        """The bits elements of this set may occupy."""
        assert self.elem is not None
        out = 0
        for v in self.elem.values():
            out |= 1 << v
        return out

    def valid_values(self) -> list[int]:
        """Every subset of the element type, as masks, in increasing order."""
        full = self.mask()
        return [m for m in self.values() if m & ~full == 0]

    def __str__(self) -> str:
        return f"set of {self.elem}" if self.elem else "set"


@dataclass(frozen=True)
class ArrayT:
    index: "ScalarT"
    elem: "Type"

    def __str__(self) -> str:
        return f"array[{self.index}] of {self.elem}"


ScalarT = Union[BoolT, IntT, EnumT]
Type = Union[BoolT, IntT, EnumT, SetT, ArrayT]

INT = IntT()
BOOL = BoolT()


def finite_scalar(t: Type) -> TypeGuard[ScalarT]:
    return isinstance(t, (BoolT, EnumT)) or (isinstance(t, IntT) and t.bounded)


def compatible(a: Type, b: Type) -> bool:
    """Whether values of the two types can be compared or assigned to each other."""
    if isinstance(a, IntT) and isinstance(b, IntT):
        return True
    if isinstance(a, SetT) and isinstance(b, SetT):
        if a.elem is None or b.elem is None:
            return True
        if isinstance(a.elem, IntT) and isinstance(b.elem, IntT):
            return True  # bit v is element v in every integer set; a range check guards stores
        return compatible(a.elem, b.elem) and _same_elements(a.elem, b.elem)
    if isinstance(a, ArrayT) and isinstance(b, ArrayT):
        return a == b
    return a == b


def _same_elements(a: ScalarT, b: ScalarT) -> bool:
    return list(a.values()) == list(b.values()) and type(a) is type(b)


def element_position(t: ScalarT, value: int) -> int:
    """Bit position of an element in a set over `t`: the element's encoding itself."""
    return value


def index_value(t: ScalarT, position: int) -> int:
    """The index value at a position of an array indexed by `t` (positions start at 0)."""
    if isinstance(t, IntT):
        return position + t.values().start
    return position


def show_value(t: Type, v: int) -> object:
    """A value for display and JSON: bools as bools, enum members and set elements by name."""
    if isinstance(t, BoolT):
        return bool(v)
    if isinstance(t, EnumT):
        return t.members[v] if 0 <= v < len(t.members) else v
    if isinstance(t, SetT) and t.elem is not None:
        return [show_value(t.elem, x) for x in t.elem.values() if x >= 0 and v >> x & 1]
    return v


def show_text(t: Type, v: int) -> str:
    """A value as spec text: `true`, `INT3`, `{A, B}`, `3`."""
    shown = show_value(t, v)
    if isinstance(shown, bool):
        return "true" if shown else "false"
    if isinstance(shown, list):
        return "{" + ", ".join("true" if x is True else "false" if x is False else str(x)
                               for x in shown) + "}"
    return str(shown)
