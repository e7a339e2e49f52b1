"""The operator table: what each IR operator takes, gives, and how it can fail.

Every question "is this operator partial / boolean / of what arity" is answered here, and every
backend (the reference evaluator, the tuple, packed and NumPy code generators, the Z3 encoder)
has one handler per entry (`ir.compile.ExprVisitor` checks that when a backend is defined).

Values are ints. A boolean is 0 or 1. `and`/`or` take booleans and give a boolean, evaluated
left to right with short circuit: once the result is known, later operands are not evaluated
(so cannot fail). `ite` and `select` evaluate only the chosen option.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable


class Kind(enum.Enum):
    """What an operand or a result is."""

    BOOL = "bool"   # 0 or 1 (an operand of this kind is used for its truth)
    INT = "int"


class Failure(enum.Enum):
    """How a partial operator fails (and with which operand as the reported value)."""

    DIVISION_BY_ZERO = "division by zero"       # the divisor is 0 (reports the dividend)
    INDEX = "index outside range"               # select: the position is outside the options
    NEGATIVE_SHIFT = "negative shift"           # shl: the shift (a set element) is negative

    @property
    def reported(self) -> int:
        """The operand whose value a failure reports (as the generated code's helpers do)."""
        return 1 if self is Failure.NEGATIVE_SHIFT else 0


@dataclass(frozen=True)
class OpInfo:
    name: str
    arity: int | None                  # None: variadic
    result: Kind
    operands: tuple[Kind, ...]         # per operand; a variadic operator: the kind of every one
    failure: Failure | None = None     # None: total
    fold: Callable[..., int] | None = None  # the value from operand values (None: not strict)

    @property
    def partial(self) -> bool:
        return self.failure is not None

    @property
    def handler(self) -> str:
        """The name of a backend's method for this operator."""
        return f"on_{self.name}"


def floor_div(a: int, b: int) -> int:
    """TLA+'s \\div: floor division (Python's //); b != 0 is checked by the caller."""
    return a // b


def floor_mod(a: int, b: int) -> int:
    """TLA+'s %: the remainder takes the divisor's sign (Python's %)."""
    return a % b


def bit(a: int, b: int) -> int:
    """Bit b of a's two's complement; 0 for a negative b."""
    return (a >> b) & 1 if b >= 0 else 0


B, I = Kind.BOOL, Kind.INT


def _table(*entries: OpInfo) -> dict[str, OpInfo]:
    return {e.name: e for e in entries}


OPS: dict[str, OpInfo] = _table(
    OpInfo("neg", 1, I, (I,), fold=lambda a: -a),
    OpInfo("not", 1, B, (B,), fold=lambda a: int(not a)),
    OpInfo("popcount", 1, I, (I,), fold=lambda a: a.bit_count()),
    OpInfo("add", 2, I, (I, I), fold=lambda a, b: a + b),
    OpInfo("sub", 2, I, (I, I), fold=lambda a, b: a - b),
    OpInfo("mul", 2, I, (I, I), fold=lambda a, b: a * b),
    OpInfo("div", 2, I, (I, I), Failure.DIVISION_BY_ZERO, floor_div),
    OpInfo("mod", 2, I, (I, I), Failure.DIVISION_BY_ZERO, floor_mod),
    OpInfo("eq", 2, B, (I, I), fold=lambda a, b: int(a == b)),
    OpInfo("ne", 2, B, (I, I), fold=lambda a, b: int(a != b)),
    OpInfo("lt", 2, B, (I, I), fold=lambda a, b: int(a < b)),
    OpInfo("le", 2, B, (I, I), fold=lambda a, b: int(a <= b)),
    OpInfo("gt", 2, B, (I, I), fold=lambda a, b: int(a > b)),
    OpInfo("ge", 2, B, (I, I), fold=lambda a, b: int(a >= b)),
    OpInfo("bit", 2, B, (I, I), fold=bit),
    OpInfo("bor", 2, I, (I, I), fold=lambda a, b: a | b),
    OpInfo("band", 2, I, (I, I), fold=lambda a, b: a & b),
    OpInfo("bandnot", 2, I, (I, I), fold=lambda a, b: a & ~b),
    OpInfo("bxor", 2, I, (I, I), fold=lambda a, b: a ^ b),
    OpInfo("shl", 2, I, (I, I), Failure.NEGATIVE_SHIFT, lambda a, b: a << b),
    # lazy: only the chosen operands are evaluated
    OpInfo("ite", 3, I, (B, I, I)),
    OpInfo("and", None, B, (B,)),
    OpInfo("or", None, B, (B,)),
    OpInfo("select", None, I, (I,), Failure.INDEX),   # (index, option0, option1, ...)
)

PARTIAL = frozenset(name for name, info in OPS.items() if info.partial)
BOOLEAN = frozenset(name for name, info in OPS.items() if info.result is Kind.BOOL)
COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")


def fails(name: str, operands: tuple[int, ...]) -> bool:
    """Whether strict operator `name` fails on these operand values."""
    failure = OPS[name].failure
    if failure is Failure.DIVISION_BY_ZERO:
        return operands[1] == 0
    if failure is Failure.NEGATIVE_SHIFT:
        return operands[1] < 0
    return False
