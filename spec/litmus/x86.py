"""The threads of an x86 litmus test: a table of columns `P0 | P1 ;`, one instruction per cell,
in Intel syntax (X86: `MOV [x],$1`, destination first) or AT&T syntax (X86_64: `movl $1,(x)`,
source first). Both read their operands into the same kinds and share the instruction table."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from smp_explorer.spec.litmus.test import Addr, Asm, LitmusError, Locations, Reg, Thread, \
    Unsupported
from smp_explorer.spec.litmus.text import line_of, read_int

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
_FENCES = {"MFENCE": "full", "LFENCE": "read", "SFENCE": "write"}
# the first line of the condition ends the table
_CONDITION_LINE = re.compile(r"^[ \t]*(~?\s*exists|forall|final|locations|filter)\b", re.M)


def canonical_register(arch: str, name: str) -> str:
    """The name under which a register is reported: Intel upper case; AT&T 64-bit lower case."""
    if arch == "X86":
        return name.upper()
    if arch == "X86_64":
        low = name.lower().lstrip("%")
        return X86_REGS64.get(low, low)
    return name


@dataclass(frozen=True)
class _Mem:
    """A direct memory operand `[x]` / `(x)`."""

    name: str


Operand = Union[_Mem, Reg, int, Addr]


def _kind(op: Operand) -> str:
    return "mem" if isinstance(op, _Mem) else "reg" if isinstance(op, Reg) else "imm"


def read_x86_threads(text: str, file: str, start: int, arch: str,
                     locations: Locations) -> tuple[list[Thread], int]:
    """The threads of the table after `start` (comments blanked) and where the condition
    begins."""
    found = _CONDITION_LINE.search(text, start)
    if found is None:
        raise LitmusError("no final condition (`exists`, `~exists`, `forall` or `final`)",
                          file, line_of(text, len(text.rstrip())))
    end = found.start()
    rows: list[tuple[int, str]] = []
    pos = start
    for row in text[start:end].split(";"):
        if row.strip():
            rows.append((line_of(text, pos + len(row) - len(row.lstrip())), row.strip()))
        pos += len(row) + 1
    if not rows:
        raise LitmusError("no threads: expected a row `P0 | P1 ... ;`", file,
                          line_of(text, start))
    header_line, header = rows[0]
    names = [c.strip() for c in header.split("|")]
    for k, name in enumerate(names):
        if not re.fullmatch(r"P\d+", name):
            raise LitmusError(f"expected the thread header `P0 | P1 | ... ;`, got {header!r}",
                              file, header_line)
        if int(name[1:]) != k:
            raise LitmusError(f"thread {name} is out of order in the header (expected P{k})",
                              file, header_line)
    reader = _InstructionReader(arch, file, locations)
    bodies: list[list[Asm]] = [[] for _ in names]
    for line, row in rows[1:]:
        cells = row.split("|")
        if len(cells) > len(names):
            raise LitmusError(f"row has {len(cells)} columns but the test has {len(names)} "
                              f"threads", file, line)
        for k, cell in enumerate(cells):
            if cell.strip():
                instr = reader.instruction(cell.strip(), line)
                if instr.kind != "nop":
                    bodies[k].append(instr)
    threads = [Thread(k, name, header_line, body)
               for k, (name, body) in enumerate(zip(names, bodies))]
    return threads, end


class _InstructionReader:
    def __init__(self, arch: str, file: str, locations: Locations):
        self.arch, self.file, self.locations = arch, file, locations

    def err(self, message: str, line: int) -> LitmusError:
        return LitmusError(message, self.file, line)

    def instruction(self, text: str, line: int) -> Asm:
        text = " ".join(text.split())
        if re.match(r"[A-Za-z_]\w*\s*:", text):
            raise Unsupported(f"labels and control flow ({text})", line)
        mnemonic, _, operands = text.partition(" ")
        mnemonic = mnemonic.upper()
        locked = mnemonic == "LOCK"
        if locked:
            if not operands:
                raise self.err("LOCK prefix without an instruction", line)
            mnemonic, _, operands = operands.partition(" ")
            mnemonic = mnemonic.upper()
        parts = [o.strip() for o in operands.split(",")] if operands.strip() else []
        if self.arch == "X86_64":
            # AT&T: a size suffix on the mnemonic, the source first
            if mnemonic[-1] in "BWLQ" and mnemonic[:-1] in _RMW_OPS | {"MOV"}:
                mnemonic = mnemonic[:-1]
            ops = [self._att_operand(o, line) for o in parts][::-1]
        else:
            ops = [self._intel_operand(o, line) for o in parts]
        return self._instruction(mnemonic, ops, locked, text, line)

    # -- operands: the two syntaxes differ in spelling only --
    def _memory(self, name: str, line: int) -> _Mem:
        self.locations.add(name, line)
        return _Mem(name)

    def _immediate(self, text: str, line: int) -> int | Addr | None:
        """A number, or a location name standing for its address."""
        value = read_int(text)
        if value is not None:
            return value
        if re.fullmatch(r"[A-Za-z_]\w*", text):
            self.locations.add(text, line)
            return Addr(text)
        return None

    def _intel_operand(self, o: str, line: int) -> Operand:
        m = re.fullmatch(r"\[\s*([A-Za-z_]\w*)\s*\]", o)
        if m:
            if m.group(1).upper() in _INTEL_REGS:
                raise Unsupported(f"indirect memory operand {o}", line)
            return self._memory(m.group(1), line)
        if re.fullmatch(r"\[[^\[\]]+\]", o):
            raise Unsupported(f"memory operand {o}", line)
        if o.upper() in _INTEL_REGS:
            return Reg(canonical_register(self.arch, o))
        immediate = self._immediate(o.removeprefix("$"), line)
        if immediate is None:
            raise self.err(f"cannot read operand {o!r}", line)
        return immediate

    def _att_operand(self, o: str, line: int) -> Operand:
        m = re.fullmatch(r"\(\s*([A-Za-z_]\w*)\s*\)", o)
        if m:
            return self._memory(m.group(1), line)
        if re.fullmatch(r"-?\w*\([^()]+\)", o):
            raise Unsupported(f"memory operand {o}", line)
        if re.fullmatch(r"%[A-Za-z][A-Za-z0-9]*", o):
            return Reg(canonical_register(self.arch, o))
        if o.startswith("$"):
            immediate = self._immediate(o[1:], line)
            if immediate is not None:
                return immediate
        if re.fullmatch(r"[A-Za-z_]\w*", o):
            return self._memory(o, line)
        raise self.err(f"cannot read operand {o!r}", line)

    # -- instructions, operands in Intel order --
    def _instruction(self, mnemonic: str, ops: list[Operand], locked: bool, text: str,
                     line: int) -> Asm:
        if mnemonic in _FENCES or mnemonic == "NOP":
            if ops:
                raise self.err(f"{mnemonic} takes no operand", line)
            if mnemonic == "NOP":
                return Asm("nop", line, text)
            return Asm("fence", line, text, op=_FENCES[mnemonic])
        if mnemonic == "MOV":
            return self._mov(ops, text, line)
        if mnemonic in _RMW_OPS:
            return self._read_modify_write(mnemonic, ops, locked, text, line)
        if re.fullmatch(r"J[A-Z]+|CMP|TEST|JMP|CALL|RET", mnemonic):
            raise Unsupported(f"control flow ({text})", line)
        raise Unsupported(f"instruction {mnemonic}", line)

    def _mov(self, ops: list[Operand], text: str, line: int) -> Asm:
        if len(ops) != 2:
            raise self.err(f"MOV takes two operands: {text!r}", line)
        dest, src = ops
        if isinstance(src, _Mem):
            if isinstance(dest, Reg):
                return Asm("load", line, text, reg=dest.name, loc=src.name)
        elif isinstance(dest, _Mem):
            return Asm("store", line, text, loc=dest.name, src=src)
        elif isinstance(dest, Reg):
            return Asm("move", line, text, reg=dest.name, src=src)
        raise self.err(f"cannot read {text!r}", line)

    def _read_modify_write(self, mnemonic: str, ops: list[Operand], locked: bool, text: str,
                           line: int) -> Asm:
        kinds = [_kind(op) for op in ops]
        if mnemonic == "XCHG":
            if len(ops) != 2:
                raise self.err(f"XCHG takes two operands: {text!r}", line)
            mem = [op for op in ops if isinstance(op, _Mem)]
            regs = [op for op in ops if isinstance(op, Reg)]
            if len(mem) == 1 and len(regs) == 1:
                # XCHG with a memory operand is implicitly locked
                return Asm("rmw", line, text, reg=regs[0].name, loc=mem[0].name, src=regs[0],
                           op="xchg")
            if kinds == ["reg", "reg"]:
                raise Unsupported(f"register exchange ({text})", line)
            raise self.err(f"cannot read {text!r}", line)
        if mnemonic in ("INC", "DEC"):
            if len(ops) != 1:
                raise self.err(f"{mnemonic} takes one operand: {text!r}", line)
            op = "add" if mnemonic == "INC" else "sub"
            target = ops[0]
            if isinstance(target, _Mem):
                if not locked:
                    raise Unsupported(f"non-locked read-modify-write ({text})", line)
                return Asm("rmw", line, text, loc=target.name, src=1, op=op)
            if isinstance(target, Reg):
                return Asm("alu", line, text, reg=target.name, src=1, op=op)
            raise self.err(f"cannot read {text!r}", line)
        if len(ops) != 2:
            raise self.err(f"{mnemonic} takes two operands: {text!r}", line)
        dest, src = ops
        if isinstance(dest, _Mem):
            if not locked:
                raise Unsupported(f"non-locked read-modify-write ({text})", line)
            if isinstance(src, _Mem):
                raise self.err(f"two memory operands: {text!r}", line)
            if mnemonic == "CMPXCHG":
                if not isinstance(src, Reg):
                    raise self.err(f"CMPXCHG needs a register source: {text!r}", line)
                accumulator = "EAX" if self.arch == "X86" else "rax"
                return Asm("rmw", line, text, reg=accumulator, loc=dest.name, src=src,
                           op="cmpxchg")
            if mnemonic == "XADD":
                if not isinstance(src, Reg):
                    raise self.err(f"XADD needs a register source: {text!r}", line)
                return Asm("rmw", line, text, reg=src.name, loc=dest.name, src=src, op="add")
            return Asm("rmw", line, text, loc=dest.name, src=src, op=mnemonic.lower())
        if isinstance(dest, Reg) and not isinstance(src, _Mem) \
                and mnemonic not in ("XADD", "CMPXCHG"):
            return Asm("alu", line, text, reg=dest.name, src=src, op=mnemonic.lower())
        raise Unsupported(f"instruction {text}", line)

