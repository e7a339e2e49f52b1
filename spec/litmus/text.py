"""The text of a litmus file around its threads: comments, the header line, the init block,
numbers, and the translation of Lark's syntax errors into `LitmusError`s.

herd7 files use OCaml comments `(* ... *)` (nested) outside the C code and C comments inside it
and in the init block. `blank_ocaml_comments` replaces the OCaml ones by spaces once, keeping
every newline and offset, so that the readers after it see plain text with true positions.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from typing import TypeVar

from lark import Lark, Token, Transformer, Tree, UnexpectedCharacters, UnexpectedInput, \
    UnexpectedToken
from lark.exceptions import VisitError

from smp_explorer.spec.lark_cache import cached_lalr
from smp_explorer.spec.litmus.test import Addr, LitmusError, Unsupported, Value

ARCHES = ("X86", "X86_64", "C")
Result = TypeVar("Result")
_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|\d+)[uUlL]*$")


def read_int(text: str) -> int | None:
    """A C or herd integer literal (decimal, even with leading zeros, or hex; suffixes ignored)."""
    t = text.strip()
    if not _INT.match(t):
        return None
    t = t.rstrip("uUlL")
    return int(t, 0) if not re.match(r"[-+]?0\d", t) else int(t, 10)


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _blank(text: str) -> str:
    """Keep only the newlines of a region (so line numbers survive)."""
    return re.sub(r"[^\n]", " ", text)


def skip_ocaml_comment(text: str, start: int, file: str) -> int:
    """The end of the nested `(* ... *)` comment that opens at `start`."""
    depth, j = 1, start + 2
    while j < len(text) and depth:
        if text.startswith("(*", j):
            depth, j = depth + 1, j + 2
        elif text.startswith("*)", j):
            depth, j = depth - 1, j + 2
        else:
            j += 1
    if depth:
        raise LitmusError("unterminated comment `(*`", file, line_of(text, start))
    return j


def _skip_c_comment(text: str, start: int, file: str) -> int:
    """The end of the `//` or `/* */` comment that opens at `start` (or `start`: none)."""
    if text.startswith("//", start):
        end = text.find("\n", start)
        return len(text) if end < 0 else end
    if text.startswith("/*", start):
        end = text.find("*/", start + 2)
        if end < 0:
            raise LitmusError("unterminated comment `/*`", file, line_of(text, start))
        return end + 2
    return start


def blank_ocaml_comments(text: str, file: str, start: int = 0, end: int | None = None, *,
                         c_code: bool = False) -> str:
    """`text` with the OCaml comments in [start, end) blanked. In C code (`c_code`) they are
    comments only outside braces, where `(*p)` cannot occur; C comments are skipped there."""
    stop = len(text) if end is None else end
    out: list[str] = [text[:start]]
    depth, i = 0, start
    while i < stop:
        if c_code:
            after = _skip_c_comment(text, i, file)
            if after != i:
                out.append(text[i:after])
                i = after
                continue
            depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth <= 0 and text.startswith("(*", i):
            after = skip_ocaml_comment(text, i, file)
            out.append(_blank(text[i:after]))
            i = after
        else:
            out.append(text[i])
            i += 1
    out.append(text[stop:])
    return "".join(out)


# ---- the header and the init block ----------------------------------------------------------

@dataclass
class Header:
    arch: str
    name: str
    line: int
    end: int  # the offset of the end of the header line


def read_header(text: str, file: str) -> Header:
    pos = len(text) - len(text.lstrip())
    eol = text.find("\n", pos)
    eol = len(text) if eol < 0 else eol
    words = text[pos:eol].split()
    if not words:
        raise LitmusError("empty file: expected a header line `ARCH NAME`", file, 1)
    line = line_of(text, pos)
    arch = words[0]
    if arch not in ARCHES:
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", arch) and len(words) >= 2:
            raise Unsupported(f"architecture {arch}", line)
        raise LitmusError(f"expected a header line `ARCH NAME`, got {text[pos:eol].strip()!r}",
                          file, line)
    if len(words) < 2:
        raise LitmusError("the header line names no test", file, line)
    return Header(arch, words[1], line, eol)


def find_init_block(text: str, file: str, header: Header) -> tuple[int, int]:
    """The offsets of the `{` and `}` of the init block: the first `{` after the header outside
    strings and comments (the header may be followed by a quoted description and `key=value`
    lines)."""
    i = header.end
    while i < len(text):
        if text.startswith("(*", i):
            i = skip_ocaml_comment(text, i, file)
        elif text[i] == '"':
            close = text.find('"', i + 1)
            if close < 0:
                raise LitmusError("unterminated string", file, line_of(text, i))
            i = close + 1
        elif text[i] == "{":
            return i, _matching_brace(text, file, i)
        else:
            i += 1
    raise LitmusError("no initial-state block `{ ... }` after the header", file, header.line)


def _matching_brace(text: str, file: str, open_brace: int) -> int:
    depth, j = 0, open_brace
    while j < len(text):
        if text.startswith("(*", j):
            j = skip_ocaml_comment(text, j, file)
            continue
        after = _skip_c_comment(text, j, file)
        if after != j:
            j = after
            continue
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    raise LitmusError("the initial-state block `{` is never closed", file,
                      line_of(text, open_brace))


@dataclass
class InitBlock:
    memory: dict[str, Value]
    registers: dict[tuple[int, str], Value]


def read_init_block(text: str, file: str, start: int, end: int,
                    register_name: Callable[[str], str]) -> InitBlock:
    """The items of the init block text[start:end]: `x=1`, `[x]=1`, `0:EAX=1`, `P0:r1=&x`,
    C declarations `int x = 0`, `atomic_t y = ATOMIC_INIT(1)`, `int *p = &y`."""
    body = blank_ocaml_comments(text[:end], file, start)[start:]
    body = re.sub(r"/\*.*?\*/|//[^\n]*", lambda m: _blank(m.group(0)), body, flags=re.S)
    block = InitBlock({}, {})
    offset = 0
    for item in re.split(r"[;\n]", body):
        line = line_of(text, start + offset)
        offset += len(item) + 1
        if item.strip():
            _init_item(item.strip(), file, line, block, register_name)
    return block


def _init_item(item: str, file: str, line: int, block: InitBlock,
               register_name: Callable[[str], str]) -> None:
    lhs, eq, rhs = item.partition("=")
    lhs, rhs = lhs.strip(), rhs.strip()
    m = re.fullmatch(r"(?:[A-Za-z_][\w]*\s+)*(?:P)?(\d+)\s*:\s*%?([A-Za-z_]\w*)", lhs)
    if m:
        key = (int(m.group(1)), register_name(m.group(2)))
        block.registers[key] = _init_value(rhs, file, line) if eq else 0
        return
    m = re.fullmatch(r"\[\s*([A-Za-z_]\w*)\s*\]|([A-Za-z_]\w*)", lhs)
    if m:
        block.memory[m.group(1) or m.group(2)] = _init_value(rhs, file, line) if eq else 0
        return
    # a C declaration: type words, stars, the name; arrays are not supported
    if "[" in lhs:
        raise Unsupported("arrays", line)
    m = re.fullmatch(r"((?:[A-Za-z_]\w*\s*\**\s*)+?)\s*\**\s*([A-Za-z_]\w*)", lhs)
    if m and re.search(r"[A-Za-z_]", m.group(1)):
        block.memory[m.group(2)] = _init_value(rhs, file, line) if eq else 0
        return
    raise LitmusError(f"cannot read initial-state item {item!r}", file, line)


def _init_value(text: str, file: str, line: int) -> Value:
    t = text.strip()
    v = read_int(t)
    if v is not None:
        return v
    m = re.fullmatch(r"ATOMIC(?:64|_LONG)?_INIT\s*\(\s*([^)]*)\)", t)
    if m:
        v = read_int(m.group(1))
        if v is None:
            raise LitmusError(f"cannot read initial value {t!r}", file, line)
        return v
    m = re.fullmatch(r"&?\s*([A-Za-z_]\w*)", t)
    if m:
        return Addr(m.group(1))
    if t.startswith("{"):
        raise Unsupported("arrays", line)
    raise LitmusError(f"cannot read initial value {t!r}", file, line)


# ---- Lark grammars ----------------------------------------------------------------------------

@cache
def lark_parser(grammar: str) -> Lark:
    """The LALR parser of a grammar file next to this one, built once (tables cached on disk,
    `spec.lark_cache`)."""
    return cached_lalr(Path(__file__).with_name(grammar), propagate_positions=True)


def parse_region(grammar: str, text: str, start: int,
                 on_error: Callable[[UnexpectedInput], Exception]) -> Tree[Token]:
    """text[start:] parsed with a grammar, at the lines and columns of the file."""
    try:
        return lark_parser(grammar).parse(_blank(text[:start]) + text[start:])
    except UnexpectedInput as err:
        raise on_error(err) from None


def transform(transformer: Transformer[Token, Result], tree: Tree[Token]) -> Result:
    """The tree transformed; an error a transformer method raises comes out as itself."""
    try:
        return transformer.transform(tree)
    except VisitError as err:
        raise err.orig_exc from None


def describe(token: Token) -> str:
    """An unexpected token as messages quote it (its first word: some terminals are long)."""
    words = str(token).split()
    return repr(words[0]) if token.type != "$END" and words else "'end of file'"


def expected(parser: Lark, err: UnexpectedToken) -> str:
    """The terminals the parser expected, as they are written."""
    words = []
    for name in sorted(err.expected):
        pattern = parser.get_terminal(name).pattern
        words.append(f"`{pattern.value}`" if pattern.type == "str" else name.lower())
    return " or ".join(words)


def syntax_error(err: UnexpectedInput, text: str, file: str,
                 message: Callable[[UnexpectedToken], str]) -> LitmusError:
    """A Lark syntax error as a `LitmusError` at its line and column; `message` words an
    unexpected token for the grammar at hand."""
    if isinstance(err, UnexpectedToken):
        if err.token.type == "$END":  # Lark places the end at the last token
            return LitmusError(message(err), file, line_of(text, len(text)))
        return LitmusError(message(err), file, err.line, err.column)
    if isinstance(err, UnexpectedCharacters):
        return LitmusError(f"unexpected {err.char!r}", file, err.line, err.column)
    return LitmusError(str(err), file, err.line, err.column)
