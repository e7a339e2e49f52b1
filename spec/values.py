"""What an expression denotes while it is being elaborated to IR."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from smp_explorer.ir.expr import Const, Expr
from smp_explorer.ir.types import ArrayT, ScalarT, Type
from smp_explorer.spec import ast
from smp_explorer.spec.memory.base import Location  # a shared location is a value too


@dataclass(frozen=True)
class Scalar:
    """A bool, integer, enum or set value: one IR expression of a type."""

    expr: Expr
    type: Type


def const_value(v: Scalar) -> int:
    """The value of a scalar that `Elaborator.constant` has found constant."""
    assert isinstance(v.expr, Const)
    return v.expr.value


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
    """Membership in a set value: bit v of `set_expr` for the candidate element v."""

    set_expr: Expr


@dataclass(frozen=True)
class ByName:
    """A `def` parameter: the caller's argument expression, evaluated in the caller's scope."""

    expr: ast.Expr
    bound: dict[str, Binding]  # the caller's bound names


@dataclass(frozen=True)
class ProcRef:
    """A process instance chosen by an expression (`Cpu[c]`) or a single process (`Patcher`)."""

    proc: str
    index: Expr  # position among the process's instances


Value = Union[Scalar, ArrayVal, Domain, ProcRef, Location]
Binding = Union[Value, ByName]  # what a bound name (quantifier, `with`, parameter) stands for
