"""What an expression denotes while it is being elaborated to IR."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from smp_explorer.ir.expr import Expr
from smp_explorer.ir.types import ArrayT, ScalarT, SetT, Type


@dataclass(frozen=True)
class Scalar:
    """A bool, integer, enum or set value: one IR expression of a type."""

    expr: Expr
    type: Type


@dataclass(frozen=True)
class ArrayVal:
    type: ArrayT
    elems: tuple["Value", ...]  # one per value of the index type, in order
    name: str                   # for messages: "ipi", "Cpu[0].seen"


@dataclass(frozen=True)
class Domain:
    """A finite collection usable after `in`: a type, a range, a process set, a set value.

    `values` lists candidate element values; `member` (if not None) must also hold for each.
    """

    elem: ScalarT
    values: tuple[int, ...]
    member: "SetMember | None" = None


@dataclass(frozen=True)
class SetMember:
    set_expr: Expr
    set_type: SetT


@dataclass(frozen=True)
class ByName:
    """A `def` parameter: the caller's argument expression, evaluated in the caller's scope."""

    expr: object            # spec.ast expression
    bound: dict             # the caller's bound names


@dataclass(frozen=True)
class ProcRef:
    """A process instance chosen by an expression (`Cpu[c]`) or a single process (`Patcher`)."""

    proc: str
    index: Expr  # position among the process's instances


from smp_explorer.spec.memory.base import Location  # noqa: E402  (a shared location is a value too)

Value = Union[Scalar, ArrayVal, Domain, ProcRef, Location]
