"""Symbols a spec declares, and the slot layout they occupy."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from smp_explorer.ir.span import Span
from smp_explorer.ir.types import EnumT, ScalarT, SetT, Type
from smp_explorer.spec import ast
from smp_explorer.spec.values import Binding

DONE = "Done"  # the label a process is at once it has terminated

# A variable's slots: an int for a scalar or set, a tuple (one entry per index value) for an array.
Layout = Union[int, tuple["Layout", ...]]


@dataclass
class SlotDecl:
    """A slot to create: its display name, type, owner and initial values."""

    name: str
    type: ScalarT | SetT  # a slot holds a scalar or a set; arrays are one slot per element
    owner: str | None
    var: str
    shared: bool
    init: tuple[int, ...]
    is_pc: bool = False
    internal: bool = False  # added by a memory model; shown through its views


@dataclass
class ConstSym:
    name: str
    value: int
    type: Type
    span: Span | None


@dataclass
class TypeSym:
    name: str
    type: Type
    span: Span | None


@dataclass
class EnumMemberSym:
    name: str
    type: EnumT
    value: int


@dataclass
class VarSym:
    """A global (`shared` or `var`) or a process-local variable of one instance."""

    name: str
    type: Type
    shared: bool
    decl: ast.VarDecl | ast.LocalDecl
    layout: Layout = 0


@dataclass
class Instance:
    name: str          # "Cpu[0]"
    id: int | None     # the parameter's value
    pc_slot: int
    bound: dict[str, Binding] = field(default_factory=dict)  # `self` and the parameter
    locals: dict[str, VarSym] = field(default_factory=dict)


@dataclass
class ProcSym:
    name: str
    decl: ast.ProcessDecl
    param_type: ScalarT | None
    labels: list[str]                      # in source order; "Done" is added after them
    label_spans: dict[str, Span]
    instances: list[Instance] = field(default_factory=list)

    @property
    def pc_labels(self) -> tuple[str, ...]:
        return (*self.labels, DONE)


Symbol = Union[ConstSym, TypeSym, EnumMemberSym, VarSym, ProcSym]

