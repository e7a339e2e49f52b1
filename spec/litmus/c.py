"""The threads of a C litmus test: `c.lark` parses the functions, `_ToThreads` builds the
`Thread`s and their statements (one method per node kind); the condition after them is read by
`cond.read_condition`."""
from __future__ import annotations

import re
from dataclasses import dataclass

from lark import Token, Transformer, UnexpectedInput, UnexpectedToken, v_args
from lark.tree import Meta

from smp_explorer.spec.litmus.test import (CAddrOf, CAssign, CBin, CCall, CDecl, CDeref, CExpr,
                                           CExprStmt, CIf, CName, CNum, CStmt, CTernary, CUnary,
                                           LitmusError, Locations, Thread, Unsupported)
from smp_explorer.spec.litmus.text import describe, expected, lark_parser, parse_region, \
    read_int, syntax_error, transform

# the words `c.lark` keeps out of names, so that a statement starting with one is reported
_UNSUPPORTED_STATEMENTS = {"while": "loops (while)", "for": "loops (for)", "do": "loops (do)",
                           "goto": "goto", "switch": "switch", "return": "return",
                           "break": "break", "continue": "continue"}
_UNSUPPORTED_WORD = re.compile(r"(%s)\b" % "|".join(_UNSUPPORTED_STATEMENTS))


def read_c_threads(text: str, file: str, start: int,
                   locations: Locations) -> tuple[list[Thread], int]:
    """The functions after `start` (OCaml comments blanked) and where the condition begins."""
    def error(err: UnexpectedInput) -> Exception:
        word = _UNSUPPORTED_WORD.match(text, err.pos_in_stream or 0)
        if word:
            return Unsupported(_UNSUPPORTED_STATEMENTS[word.group(1)], err.line)
        return syntax_error(err, text, file, _message)

    tree = parse_region("c.lark", text, start, error)
    threads = transform(_ToThreads(file), tree)
    for thread in threads:
        for param in thread.params:
            locations.add(param)
    condition = tree.children[-1]
    end = condition.start_pos if isinstance(condition, Token) and condition.type == "CONDITION" \
        else len(text)
    return threads, end or 0


def _message(err: UnexpectedToken) -> str:
    got = describe(err.token)
    if err.token.type == "$END" and "RBRACE" in err.expected:
        return "unterminated function body: missing `}`"
    if "THREAD_NAME" in err.expected and "CONDITION" not in err.expected:
        return f"expected a thread `P0(...) {{ ... }}`, got {got}"
    if "SEMICOLON" in err.expected:
        return f"expected ';' after the statement, got {got}"
    return f"expected {expected(lark_parser('c.lark'), err)}, got {got}"


@dataclass
class _Function:
    name: Token
    params: list[str]
    body: list[CStmt]


class _ToThreads(Transformer[Token, list[Thread]]):
    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def start(self, children: list[_Function | Token]) -> list[Thread]:
        functions = [c for c in children if isinstance(c, _Function)]
        threads = []
        for index, function in enumerate(functions):
            name = function.name
            if name != f"P{index}":
                raise LitmusError(f"thread {name} is out of order (expected P{index})",
                                  self.file, name.line)
            threads.append(Thread(index, str(name), name.line or 0, function.body,
                                  function.params))
        return threads

    def thread(self, children: list) -> _Function:
        name, *rest = children
        params = [p for p in rest if isinstance(p, str)]
        return _Function(name, params, self.block([s for s in rest if isinstance(s, list)]))

    def param(self, words: list[Token]) -> str | None:
        names = [str(w) for w in words]
        return None if names == ["void"] else names[-1]

    # -- statements: each a list, since a block's statements join the enclosing ones --
    def block(self, statements: list[list[CStmt]]) -> list[CStmt]:
        return [s for part in statements for s in part]

    def empty(self, children: list[Token]) -> list[CStmt]:
        return []

    @v_args(meta=True)
    def if_stmt(self, meta: Meta, children: list) -> list[CStmt]:
        cond, then, *other = children
        return [CIf(cond, then, other[0] if other else [], meta.line)]

    @v_args(meta=True)
    def declaration(self, meta: Meta, children: list) -> list[CStmt]:
        declarators = [c for c in children if isinstance(c, tuple)]  # after the type words
        return [CDecl(name, init, meta.line) for name, init in declarators]

    def declarator(self, children: list) -> tuple[str, CExpr | None]:
        return str(children[0]), children[1] if len(children) > 1 else None

    @v_args(meta=True)
    def array_declarator(self, meta: Meta, children: list) -> tuple[str, CExpr | None]:
        raise Unsupported("arrays", meta.line)

    @v_args(meta=True)
    def assignment(self, meta: Meta, children: list) -> list[CStmt]:
        target, op, value = children
        if op != "=":
            value = CBin(op[0], target, value)
        if not isinstance(target, (CName, CDeref)):
            raise LitmusError("the left side of an assignment must be a variable or `*p`",
                              self.file, op.line)
        return [CAssign(target, value, meta.line)]

    @v_args(meta=True)
    def expression_statement(self, meta: Meta, children: list[CExpr]) -> list[CStmt]:
        return [CExprStmt(children[0], meta.line)]

    # -- expressions --
    def conditional(self, children: list[CExpr]) -> CExpr:
        return CTernary(*children)

    def binary(self, children: list) -> CExpr:
        left, op, right = children
        return CBin(str(op), left, right)

    def prefix(self, children: list) -> CExpr:
        op, operand = children
        if op == "+":
            return operand
        if op == "-" and isinstance(operand, CNum):
            return CNum(-operand.value)
        return CUnary(str(op), operand)

    def deref(self, children: list[CExpr]) -> CExpr:
        return CDeref(children[0])

    def address_of(self, children: list[Token]) -> CExpr:
        return CAddrOf(str(children[0]))

    def cast(self, children: list) -> CExpr:
        return children[-1]

    def increment(self, children: list) -> CExpr:
        op = next(c for c in children if isinstance(c, Token) and c.type == "INCREMENT")
        raise Unsupported(f"{op} operator", op.line)

    @v_args(meta=True)
    def subscript(self, meta: Meta, children: list) -> CExpr:
        raise Unsupported("arrays and structures", meta.line)

    @v_args(meta=True)
    def member(self, meta: Meta, children: list) -> CExpr:
        raise Unsupported("structures", meta.line)

    def number(self, children: list[Token]) -> CExpr:
        value = read_int(children[0])
        if value is None:
            raise LitmusError(f"cannot read number {str(children[0])!r}", self.file,
                              children[0].line)
        return CNum(value)

    def name(self, children: list[Token]) -> CExpr:
        return CName(str(children[0]))

    def call(self, children: list) -> CExpr:
        name, *args = children
        return CCall(str(name), args, name.line)
