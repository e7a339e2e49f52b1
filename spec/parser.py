"""Text to syntax tree: Lark parses with `grammar.lark`, a Transformer builds `spec.ast` nodes."""
from __future__ import annotations

import difflib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.tree import Meta

from smp_explorer.ir.span import Span
from smp_explorer.spec import ast
from smp_explorer.spec.errors import SpecError
from smp_explorer.spec.lark_cache import cached_lalr


@lru_cache(maxsize=None)
def _parser() -> Lark:
    return cached_lalr(Path(__file__).with_name("grammar.lark"), propagate_positions=True,
                       maybe_placeholders=True)


def _span_of(file: str, meta: Meta) -> Span:
    return Span(file, meta.line, meta.column, meta.end_line, meta.end_column)


def _token_span(file: str, tok: Token) -> Span:
    assert tok.line is not None and tok.column is not None  # the lexer places every token
    return Span(file, tok.line, tok.column, tok.end_line or tok.line,
                tok.end_column or tok.column + len(tok))


@v_args(meta=True)
class _ToAst(Transformer[Token, ast.SpecFile]):
    """Builds nodes only; every check happens in `spec.checker`."""

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file

    def _s(self, meta: Meta) -> Span:
        return _span_of(self.file, meta)

    # declarations
    def start(self, meta: Meta, items: list[Any]) -> ast.SpecFile:
        return ast.SpecFile(self.file, tuple(items))

    def const_decl(self, meta: Meta, c: list[Any]) -> ast.ConstDecl:
        return ast.ConstDecl(str(c[0]), c[1], self._s(meta))

    def memory_decl(self, meta: Meta, c: list[Any]) -> ast.MemoryDecl:
        return ast.MemoryDecl(str(c[0]), self._s(meta))

    def use_decl(self, meta: Meta, c: list[Any]) -> ast.UseDecl:
        return ast.UseDecl(tuple(str(x) for x in c), self._s(meta))

    def def_decl(self, meta: Meta, c: list[Any]) -> ast.DefDecl:
        name, *rest = c
        params = tuple(str(x) for x in rest if isinstance(x, Token))
        body = tuple(x for x in rest if x is not None and not isinstance(x, Token))
        return ast.DefDecl(str(name), params, body, self._s(meta))

    def let(self, meta: Meta, c: list[Any]) -> ast.Let:
        return ast.Let(str(c[0]), c[1], self._s(meta))

    def return_(self, meta: Meta, c: list[Any]) -> ast.Return:
        return ast.Return(c[0], self._s(meta))

    def call_stmt(self, meta: Meta, c: list[Any]) -> ast.CallStmt:
        return ast.CallStmt(str(c[0]), tuple(x for x in c[1:] if x is not None), self._s(meta))

    def type_decl(self, meta: Meta, c: list[Any]) -> ast.TypeDecl:
        return ast.TypeDecl(str(c[0]), c[1], self._s(meta))

    def var_decl(self, meta: Meta, c: list[Any]) -> ast.VarDecl:
        return ast.VarDecl(str(c[0]), str(c[1]), c[2], c[3], self._s(meta))

    def init_any(self, meta: Meta, c: list[Any]) -> ast.AnyValue:
        return ast.AnyValue(self._s(meta))

    def local_decl(self, meta: Meta, c: list[Any]) -> ast.LocalDecl:
        return ast.LocalDecl(str(c[0]), c[1], c[2], self._s(meta))

    def param(self, meta: Meta, c: list[Any]) -> ast.Param:
        return ast.Param(str(c[0]), c[1], self._s(meta))

    def proc_param(self, meta: Meta, c: list[Any]) -> ast.Param:
        return ast.Param(str(c[0]), c[1], self._s(meta))

    def action_params(self, meta: Meta, c: list[Any]) -> tuple[ast.Param, ...]:
        return tuple(p for p in c if p is not None)

    def process_decl(self, meta: Meta, c: list[Any]) -> ast.ProcessDecl:
        fairness, name, param, *rest = c
        locals_ = tuple(x for x in rest if isinstance(x, ast.LocalDecl))
        body = tuple(x for x in rest if not isinstance(x, ast.LocalDecl))
        return ast.ProcessDecl(str(name), param, locals_, body, self._s(meta), fairness)

    def action_decl(self, meta: Meta, c: list[Any]) -> ast.ActionDecl:
        name, params, *rest = c
        locals_ = tuple(x for x in rest if isinstance(x, ast.LocalDecl))
        body = tuple(x for x in rest if not isinstance(x, ast.LocalDecl))
        return ast.ActionDecl(str(name), params or (), locals_, body, self._s(meta))

    def invariant_decl(self, meta: Meta, c: list[Any]) -> ast.PropertyDecl:
        return ast.PropertyDecl("invariant", str(c[0]), c[1], self._s(meta))

    def reachable_decl(self, meta: Meta, c: list[Any]) -> ast.PropertyDecl:
        return ast.PropertyDecl("reachable", str(c[0]), c[1], self._s(meta))

    def liveness_decl(self, meta: Meta, c: list[Any]) -> ast.PropertyDecl:
        temporal, p, q = c[2]
        return ast.PropertyDecl("liveness", str(c[0]), p, self._s(meta), temporal, q, c[1])

    def eventually(self, meta: Meta, c: list[Any]) -> tuple[str, Any, Any]:
        return ("eventually", c[0], None)

    def always_eventually(self, meta: Meta, c: list[Any]) -> tuple[str, Any, Any]:
        return ("always_eventually", c[0], None)

    def eventually_always(self, meta: Meta, c: list[Any]) -> tuple[str, Any, Any]:
        return ("eventually_always", c[0], None)

    def leads_to(self, meta: Meta, c: list[Any]) -> tuple[str, Any, Any]:
        return ("leads_to", c[0], c[1])

    def fair_weak(self, meta: Meta, c: list[Any]) -> str:
        return "weak"

    def fair_strong(self, meta: Meta, c: list[Any]) -> str:
        return "strong"

    # types
    def t_bool(self, meta: Meta, c: list[Any]) -> ast.BoolType:
        return ast.BoolType(self._s(meta))

    def t_range(self, meta: Meta, c: list[Any]) -> ast.RangeType:
        return ast.RangeType(c[0], c[1], self._s(meta))

    def t_enum(self, meta: Meta, c: list[Any]) -> ast.EnumType:
        return ast.EnumType(tuple(str(x) for x in c), self._s(meta))

    def t_array(self, meta: Meta, c: list[Any]) -> ast.ArrayType:
        return ast.ArrayType(c[0], c[1], self._s(meta))

    def t_set(self, meta: Meta, c: list[Any]) -> ast.SetType:
        return ast.SetType(c[0], self._s(meta))

    def t_scalarset(self, meta: Meta, c: list[Any]) -> ast.ScalarsetType:
        return ast.ScalarsetType(c[0], self._s(meta))

    def t_name(self, meta: Meta, c: list[Any]) -> ast.NamedType:
        return ast.NamedType(str(c[0]), self._s(meta))

    # statements
    def labeled(self, meta: Meta, c: list[Any]) -> ast.Labeled:
        return ast.Labeled(str(c[0]), c[1], self._s(meta))

    def fair_labeled(self, meta: Meta, c: list[Any]) -> ast.Labeled:
        return ast.Labeled(str(c[1]), c[2], self._s(meta), c[0])

    def assign(self, meta: Meta, c: list[Any]) -> ast.Assign:
        return ast.Assign(c[0], c[1], self._s(meta))

    def target(self, meta: Meta, c: list[Any]) -> ast.Target:
        return ast.Target(str(c[0]), tuple(c[1:]), self._s(meta))

    def await_(self, meta: Meta, c: list[Any]) -> ast.Await:
        return ast.Await(c[0], self._s(meta))

    def if_stmt(self, meta: Meta, c: list[Any]) -> ast.If:
        cond, then, else_ = c
        if isinstance(else_, ast.If):
            else_ = (else_,)
        return ast.If(cond, then, else_, self._s(meta))

    def block(self, meta: Meta, c: list[Any]) -> tuple[ast.Stmt, ...]:
        return tuple(c)

    def while_(self, meta: Meta, c: list[Any]) -> ast.While:
        return ast.While(c[0], c[1], self._s(meta))

    def goto(self, meta: Meta, c: list[Any]) -> ast.Goto:
        return ast.Goto(str(c[0]), self._s(meta))

    def either(self, meta: Meta, c: list[Any]) -> ast.Either:
        return ast.Either(tuple(c), self._s(meta))

    def with_(self, meta: Meta, c: list[Any]) -> ast.With:
        return ast.With(str(c[0]), c[1], c[2], self._s(meta))

    def for_(self, meta: Meta, c: list[Any]) -> ast.For:
        return ast.For(str(c[0]), c[1], c[2], self._s(meta))

    def assert_(self, meta: Meta, c: list[Any]) -> ast.Assert:
        msg = None if c[1] is None else _unquote(str(c[1]))
        return ast.Assert(c[0], msg, self._s(meta))

    def skip(self, meta: Meta, c: list[Any]) -> ast.Skip:
        return ast.Skip(self._s(meta))

    def terminate(self, meta: Meta, c: list[Any]) -> ast.Terminate:
        return ast.Terminate(self._s(meta))

    # expressions
    def forall(self, meta: Meta, c: list[Any]) -> ast.Quant:
        return ast.Quant("forall", str(c[0]), c[1], c[2], self._s(meta))

    def exists(self, meta: Meta, c: list[Any]) -> ast.Quant:
        return ast.Quant("exists", str(c[0]), c[1], c[2], self._s(meta))

    def ite(self, meta: Meta, c: list[Any]) -> ast.Ite:
        return ast.Ite(c[0], c[1], c[2], self._s(meta))

    def implies(self, meta: Meta, c: list[Any]) -> ast.BinOp:
        return ast.BinOp("implies", c[0], c[1], self._s(meta))

    def or_(self, meta: Meta, c: list[Any]) -> ast.BinOp:
        return ast.BinOp("or", c[0], c[1], self._s(meta))

    def and_(self, meta: Meta, c: list[Any]) -> ast.BinOp:
        return ast.BinOp("and", c[0], c[1], self._s(meta))

    def not_(self, meta: Meta, c: list[Any]) -> ast.Not:
        return ast.Not(c[0], self._s(meta))

    def compare(self, meta: Meta, c: list[Any]) -> ast.BinOp:
        return ast.BinOp(str(c[1]), c[0], c[2], self._s(meta))

    def member(self, meta: Meta, c: list[Any]) -> ast.BinOp:
        return ast.BinOp("in", c[0], c[1], self._s(meta))

    def at(self, meta: Meta, c: list[Any]) -> ast.At:
        return ast.At(c[0], str(c[1]), self._s(meta))

    def union(self, meta: Meta, c: list[Any]) -> ast.BinOp:
        return ast.BinOp("union", c[0], c[1], self._s(meta))

    def minus(self, meta: Meta, c: list[Any]) -> ast.BinOp:
        return ast.BinOp("minus", c[0], c[1], self._s(meta))

    def range(self, meta: Meta, c: list[Any]) -> ast.Range:
        return ast.Range(c[0], c[1], self._s(meta))

    def binop(self, meta: Meta, c: list[Any]) -> ast.BinOp:
        return ast.BinOp(str(c[1]), c[0], c[2], self._s(meta))

    def neg(self, meta: Meta, c: list[Any]) -> ast.Neg:
        return ast.Neg(c[0], self._s(meta))

    def index(self, meta: Meta, c: list[Any]) -> ast.Index:
        return ast.Index(c[0], c[1], self._s(meta))

    def field(self, meta: Meta, c: list[Any]) -> ast.Field:
        return ast.Field(c[0], str(c[1]), self._s(meta))

    def int_lit(self, meta: Meta, c: list[Any]) -> ast.IntLit:
        return ast.IntLit(int(c[0]), self._s(meta))

    def true_lit(self, meta: Meta, c: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(True, self._s(meta))

    def false_lit(self, meta: Meta, c: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(False, self._s(meta))

    def self_ref(self, meta: Meta, c: list[Any]) -> ast.SelfRef:
        return ast.SelfRef(self._s(meta))

    def name(self, meta: Meta, c: list[Any]) -> ast.Name:
        return ast.Name(str(c[0]), self._s(meta))

    def call(self, meta: Meta, c: list[Any]) -> ast.Call:
        return ast.Call(str(c[0]), tuple(x for x in c[1:] if x is not None), self._s(meta))

    def set_lit(self, meta: Meta, c: list[Any]) -> ast.SetLit:
        return ast.SetLit(tuple(x for x in c if x is not None), self._s(meta))


def _unquote(s: str) -> str:
    return bytes(s[1:-1], "utf-8").decode("unicode_escape")


def _describe_expected(expected: set[str]) -> str:
    parser = _parser()
    shown = []
    for name in sorted(expected):
        try:
            pattern = parser.get_terminal(name).pattern
        except KeyError:
            continue
        if pattern.type == "str":
            shown.append(f"'{pattern.value}'")
        else:
            shown.append(name.lower().replace("_", " "))
    shown = sorted(set(shown))
    if len(shown) > 8:
        shown = shown[:8] + ["..."]
    return ", ".join(shown)


@lru_cache(maxsize=None)
def keywords() -> tuple[str, ...]:
    """The language's keywords: every word the grammar spells as a literal string."""
    words = {t.pattern.value for t in _parser().terminals
             if t.pattern.type == "str" and re.fullmatch(r"[A-Za-z_]\w*", t.pattern.value)}
    return tuple(sorted(words))


# C habits and what this language writes instead: (what was typed, the hint).
_C_CHARS = {"&&": "C's '&&' is written 'and' here (a == 1 and b)",
            "&": "'&' is not an operator here: write 'and' for a condition",
            "||": "C's '||' is written 'or' here (a == 1 or b)",
            "|": "'|' is not an operator here: write 'or' for a condition",
            "!": "C's '!x' is written 'not x' here ('!=' compares)"}


def _word_before(text: str, pos: int) -> tuple[str, int] | None:
    """The identifier that ends just before `pos` (whitespace between), and where it starts."""
    i = pos
    while i > 0 and text[i - 1].isspace():
        i -= 1
    j = i
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] == "_"):
        j -= 1
    word = text[j:i]
    return (word, j) if re.fullmatch(r"[A-Za-z_]\w*", word) else None


def _span_at(text: str, file: str, pos: int, length: int) -> Span:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return Span(file, line, col, line, col + length)


def _c_habit(err: UnexpectedInput, text: str, file: str) -> SpecError | None:
    """A syntax error that a C habit explains (`&&`, `||`, `!x`, `x++`, `=`, `==`, `0xcc`) or
    a misspelled keyword (`awiat x;`): the message says what to write instead."""
    pos = err.pos_in_stream
    if pos is None:
        return None
    if isinstance(err, UnexpectedCharacters):
        two = text[pos:pos + 2]
        typed = two if two in _C_CHARS else text[pos]
        if typed in _C_CHARS:
            return SpecError(f"unexpected {typed!r}: {_C_CHARS[typed]}",
                             _span_at(text, file, pos, len(typed)))
        return None
    if not isinstance(err, UnexpectedToken):
        return None
    tok, expected = err.token, set(err.expected)
    value = str(tok)
    # a statement's target was read: ':=' could follow
    statement = any(_terminal_text(n) == ":=" for n in expected)
    op = text[pos:pos + 2]
    if op in ("++", "--", "+=", "-=") and statement:
        target = _word_before(text, pos)
        x = target[0] if target else "x"
        sign = op[0]
        c, rhs = (f"{x}{op}", f"{x} {sign} 1") if op[1] == sign else \
            (f"{x} {op} e", f"{x} {sign} e")
        return SpecError(f"unexpected {op!r}: C's '{c}' is written '{x} := {rhs}' here",
                         _span_at(text, file, pos, 2))
    if value == "=" and statement:
        return SpecError("unexpected '=': assignment is written ':=' here (x := 1)",
                         _token_span(file, tok))
    if value == "=" and "COMPARE" in expected:
        return SpecError("unexpected '=': a comparison is written '==' here (if x == 1 { ... })",
                         _token_span(file, tok))
    if value == "==" and statement:
        return SpecError("unexpected '==': '==' compares; an assignment is written ':=' "
                         "(x := 1), a condition to wait for 'await x == 1;'",
                         _token_span(file, tok))
    hexa = re.match(r"0[xX][0-9a-fA-F]+", text[max(0, pos - 1):])
    if tok.type == "NAME" and pos > 0 and hexa is not None:
        literal = hexa.group(0)
        return SpecError(f"unexpected {literal!r}: hexadecimal literals are not supported; "
                         f"write {int(literal, 16)} or name the value in an enum",
                         _span_at(text, file, pos - 1, len(literal)))
    if tok.type == "NAME":  # a word where a keyword was expected: `procss P {`
        wanted = [w for w in map(_terminal_text, expected) if w and w in keywords()]
        close = difflib.get_close_matches(value, wanted, n=1, cutoff=0.7)
        if close:
            return SpecError(f"unexpected {value!r}: did you mean the keyword {close[0]!r}?",
                             _token_span(file, tok))
    before = _word_before(text, pos)
    if before is not None and before[0] not in keywords():
        close = difflib.get_close_matches(before[0], keywords(), n=1, cutoff=0.7)
        if close:
            return SpecError(f"unexpected {before[0]!r}: did you mean the keyword "
                             f"{close[0]!r}?", _span_at(text, file, before[1], len(before[0])))
    return None


def _terminal_text(name: str) -> str | None:
    try:
        pattern = _parser().get_terminal(name).pattern
    except KeyError:
        return None
    return pattern.value if pattern.type == "str" else None


def _syntax_error(err: UnexpectedInput, text: str, file: str) -> SpecError:
    hint = _c_habit(err, text, file)
    if hint is not None:
        return hint
    line, col = err.line, err.column
    if isinstance(err, UnexpectedToken) and err.token.type == "$END" or isinstance(err, UnexpectedEOF):
        lines = text.splitlines() or [""]
        line, col = len(lines), len(lines[-1]) + 1
        msg = "unexpected end of file"
        expected = getattr(err, "expected", None)
        if expected:
            msg += f"; expected {_describe_expected(set(expected))}"
        return SpecError(msg, Span(file, line, col, line, col + 1))
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream
        ch = text[pos] if pos is not None and pos < len(text) else "?"
        return SpecError(f"unexpected character {ch!r}", Span(file, line, col, line, col + 1))
    assert isinstance(err, UnexpectedToken)
    tok = err.token
    if "SEMICOLON" in err.expected:
        missing = _missing_semicolon(text, file, tok)
        if missing is not None:
            return missing
    msg = f"unexpected {str(tok)!r}"
    if err.expected:
        msg += f"; expected {_describe_expected(set(err.expected))}"
    return SpecError(msg, _token_span(file, tok))


def _missing_semicolon(text: str, file: str, tok: Token) -> SpecError | None:
    """A token on a new line where ';' could end the previous one: point after that one."""
    start = tok.start_pos or 0
    i = start - 1
    while i >= 0 and text[i].isspace():
        i -= 1
    if i < 0 or "\n" not in text[i:start]:
        return None
    line = text.count("\n", 0, i + 1) + 1
    col = i - (text.rfind("\n", 0, i + 1) + 1) + 2
    return SpecError(f"missing ';' at the end of line {line} (before {str(tok)!r})",
                     Span(file, line, col, line, col + 1))


def parse_text(text: str, file: str = "<spec>") -> ast.SpecFile:
    """Parse spec text; a syntax error becomes a `SpecError` at file:line:col."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(err, text, file) from None
    return _ToAst(file).transform(tree)


def parse_file(path: str | Path) -> ast.SpecFile:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise SpecError(f"cannot read {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path} is not UTF-8 text") from None
    return parse_text(text, str(path))
