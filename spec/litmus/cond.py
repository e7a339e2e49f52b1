"""The final condition of a litmus test: `cond.lark` parses it, `_ToCondition` builds the
`Condition` (one method per node kind)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Union

from lark import Token, Transformer, UnexpectedToken, v_args
from lark.tree import Meta

from smp_explorer.spec.litmus.test import (IDENTIFIER, Addr, And, Atom, Condition, Const,
                                           LitmusError, Not, Or, Prop, Ref)
from smp_explorer.spec.litmus.text import describe, expected, lark_parser, parse_region, \
    read_int, syntax_error, transform

Operand = Union[Addr, Ref, int]


def read_condition(text: str, file: str, start: int,
                   register_name: Callable[[str], str]) -> Condition:
    """The condition that begins at `start` and runs to the end of `text` (comments blanked)."""
    tree = parse_region("cond.lark", text, start,
                        lambda err: syntax_error(err, text, file, _message))
    return transform(_ToCondition(file, register_name), tree)


def _message(err: UnexpectedToken) -> str:
    got = describe(err.token)
    if "TRAILER" in err.expected:  # the condition was complete
        return f"unexpected {got} after the final condition"
    if err.expected & {"EXISTS", "FORALL", "FINAL"}:
        return (f"expected the final condition (`exists`, `~exists`, `forall` or `final`), "
                f"got {got}")
    if err.expected & {"THREAD", "NAME"}:
        return f"expected `T:reg=v`, `loc=v` or `[loc]=v` in the condition, got {got}"
    return f"expected {expected(lark_parser('cond.lark'), err)} in the condition, got {got}"


@dataclass
class _Quantifier:
    word: str  # exists | ~exists | forall | final
    line: int


@dataclass
class _Filter:
    prop: Prop


class _ToCondition(Transformer[Token, Condition]):
    def __init__(self, file: str, register_name: Callable[[str], str]):
        super().__init__()
        self.file = file
        self.register_name = register_name

    def start(self, children: list[Token | _Filter | _Quantifier | Prop]) -> Condition:
        quantifier = next(c for c in children if isinstance(c, _Quantifier))
        prop = children[children.index(quantifier) + 1]
        assert not isinstance(prop, (Token, _Filter, _Quantifier))
        filters = [c.prop for c in children if isinstance(c, _Filter)]
        return Condition(quantifier.word, prop, quantifier.line, filters[-1] if filters else None)

    def filter(self, children: list[Prop]) -> _Filter:
        return _Filter(children[0])

    def quantifier(self, children: list[Token]) -> _Quantifier:
        return _Quantifier(str(children[0]), children[0].line or 0)

    def not_exists(self, children: list[Token]) -> _Quantifier:
        return _Quantifier("~exists", children[0].line or 0)

    def disjunction(self, children: list[Prop]) -> Prop:
        return children[0] if len(children) == 1 else Or(children)

    def conjunction(self, children: list[Prop]) -> Prop:
        return children[0] if len(children) == 1 else And(children)

    def negation(self, children: list[Prop]) -> Prop:
        return Not(children[0])

    def true(self, children: list[Token]) -> Prop:
        return Const(True)

    def false(self, children: list[Token]) -> Prop:
        return Const(False)

    @v_args(meta=True)
    def atom(self, meta: Meta, children: tuple[Ref, Token, Operand]) -> Atom:
        left, equality, value = children
        return Atom(left, value, meta.line, "=" if equality == "=" else "!=")

    def number(self, children: list[Token]) -> int:
        value = read_int(children[0])
        assert value is not None  # the INT terminal is an integer literal
        return value

    def address(self, children: list[Token]) -> Addr:
        return Addr(str(children[0]))

    def location(self, children: list[Token]) -> Ref:
        return Ref(None, str(children[0]))

    def register(self, children: list[Token]) -> Ref:
        thread, name = children
        register = self.register_name(str(name))
        if not IDENTIFIER.match(register):
            raise LitmusError(f"{str(name)!r} is not a register name", self.file, name.line)
        return Ref(int(thread.lstrip("P")), register)
