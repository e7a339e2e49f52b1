"""The data model of a litmus test: what the readers build and the translation walks.

Two kinds of failure while reading:

* `LitmusError`: the file is not a litmus test we can read (names the file and line);
* `Unsupported`: a valid construct the translation does not handle (another architecture,
  loops, indirect memory operands, ...); the message is the construct.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Union

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z_0-9]*$")


# ---- errors ----------------------------------------------------------------------------------

class LitmusError(Exception):
    """The file cannot be read as a litmus test."""

    def __init__(self, message: str, file: str = "<litmus>", line: int | None = None,
                 column: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column  # where known; the message names file and line only

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class Unsupported(Exception):
    """A construct of the test that the translation does not support."""

    def __init__(self, construct: str, line: int | None = None):
        super().__init__(construct)
        self.construct = construct
        self.line = line

    def __str__(self) -> str:
        return f"unsupported: {self.construct}"


# ---- the parsed test --------------------------------------------------------------------------

@dataclass(frozen=True)
class Addr:
    """The address of a location (a pointer value)."""

    name: str

    def __str__(self) -> str:
        return f"&{self.name}"


Value = Union[int, Addr]


@dataclass(frozen=True)
class Reg:
    """An x86 register operand."""

    name: str


@dataclass
class Asm:
    """One x86 instruction, operands in Intel order (destination first).

    kinds: `store` (loc := src), `load` (reg := loc), `move` (reg := src), `fence` (op: full,
    read, write), `rmw` (a locked read-modify-write of loc: op in xchg, add, sub, and, or, xor,
    xadd, cmpxchg, inc, dec; reg receives the old value for xchg/xadd/cmpxchg), `alu` (reg := reg
    op src), `nop`.
    """

    kind: str
    line: int
    text: str
    reg: str | None = None
    loc: str | None = None
    src: int | Reg | Addr | None = None
    op: str | None = None


# C syntax tree
@dataclass
class CNum:
    value: int


@dataclass
class CName:
    name: str


@dataclass
class CDeref:
    expr: "CExpr"


@dataclass
class CAddrOf:
    name: str


@dataclass
class CCall:
    name: str
    args: list["CExpr"]
    line: int


@dataclass
class CBin:
    op: str
    left: "CExpr"
    right: "CExpr"


@dataclass
class CUnary:
    op: str  # - ! ~
    expr: "CExpr"


@dataclass
class CTernary:
    cond: "CExpr"
    then: "CExpr"
    other: "CExpr"


CExpr = Union[CNum, CName, CDeref, CAddrOf, CCall, CBin, CUnary, CTernary]


@dataclass
class CDecl:
    name: str
    init: CExpr | None
    line: int


@dataclass
class CAssign:
    target: CExpr  # CName (a register) or CDeref (a store through a pointer)
    value: CExpr
    line: int


@dataclass
class CExprStmt:
    expr: CExpr
    line: int


@dataclass
class CIf:
    cond: CExpr
    then: list["CStmt"]
    other: list["CStmt"]
    line: int


CStmt = Union[CDecl, CAssign, CExprStmt, CIf]


def evaluated(statements: list[CStmt]) -> Iterator[CExpr]:
    """The expressions the statements evaluate, in order, through `if`s: not the register an
    assignment writes, but the pointer of a store through `*p`."""
    for s in statements:
        if isinstance(s, CDecl):
            if s.init is not None:
                yield s.init
        elif isinstance(s, CAssign):
            if isinstance(s.target, CDeref):
                yield s.target
            yield s.value
        elif isinstance(s, CExprStmt):
            yield s.expr
        else:
            yield s.cond
            yield from evaluated(s.then + s.other)


def subexpressions(e: CExpr) -> Iterator[CExpr]:
    """An expression and every expression inside it."""
    yield e
    if isinstance(e, (CDeref, CUnary)):
        yield from subexpressions(e.expr)
    elif isinstance(e, CCall):
        for a in e.args:
            yield from subexpressions(a)
    elif isinstance(e, CBin):
        yield from subexpressions(e.left)
        yield from subexpressions(e.right)
    elif isinstance(e, CTernary):
        for part in (e.cond, e.then, e.other):
            yield from subexpressions(part)


@dataclass
class Thread:
    index: int
    name: str
    line: int
    body: list[Asm] | list[CStmt]
    params: list[str] = field(default_factory=list)  # C: the parameters (location names)

    @property
    def instructions(self) -> list[Asm]:
        """The body of an x86 thread."""
        return [s for s in self.body if isinstance(s, Asm)]

    @property
    def statements(self) -> list[CStmt]:
        """The body of a C thread."""
        return [s for s in self.body if not isinstance(s, Asm)]


# final condition
@dataclass(frozen=True)
class Ref:
    """A register `T:reg` (thread is the index) or a location `x` / `[x]` (thread is None)."""

    thread: int | None
    name: str

    def __str__(self) -> str:
        return self.name if self.thread is None else f"{self.thread}:{self.name}"


@dataclass
class Atom:
    """`left = value`, `left != value`; the value may be another register or location."""

    left: Ref
    value: Union[int, Addr, Ref]
    line: int
    op: str = "="

    @property
    def thread(self) -> int | None:
        return self.left.thread

    @property
    def name(self) -> str:
        return self.left.name


@dataclass
class Not:
    prop: "Prop"


@dataclass
class And:
    props: list["Prop"]


@dataclass
class Or:
    props: list["Prop"]


@dataclass
class Const:
    value: bool


Prop = Union[Atom, Not, And, Or, Const]


def atoms(prop: Prop) -> Iterator[Atom]:
    """The atoms of a proposition, left to right."""
    if isinstance(prop, Atom):
        yield prop
    elif isinstance(prop, Not):
        yield from atoms(prop.prop)
    elif isinstance(prop, (And, Or)):
        for part in prop.props:
            yield from atoms(part)


@dataclass
class Condition:
    quantifier: str  # exists | ~exists | forall | final
    prop: Prop
    line: int
    filter: Prop | None = None

    def atoms(self) -> Iterator[Atom]:
        """The atoms of the condition, then of its filter."""
        yield from atoms(self.prop)
        if self.filter is not None:
            yield from atoms(self.filter)


@dataclass
class LitmusTest:
    file: str
    arch: str                # X86 | X86_64 | C
    name: str
    memory: dict[str, Value]  # initial values given in the init block
    registers: dict[tuple[int, str], Value]
    threads: list[Thread]
    condition: Condition
    locations: list[str] = field(default_factory=list)  # every location, in first-seen order
    source: str = ""  # the text of the file

    def source_line(self, line: int) -> str:
        lines = self.source.split("\n")
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""

    @property
    def is_c(self) -> bool:
        return self.arch == "C"


class Locations:
    """The location names of a test in first-seen order (the order of the shared variables)."""

    def __init__(self, file: str):
        self.file = file
        self.names: list[str] = []

    def add(self, name: str, line: int | None = None) -> None:
        if not IDENTIFIER.match(name):
            raise LitmusError(f"{name!r} is not a location name", self.file, line)
        if name not in self.names:
            self.names.append(name)
