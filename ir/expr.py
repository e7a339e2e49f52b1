"""IR expressions over state slots: a closed set of three immutable node classes.

Every value is an int (bools are 0/1). `Op` covers all operators (their table: `ir.ops`); the
smart constructor `op()` folds constants and trivial boolean cases, so lowering can build
freely. Partial operators (`div`, `mod`, `select`, `shl`) carry the source span and what they
name (`IndexInfo`, `FailureText`) for the message when they fail at run time.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping, Union

from smp_explorer.ir.ops import OPS, PARTIAL, Failure, fails
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
class IndexInfo:
    """What a `select` indexes, for the message when the index is outside it."""

    name: str                  # "ipi", "Cpu"
    lo: int = 0                # the index type's first value: position + lo is the index shown
    domain: str = "its range"  # the index type's text
    instances: bool = False    # it picks a process instance ("no instance of Cpu at ...")


@dataclass(frozen=True)
class FailureText:
    """The message of a failing partial operator; {value} stands for the failing operand."""

    text: str


FailureInfo = Union[IndexInfo, FailureText]


@dataclass(frozen=True, eq=False)
class Op:
    """An operator application. `select` is (index, option0, option1, ...): option[index].

    Expressions are DAGs: a value a step computes once (a load's case split over a store
    buffer, the new write-barrier group) is one node however many expressions use it, and
    `op()` gives structurally equal nodes (with equal span and info) as one object, so the
    sharing survives rebuilding. Every walk over expressions memoizes on nodes, so its cost
    is the number of distinct nodes, not of paths; the code generators give a node used more
    than once a temporary (`ir.share`). The hash is computed once, at construction."""

    op: str
    args: tuple["Expr", ...]
    span: Span | None = field(default=None, compare=False)
    info: FailureInfo | None = field(default=None, compare=False)  # names what failed
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.op, self.args)))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if type(other) is not Op or other._hash != self._hash:
            return False
        return self.op == other.op and self.args == other.args

    def __reduce__(self) -> tuple:
        # rebuilt through the constructor: the hash of a name differs between processes
        return (Op, (self.op, self.args, self.span, self.info))

    def __repr__(self) -> str:
        return "(" + " ".join([self.op, *map(repr, self.args)]) + ")"


Expr = Union[Const, Ref, Op]

TRUE = Const(1)
FALSE = Const(0)

_INTERNED: "weakref.WeakValueDictionary[tuple, Op]" = weakref.WeakValueDictionary()


def make(name: str, args: tuple[Expr, ...], span: Span | None = None,
         info: FailureInfo | None = None) -> Op:
    """The one node for (name, args, span, info): structurally equal expressions built apart
    (a memory model reading the same buffer twice, a substitution) are the same object."""
    key = (name, args, span, info)
    try:
        got = _INTERNED.get(key)
    except TypeError:   # an unhashable failure description: not shared
        return Op(name, args, span, info)
    if got is None:
        got = Op(name, args, span, info)
        _INTERNED[key] = got
    return got

def op(name: str, *args: Expr, span: Span | None = None,
       info: FailureInfo | None = None) -> Expr:
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
        return make("ite", tuple(args))
    if name == "select":
        index, options = args[0], args[1:]
        if isinstance(index, Const) and 0 <= index.value < len(options):
            return options[index.value]
        if len(set(options)) == 1 and _index_in_bounds(index, len(options)):
            return options[0]
        return make("select", tuple(args), span, info)
    if all(isinstance(a, Const) for a in args):
        vals = tuple(a.value for a in args if isinstance(a, Const))
        if fails(name, vals):
            return make(name, tuple(args), span, info)  # fails when evaluated: keep it for the report
        fold = OPS[name].fold
        assert fold is not None
        return Const(fold(*vals))
    if name in ("add", "sub") and args[1] == Const(0):
        return args[0]
    if name == "add" and args[0] == Const(0):
        return args[1]
    if name == "not" and isinstance(args[0], Op) and args[0].op == "not":
        return args[0].args[0]
    if name in ("eq", "ne") and args[0] == args[1]:
        return Const(int(name == "eq"))
    return make(name, tuple(args), span, info)


def _index_in_bounds(index: Expr, n: int) -> bool:
    return isinstance(index, Const) and 0 <= index.value < n


def conj(args: Iterable[Expr]) -> Expr:
    """`and` of `args`, flattened, without repeats and constant operands (FALSE absorbs)."""
    return _junction("and", args, absorbing=0)


def disj(args: Iterable[Expr]) -> Expr:
    """`or` of `args`, flattened, without repeats and constant operands (TRUE absorbs)."""
    return _junction("or", args, absorbing=1)


def _junction(name: str, args: Iterable[Expr], absorbing: int) -> Expr:
    parts: list[Expr] = []
    seen: set[Expr] = set()    # (a list's `in` made a `forall` over N processes quadratic)
    for a in args:
        if isinstance(a, Const):
            if bool(a.value) == bool(absorbing):
                return Const(absorbing)
            continue
        if isinstance(a, Op) and a.op == name:
            parts.extend(a.args)
            seen.update(a.args)
        elif a not in seen:
            parts.append(a)
            seen.add(a)
    if not parts:
        return Const(1 - absorbing)
    return parts[0] if len(parts) == 1 else make(name, tuple(parts))


def neg(a: Expr) -> Expr:
    return op("not", a)


def substitute(e: Expr, env: Mapping[int, Expr],
               memo: dict[int, tuple[Expr, Expr]] | None = None) -> Expr:
    """Replace slot references by expressions (used by symbolic execution). Each distinct node
    is rebuilt once; pass the same `memo` to several calls with one `env` to share the work."""
    if isinstance(e, Ref):
        return env.get(e.slot, e)
    if isinstance(e, Const) or not env:
        return e
    memo = {} if memo is None else memo
    return _substitute(e, env, memo)


def _substitute(e: Expr, env: Mapping[int, Expr], memo: dict[int, tuple[Expr, Expr]]) -> Expr:
    if isinstance(e, Ref):
        return env.get(e.slot, e)
    if isinstance(e, Const):
        return e
    got = memo.get(id(e))
    if got is not None:
        return got[1]
    out = op(e.op, *(_substitute(a, env, memo) for a in e.args), span=e.span, info=e.info)
    memo[id(e)] = (e, out)   # (the key's node is kept alive: its id is not reused)
    return out


def slots_read(e: Expr, out: set[int] | None = None) -> set[int]:
    out = set() if out is None else out
    seen: set[int] = set()
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, Ref):
            out.add(x.slot)
        elif isinstance(x, Op) and id(x) not in seen:
            seen.add(id(x))
            stack.extend(x.args)
    return out


def nodes(*roots: Expr) -> Iterator[Op]:
    """Each distinct operator node under `roots`, once, children before parents."""
    seen: set[int] = set()
    for root in roots:
        stack: list[tuple[Expr, bool]] = [(root, False)]
        while stack:
            x, done = stack.pop()
            if not isinstance(x, Op):
                continue
            if done:
                yield x
            elif id(x) not in seen:
                seen.add(id(x))
                stack.append((x, True))
                stack.extend((a, False) for a in reversed(x.args))


def dag_size(*roots: Expr) -> int:
    """The number of distinct operator nodes under `roots` (what generated code grows with)."""
    return sum(1 for _ in nodes(*roots))


def tree_size(e: Expr) -> int:
    """The number of operator nodes of `e` written out as a tree (without sharing)."""
    sizes: dict[int, int] = {}
    for x in nodes(e):
        sizes[id(x)] = 1 + sum(sizes.get(id(a), 0) for a in x.args)
    return sizes.get(id(e), 0)


def conjuncts(e: Expr) -> tuple[Expr, ...]:
    if isinstance(e, Op) and e.op == "and":
        return e.args
    return () if e == TRUE else (e,)


def failure_template(node: Op) -> tuple[str, int]:
    """How to report a failed partial operator: a message with {value}, and the offset to add
    to the failing operand (a `select` fails with a position; the message shows the index)."""
    failure = OPS[node.op].failure
    if failure is Failure.DIVISION_BY_ZERO:
        return "division by zero", 0
    if failure is Failure.NEGATIVE_SHIFT:
        info = node.info
        return (info.text if isinstance(info, FailureText) else "set element out of range"), 0
    index = node.info if isinstance(node.info, IndexInfo) else IndexInfo("array")
    if index.instances:
        return f"no instance of {index.name} at position {{value}}", 0
    return f"index {{value}} is outside {index.domain} of '{index.name}'", index.lo


def describe_failure(node: Op, value: int) -> str:
    template, offset = failure_template(node)
    return template.replace("{value}", str(value + offset))


def contains_partial(e: Expr) -> bool:
    """Whether `e` applies an operator that can fail (whatever the values)."""
    if not isinstance(e, Op):
        return False
    got = _PARTIAL_MEMO.get(e)
    if got is None:
        got = False
        for x in nodes(e):   # children first: each node's answer is known from its children's
            known = _PARTIAL_MEMO.get(x)
            if known is None:
                known = x.op in PARTIAL or any(isinstance(a, Op) and _PARTIAL_MEMO[a]
                                               for a in x.args)
                _PARTIAL_MEMO[x] = known
        got = _PARTIAL_MEMO[e]
    return got


_PARTIAL_MEMO: "weakref.WeakKeyDictionary[Op, bool]" = weakref.WeakKeyDictionary()
