"""IR expressions over state slots: a closed set of three immutable node classes.

Every value is an int (bools are 0/1). `Op` covers all operators; the smart constructor `op()`
folds constants and trivial boolean cases, so lowering can build freely. Partial operators
(`div`, `mod`, `select`) carry the source span used when they fail at run time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Union

from smp_explorer.ir.span import Span


@dataclass(frozen=True)
class Const:
    value: int

    def __repr__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class Ref:
    """The current value of state slot `slot`."""

    slot: int

    def __repr__(self) -> str:
        return f"s{self.slot}"


@dataclass(frozen=True)
class Op:
    """An operator application. `select` is (index, option0, option1, ...): option[index]."""

    op: str
    args: tuple["Expr", ...]
    span: Span | None = field(default=None, compare=False)
    info: str | None = field(default=None, compare=False)  # what a failing partial op names

    def __repr__(self) -> str:
        return "(" + " ".join([self.op, *map(repr, self.args)]) + ")"


Expr = Union[Const, Ref, Op]

TRUE = Const(1)
FALSE = Const(0)

ARITY = {
    "neg": 1, "not": 1, "popcount": 1,
    "add": 2, "sub": 2, "mul": 2, "div": 2, "mod": 2,
    "eq": 2, "ne": 2, "lt": 2, "le": 2, "gt": 2, "ge": 2,
    "bit": 2, "bor": 2, "band": 2, "bandnot": 2, "bxor": 2, "shl": 2,
    "ite": 3,
}
VARIADIC = {"and", "or", "select"}
PARTIAL = {"div", "mod", "select", "shl"}


def floor_div(a: int, b: int) -> int:
    """TLA+'s \\div: floor division (Python's //); b != 0 is checked by the caller."""
    return a // b


def floor_mod(a: int, b: int) -> int:
    """TLA+'s %: the remainder takes the divisor's sign (Python's %)."""
    return a % b


CONST_FOLD: dict[str, Callable[..., int]] = {
    "neg": lambda a: -a,
    "not": lambda a: int(not a),
    "popcount": lambda a: bin(a).count("1"),
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": floor_div,
    "mod": floor_mod,
    "eq": lambda a, b: int(a == b),
    "ne": lambda a, b: int(a != b),
    "lt": lambda a, b: int(a < b),
    "le": lambda a, b: int(a <= b),
    "gt": lambda a, b: int(a > b),
    "ge": lambda a, b: int(a >= b),
    "bit": lambda a, b: (a >> b) & 1 if b >= 0 else 0,
    "bor": lambda a, b: a | b,
    "band": lambda a, b: a & b,
    "bandnot": lambda a, b: a & ~b,
    "bxor": lambda a, b: a ^ b,
    "shl": lambda a, b: a << b,
}


def op(name: str, *args: Expr, span: Span | None = None, info: str | None = None) -> Expr:
    """Build an operator node, folding what can be folded."""
    if name == "and":
        return conj(args)
    if name == "or":
        return disj(args)
    if name == "ite":
        c, a, b = args
        if isinstance(c, Const):
            return a if c.value else b
        if a == b:
            return a
        return Op("ite", args)
    if name == "select":
        index, options = args[0], args[1:]
        if isinstance(index, Const) and 0 <= index.value < len(options):
            return options[index.value]
        if len(set(options)) == 1 and _index_in_bounds(index, len(options)):
            return options[0]
        return Op("select", args, span, info)
    if all(isinstance(a, Const) for a in args):
        vals = [a.value for a in args]  # type: ignore[union-attr]
        if name in ("div", "mod") and vals[1] == 0 or name == "shl" and vals[1] < 0:
            return Op(name, args, span, info)  # fails when evaluated: keep it for the report
        return Const(CONST_FOLD[name](*vals))
    if name in ("add", "sub") and args[1] == Const(0):
        return args[0]
    if name == "add" and args[0] == Const(0):
        return args[1]
    if name == "not" and isinstance(args[0], Op) and args[0].op == "not":
        return args[0].args[0]
    if name in ("eq", "ne") and args[0] == args[1]:
        return Const(int(name == "eq"))
    return Op(name, tuple(args), span, info)


def _index_in_bounds(index: Expr, n: int) -> bool:
    return isinstance(index, Const) and 0 <= index.value < n


def conj(args) -> Expr:
    parts: list[Expr] = []
    for a in args:
        if isinstance(a, Const):
            if not a.value:
                return FALSE
            continue
        if isinstance(a, Op) and a.op == "and":
            parts.extend(a.args)
        elif a not in parts:
            parts.append(a)
    if not parts:
        return TRUE
    return parts[0] if len(parts) == 1 else Op("and", tuple(parts))


def disj(args) -> Expr:
    parts: list[Expr] = []
    for a in args:
        if isinstance(a, Const):
            if a.value:
                return TRUE
            continue
        if isinstance(a, Op) and a.op == "or":
            parts.extend(a.args)
        elif a not in parts:
            parts.append(a)
    if not parts:
        return FALSE
    return parts[0] if len(parts) == 1 else Op("or", tuple(parts))


def neg(a: Expr) -> Expr:
    return op("not", a)


def substitute(e: Expr, env: dict[int, Expr]) -> Expr:
    """Replace slot references by expressions (used by symbolic execution)."""
    if isinstance(e, Ref):
        return env.get(e.slot, e)
    if isinstance(e, Const):
        return e
    return op(e.op, *(substitute(a, env) for a in e.args), span=e.span, info=e.info)


def slots_read(e: Expr, out: set[int] | None = None) -> set[int]:
    out = set() if out is None else out
    if isinstance(e, Ref):
        out.add(e.slot)
    elif isinstance(e, Op):
        for a in e.args:
            slots_read(a, out)
    return out


def conjuncts(e: Expr) -> tuple[Expr, ...]:
    if isinstance(e, Op) and e.op == "and":
        return e.args
    return () if e == TRUE else (e,)


def evaluate(e: Expr, state) -> int:
    """Reference evaluator (a tree walk), for tests and one-off evaluation; engines compile."""
    if isinstance(e, Const):
        return e.value
    if isinstance(e, Ref):
        return state[e.slot]
    o = e.op
    if o == "and":
        return int(all(evaluate(a, state) for a in e.args))
    if o == "or":
        return int(any(evaluate(a, state) for a in e.args))
    if o == "ite":
        return evaluate(e.args[1] if evaluate(e.args[0], state) else e.args[2], state)
    if o == "select":
        i = evaluate(e.args[0], state)
        if not 0 <= i < len(e.args) - 1:
            raise EvalError(e, i)
        return evaluate(e.args[1 + i], state)
    vals = [evaluate(a, state) for a in e.args]
    if o in ("div", "mod") and vals[1] == 0 or o == "shl" and vals[1] < 0:
        raise EvalError(e, vals[1])
    return CONST_FOLD[o](*vals)


class EvalError(Exception):
    """A partial operator failed: division by zero, index out of bounds, element out of range."""

    def __init__(self, node: Op, value: int):
        super().__init__(node, value)
        self.node = node
        self.value = value


def index_info(name: str, lo: int, domain: str) -> str:
    """The `info` of a `select`: what is indexed, the index type's first value, its text."""
    return f"{name}|{lo}|{domain}"


def failure_template(node: Op) -> tuple[str, int]:
    """How to report a failed partial operator: a message with {value}, and the offset to add
    to the failing operand (a `select` fails with a position; the message shows the index)."""
    if node.op in ("div", "mod"):
        return "division by zero", 0
    if node.op == "shl":
        return node.info or "set element out of range", 0
    name, lo, domain = (node.info or "array|0|its range").split("|")
    if domain == "instances":
        return f"no instance of {name} at position {{value}}", 0
    return f"index {{value}} is outside {domain} of '{name}'", int(lo)


def describe_failure(node: Op, value: int) -> str:
    template, offset = failure_template(node)
    return template.replace("{value}", str(value + offset))
