"""A parsed litmus test -> spec text in the smp-explorer language, and running it.

One process per thread; every instruction or C statement that touches memory is its own step
(its own label). Registers are `local`s, locations are `shared` variables, all of one integer
range that covers every constant of the test (and the encoded addresses, if the test uses
pointers). The final condition becomes a property over the states where every thread is at
`Done` and every store buffer has drained:

* `exists P`, `~exists P`, `final P`: `reachable Cond: done and (P);` -- the verdict is
  `Allowed` when it is reached, `Forbidden` when not;
* `forall P`: `invariant Cond: done implies (P);` -- `Always` / `Not always`.

C tests use the Linux primitives of a prelude: `linux.x86` under tso, `linux.generic` under
sc (where every ordering is the same), pso and weak. x86 tests need no prelude: MOV is a plain
load or store, MFENCE `fence(full)`, XCHG with memory and LOCK'd instructions `rmw(..., full)`.

Pointers (a location holding the address of another, `int *p = &y;`, `1:r1=x`) are encoded as
integers: location k has the address ADDRESS_BASE + k; a dereference of a register becomes a
choice among the locations (`if r == A_x { ... } else if ...`) inside one step.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from smp_explorer.spec.litmus.test import (
    Addr, And, Asm, Atom, CAddrOf, CAssign, CBin, CCall, CDecl, CDeref, CExpr, CExprStmt, CIf,
    CName, CNum, Const, CStmt, CTernary, CUnary, LitmusTest, Not, Or, Prop, Ref, Reg,
    Unsupported, evaluated, subexpressions)

MEMORY_MODELS = ("sc", "tso", "pso", "weak")
PRELUDE_FOR = {"sc": "linux.generic", "tso": "linux.x86", "pso": "linux.generic",
               "weak": "linux.generic"}
ADDRESS_BASE = 100
PROPERTY = "Cond"

# Linux primitives: name -> (index of the location argument or None, what it returns in C:
# "int", "bool" (a truth value 0/1) or None).
_RMW_NAMES = ("add", "sub", "and", "or", "xor", "andnot")
_SUFFIXES = ("", "_relaxed", "_acquire", "_release")


def _primitives() -> dict[str, tuple[int | None, str | None]]:
    p: dict[str, tuple[int | None, str | None]] = {
        "READ_ONCE": (0, "int"), "WRITE_ONCE": (0, None),
        "smp_load_acquire": (0, "int"), "smp_store_release": (0, None),
        "smp_mb": (None, None), "smp_rmb": (None, None), "smp_wmb": (None, None),
        "smp_mb__before_atomic": (None, None), "smp_mb__after_atomic": (None, None),
        "smp_mb__after_spinlock": (None, None),
        "atomic_read": (0, "int"), "atomic_set": (0, None),
        "atomic_read_acquire": (0, "int"), "atomic_set_release": (0, None),
        "atomic_inc": (0, None), "atomic_dec": (0, None),
        "atomic_add_unless": (0, "bool"), "atomic_inc_not_zero": (0, "bool"),
        "atomic_fetch_add_unless": (0, "int"),
        "atomic_dec_and_test": (0, "bool"), "atomic_inc_and_test": (0, "bool"),
        "atomic_sub_and_test": (1, "bool"), "atomic_add_negative": (1, "bool"),
        "spin_lock": (0, None), "spin_unlock": (0, None),
        "spin_trylock": (0, "bool"), "spin_is_locked": (0, "bool"),
    }
    for op in _RMW_NAMES:
        p[f"atomic_{op}"] = (1, None)
    for sfx in _SUFFIXES:
        for op in ("inc", "dec"):
            p[f"atomic_{op}_return{sfx}"] = (0, "int")
            p[f"atomic_fetch_{op}{sfx}"] = (0, "int")
        for op in _RMW_NAMES:
            p[f"atomic_{op}_return{sfx}"] = (1, "int")
            p[f"atomic_fetch_{op}{sfx}"] = (1, "int")
        for op in ("xchg", "cmpxchg"):
            p[f"{op}{sfx}"] = (0, "int")
            p[f"atomic_{op}{sfx}"] = (0, "int")
    return p


PRIMITIVES = _primitives()
# how many values a primitive's amount argument adds or removes (for the value range)
_AMOUNT_ARG = {name: 0 for name in PRIMITIVES
               if re.match(r"atomic_(fetch_)?(add|sub)(_return)?(_relaxed|_acquire|_release)?$",
                           name)}
_AMOUNT_ARG.update({"atomic_add_unless": 1, "atomic_sub_and_test": 0, "atomic_add_negative": 0})
_STEP_ONE = {name for name in PRIMITIVES if re.match(r"atomic_(fetch_)?(inc|dec)", name)} | {
    "atomic_inc_not_zero", "atomic_dec_and_test", "atomic_inc_and_test"}
_BITWISE = {name for name in PRIMITIVES
            if re.match(r"atomic_(fetch_)?(and|or|xor|andnot)(_return)?(_relaxed|_acquire|_release)?$",
                        name)}
_COND_READS = {"atomic_cond_read_acquire": "smp_load_acquire",
               "atomic_cond_read_relaxed": "READ_ONCE",
               "smp_cond_load_acquire": "smp_load_acquire",
               "smp_cond_load_relaxed": "READ_ONCE"}

_PURE_LOADS = {"READ_ONCE", "smp_load_acquire", "atomic_read", "atomic_read_acquire",
               "spin_is_locked"}


@lru_cache(maxsize=1)
def language_keywords() -> frozenset[str]:
    """Every word the spec grammar reserves, plus built-in names."""
    grammar = Path(__file__).resolve().parent.parent / "grammar.lark"
    try:
        words = set(re.findall(r'"([A-Za-z_]+)"', grammar.read_text(encoding="utf-8")))
    except OSError:
        words = set()
    return frozenset(words | {"Done", "pc", "self", "card", "min", "max", "abs", "drained",
                              "load", "store", "fence", "rmw", "cmpxchg", "rmw_unless",
                              "plain", "acquire", "release", "full", "unordered", "read",
                              "write", "serialize", "xchg", "add", "sub", "and", "or", "xor",
                              PROPERTY})


@lru_cache(maxsize=None)
def prelude_arity(prelude: str) -> dict[str, int]:
    """The definitions of a Linux prelude and their number of parameters."""
    from smp_explorer.spec import ast
    from smp_explorer.spec.preludes import load_prelude
    return {d.name: len(d.params) for d in load_prelude(prelude, None).decls
            if isinstance(d, ast.DefDecl)}


@dataclass
class Translation:
    text: str
    memory: str
    buffer: int            # store-buffer capacity: the most stores any one thread makes
    quantifier: str        # exists | ~exists | final | forall
    prelude: str | None


def verdict_of(quantifier: str, status: str) -> str:
    """The verdict of a test from the status of its `Cond` property."""
    if quantifier == "forall":
        return {"holds": "Always", "violated": "Not always"}.get(status, f"unknown ({status})")
    return {"holds": "Allowed", "unreached": "Forbidden"}.get(status, f"unknown ({status})")


def translate(test: LitmusTest, memory: str = "sc") -> Translation:
    if memory not in MEMORY_MODELS:
        raise ValueError(f"unknown memory model {memory}")
    return _Translator(test, memory).run()


# ---- value ranges ---------------------------------------------------------------------------------

def _value_range(test: LitmusTest, uses_addresses: bool) -> tuple[int, int]:
    consts: list[int] = [0, 1]
    amounts: list[int] = []   # the size of every arithmetic step
    flags = {"neg": False, "bitwise": False, "mul": False}

    def value(v) -> None:
        if isinstance(v, int):
            consts.append(v)

    for v in test.memory.values():
        value(v)
    for v in test.registers.values():
        value(v)

    for atom in test.condition.atoms():
        value(atom.value)

    def cexpr(e: CExpr) -> None:
        """What one expression node adds to the range."""
        if isinstance(e, CNum):
            consts.append(e.value)
        elif isinstance(e, CCall):
            if e.name in _AMOUNT_ARG and len(e.args) > _AMOUNT_ARG[e.name]:
                a = e.args[_AMOUNT_ARG[e.name]]
                amounts.append(abs(a.value) if isinstance(a, CNum) else -1)
                flags["neg"] = flags["neg"] or "sub" in e.name or "negative" in e.name
            if e.name in _STEP_ONE:
                amounts.append(1)
                flags["neg"] = flags["neg"] or "dec" in e.name
            if e.name in _BITWISE:
                flags["bitwise"] = True
        elif isinstance(e, CBin):
            if e.op in ("+", "-"):
                amounts.append(abs(e.right.value) if isinstance(e.right, CNum) else -1)
                flags["neg"] = flags["neg"] or e.op == "-"
            elif e.op in ("*", "<<"):
                flags["mul"] = True
            elif e.op in ("&", "|", "^"):
                flags["bitwise"] = True
        elif isinstance(e, CUnary):
            if e.op == "-":
                flags["neg"] = True
            if e.op == "~":
                flags["bitwise"] = flags["neg"] = True

    for th in test.threads:
        for s in th.instructions:
            if isinstance(s.src, int):
                consts.append(s.src)
            if s.kind in ("rmw", "alu") and s.op in ("add", "sub", "xadd", "inc", "dec"):
                amounts.append(abs(s.src) if isinstance(s.src, int) else -1)
                flags["neg"] = flags["neg"] or s.op in ("sub", "dec")
            if s.op in ("and", "or", "xor"):
                flags["bitwise"] = True
        for evaluated_expr in evaluated(th.statements):
            for e in subexpressions(evaluated_expr):
                cexpr(e)
    top = max(abs(c) for c in consts)
    hi = top + sum(a if a >= 0 else top for a in amounts)
    if flags["mul"]:
        hi = hi * hi
    if flags["bitwise"]:
        hi = (1 << max(hi, 1).bit_length()) - 1
    lo = min(min(consts), -hi if flags["neg"] else 0)
    if flags["neg"] and flags["bitwise"]:
        lo = min(lo, -hi - 1)
    if uses_addresses:
        hi = max(hi, ADDRESS_BASE + len(test.locations) - 1)
    return lo, hi


# ---- the translator ---------------------------------------------------------------------------------

def _lit(v: int) -> str:
    return f"(-{-v})" if v < 0 else str(v)


@dataclass
class _Proc:
    name: str
    locals: dict[str, str] = field(default_factory=dict)  # register -> spec name
    lines: list[str] = field(default_factory=list)
    labels: int = 0
    temps: int = 0
    stores: int = 0


class _Translator:
    def __init__(self, test: LitmusTest, memory: str):
        self.test = test
        self.memory = memory
        self.prelude = PRELUDE_FOR[memory] if test.is_c else None
        self.uses_addresses = self._uses_addresses()
        self.lo, self.hi = _value_range(test, self.uses_addresses)
        reserved = set(language_keywords()) | set(PRIMITIVES) | set(_COND_READS)
        reserved |= {th.name for th in test.threads}
        self.reserved = reserved
        self.locs: dict[str, str] = {}
        taken: set[str] = set()
        for loc in test.locations:
            name = loc if loc not in reserved and not loc.startswith("__") else f"loc_{loc}"
            while name in taken or name in reserved:
                name += "_"
            self.locs[loc] = name
            taken.add(name)
        self.global_names = taken
        self.label_prefix = "s"
        while any(re.fullmatch(rf"{self.label_prefix}\d+", n) for n in self._all_names()):
            self.label_prefix += "_"

    def _all_names(self) -> set[str]:
        names = set(self.locs.values())
        for th in self.test.threads:
            names.update(self._thread_registers(th))
        return names

    def _uses_addresses(self) -> bool:
        t = self.test
        if any(isinstance(v, Addr) for v in list(t.memory.values()) + list(t.registers.values())):
            return True
        if any(isinstance(atom.value, Addr) for atom in t.condition.atoms()):
            return True
        if any(isinstance(s.src, Addr) for th in t.threads for s in th.instructions):
            return True
        if t.is_c:
            return self._c_uses_addresses()
        return False

    def _c_uses_addresses(self) -> bool:
        """A parameter used as a value, or `&x`, or a dereferenced register."""
        for th in self.test.threads:
            params = set(th.params)
            found = False

            def expr(e: CExpr, loc_position: bool = False) -> None:
                nonlocal found
                if isinstance(e, CAddrOf):
                    found = found or not loc_position
                elif isinstance(e, CName):
                    if loc_position:
                        found = found or e.name not in params
                    elif e.name in params:
                        found = True
                elif isinstance(e, CDeref):
                    if isinstance(e.expr, CName) and e.expr.name in params:
                        return
                    found = True
                elif isinstance(e, CCall):
                    info = PRIMITIVES.get(e.name) or ((0, "int") if e.name in _COND_READS
                                                      else (None, None))
                    for k, a in enumerate(e.args):
                        expr(a, loc_position=(k == info[0]))
                elif isinstance(e, CBin):
                    expr(e.left)
                    expr(e.right)
                elif isinstance(e, CUnary):
                    expr(e.expr)
                elif isinstance(e, CTernary):
                    expr(e.cond)
                    expr(e.then)
                    expr(e.other)

            for e in evaluated(th.statements):
                expr(e)
            if found:
                return True
        return False

    # -- names --
    def address(self, loc: str) -> int:
        return ADDRESS_BASE + self.test.locations.index(loc)

    def value(self, v) -> str:
        if isinstance(v, Addr):
            if v.name not in self.locs:
                raise Unsupported(f"address of unknown location {v.name}")
            return str(self.address(v.name))
        return _lit(v)

    def _thread_registers(self, th) -> list[str]:
        """The registers of a thread, in order: initialised, used, named by the condition."""
        regs: dict[str, None] = {}
        for (tid, reg) in self.test.registers:
            if tid == th.index:
                regs[reg] = None
        for s in th.instructions:
            if s.reg:
                regs[s.reg] = None
            if isinstance(s.src, Reg):
                regs[s.src.name] = None
        for atom in self.test.condition.atoms():
            for r in (atom.left, atom.value):
                if isinstance(r, Ref) and r.thread == th.index:
                    regs[r.name] = None
        return list(regs)

    def reg(self, proc: _Proc, name: str) -> str:
        if name not in proc.locals:
            cand = name
            if cand in self.reserved or cand in self.global_names or cand.startswith("__") \
                    or re.fullmatch(rf"{self.label_prefix}\d+|tmp\d+", cand):
                cand = f"reg_{name}"
            while cand in proc.locals.values() or cand in self.global_names \
                    or cand in self.reserved:
                cand += "_"
            proc.locals[name] = cand
        return proc.locals[name]

    def temp(self, proc: _Proc) -> str:
        """A fresh local holding an intermediate value (never named by the condition)."""
        name = f"tmp{proc.temps}"
        proc.temps += 1
        key = f"\0{name}"
        cand = name
        while cand in proc.locals.values() or cand in self.global_names or cand in self.reserved:
            cand += "_"
        proc.locals[key] = cand
        return cand

    def label(self, proc: _Proc) -> str:
        lab = f"{self.label_prefix}{proc.labels}"
        proc.labels += 1
        return lab

    # -- the whole test --
    def run(self) -> Translation:
        t = self.test
        procs: list[_Proc] = []
        for th in t.threads:
            proc = _Proc(th.name)
            for reg in self._thread_registers(th):
                self.reg(proc, reg)
            self.line = 0
            if t.is_c:
                self.params = set(th.params)
                for s in th.statements:
                    self.c_stmt(proc, s, 1)
            else:
                for ins in th.instructions:
                    self.asm(proc, ins)
            if not proc.lines:
                proc.lines.append(f"  {self.label(proc)}: skip;")
            procs.append(proc)
        cond = self.condition(procs)
        lines = [f"// litmus test {t.name} ({Path(t.file).name}), memory model {self.memory}",
                 f"memory {self.memory};"]
        if self.prelude:
            lines.append(f"use {self.prelude};")
        rng = f"{self.lo}..{self.hi}" if self.lo >= 0 else f"-{-self.lo}..{self.hi}"
        for loc in t.locations:
            init = t.memory.get(loc, 0)
            lines.append(f"shared {self.locs[loc]}: {rng} = {self.value(init)};")
        for proc, th in zip(procs, t.threads):
            lines.append(f"process {proc.name} {{")
            for reg, name in proc.locals.items():
                init = t.registers.get((th.index, reg), 0) if not reg.startswith("\0") else 0
                lines.append(f"  local {name}: {rng} = {self.value(init)};")
            lines.extend(proc.lines)
            lines.append("}")
        lines.extend(cond)
        buffer = max([p.stores for p in procs] + [1])
        return Translation("\n".join(lines) + "\n", self.memory, buffer, t.condition.quantifier,
                           self.prelude)

    def condition(self, procs: list[_Proc]) -> list[str]:
        c = self.test.condition
        done = " and ".join([f"{p.name} at Done" for p in procs] + ["drained()"])
        prop = self.prop(c.prop, procs)
        if c.filter is not None:
            done = f"{done} and ({self.prop(c.filter, procs)})"
        if c.quantifier == "forall":
            return [f"invariant {PROPERTY}: ({done}) implies ({prop});"]
        return [f"reachable {PROPERTY}: ({done}) and ({prop});"]

    def prop(self, p: Prop, procs: list[_Proc]) -> str:
        if isinstance(p, Const):
            return "true" if p.value else "false"
        if isinstance(p, Not):
            return f"not ({self.prop(p.prop, procs)})"
        if isinstance(p, And):
            return " and ".join(f"({self.prop(q, procs)})" for q in p.props)
        if isinstance(p, Or):
            return " or ".join(f"({self.prop(q, procs)})" for q in p.props)
        assert isinstance(p, Atom)
        op = "==" if p.op == "=" else "!="
        return f"{self.ref(p.left, procs)} {op} {self.operand(p.value, procs)}"

    def ref(self, r: Ref, procs: list[_Proc]) -> str:
        if r.thread is None:
            return self.locs[r.name]
        proc = procs[r.thread]
        return f"{proc.name}.{self.reg(proc, r.name)}"

    def operand(self, v, procs: list[_Proc]) -> str:
        if isinstance(v, Ref):
            return self.ref(v, procs)
        return self.value(v)

    # -- x86 --
    def asm(self, proc: _Proc, ins: Asm) -> None:
        lab = self.label(proc)

        def src(s) -> str:
            if isinstance(s, Reg):
                return self.reg(proc, s.name)
            return self.value(s)

        loc = self.locs[ins.loc] if ins.loc else None
        reg = self.reg(proc, ins.reg) if ins.reg else None
        if ins.kind == "store":
            body = f"{loc} := {src(ins.src)};"
            proc.stores += 1
        elif ins.kind == "load":
            body = f"{reg} := {loc};"
        elif ins.kind == "move":
            body = f"{reg} := {src(ins.src)};"
        elif ins.kind == "fence":
            body = f"fence({ins.op});"
        elif ins.kind == "rmw":
            proc.stores += 1
            if ins.op == "cmpxchg":
                body = f"{reg} := cmpxchg({loc}, {reg}, {src(ins.src)}, full, full);"
            elif reg is not None:
                body = f"{reg} := rmw({loc}, {ins.op}, {src(ins.src)}, full);"
            else:
                body = f"rmw({loc}, {ins.op}, {src(ins.src)}, full);"
        elif ins.kind == "alu":
            if ins.op in ("add", "sub"):
                body = f"{reg} := {reg} {'+' if ins.op == 'add' else '-'} {src(ins.src)};"
            else:
                raise Unsupported(f"instruction {ins.text}", ins.line)
        else:
            raise Unsupported(f"instruction {ins.text}", ins.line)
        proc.lines.append(f"  {lab}: {body:<40} // {ins.text}")

    # -- C --
    def emit(self, proc: _Proc, depth: int, body: str) -> None:
        pad = "  " * depth
        lab = self.label(proc)
        line = f"{pad}{lab}: {body}"
        comment = self._comment()
        if comment and "\n" not in line:
            line = f"{line:<46} // {comment}"
        proc.lines.append(line)

    def _comment(self) -> str:
        text = self.test.source_line(self.line) if self.line else ""
        text = re.sub(r"\s*//.*$", "", text)
        return text if len(text) < 60 else text[:57] + "..."

    def c_stmt(self, proc: _Proc, s: CStmt, depth: int) -> None:
        self.line = s.line
        if isinstance(s, CDecl):
            self.reg(proc, s.name)
            if s.init is not None:
                self.c_assign(proc, CName(s.name), s.init, depth)
        elif isinstance(s, CAssign):
            self.c_assign(proc, s.target, s.value, depth)
        elif isinstance(s, CExprStmt):
            e = s.expr
            if isinstance(e, CCall) and e.name in PRIMITIVES \
                    and PRIMITIVES[e.name][1] is None:
                self.c_access(proc, e, None, depth)
            elif isinstance(e, (CCall, CDeref)):
                # a value-returning access whose value is dropped: still value-returning
                self.c_access(proc, e, self.temp(proc), depth)
            else:
                self.c_value(proc, e, depth)
        elif isinstance(s, CIf):
            self.emit(proc, depth, f"if {self.c_bool(proc, s.cond, depth)} {{")
            pad = "  " * depth
            for t in s.then:
                self.c_stmt(proc, t, depth + 1)
            if s.other:
                proc.lines.append(f"{pad}}} else {{")
                for t in s.other:
                    self.c_stmt(proc, t, depth + 1)
            proc.lines.append(f"{pad}}}")
        else:  # pragma: no cover
            raise Unsupported(f"statement {type(s).__name__}")

    def c_assign(self, proc: _Proc, target: CExpr, value: CExpr, depth: int) -> None:
        if isinstance(target, CName):
            if target.name in self.params or target.name in self.locs and \
                    target.name not in proc.locals:
                raise Unsupported(f"assignment to the pointer parameter {target.name}")
            reg = self.reg(proc, target.name)
            if isinstance(value, (CCall, CDeref)) and self._is_access(value):
                self.c_access(proc, value, reg, depth)
                return
            v = self.c_value(proc, value, depth)
            self.emit(proc, depth, f"{reg} := {v};")
            return
        assert isinstance(target, CDeref)
        v = self.c_value(proc, value, depth)
        proc.stores += 1
        self.c_dispatch(proc, target.expr, depth, lambda loc: f"{loc} := {v};", deref=True)

    def _is_access(self, e: CExpr) -> bool:
        return isinstance(e, CDeref) or isinstance(e, CCall) and (
            e.name in PRIMITIVES or e.name in _COND_READS)

    def c_access(self, proc: _Proc, e: CExpr, dest: str | None, depth: int) -> None:
        """One step: a memory access, its value (if any) assigned to dest."""
        if isinstance(e, CDeref):
            self.c_dispatch(proc, e.expr, depth,
                            lambda loc: f"{dest} := {loc};" if dest else "skip;", deref=True)
            return
        assert isinstance(e, CCall)
        if e.name in _COND_READS:
            self.c_cond_read(proc, e, dest, depth)
            return
        if e.name not in PRIMITIVES:
            raise Unsupported(f"function {e.name}", e.line)
        loc_index, returns = PRIMITIVES[e.name]
        arity = prelude_arity(self.prelude or "linux.generic").get(e.name)
        if arity is None:
            raise Unsupported(f"function {e.name} (not in the {self.prelude} prelude)", e.line)
        if arity != len(e.args):
            raise Unsupported(f"{e.name} with {len(e.args)} arguments (the kernel's takes "
                              f"{arity})", e.line)
        args: list[str | None] = []
        for k, a in enumerate(e.args):
            args.append(None if k == loc_index else self.c_value(proc, a, depth))
        if loc_index is not None and loc_index >= len(e.args):
            raise Unsupported(f"{e.name} with {len(e.args)} arguments", e.line)
        if loc_index is not None and e.name not in _PURE_LOADS:
            proc.stores += 1

        def call(loc: str | None) -> str:
            actual = [loc if a is None else a for a in args]
            text = f"{e.name}({', '.join(str(a) for a in actual)})"
            if dest is None:
                return f"{text};"
            if returns == "bool" and e.name in PRELUDE_BOOL:
                text = f"if {text} then 1 else 0"
            return f"{dest} := {text};"

        if loc_index is None:
            self.emit(proc, depth, call(None))
        else:
            self.c_dispatch(proc, e.args[loc_index], depth, call, deref=False)

    def c_cond_read(self, proc: _Proc, e: CCall, dest: str | None, depth: int) -> None:
        if len(e.args) != 2:
            raise Unsupported(f"{e.name} with {len(e.args)} arguments", e.line)
        loader = _COND_READS[e.name]
        t = dest or self.temp(proc)
        saved = dict(proc.locals)
        proc.locals["VAL"] = t
        try:
            cond = self._pure_bool(proc, e.args[1])
        finally:
            proc.locals.clear()
            proc.locals.update(saved)
        self.c_dispatch(proc, e.args[0], depth,
                        lambda loc: f"{t} := {loader}({loc}); await {cond};", deref=False)

    def _pure_bool(self, proc: _Proc, e: CExpr) -> str:
        before = len(proc.lines)
        text, kind = self.c_expr(proc, e, 0)
        if len(proc.lines) != before:
            raise Unsupported("a memory access inside the condition of a conditional read")
        return text if kind == "bool" else f"({text} != 0)"

    def c_dispatch(self, proc: _Proc, pointer: CExpr, depth: int, body, deref: bool) -> None:
        """Emit one step doing body(location) on the location `pointer` designates.

        deref=True: `pointer` is what `*` applies to (a parameter names its location);
        deref=False: `pointer` is a location argument of a primitive (`x`, `*x` or `&x`)."""
        target = pointer
        if not deref:
            if isinstance(pointer, CAddrOf):
                if pointer.name not in self.locs:
                    raise Unsupported(f"address of unknown location {pointer.name}")
                self.emit(proc, depth, body(self.locs[pointer.name]))
                return
            if isinstance(pointer, CDeref):
                target = pointer.expr
        if isinstance(target, CName) and (target.name in self.params or
                                          target.name in self.locs and
                                          target.name not in proc.locals):
            if target.name not in self.locs:
                raise Unsupported(f"unknown location {target.name}")
            self.emit(proc, depth, body(self.locs[target.name]))
            return
        # a computed pointer: choose among the locations by the address it holds
        ptr = self.c_value(proc, target, depth)
        if not self.uses_addresses:  # pragma: no cover - _uses_addresses sees every case
            raise Unsupported("pointers")
        parts = []
        for loc in self.test.locations:
            parts.append(f"if {ptr} == {self.address(loc)} {{ {body(self.locs[loc])} }}")
        chain = " else ".join(parts)
        self.emit(proc, depth, f"{chain} else {{ assert false: \"bad pointer\"; }}")

    def c_value(self, proc: _Proc, e: CExpr, depth: int) -> str:
        text, kind = self.c_expr(proc, e, depth)
        return text if kind == "int" else f"(if {text} then 1 else 0)"

    def c_bool(self, proc: _Proc, e: CExpr, depth: int) -> str:
        text, kind = self.c_expr(proc, e, depth)
        return text if kind == "bool" else f"({text} != 0)"

    def c_expr(self, proc: _Proc, e: CExpr, depth: int) -> tuple[str, str]:
        """A pure spec expression for e, hoisting each memory access into its own step."""
        if isinstance(e, CNum):
            return _lit(e.value), "int"
        if isinstance(e, CName):
            if e.name in self.params or e.name in self.locs and e.name not in proc.locals:
                return str(self.address(e.name)), "int"
            return self.reg(proc, e.name), "int"
        if isinstance(e, CAddrOf):
            if e.name not in self.locs:
                raise Unsupported(f"address of unknown location {e.name}")
            return str(self.address(e.name)), "int"
        if isinstance(e, (CDeref, CCall)):
            if isinstance(e, CCall) and not self._is_access(e):
                raise Unsupported(f"function {e.name}", e.line)
            if isinstance(e, CCall) and e.name in PRIMITIVES and PRIMITIVES[e.name][1] is None:
                raise Unsupported(f"the value of {e.name}", e.line)
            t = self.temp(proc)
            self.c_access(proc, e, t, depth)
            return t, "int"
        if isinstance(e, CUnary):
            if e.op == "!":
                return f"(not {self.c_bool(proc, e.expr, depth)})", "bool"
            if e.op == "-":
                return f"(-{self.c_value(proc, e.expr, depth)})", "int"
            raise Unsupported(f"operator {e.op}")
        if isinstance(e, CTernary):
            c = self.c_bool(proc, e.cond, depth)
            a = self.c_value(proc, e.then, depth)
            b = self.c_value(proc, e.other, depth)
            return f"(if {c} then {a} else {b})", "int"
        assert isinstance(e, CBin)
        if e.op in ("&&", "||"):
            a = self.c_bool(proc, e.left, depth)
            b = self.c_bool(proc, e.right, depth)
            return f"({a} {'and' if e.op == '&&' else 'or'} {b})", "bool"
        if e.op in ("==", "!=", "<", ">", "<=", ">="):
            a = self.c_value(proc, e.left, depth)
            b = self.c_value(proc, e.right, depth)
            return f"({a} {e.op} {b})", "bool"
        if e.op in ("+", "-", "*", "/", "%"):
            a = self.c_value(proc, e.left, depth)
            b = self.c_value(proc, e.right, depth)
            return f"({a} {e.op} {b})", "int"
        raise Unsupported(f"operator {e.op}")


# Prelude definitions that return a bool (the C primitive returns a truth value 0/1).
PRELUDE_BOOL = {"atomic_inc_and_test", "atomic_dec_and_test", "atomic_sub_and_test",
                "atomic_add_unless", "atomic_inc_not_zero", "atomic_add_negative",
                "spin_trylock", "spin_is_locked"}
