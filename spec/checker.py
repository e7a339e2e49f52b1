"""Declarations: constants (with overrides), types, variables, processes and their labels.

Builds the symbol table and the slot layout, and checks the structure of process code (labels,
gotos, loops). Expressions are checked when `spec.lower` elaborates them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from smp_explorer.ir.expr import Const
from smp_explorer.ir.properties import DEADLOCK_NAME, RUNTIME_NAME
from smp_explorer.ir.span import Span
from smp_explorer.ir.types import (BOOL, ArrayT, BoolT, EnumT, IntT, ScalarsetT, ScalarT, SetT,
                                   Type, compatible, finite_scalar, show_text)
from smp_explorer.spec import ast
from smp_explorer.spec.elaborate import (BUILTINS, INTRINSICS, MAX_CHOICES, MAX_ELEMENTS, Context,
                                        Elaborator, type_name)
from smp_explorer.spec.errors import Diagnostics, SpecError
from smp_explorer.spec.memory import AXIOMATIC, MODELS
from smp_explorer.spec.parser import parse_text
from smp_explorer.spec.preludes import load_prelude
from smp_explorer.spec.scope import (DONE, ConstSym, EnumMemberSym, Instance, Layout, ProcSym,
                                     SlotDecl, Symbol, TypeSym, VarSym)
from smp_explorer.spec.values import Binding, Scalar, const_value

RESERVED_LABELS = {DONE}


@dataclass
class CheckedSpec:
    file: ast.SpecFile
    symbols: dict[str, Symbol]
    defs: dict[str, ast.DefDecl] = field(default_factory=dict)
    uses: list[str] = field(default_factory=list)
    memory: str | None = None
    memory_span: Span | None = None
    slots: list[SlotDecl] = field(default_factory=list)
    procs: list[ProcSym] = field(default_factory=list)
    # each action with its parameters and its locals (temporaries of the step)
    actions: list[tuple[ast.ActionDecl, list[tuple[str, ScalarT]],
                        list[tuple[ast.LocalDecl, ScalarT | SetT]]]] = field(default_factory=list)
    properties: list[ast.PropertyDecl] = field(default_factory=list)
    # a liveness property with a parameter: per value, its name suffix ("[0]") and bindings
    property_params: dict[str, list[tuple[str, dict[str, Binding]]]] = field(
        default_factory=dict)


def check(spec: ast.SpecFile, overrides: dict[str, str] | None = None) -> CheckedSpec:
    return _Checker(spec, overrides or {}).run()


class _Checker:
    def __init__(self, spec: ast.SpecFile, overrides: dict[str, str]):
        self.spec = spec
        self.overrides = dict(overrides)
        self.diag = Diagnostics()
        self.symbols: dict[str, Symbol] = {}
        self.out = CheckedSpec(spec, self.symbols)
        self.elab = Elaborator()
        self.declared_at: dict[str, Span | None] = {}

    def run(self) -> CheckedSpec:
        decls = self.spec.decls
        for d in decls:
            if isinstance(d, ast.UseDecl):
                self._guard(self._use, d)
            elif isinstance(d, ast.MemoryDecl):
                self._guard(self._memory, d)
        own: set[str] = set()
        for d in decls:
            if isinstance(d, ast.DefDecl):
                self._guard(self._def, d, own)
        for d in decls:  # constants and types first, in order: they may use earlier ones
            self._guard(self._const_or_type, d)
        self._unused_overrides()
        for d in decls:
            if isinstance(d, ast.VarDecl):
                self._guard(self._global, d)
        for d in decls:
            if isinstance(d, ast.ProcessDecl):
                self._guard(self._process, d)
        for d in decls:
            if isinstance(d, ast.ActionDecl):
                self._guard(self._action, d)
            elif isinstance(d, ast.PropertyDecl):
                self._guard(self._property, d)
        self.diag.raise_if_any()
        return self.out

    # ---- preludes, memory model, definitions ------------------------------------------------
    def _use(self, d: ast.UseDecl) -> None:
        name = ".".join(d.path)
        prelude = load_prelude(name, d.span)
        self.out.uses.append(name)
        for pd in prelude.decls:
            if isinstance(pd, ast.DefDecl):
                self.out.defs[pd.name] = pd

    def _memory(self, d: ast.MemoryDecl) -> None:
        if self.out.memory is not None:
            raise SpecError("the memory model is named twice", d.span)
        if d.name not in MODELS and d.name not in AXIOMATIC:
            raise SpecError(f"unknown memory model '{d.name}' (known: "
                            f"{', '.join([*MODELS, *AXIOMATIC])})", d.span)
        self.out.memory = d.name
        self.out.memory_span = d.span

    def _def(self, d: ast.DefDecl, own: set[str]) -> None:
        if d.name in INTRINSICS or d.name in BUILTINS:
            raise SpecError(f"'{d.name}' is built in and cannot be redefined", d.span)
        if d.name in own:
            raise SpecError(f"def '{d.name}' is defined twice", d.span)
        if len(set(d.params)) != len(d.params):
            raise SpecError(f"def '{d.name}' names a parameter twice", d.span)
        if "self" in d.params:  # as for locals: `self` is the process instance
            raise SpecError(f"def '{d.name}': a parameter cannot be named 'self'", d.span)
        own.add(d.name)
        _check_def_body(d.body, self.diag)
        self.out.defs[d.name] = d  # a spec's own def overrides the prelude's

    def _guard(self, fn: Callable[..., None], *args: object) -> None:
        try:
            fn(*args)
        except SpecError as err:
            self.diag.errors.append(err)

    def _ctx(self) -> Context:
        return Context(self.symbols)

    def _declare(self, name: str, sym: Symbol, span: Span | None) -> None:
        if name in self.symbols or name in self.declared_at:
            prev = self.declared_at.get(name)
            where = f" (first declared at line {prev.line})" if prev else ""
            raise SpecError(f"'{name}' is declared twice{where}", span)
        self.symbols[name] = sym
        self.declared_at[name] = span

    # ---- constants and types -------------------------------------------------------------
    def _const_or_type(self, d: ast.Decl) -> None:
        if isinstance(d, ast.ConstDecl):
            value = self.elab.constant(d.value, self._ctx())
            if d.name in self.overrides:
                try:
                    value = self._override(d, value)
                except SpecError as err:  # keep the declared value: no cascade of errors
                    self.diag.errors.append(err)
            if isinstance(value.type, SetT):
                raise SpecError("a constant must be an integer, a bool or an enum value", d.value.span)
            self._declare(d.name, ConstSym(d.name, const_value(value), value.type, d.span), d.span)
        elif isinstance(d, ast.TypeDecl):
            t = self.resolve_type(d.type, d.name)
            self._declare(d.name, TypeSym(d.name, t, d.span), d.span)

    def _override(self, d: ast.ConstDecl, declared: Scalar) -> Scalar:
        text = self.overrides.pop(d.name)
        where = Span("--const", 1, 1, 1, len(text) + 1)
        try:
            decl = parse_text(f"const {d.name} = {text};", "--const").decls[0]
            assert isinstance(decl, ast.ConstDecl)  # the text starts with one
            value = self.elab.constant(decl.value, self._ctx())
        except SpecError:
            raise SpecError(f"--const {d.name}: expected {_const_kind(declared.type)}, got "
                            f"{text!r}", where) from None
        if not compatible(value.type, declared.type):
            raise SpecError(f"--const {d.name}: expected {_const_kind(declared.type)}, got "
                            f"{text!r} ({type_name(value.type)})", where)
        return value

    def _unused_overrides(self) -> None:
        for name, text in self.overrides.items():
            consts = [n for n, s in self.symbols.items() if isinstance(s, ConstSym)]
            self.diag.error(f"--const {name}={text}: the spec has no constant '{name}' "
                            f"(constants: {', '.join(consts) or 'none'})",
                            Span("--const", 1, 1, 1, len(name) + 1))

    def resolve_type(self, t: ast.TypeExpr, name: str | None = None) -> Type:
        if isinstance(t, ast.BoolType):
            return BOOL
        if isinstance(t, ast.RangeType):
            lo, hi = self.elab.const_int(t.lo, self._ctx()), self.elab.const_int(t.hi, self._ctx())
            if lo > hi:
                raise SpecError(f"empty range {lo}..{hi}", t.span)
            return IntT(lo, hi)
        if isinstance(t, ast.EnumType):
            et = EnumT(name or "{" + ", ".join(t.members) + "}", t.members)
            seen: set[str] = set()
            for i, m in enumerate(t.members):
                if m in seen:
                    raise SpecError(f"enum member '{m}' is listed twice", t.span)
                seen.add(m)
                self._declare(m, EnumMemberSym(m, et, i), t.span)
            return et
        if isinstance(t, ast.ScalarsetType):
            return self._scalarset(t, name)
        if isinstance(t, ast.ArrayType):
            index = self._index_type(t.index)
            return ArrayT(index, self.resolve_type(t.elem))
        if isinstance(t, ast.SetType):
            elem = self.resolve_type(t.elem)
            if not finite_scalar(elem):
                raise SpecError(f"set elements must be a range, an enum or bool, not {elem}",
                                t.elem.span)
            if elem.values()[0] < 0 or elem.values()[-1] > 63:
                raise SpecError(f"set elements must lie in 0..63 (one bit each); {elem} does not",
                                t.elem.span)
            return SetT(elem)
        assert isinstance(t, ast.NamedType)
        sym = self.symbols.get(t.name)
        if isinstance(sym, TypeSym):
            return sym.type
        if isinstance(sym, ProcSym):
            if sym.param_type is None:
                raise SpecError(f"process '{t.name}' is not parameterised, so it is not a type",
                                t.span)
            return sym.param_type
        if sym is None:
            raise SpecError(f"unknown type '{t.name}'", t.span)
        raise SpecError(f"'{t.name}' is not a type", t.span)

    def _scalarset(self, t: ast.ScalarsetType, name: str | None) -> ScalarsetT:
        """`type NAME = scalarset(N)`: N interchangeable values, shown NAME_1..NAME_N; a spec
        cannot name one (docs/language.md, "Symmetry")."""
        if name is None:
            raise SpecError("a scalarset needs a name: declare it as `type NAME = scalarset(N);`",
                            t.span)
        n = self.elab.const_int(t.size, self._ctx())
        if not 1 <= n <= 64:
            raise SpecError(f"a scalarset has 1 to 64 values (a set of it is one 64-bit mask), "
                            f"not {n}", t.size.span)
        st = ScalarsetT(name, tuple(f"{name}_{i}" for i in range(1, n + 1)))
        for i, m in enumerate(st.members):   # declared only to say why they cannot be used
            self._declare(m, EnumMemberSym(m, st, i), t.span)
        return st

    def _symmetric_init(self, t: Type, init: ast.Init | None, span: Span | None) -> None:
        """A variable of a symmetric type starts as `any` (or a value such as `self`): a
        default would be one particular value, which breaks the symmetry."""
        while isinstance(t, ArrayT):
            t = t.elem
        if isinstance(t, ScalarsetT) and init is None:
            raise SpecError(f"a variable of symmetric type {t.name} needs an initial value: "
                            f"'= any', or a value such as 'self' or a parameter (a default "
                            f"would be one particular {t.name}, which breaks the symmetry)", span)

    def _index_type(self, t: ast.TypeExpr) -> ScalarT:
        if isinstance(t, ast.NamedType) and t.name not in self.symbols:
            for d in self.spec.decls:  # a process set declared later: `array[Cpu] of bool`
                if isinstance(d, ast.ProcessDecl) and d.name == t.name and d.param:
                    return self._index_type(d.param.type)
        it = self.resolve_type(t)
        if not finite_scalar(it):
            raise SpecError(f"an array index must be a range, an enum or bool, not {it}", t.span)
        if len(it.values()) > MAX_ELEMENTS:   # one slot (or one process instance) each
            raise SpecError(f"{it} has {len(it.values()):,} values: too many array elements or "
                            f"process instances (at most {MAX_ELEMENTS:,})", t.span)
        return it

    # ---- variables -----------------------------------------------------------------------
    def _global(self, d: ast.VarDecl) -> None:
        t = self.resolve_type(d.type)
        self._symmetric_init(t, d.init, d.span)
        sym = VarSym(d.name, t, d.kind == "shared", d)
        sym.layout = self._allocate(t, d.init, d.name, None, d.name, sym.shared, self._ctx())
        self._declare(d.name, sym, d.span)

    def _allocate(self, t: Type, init: ast.Init | None, name: str, owner: str | None, var: str,
                  shared: bool, ctx: Context) -> Layout:
        """Create the slots of a variable (one per array element) and their initial values."""
        if isinstance(t, ArrayT):
            return tuple(self._allocate(t.elem, init, f"{name}[{show_text(t.index, v)}]", owner, var,
                                        shared, ctx)
                         for v in t.index.values())
        values = self._initial_values(t, init, ctx)
        self.out.slots.append(SlotDecl(name, t, owner, var, shared, values))
        return len(self.out.slots) - 1

    def _initial_values(self, t: ScalarT | SetT, init: ast.Init | None,
                        ctx: Context) -> tuple[int, ...]:
        if isinstance(t, SetT):
            assert t.elem is not None  # a declared set type names its elements
            count = 1 << len(t.elem.values())
            if isinstance(init, ast.AnyValue) and count > MAX_CHOICES:
                raise SpecError(f"'any' would give {count:,} initial values (at most "
                                f"{MAX_CHOICES:,})", init.span)
            domain = t.valid_values() if isinstance(init, ast.AnyValue) else range(0)
        else:
            domain = t.values()
        if isinstance(init, ast.AnyValue):
            if len(domain) > MAX_CHOICES:
                raise SpecError(f"'any' would give {len(domain):,} initial values (at most "
                                f"{MAX_CHOICES:,})", init.span)
            return tuple(domain)
        if init is None:
            return (0,) if isinstance(t, SetT) else (domain[0],)
        v = self.elab.constant(init, ctx)
        if not compatible(v.type, t) or isinstance(v.type, ArrayT):
            raise SpecError(f"initial value is {type_name(v.type)}, the variable is "
                            f"{type_name(t)}", init.span)
        value = const_value(v)
        if isinstance(t, SetT):
            if value & ~t.mask():
                raise SpecError(f"initial value has an element outside {t.elem}", init.span)
        elif value not in domain:
            raise SpecError(f"initial value {value} is outside {t}", init.span)
        return (value,)

    # ---- processes -------------------------------------------------------------------------
    def _process(self, d: ast.ProcessDecl) -> None:
        param_type: ScalarT | None = None
        # each instance: its name, its parameter's value, and the names its code has bound
        instances: list[tuple[str, int | None, dict[str, Binding]]] = [(d.name, None, {})]
        if d.param is not None:
            param_type = self._index_type(d.param.type)
            instances = []
            for value in param_type.values():
                me = Scalar(Const(value), param_type)
                instances.append((f"{d.name}[{show_text(param_type, value)}]", value,
                                  {"self": me, d.param.name: me}))
        labels, spans = _Labels(self.diag).collect(d.body)
        proc = ProcSym(d.name, d, param_type, labels, spans)
        self._declare(d.name, proc, d.span)
        for local in d.locals:
            if local.name in ("pc", "self") or (d.param and local.name == d.param.name):
                raise SpecError(f"a local cannot be named '{local.name}'", local.span)
        for iname, pid, bound in instances:
            self.out.slots.append(SlotDecl(f"{iname}.pc", EnumT(f"{d.name} labels", proc.pc_labels),
                                           iname, "pc", False, (0,), is_pc=True))
            inst = Instance(iname, pid, len(self.out.slots) - 1, bound)
            ctx = self._ctx().rebind(dict(bound))
            seen: set[str] = set()
            for local in d.locals:
                if local.name in seen:
                    raise SpecError(f"local '{local.name}' is declared twice", local.span)
                seen.add(local.name)
                t = self.resolve_type(local.type)
                self._symmetric_init(t, local.init, local.span)
                sym = VarSym(local.name, t, False, local)
                sym.layout = self._allocate(t, local.init, f"{iname}.{local.name}", iname,
                                            local.name, False, ctx)
                inst.locals[local.name] = sym
            proc.instances.append(inst)
        if not d.body:
            raise SpecError(f"process '{d.name}' has no statements", d.span)
        self.out.procs.append(proc)

    def _action(self, d: ast.ActionDecl) -> None:
        params = []
        for p in d.params:
            params.append((p.name, self._index_type(p.type)))
        labels, _ = _Labels(self.diag).collect(d.body, require_first=False)
        if labels:
            raise SpecError("labels belong in processes; an action is one atomic step", d.span)
        if d.name in self.symbols or d.name in self.declared_at:
            raise SpecError(f"'{d.name}' is declared twice", d.span)
        self.declared_at[d.name] = d.span  # actions are not values: the name is only reserved
        temps = []
        for local in d.locals:
            t = self.resolve_type(local.type)
            if isinstance(t, ArrayT):
                raise SpecError("an action's local must be a scalar or a set", local.span)
            if isinstance(local.init, ast.AnyValue):
                raise SpecError("an action's local cannot start as 'any'; use 'with'", local.span)
            self._symmetric_init(t, local.init, local.span)
            temps.append((local, t))
        self.out.actions.append((d, params, temps))

    def _property(self, d: ast.PropertyDecl) -> None:
        if d.name in (RUNTIME_NAME, DEADLOCK_NAME):
            raise SpecError(f"'{d.name}' is the name of a built-in property", d.span)
        if d.name in self.declared_at:
            raise SpecError(f"'{d.name}' is declared twice", d.span)
        self.declared_at[d.name] = d.span
        if d.param is not None:
            t = self._index_type(d.param.type)
            self.out.property_params[d.name] = [
                (f"[{show_text(t, v)}]", {d.param.name: Scalar(Const(v), t)}) for v in t.values()]
        self.out.properties.append(d)


class _Labels:
    """Collects labels and checks the structure of a process body."""

    def __init__(self, diag: Diagnostics):
        self.diag = diag
        self.labels: list[str] = []
        self.spans: dict[str, Span] = {}
        self.gotos: list[ast.Goto] = []

    def collect(self, body: tuple[ast.Stmt, ...],
                require_first: bool = True) -> tuple[list[str], dict[str, Span]]:
        if require_first and body and not isinstance(body[0], ast.Labeled):
            self.diag.error("the first statement of a process needs a label (each label starts "
                            "one atomic step)", body[0].span)
        self._block(body, in_with=False)
        for g in self.gotos:
            if g.label not in self.spans and g.label != DONE:
                self.diag.error(f"goto to unknown label '{g.label}'", g.span)
        return self.labels, self.spans

    def _block(self, stmts: tuple[ast.Stmt, ...], in_with: bool) -> None:
        for i, s in enumerate(stmts):
            if i > 0 and _ends_step(stmts[i - 1]) and not isinstance(s, ast.Labeled):
                self.diag.error("this statement can never run: it follows a goto or terminate "
                                "and has no label", s.span)
            self._stmt(s, in_with, labeled=False)

    def _stmt(self, s: ast.Stmt, in_with: bool, labeled: bool) -> None:
        if isinstance(s, ast.Labeled):
            if s.label in self.spans or s.label in RESERVED_LABELS:
                prev = self.spans.get(s.label)
                where = f" (first at line {prev.line})" if prev else " (reserved)"
                self.diag.error(f"duplicate label '{s.label}'{where}", s.span)
            elif in_with:
                self.diag.error("a label cannot appear inside 'with' or 'for': its variable "
                                "would not survive the end of the step", s.span)
            else:
                self.labels.append(s.label)
                self.spans[s.label] = s.span
            self._stmt(s.stmt, in_with, labeled=True)
        elif isinstance(s, ast.While):
            if not labeled:
                self.diag.error("a loop needs a label right before 'while' (each iteration is "
                                "a step)", s.span)
            self._block(s.body, in_with)
        elif isinstance(s, ast.If):
            self._block(s.then, in_with)
            if s.else_:
                self._block(s.else_, in_with)
        elif isinstance(s, ast.Either):
            for b in s.branches:
                self._block(b, in_with)
        elif isinstance(s, (ast.With, ast.For)):
            self._block(s.body, True)
        elif isinstance(s, ast.Goto):
            self.gotos.append(s)


def _check_def_body(stmts: tuple[ast.Stmt, ...], diag: Diagnostics) -> None:
    """A def is expanded inside one step: no labels, loops, gotos or termination."""
    for s in stmts:
        if isinstance(s, ast.Labeled):
            diag.error("a def runs inside one step: it cannot have labels", s.span)
        elif isinstance(s, ast.While):
            diag.error("a def runs inside one step: it cannot loop (use 'for' over a fixed "
                       "collection)", s.span)
        elif isinstance(s, (ast.Goto, ast.Terminate)):
            diag.error("a def runs inside one step: it cannot goto or terminate", s.span)
        elif isinstance(s, ast.If):
            _check_def_body(s.then, diag)
            _check_def_body(s.else_ or (), diag)
        elif isinstance(s, ast.Either):
            for b in s.branches:
                _check_def_body(b, diag)
        elif isinstance(s, (ast.With, ast.For)):
            _check_def_body(s.body, diag)


def _ends_step(s: ast.Stmt) -> bool:
    while isinstance(s, ast.Labeled):
        s = s.stmt
    return isinstance(s, (ast.Goto, ast.Terminate))


def _const_kind(t: Type) -> str:
    """What a --const value of type `t` may be, as its error says (`a bool (true or false)`)."""
    if isinstance(t, BoolT):
        return "a bool (true or false)"
    if isinstance(t, EnumT):
        return f"a value of enum {t.name} ({', '.join(t.members)})"
    if isinstance(t, IntT):
        return "an integer (a number or a constant expression such as N-1)"
    return type_name(t)
