"""The syntax tree of a spec: plain frozen dataclasses, one per construct.

Spans never take part in equality, so a tree can be compared with a re-parsed one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from smp_explorer.ir.span import Span


def _span() -> Span:
    return field(compare=False, repr=False)


# ---- expressions -----------------------------------------------------------------

@dataclass(frozen=True)
class IntLit:
    value: int
    span: Span = _span()


@dataclass(frozen=True)
class BoolLit:
    value: bool
    span: Span = _span()


@dataclass(frozen=True)
class SelfRef:
    span: Span = _span()


@dataclass(frozen=True)
class Name:
    id: str
    span: Span = _span()


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class SetLit:
    items: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Index:
    base: Expr
    index: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Field:
    base: Expr
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Neg:
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Not:
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True)
class BinOp:
    """Binary operator: arithmetic, comparison, logic (`and or implies`), sets (`in union minus`)."""

    op: str
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class At:
    """`Cpu[c] at handler`: the process instance's program counter is at a label."""

    process: Expr
    label: str
    span: Span = _span()


@dataclass(frozen=True)
class Range:
    lo: Expr
    hi: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Quant:
    kind: str  # "forall" | "exists"
    var: str
    domain: Expr
    body: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Ite:
    cond: Expr
    then: Expr
    else_: Expr
    span: Span = _span()


Expr = Union[IntLit, BoolLit, SelfRef, Name, Call, SetLit, Index, Field, Neg, Not, BinOp, At, Range,
             Quant, Ite]


# ---- types -------------------------------------------------------------------------

@dataclass(frozen=True)
class BoolType:
    span: Span = _span()


@dataclass(frozen=True)
class RangeType:
    lo: Expr
    hi: Expr
    span: Span = _span()


@dataclass(frozen=True)
class EnumType:
    members: tuple[str, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ArrayType:
    index: TypeExpr
    elem: TypeExpr
    span: Span = _span()


@dataclass(frozen=True)
class SetType:
    elem: TypeExpr
    span: Span = _span()


@dataclass(frozen=True)
class ScalarsetType:
    """`scalarset(N)`: N interchangeable values (docs/language.md, "Symmetry")."""
    size: Expr
    span: Span = _span()


@dataclass(frozen=True)
class NamedType:
    name: str
    span: Span = _span()


TypeExpr = Union[BoolType, RangeType, EnumType, ArrayType, SetType, ScalarsetType, NamedType]


# ---- statements --------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    name: str
    indices: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Labeled:
    label: str
    stmt: Stmt
    span: Span = _span()
    fairness: str | None = None  # `fair(strong) l: ...`: "weak" | "strong" for the label's steps


@dataclass(frozen=True)
class Assign:
    target: Target
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Await:
    cond: Expr
    span: Span = _span()


@dataclass(frozen=True)
class If:
    cond: Expr
    then: tuple[Stmt, ...]
    else_: tuple[Stmt, ...] | None
    span: Span = _span()


@dataclass(frozen=True)
class While:
    cond: Expr
    body: tuple[Stmt, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Goto:
    label: str
    span: Span = _span()


@dataclass(frozen=True)
class Either:
    branches: tuple[tuple[Stmt, ...], ...]
    span: Span = _span()


@dataclass(frozen=True)
class With:
    var: str
    domain: Expr
    body: tuple[Stmt, ...]
    span: Span = _span()


@dataclass(frozen=True)
class For:
    """`for x in D { ... }`: the body once per value of D, in order, inside the same step."""

    var: str
    domain: Expr
    body: tuple[Stmt, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Assert:
    cond: Expr
    message: str | None
    span: Span = _span()


@dataclass(frozen=True)
class Let:
    """`let t = e;`: a temporary of the step, its type taken from e."""

    name: str
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Return:
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class CallStmt:
    """A call whose result, if any, is dropped: a `def` or a statement intrinsic."""

    func: str
    args: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Skip:
    span: Span = _span()


@dataclass(frozen=True)
class Terminate:
    span: Span = _span()


Stmt = Union[Labeled, Assign, Await, If, While, Goto, Either, With, For, Assert, Skip, Terminate,
             Let, Return, CallStmt]


# ---- declarations ------------------------------------------------------------------

@dataclass(frozen=True)
class AnyValue:
    """`= any`: every value of the declared type is an initial value."""

    span: Span = _span()


Init = Union[Expr, AnyValue]


@dataclass(frozen=True)
class ConstDecl:
    name: str
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class TypeDecl:
    name: str
    type: TypeExpr
    span: Span = _span()


@dataclass(frozen=True)
class VarDecl:
    kind: str  # "shared" | "var"
    name: str
    type: TypeExpr
    init: Init | None
    span: Span = _span()


@dataclass(frozen=True)
class LocalDecl:
    name: str
    type: TypeExpr
    init: Init | None
    span: Span = _span()


@dataclass(frozen=True)
class Param:
    name: str
    type: TypeExpr
    span: Span = _span()


@dataclass(frozen=True)
class ProcessDecl:
    name: str
    param: Param | None
    locals: tuple[LocalDecl, ...]
    body: tuple[Stmt, ...]
    span: Span = _span()
    fairness: str | None = None  # `fair process` / `fair(strong) process`: "weak" | "strong"


@dataclass(frozen=True)
class ActionDecl:
    name: str
    params: tuple[Param, ...]
    locals: tuple[LocalDecl, ...]
    body: tuple[Stmt, ...]
    span: Span = _span()


@dataclass(frozen=True)
class MemoryDecl:
    """`memory tso;`: the memory model to check under when the command line names none."""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class UseDecl:
    """`use linux.x86;`: import a prelude of definitions shipped with the package."""

    path: tuple[str, ...]
    span: Span = _span()


@dataclass(frozen=True)
class DefDecl:
    """`def name(p, q) { ... }`: an inline definition, expanded at each call.

    Parameters are passed by name: each use of `p` in the body is the caller's argument
    expression, so a location can be passed and assigned or used with an intrinsic."""

    name: str
    params: tuple[str, ...]
    body: tuple[Stmt, ...]
    span: Span = _span()


@dataclass(frozen=True)
class PropertyDecl:
    kind: str  # "invariant" | "reachable" | "liveness"
    name: str
    expr: Expr
    span: Span = _span()
    # liveness: "eventually" | "always_eventually" | "eventually_always" | "leads_to" (expr
    # leads_to expr2)
    temporal: str = ""
    expr2: Expr | None = None
    param: Param | None = None  # `liveness name[c in CPUS]: ...`: one property per value


Decl = Union[ConstDecl, TypeDecl, VarDecl, ProcessDecl, ActionDecl, PropertyDecl, MemoryDecl,
             UseDecl, DefDecl]


@dataclass(frozen=True)
class SpecFile:
    path: str
    decls: tuple[Decl, ...]
