"""A reader for herd7 `.litmus` files: X86 (Intel syntax), X86_64 (AT&T syntax) and C (LKMM).

The result is a `LitmusTest`: initial memory and registers, one thread per column or function,
and the final condition. Two kinds of failure:

* `LitmusError`: the file is not a litmus test we can read (names the file and line);
* `Unsupported`: a valid construct the translation does not handle (another architecture,
  loops, indirect memory operands, ...); the message is the construct.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union


# ---- errors ----------------------------------------------------------------------------------

class LitmusError(Exception):
    """The file cannot be read as a litmus test."""

    def __init__(self, message: str, file: str = "<litmus>", line: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

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


@dataclass
class Thread:
    index: int
    name: str
    line: int
    body: list  # list[Asm] or list[CStmt]
    params: list[str] = field(default_factory=list)  # C: the parameters (location names)


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


@dataclass
class Condition:
    quantifier: str  # exists | ~exists | forall | final
    prop: Prop
    line: int
    filter: Prop | None = None


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


# ---- entry points -----------------------------------------------------------------------------

def read_litmus(path: str | Path) -> LitmusTest:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise LitmusError("no such file", str(path)) from None
    except IsADirectoryError:
        raise LitmusError("is a directory, not a litmus file", str(path)) from None
    except OSError as err:
        raise LitmusError(f"cannot read: {err.strerror}", str(path)) from None
    return parse_litmus(text, str(path))


def parse_litmus(text: str, file: str = "<litmus>") -> LitmusTest:
    return _Reader(text, file).read()


# ---- helpers ------------------------------------------------------------------------------------

ARCHES = {"X86": "X86", "X86_64": "X86_64", "C": "C"}
_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|\d+)[uUlL]*$")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z_0-9]*$")


def _int(text: str) -> int | None:
    t = text.strip()
    if not _INT.match(t):
        return None
    t = t.rstrip("uUlL")
    return int(t, 0) if not re.match(r"[-+]?0\d", t) else int(t, 10)


def _blank(text: str) -> str:
    """Keep only the newlines of a region (so line numbers survive)."""
    return re.sub(r"[^\n]", " ", text)


def _strip_ocaml_comments(text: str, file: str, base_line: int = 1) -> str:
    """Replace nested `(* ... *)` comments (and "..." strings) by blanks, keeping newlines."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("(*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("(*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*)", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            if depth:
                line = base_line + text.count("\n", 0, i)
                raise LitmusError("unterminated comment `(*`", file, line)
            out.append(_blank(text[i:j]))
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _strip_c_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", lambda m: _blank(m.group(0)), text, flags=re.S)
    return re.sub(r"//[^\n]*", lambda m: _blank(m.group(0)), text)


X86_REGS32 = ["EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP", "ESP"]
X86_REGS64 = {"eax": "rax", "ebx": "rbx", "ecx": "rcx", "edx": "rdx", "esi": "rsi",
              "edi": "rdi", "ebp": "rbp", "esp": "rsp"}
for _n in range(8, 16):
    X86_REGS64[f"r{_n}d"] = f"r{_n}"
    X86_REGS64[f"r{_n}"] = f"r{_n}"
for _r in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp"):
    X86_REGS64[_r] = _r
_INTEL_REGS = set(X86_REGS32) | {r.upper() for r in X86_REGS64} | {
    "AX", "BX", "CX", "DX", "SI", "DI", "AL", "BL", "CL", "DL", "AH", "BH", "CH", "DH"}
_RMW_OPS = {"XCHG", "ADD", "SUB", "AND", "OR", "XOR", "XADD", "CMPXCHG", "INC", "DEC"}


def canonical_register(arch: str, name: str) -> str:
    """The name under which a register is reported: Intel upper case; AT&T 64-bit lower case."""
    if arch == "X86":
        return name.upper()
    if arch == "X86_64":
        low = name.lower().lstrip("%")
        return X86_REGS64.get(low, low)
    return name


# ---- the reader ---------------------------------------------------------------------------------

class _Reader:
    def __init__(self, text: str, file: str):
        self.text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.file = file

    def err(self, message: str, line: int | None) -> LitmusError:
        return LitmusError(message, self.file, line)

    def line_of(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    # -- overall structure --
    def read(self) -> LitmusTest:
        text = self.text
        m = re.match(r"\s*", text)
        pos = m.end()
        eol = text.find("\n", pos)
        eol = len(text) if eol < 0 else eol
        header = text[pos:eol].split()
        if not header:
            raise self.err("empty file: expected a header line `ARCH NAME`", 1)
        line1 = self.line_of(pos)
        arch = header[0]
        if arch not in ARCHES:
            if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", arch) and len(header) >= 2:
                raise Unsupported(f"architecture {arch}", line1)
            raise self.err(f"expected a header line `ARCH NAME`, got {text[pos:eol].strip()!r}",
                           line1)
        if len(header) < 2:
            raise self.err("the header line names no test", line1)
        name = header[1]
        self.arch = arch
        # the init block: the first `{` outside strings and comments
        i = eol
        n = len(text)
        while i < n:
            c = text[i]
            if text.startswith("(*", i):
                j = self._skip_ocaml_comment(i)
                i = j
                continue
            if c == '"':
                j = text.find('"', i + 1)
                if j < 0:
                    raise self.err("unterminated string", self.line_of(i))
                i = j + 1
                continue
            if c == "{":
                break
            i += 1
        else:
            raise self.err("no initial-state block `{ ... }` after the header", line1)
        close = self._matching_brace(i)
        memory, registers = self._init_block(i + 1, close)
        self.memory, self.registers = memory, registers
        self.locations: list[str] = []
        for loc, v in memory.items():
            self._add_loc(loc)
            if isinstance(v, Addr):
                self._add_loc(v.name)
        for v in registers.values():
            if isinstance(v, Addr):
                self._add_loc(v.name)
        if arch == "C":
            threads, cond_pos = self._c_threads(close + 1)
        else:
            threads, cond_pos = self._asm_threads(close + 1)
        condition = self._condition(cond_pos)
        for (tid, reg) in registers:
            if tid >= len(threads):
                raise self.err(f"the init block sets register {tid}:{reg} of a thread the test "
                               f"does not have", None)
        self._check_condition(condition, threads)
        return LitmusTest(self.file, arch, name, memory, registers, threads, condition,
                          self.locations, self.text)

    def _add_loc(self, name: str, line: int | None = None) -> None:
        if not _IDENT.match(name):
            raise self.err(f"{name!r} is not a location name", line)
        if name not in self.locations:
            self.locations.append(name)

    def _skip_ocaml_comment(self, i: int) -> int:
        text, depth, j = self.text, 1, i + 2
        while j < len(text) and depth:
            if text.startswith("(*", j):
                depth, j = depth + 1, j + 2
            elif text.startswith("*)", j):
                depth, j = depth - 1, j + 2
            else:
                j += 1
        if depth:
            raise self.err("unterminated comment `(*`", self.line_of(i))
        return j

    def _matching_brace(self, i: int) -> int:
        text, depth, j = self.text, 0, i
        while j < len(text):
            if text.startswith("(*", j):
                j = self._skip_ocaml_comment(j)
                continue
            if text.startswith("//", j):
                k = text.find("\n", j)
                j = len(text) if k < 0 else k
                continue
            if text.startswith("/*", j):
                k = text.find("*/", j + 2)
                if k < 0:
                    raise self.err("unterminated comment `/*`", self.line_of(j))
                j = k + 2
                continue
            c = text[j]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return j
            j += 1
        raise self.err("the initial-state block `{` is never closed", self.line_of(i))

    # -- init block --
    def _init_block(self, start: int, end: int) -> tuple[dict[str, Value], dict[tuple[int, str], Value]]:
        body = self.text[start:end]
        body = _strip_ocaml_comments(body, self.file, self.line_of(start))
        body = _strip_c_comments(body)
        memory: dict[str, Value] = {}
        registers: dict[tuple[int, str], Value] = {}
        offset = 0
        for item in re.split(r"[;\n]", body):
            line = self.line_of(start + offset)
            offset += len(item) + 1
            item = item.strip()
            if not item:
                continue
            self._init_item(item, line, memory, registers)
        return memory, registers

    def _init_item(self, item: str, line: int, memory: dict, registers: dict) -> None:
        lhs, eq, rhs = item.partition("=")
        lhs, rhs = lhs.strip(), rhs.strip()
        m = re.fullmatch(r"(?:[A-Za-z_][\w]*\s+)*(?:P)?(\d+)\s*:\s*%?([A-Za-z_]\w*)", lhs)
        if m:
            tid, reg = int(m.group(1)), canonical_register(self.arch, m.group(2))
            registers[(tid, reg)] = self._init_value(rhs, line) if eq else 0
            return
        m = re.fullmatch(r"\[\s*([A-Za-z_]\w*)\s*\]|([A-Za-z_]\w*)", lhs)
        if m:
            loc = m.group(1) or m.group(2)
            memory[loc] = self._init_value(rhs, line) if eq else 0
            return
        # a C declaration: type words, stars, the name; arrays are not supported
        if "[" in lhs:
            raise Unsupported("arrays", line)
        m = re.fullmatch(r"((?:[A-Za-z_]\w*\s*\**\s*)+?)\s*\**\s*([A-Za-z_]\w*)", lhs)
        if m and re.search(r"[A-Za-z_]", m.group(1)):
            memory[m.group(2)] = self._init_value(rhs, line) if eq else 0
            return
        raise self.err(f"cannot read initial-state item {item!r}", line)

    def _init_value(self, text: str, line: int) -> Value:
        t = text.strip()
        v = _int(t)
        if v is not None:
            return v
        m = re.fullmatch(r"ATOMIC(?:64|_LONG)?_INIT\s*\(\s*([^)]*)\)", t)
        if m:
            v = _int(m.group(1))
            if v is None:
                raise self.err(f"cannot read initial value {t!r}", line)
            return v
        m = re.fullmatch(r"&?\s*([A-Za-z_]\w*)", t)
        if m:
            return Addr(m.group(1))
        if t.startswith("{"):
            raise Unsupported("arrays", line)
        raise self.err(f"cannot read initial value {t!r}", line)

    # -- x86 threads --
    def _asm_threads(self, start: int) -> tuple[list[Thread], int]:
        text = self.text
        cond_re = re.compile(r"^[ \t]*(~?\s*exists|forall|final|locations|filter)\b", re.M)
        # find the condition: the first line that starts with a condition keyword
        region_end = None
        for m in cond_re.finditer(text, start):
            region_end = m.start()
            break
        if region_end is None:
            raise self.err("no final condition (`exists`, `~exists`, `forall` or `final`)",
                           self.line_of(len(text.rstrip())))
        region = _strip_ocaml_comments(text[start:region_end], self.file, self.line_of(start))
        rows: list[tuple[int, str]] = []
        pos = 0
        for seg in region.split(";"):
            line = self.line_of(start + pos + len(seg) - len(seg.lstrip()))
            pos += len(seg) + 1
            if seg.strip():
                rows.append((line, seg.strip()))
        if not rows:
            raise self.err("no threads: expected a row `P0 | P1 ... ;`", self.line_of(start))
        hline, head = rows[0]
        names = [c.strip() for c in head.split("|")]
        for k, nm in enumerate(names):
            if not re.fullmatch(r"P\d+", nm):
                raise self.err(f"expected the thread header `P0 | P1 | ... ;`, got {head!r}",
                               hline)
            if int(nm[1:]) != k:
                raise self.err(f"thread {nm} is out of order in the header (expected P{k})", hline)
        threads = [Thread(k, nm, hline, []) for k, nm in enumerate(names)]
        for line, row in rows[1:]:
            cells = row.split("|")
            if len(cells) > len(threads):
                raise self.err(f"row has {len(cells)} columns but the test has {len(threads)} "
                               f"threads", line)
            for k, cell in enumerate(cells):
                cell = cell.strip()
                if cell:
                    instr = self._asm_instr(cell, line)
                    if instr.kind != "nop":
                        threads[k].body.append(instr)
        return threads, region_end

    def _asm_instr(self, text: str, line: int) -> Asm:
        text = " ".join(text.split())
        if re.match(r"[A-Za-z_]\w*\s*:", text):
            raise Unsupported(f"labels and control flow ({text})", line)
        words = text.split(None, 1)
        mnem = words[0].upper()
        ops_text = words[1] if len(words) > 1 else ""
        locked = False
        if mnem == "LOCK":
            locked = True
            words = ops_text.split(None, 1)
            if not words:
                raise self.err("LOCK prefix without an instruction", line)
            mnem = words[0].upper()
            ops_text = words[1] if len(words) > 1 else ""
        if self.arch == "X86_64":
            base = mnem
            if mnem not in ("MFENCE", "LFENCE", "SFENCE", "NOP") and mnem[-1] in "BWLQ" \
                    and mnem[:-1] in {"MOV", "XCHG", "ADD", "SUB", "AND", "OR", "XOR", "XADD",
                                      "CMPXCHG", "INC", "DEC"}:
                base = mnem[:-1]
            mnem = base
            ops = [self._att_operand(o, line) for o in self._split_ops(ops_text)]
            ops.reverse()  # AT&T is source first
        else:
            ops = [self._intel_operand(o, line) for o in self._split_ops(ops_text)]
        return self._instr(mnem, ops, locked, text, line)

    @staticmethod
    def _split_ops(text: str) -> list[str]:
        text = text.strip()
        return [o.strip() for o in text.split(",")] if text else []

    def _intel_operand(self, o: str, line: int):
        m = re.fullmatch(r"\[\s*([A-Za-z_]\w*)\s*\]", o)
        if m:
            if m.group(1).upper() in _INTEL_REGS:
                raise Unsupported(f"indirect memory operand {o}", line)
            self._add_loc(m.group(1), line)
            return ("mem", m.group(1))
        if re.fullmatch(r"\[[^\[\]]+\]", o):
            raise Unsupported(f"memory operand {o}", line)
        if o.upper() in _INTEL_REGS:
            return ("reg", canonical_register(self.arch, o))
        v = _int(o[1:] if o.startswith("$") else o)
        if v is not None:
            return ("imm", v)
        m = re.fullmatch(r"\$?([A-Za-z_]\w*)", o)
        if m:
            self._add_loc(m.group(1), line)
            return ("imm", Addr(m.group(1)))
        raise self.err(f"cannot read operand {o!r}", line)

    def _att_operand(self, o: str, line: int):
        m = re.fullmatch(r"\(\s*([A-Za-z_]\w*)\s*\)", o)
        if m:
            self._add_loc(m.group(1), line)
            return ("mem", m.group(1))
        if re.fullmatch(r"-?\w*\([^()]+\)", o):
            raise Unsupported(f"memory operand {o}", line)
        if re.fullmatch(r"%[A-Za-z][A-Za-z0-9]*", o):
            return ("reg", canonical_register(self.arch, o))
        if o.startswith("$"):
            v = _int(o[1:])
            if v is not None:
                return ("imm", v)
            m = re.fullmatch(r"\$([A-Za-z_]\w*)", o)
            if m:
                self._add_loc(m.group(1), line)
                return ("imm", Addr(m.group(1)))
        m = re.fullmatch(r"[A-Za-z_]\w*", o)
        if m:
            self._add_loc(o, line)
            return ("mem", o)
        raise self.err(f"cannot read operand {o!r}", line)

    def _instr(self, mnem: str, ops: list, locked: bool, text: str, line: int) -> Asm:
        kinds = [k for k, _ in ops]

        def src(op):
            k, v = op
            return Reg(v) if k == "reg" else v

        if mnem in ("MFENCE", "LFENCE", "SFENCE", "NOP"):
            if ops:
                raise self.err(f"{mnem} takes no operand", line)
            if mnem == "NOP":
                return Asm("nop", line, text)
            return Asm("fence", line, text, op={"MFENCE": "full", "LFENCE": "read",
                                               "SFENCE": "write"}[mnem])
        if mnem == "MOV":
            if len(ops) != 2:
                raise self.err(f"MOV takes two operands: {text!r}", line)
            if kinds[0] == "mem" and kinds[1] in ("imm", "reg"):
                return Asm("store", line, text, loc=ops[0][1], src=src(ops[1]))
            if kinds[0] == "reg" and kinds[1] == "mem":
                return Asm("load", line, text, reg=ops[0][1], loc=ops[1][1])
            if kinds[0] == "reg" and kinds[1] in ("imm", "reg"):
                return Asm("move", line, text, reg=ops[0][1], src=src(ops[1]))
            raise self.err(f"cannot read {text!r}", line)
        if mnem in _RMW_OPS:
            mem = [i for i, k in enumerate(kinds) if k == "mem"]
            if mnem == "XCHG":
                if len(ops) != 2:
                    raise self.err(f"XCHG takes two operands: {text!r}", line)
                if len(mem) == 1 and kinds[1 - mem[0]] == "reg":
                    # XCHG with a memory operand is implicitly locked
                    reg = ops[1 - mem[0]][1]
                    return Asm("rmw", line, text, reg=reg, loc=ops[mem[0]][1], src=Reg(reg),
                               op="xchg")
                if kinds == ["reg", "reg"]:
                    raise Unsupported(f"register exchange ({text})", line)
                raise self.err(f"cannot read {text!r}", line)
            if mnem in ("INC", "DEC"):
                if len(ops) != 1:
                    raise self.err(f"{mnem} takes one operand: {text!r}", line)
                if kinds[0] == "mem":
                    if not locked:
                        raise Unsupported(f"non-locked read-modify-write ({text})", line)
                    return Asm("rmw", line, text, loc=ops[0][1], src=1,
                               op="add" if mnem == "INC" else "sub")
                return Asm("alu", line, text, reg=ops[0][1], src=1,
                           op="add" if mnem == "INC" else "sub")
            if len(ops) != 2:
                raise self.err(f"{mnem} takes two operands: {text!r}", line)
            if kinds[0] == "mem":
                if not locked:
                    raise Unsupported(f"non-locked read-modify-write ({text})", line)
                if kinds[1] == "mem":
                    raise self.err(f"two memory operands: {text!r}", line)
                if mnem == "CMPXCHG":
                    if kinds[1] != "reg":
                        raise self.err(f"CMPXCHG needs a register source: {text!r}", line)
                    acc = "EAX" if self.arch == "X86" else "rax"
                    return Asm("rmw", line, text, reg=acc, loc=ops[0][1], src=src(ops[1]),
                               op="cmpxchg")
                if mnem == "XADD":
                    if kinds[1] != "reg":
                        raise self.err(f"XADD needs a register source: {text!r}", line)
                    return Asm("rmw", line, text, reg=ops[1][1], loc=ops[0][1],
                               src=src(ops[1]), op="add")
                return Asm("rmw", line, text, loc=ops[0][1], src=src(ops[1]), op=mnem.lower())
            if kinds[0] == "reg" and kinds[1] != "mem" and mnem not in ("XADD", "CMPXCHG"):
                return Asm("alu", line, text, reg=ops[0][1], src=src(ops[1]), op=mnem.lower())
            raise Unsupported(f"instruction {text}", line)
        if re.fullmatch(r"J[A-Z]+|CMP|TEST|JMP|CALL|RET", mnem):
            raise Unsupported(f"control flow ({text})", line)
        raise Unsupported(f"instruction {mnem}", line)

    # -- C threads --
    def _c_threads(self, start: int) -> tuple[list[Thread], int]:
        lex = _CLexer(self.text, start, self.file)
        threads: list[Thread] = []
        while True:
            tok = lex.peek(top_level=True)
            if tok.kind == "name" and re.fullmatch(r"P\d+", tok.text) \
                    and lex.peek2(top_level=True).text == "(":
                threads.append(self._c_function(lex, len(threads)))
                continue
            break
        if not threads:
            raise self.err(f"expected a thread `P0(...) {{ ... }}`, got {tok.text or 'end of file'!r}",
                           tok.line)
        return threads, tok.pos

    def _c_function(self, lex: "_CLexer", index: int) -> Thread:
        name = lex.next(top_level=True)
        if int(name.text[1:]) != index:
            raise self.err(f"thread {name.text} is out of order (expected P{index})", name.line)
        lex.expect("(")
        params: list[str] = []
        while not lex.accept(")"):
            words: list[str] = []
            while lex.peek().text not in (",", ")"):
                t = lex.next()
                if t.kind == "eof":
                    raise self.err("unterminated parameter list", name.line)
                if t.kind == "name":
                    words.append(t.text)
                elif t.text != "*":
                    raise self.err(f"unexpected {t.text!r} in the parameter list", t.line)
            if words and words != ["void"]:
                params.append(words[-1])
                self._add_loc(words[-1])
            lex.accept(",")
        lex.expect("{")
        body = _CParser(lex, self).block_rest()
        return Thread(index, name.text, name.line, body, params)

    # -- condition --
    def _condition(self, pos: int) -> Condition:
        lex = _CondLexer(self.text, pos, self.file)
        filt: Prop | None = None
        while True:
            t = lex.peek()
            if t.text == "locations":
                lex.next()
                lex.expect("[")
                while lex.peek().text != "]":
                    if lex.next().kind == "eof":
                        raise self.err("unterminated `locations [`", t.line)
                lex.next()
                continue
            if t.text == "filter":
                lex.next()
                filt = _CondParser(lex, self).prop()
                continue
            break
        t = lex.next()
        if t.text == "~":
            t2 = lex.next()
            if t2.text != "exists":
                raise self.err(f"expected `exists` after `~`, got {t2.text!r}", t2.line)
            quant = "~exists"
        elif t.text in ("exists", "forall", "final"):
            quant = t.text
        else:
            raise self.err(f"expected the final condition (`exists`, `~exists`, `forall` or "
                           f"`final`), got {t.text or 'end of file'!r}", t.line)
        prop = _CondParser(lex, self).prop()
        rest = lex.peek()
        while rest.text == ";":
            lex.next()
            rest = lex.peek()
        if rest.kind != "eof" and rest.text not in ("with", "<<"):
            raise self.err(f"unexpected {rest.text!r} after the final condition", rest.line)
        return Condition(quant, prop, t.line, filt)

    def _check_condition(self, cond: Condition, threads: list[Thread]) -> None:
        def walk(p: Prop) -> None:
            if isinstance(p, Atom):
                for r in (p.left, p.value):
                    if isinstance(r, Ref) and r.thread is not None and r.thread >= len(threads):
                        raise self.err(f"the condition names register {r} of a thread the "
                                       f"test does not have", p.line)
                    if isinstance(r, Ref) and r.thread is None:
                        self._add_loc(r.name, p.line)
                    if isinstance(r, Addr):
                        self._add_loc(r.name, p.line)
            elif isinstance(p, Not):
                walk(p.prop)
            elif isinstance(p, (And, Or)):
                for q in p.props:
                    walk(q)
        walk(cond.prop)
        if cond.filter is not None:
            walk(cond.filter)


# ---- condition lexer and parser -------------------------------------------------------------------

@dataclass
class _Tok:
    kind: str  # name | int | op | eof
    text: str
    line: int
    pos: int


class _CondLexer:
    TOKEN = re.compile(r"\\/|/\\|<<|[~()\[\]:=;,&*!]|-?(?:0[xX][0-9a-fA-F]+|\d+)|[A-Za-z_][\w.]*"
                       r"|%[A-Za-z_]\w*|\S")

    def __init__(self, text: str, pos: int, file: str):
        self.text, self.pos, self.file = text, pos, file
        self._peeked: _Tok | None = None

    def _skip(self) -> None:
        text = self.text
        while self.pos < len(text):
            c = text[self.pos]
            if c.isspace():
                self.pos += 1
            elif text.startswith("(*", self.pos):
                depth, j = 1, self.pos + 2
                while j < len(text) and depth:
                    if text.startswith("(*", j):
                        depth, j = depth + 1, j + 2
                    elif text.startswith("*)", j):
                        depth, j = depth - 1, j + 2
                    else:
                        j += 1
                self.pos = j
            elif text.startswith("//", self.pos):
                k = text.find("\n", self.pos)
                self.pos = len(text) if k < 0 else k
            else:
                break

    def peek(self) -> _Tok:
        if self._peeked is None:
            self._skip()
            line = self.text.count("\n", 0, self.pos) + 1
            if self.pos >= len(self.text):
                self._peeked = _Tok("eof", "", line, self.pos)
            else:
                m = self.TOKEN.match(self.text, self.pos)
                s = m.group(0)
                kind = "int" if re.fullmatch(r"-?\d\w*", s) else \
                    "name" if re.fullmatch(r"[A-Za-z_%][\w.]*", s) else "op"
                self._peeked = _Tok(kind, s, line, self.pos)
        return self._peeked

    def next(self) -> _Tok:
        t = self.peek()
        self._peeked = None
        self.pos = t.pos + len(t.text)
        return t

    def peek_after(self) -> _Tok:
        """The token after the next one."""
        saved_pos, saved = self.pos, self._peeked
        self.next()
        t = self.peek()
        self.pos, self._peeked = saved_pos, saved
        return t

    def expect(self, text: str) -> _Tok:
        t = self.next()
        if t.text != text:
            raise LitmusError(f"expected {text!r}, got {t.text or 'end of file'!r}", self.file,
                              t.line)
        return t


class _CondParser:
    def __init__(self, lex: _CondLexer, reader: _Reader):
        self.lex, self.reader = lex, reader

    def prop(self) -> Prop:
        items = [self.conj()]
        while self.lex.peek().text == "\\/":
            self.lex.next()
            items.append(self.conj())
        return items[0] if len(items) == 1 else Or(items)

    def conj(self) -> Prop:
        items = [self.unary()]
        while self.lex.peek().text == "/\\":
            self.lex.next()
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(items)

    def unary(self) -> Prop:
        t = self.lex.peek()
        if t.text in ("~", "not"):
            self.lex.next()
            return Not(self.unary())
        if t.text == "(":
            self.lex.next()
            p = self.prop()
            self.lex.expect(")")
            return p
        if t.text == "true":
            self.lex.next()
            return Const(True)
        if t.text == "false":
            self.lex.next()
            return Const(False)
        return self.atom()

    def ref(self) -> Ref:
        lex, reader = self.lex, self.reader
        t = lex.next()
        if t.text == "[":
            name = lex.next()
            lex.expect("]")
            if name.kind != "name":
                raise reader.err(f"expected a location in `[...]`, got {name.text!r}", name.line)
            return Ref(None, name.text)
        if t.kind == "int" and re.fullmatch(r"\d+", t.text) and lex.peek().text == ":" or \
                t.kind == "name" and re.fullmatch(r"P\d+", t.text) and lex.peek().text == ":":
            lex.next()
            thread = int(t.text.lstrip("P"))
            name = lex.next()
            if name.kind != "name" or not re.fullmatch(r"%?[A-Za-z_]\w*", name.text):
                raise reader.err(f"expected a register after `{t.text}:`", name.line)
            reg = canonical_register(reader.arch, name.text)
            if not _IDENT.match(reg):
                raise reader.err(f"{name.text!r} is not a register name", name.line)
            return Ref(thread, reg)
        if t.kind == "name" and re.fullmatch(r"[A-Za-z_]\w*", t.text):
            return Ref(None, t.text)
        raise reader.err(f"expected `T:reg=v`, `loc=v` or `[loc]=v` in the condition, got "
                         f"{t.text or 'end of file'!r}", t.line)

    def atom(self) -> Prop:
        lex, reader = self.lex, self.reader
        line = lex.peek().line
        left = self.ref()
        eq = lex.next()
        if eq.text == "!" and lex.peek().text == "=":
            lex.next()
            op = "!="
        elif eq.text == "=":
            op = "="
        else:
            raise reader.err(f"expected `=` after {left} in the condition, got "
                             f"{eq.text or 'end of file'!r}", eq.line)
        v = lex.peek()
        value: Union[int, Addr, Ref]
        if v.kind == "int" and lex.peek_after().text != ":":
            lex.next()
            value = int(v.text, 0) if not re.fullmatch(r"-?0\d+", v.text) else int(v.text)
        elif v.text == "&":
            lex.next()
            nm = lex.next()
            if not _IDENT.match(nm.text):
                raise reader.err(f"expected a location after `&`, got {nm.text!r}", nm.line)
            value = Addr(nm.text)
        elif v.text == "[" or v.kind == "int" or re.fullmatch(r"P\d+", v.text) \
                and lex.peek_after().text == ":":
            value = self.ref()
        elif v.kind == "name" and re.fullmatch(r"[A-Za-z_]\w*", v.text):
            lex.next()
            value = Addr(v.text)
        else:
            raise reader.err(f"expected a value after `{op}`, got {v.text or 'end of file'!r}",
                             v.line)
        return Atom(left, value, line, op)


# ---- C lexer and parser -----------------------------------------------------------------------

class _CLexer:
    TOKEN = re.compile(r"0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|[A-Za-z_]\w*"
                       r"|==|!=|<=|>=|&&|\|\||->|\+\+|--|\+=|-=|\*=|/=|&=|\|=|\^=|<<|>>"
                       r"|[(){}\[\];,*&=+\-<>!~^|?:/%.]|\S")

    def __init__(self, text: str, pos: int, file: str):
        self.text, self.pos, self.file = text, pos, file
        self._buf: list[tuple[_Tok, int]] = []

    def _skip(self, pos: int, top_level: bool) -> int:
        text = self.text
        while pos < len(text):
            if text[pos].isspace():
                pos += 1
            elif text.startswith("//", pos):
                k = text.find("\n", pos)
                pos = len(text) if k < 0 else k
            elif text.startswith("/*", pos):
                k = text.find("*/", pos + 2)
                if k < 0:
                    raise LitmusError("unterminated comment `/*`", self.file,
                                      text.count("\n", 0, pos) + 1)
                pos = k + 2
            elif top_level and text.startswith("(*", pos):
                depth, j = 1, pos + 2
                while j < len(text) and depth:
                    if text.startswith("(*", j):
                        depth, j = depth + 1, j + 2
                    elif text.startswith("*)", j):
                        depth, j = depth - 1, j + 2
                    else:
                        j += 1
                pos = j
            else:
                break
        return pos

    def _lex(self, pos: int, top_level: bool) -> tuple[_Tok, int]:
        pos = self._skip(pos, top_level)
        line = self.text.count("\n", 0, pos) + 1
        if pos >= len(self.text):
            return _Tok("eof", "", line, pos), pos
        m = self.TOKEN.match(self.text, pos)
        s = m.group(0)
        kind = "int" if s[0].isdigit() else "name" if re.match(r"[A-Za-z_]", s) else "op"
        return _Tok(kind, s, line, pos), pos + len(s)

    def peek(self, top_level: bool = False) -> _Tok:
        return self._lex(self.pos, top_level)[0]

    def peek2(self, top_level: bool = False) -> _Tok:
        _, end = self._lex(self.pos, top_level)
        return self._lex(end, top_level)[0]

    def next(self, top_level: bool = False) -> _Tok:
        tok, end = self._lex(self.pos, top_level)
        self.pos = end
        return tok

    def accept(self, text: str) -> bool:
        if self.peek().text == text:
            self.next()
            return True
        return False

    def expect(self, text: str) -> _Tok:
        t = self.next()
        if t.text != text:
            raise LitmusError(f"expected {text!r}, got {t.text or 'end of file'!r}", self.file,
                              t.line)
        return t


C_TYPE_WORDS = {"int", "long", "short", "char", "unsigned", "signed", "const", "volatile",
                "atomic_t", "atomic64_t", "atomic_long_t", "spinlock_t", "intptr_t",
                "uintptr_t", "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "bool",
                "_Bool", "void", "size_t", "register"}
_UNSUPPORTED_STMTS = {"while": "loops (while)", "for": "loops (for)", "do": "loops (do)",
                      "goto": "goto", "switch": "switch", "return": "return",
                      "break": "break", "continue": "continue"}

# binary operators, loosest first
_C_LEVELS = [["||"], ["&&"], ["|"], ["^"], ["&"], ["==", "!="], ["<", ">", "<=", ">="],
             ["<<", ">>"], ["+", "-"], ["*", "/", "%"]]


class _CParser:
    def __init__(self, lex: _CLexer, reader: _Reader):
        self.lex, self.reader = lex, reader

    def err(self, message: str, line: int) -> LitmusError:
        return self.reader.err(message, line)

    def block_rest(self) -> list[CStmt]:
        """Statements up to the closing `}` (the `{` was read)."""
        out: list[CStmt] = []
        while True:
            t = self.lex.peek()
            if t.kind == "eof":
                raise self.err("unterminated function body: missing `}`", t.line)
            if t.text == "}":
                self.lex.next()
                return out
            out.extend(self.stmt())

    def stmt(self) -> list[CStmt]:
        lex = self.lex
        t = lex.peek()
        if t.text == "{":
            lex.next()
            return self.block_rest()
        if t.text == ";":
            lex.next()
            return []
        if t.text in _UNSUPPORTED_STMTS:
            raise Unsupported(_UNSUPPORTED_STMTS[t.text], t.line)
        if t.text == "if":
            lex.next()
            lex.expect("(")
            cond = self.expr()
            lex.expect(")")
            then = self.stmt()
            other: list[CStmt] = []
            if lex.peek().text == "else":
                lex.next()
                other = self.stmt()
            return [CIf(cond, then, other, t.line)]
        if t.kind == "name" and (t.text in C_TYPE_WORDS or t.text.endswith("_t")) \
                and lex.peek2().text not in ("(", "=", "+=", "-="):
            return self.decl()
        e = self.expr()
        nt = lex.peek()
        if nt.text in ("=", "+=", "-=", "*=", "|=", "&=", "^="):
            lex.next()
            rhs = self.expr()
            if nt.text != "=":
                rhs = CBin(nt.text[0], e, rhs)
            if not isinstance(e, (CName, CDeref)):
                raise self.err("the left side of an assignment must be a variable or `*p`",
                               nt.line)
            lex.expect(";")
            return [CAssign(e, rhs, t.line)]
        if nt.text in ("++", "--"):
            raise Unsupported(f"{nt.text} operator", nt.line)
        end = lex.next()
        if end.text != ";":
            raise self.err(f"expected ';' after the statement, got {end.text or 'end of file'!r}",
                           end.line)
        return [CExprStmt(e, t.line)]

    def decl(self) -> list[CStmt]:
        lex = self.lex
        first = lex.peek()
        while lex.peek().kind == "name" and (lex.peek().text in C_TYPE_WORDS
                                             or lex.peek().text.endswith("_t")) \
                and lex.peek2().text not in (",", ";", "=", "["):
            lex.next()
        out: list[CStmt] = []
        while True:
            while lex.accept("*"):
                pass
            name = lex.next()
            if name.kind != "name":
                raise self.err(f"expected a variable name in a declaration, got {name.text!r}",
                               name.line)
            if lex.peek().text == "[":
                raise Unsupported("arrays", name.line)
            init = None
            if lex.accept("="):
                init = self.expr()
            out.append(CDecl(name.text, init, first.line))
            if lex.accept(","):
                continue
            lex.expect(";")
            return out

    def expr(self) -> CExpr:
        c = self.binary(0)
        if self.lex.peek().text == "?":
            self.lex.next()
            a = self.expr()
            self.lex.expect(":")
            b = self.expr()
            return CTernary(c, a, b)
        return c

    def binary(self, level: int) -> CExpr:
        if level == len(_C_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.lex.peek().text in _C_LEVELS[level]:
            op = self.lex.next().text
            right = self.binary(level + 1)
            left = CBin(op, left, right)
        return left

    def _is_cast(self) -> bool:
        lex = self.lex
        if lex.peek().text != "(":
            return False
        t = lex.peek2()
        return t.kind == "name" and (t.text in C_TYPE_WORDS or t.text.endswith("_t"))

    def unary(self) -> CExpr:
        lex = self.lex
        t = lex.peek()
        if t.text in ("-", "!", "~"):
            lex.next()
            e = self.unary()
            if t.text == "-" and isinstance(e, CNum):
                return CNum(-e.value)
            return CUnary(t.text, e)
        if t.text == "+":
            lex.next()
            return self.unary()
        if t.text == "*":
            lex.next()
            return CDeref(self.unary())
        if t.text == "&":
            lex.next()
            n = lex.next()
            if n.kind != "name":
                raise self.err(f"expected a name after `&`, got {n.text!r}", n.line)
            return CAddrOf(n.text)
        if t.text in ("++", "--"):
            raise Unsupported(f"{t.text} operator", t.line)
        if self._is_cast():
            lex.next()
            while lex.peek().text != ")":
                if lex.next().kind == "eof":
                    raise self.err("unterminated cast", t.line)
            lex.next()
            return self.unary()
        return self.postfix()

    def postfix(self) -> CExpr:
        lex = self.lex
        t = lex.next()
        if t.kind == "int":
            v = _int(t.text)
            if v is None:
                raise self.err(f"cannot read number {t.text!r}", t.line)
            e: CExpr = CNum(v)
        elif t.kind == "name":
            if lex.peek().text == "(":
                lex.next()
                args: list[CExpr] = []
                if not lex.accept(")"):
                    while True:
                        args.append(self.expr())
                        if lex.accept(")"):
                            break
                        lex.expect(",")
                e = CCall(t.text, args, t.line)
            else:
                e = CName(t.text)
        elif t.text == "(":
            e = self.expr()
            lex.expect(")")
        else:
            raise self.err(f"unexpected {t.text or 'end of file'!r} in an expression", t.line)
        nt = lex.peek()
        if nt.text in ("[", "->", "."):
            raise Unsupported("arrays and structures" if nt.text == "[" else "structures",
                              nt.line)
        if nt.text in ("++", "--"):
            raise Unsupported(f"{nt.text} operator", nt.line)
        return e
