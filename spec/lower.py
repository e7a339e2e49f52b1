"""Lowering: symbolic execution of every atomic step into guarded actions of one `ir.Model`.

A step starts at a label and runs until it reaches another label, a `goto`, the end of the body
(the process terminates) or the end of a loop body (back to the loop's label). `if`, `either` and
`with` fork the path; `await` adds to its guard; assignments update the symbolic environment.
Each finished path is one action: guard, simultaneous updates, and the checks to make when it fires.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Union

from invariants.properties import DEADLOCK_NAME, RUNTIME_NAME, Kind, Property
from ir import expr as ir
from ir.bounds import decide
from ir.expr import Const, Expr, op
from ir.model import Action, Check, Model, ProcessInstance, Slot
from spec import ast
from spec.checker import CheckedSpec
from spec.elaborate import Context, Elaborator, position, type_name
from spec.errors import Diagnostics, Span, SpecError
from spec.scope import Instance, Layout, ProcSym, VarSym
from spec.types import ArrayT, IntT, SetT, Type, compatible
from spec.values import ArrayVal, Scalar, Value

DONE = "Done"


@dataclass
class _Path:
    env: dict[int, Expr]
    guard: list[Expr]
    checks: list[Check]
    bound: dict[str, Value]
    temps: dict[str, Type] = field(default_factory=dict)  # action locals: step temporaries

    def fork(self) -> "_Path":
        return _Path(dict(self.env), list(self.guard), list(self.checks), dict(self.bound),
                     self.temps)


# A continuation: what runs after the current statement.
@dataclass(frozen=True)
class _Seq:
    stmts: tuple[ast.Stmt, ...]
    i: int
    next: "_Cont"


@dataclass(frozen=True)
class _Loop:
    label: str


@dataclass(frozen=True)
class _Unbind:
    name: str
    previous: Value | None
    next: "_Cont"


@dataclass(frozen=True)
class _ForNext:
    """After one iteration of a `for` body: bind the next value, or leave the loop."""

    var: str
    values: tuple[Value, ...]
    body: tuple[ast.Stmt, ...]
    previous: Value | None
    next: "_Cont"


_Cont = Union[_Seq, _Loop, _Unbind, _ForNext, None]


def lower(checked: CheckedSpec, source: str = "") -> Model:
    return _Lowerer(checked, source).run()


class _Lowerer:
    def __init__(self, checked: CheckedSpec, source: str):
        self.c = checked
        self.source_lines = source.splitlines()
        self.elab = Elaborator()
        self.diag = Diagnostics()
        self.seen_errors: set[tuple] = set()
        self.actions: list[Action] = []
        self.assert_names: dict[Span, str] = {}
        self.instance: Instance | None = None
        self.ranges = [(s.type.values()[0], s.type.values()[-1]) for s in checked.slots]  # type: ignore[union-attr]

    # ---- driver ------------------------------------------------------------------------
    def run(self) -> Model:
        for proc in self.c.procs:
            for inst in proc.instances:
                self._instance(proc, inst)
        for decl, params, temps in self.c.actions:
            self._tla_action(decl, params, temps)
        props = self._properties()
        if not self.diag.errors and not self.c.procs and not self.c.actions:
            self.diag.error("nothing to explore: the spec has no process and no action", None)
        self.diag.raise_if_any()
        slots = tuple(Slot(i, s.name, s.type, s.owner, s.var, s.shared, s.is_pc)
                      for i, s in enumerate(self.c.slots))
        processes = tuple(ProcessInstance(inst.name, proc.name, inst.id, inst.pc_slot,
                                          proc.pc_labels, proc.label_spans)
                          for proc in self.c.procs for inst in proc.instances)
        return Model(self.c.file.path, slots, tuple(s.init for s in self.c.slots),
                     tuple(self.actions), processes, tuple(props), "\n".join(self.source_lines))

    def _error(self, err: SpecError) -> None:
        key = (err.message, err.span)
        if key not in self.seen_errors:  # the same code lowered for several instances
            self.seen_errors.add(key)
            self.diag.errors.append(err)

    def _instance(self, proc: ProcSym, inst: Instance) -> None:
        self.instance = inst
        bound: dict[str, Value] = {}
        if inst.id is not None:
            me = Scalar(Const(inst.id), proc.param_type)  # type: ignore[arg-type]
            bound = {"self": me, proc.decl.param.name: me}  # type: ignore[union-attr]
        for label in proc.labels:
            start = self._find_label(proc.decl.body, label, None)
            assert start is not None
            stmt, cont = start
            pc_value = proc.pc_labels.index(label)
            path = _Path({}, [op("eq", ir.Ref(inst.pc_slot), Const(pc_value))], [], dict(bound))
            try:
                finished = list(self._exec(stmt, cont, path, first=True))
            except SpecError as err:
                self._error(err)
                continue
            for p, target in finished:
                p.env[inst.pc_slot] = Const(proc.pc_labels.index(target))
                self._emit(f"{inst.name}: {label}", inst.name, label, stmt.span, p)
        self.instance = None

    def _find_label(self, stmts: tuple[ast.Stmt, ...], label: str, cont: _Cont):
        """The labelled statement and the continuation that follows it."""
        for i, s in enumerate(stmts):
            after = _Seq(stmts, i + 1, cont)
            found = self._find_in(s, label, after)
            if found:
                return found
        return None

    def _find_in(self, s: ast.Stmt, label: str, after: _Cont):
        if isinstance(s, ast.Labeled):
            if s.label == label:
                return s, after
            if isinstance(s.stmt, ast.While):
                return self._find_label(s.stmt.body, label, _Loop(s.label))
            return self._find_in(s.stmt, label, after)
        if isinstance(s, ast.If):
            return self._find_label(s.then, label, after) or \
                (self._find_label(s.else_, label, after) if s.else_ else None)
        if isinstance(s, ast.Either):
            for b in s.branches:
                found = self._find_label(b, label, after)
                if found:
                    return found
        return None

    def _tla_action(self, decl: ast.ActionDecl, params: list[tuple[str, object]],
                    temps: list[tuple[ast.LocalDecl, Type]]) -> None:
        self.instance = None
        combos: list[dict[str, Value]] = [{}]
        for name, t in params:
            combos = [{**c, name: Scalar(Const(v), t)} for c in combos for v in t.values()]  # type: ignore[attr-defined]
        for combo in combos:
            shown = ", ".join(_show_scalar(v) for v in combo.values())  # type: ignore[arg-type]
            name = f"{decl.name}({shown})" if params else decl.name
            path = _Path({}, [], [], dict(combo))
            try:
                for local, t in temps:
                    self._bind_temp(local, t, path)
                finished = list(self._run(decl.body, 0, None, path))
            except SpecError as err:
                self._error(err)
                continue
            for p, _target in finished:
                self._emit(name, None, None, decl.span, p)

    def _bind_temp(self, local: ast.LocalDecl, t: Type, path: _Path) -> None:
        value = Scalar(Const(t.values()[0]), t) if local.init is None else \
            self.elab.constant(local.init, self._ctx(path))  # type: ignore[union-attr, arg-type]
        if not compatible(value.type, t):
            raise SpecError(f"initial value is {type_name(value.type)}, the local is "
                            f"{type_name(t)}", local.span)
        path.bound[local.name] = Scalar(value.expr, t)
        path.temps[local.name] = t

    def _emit(self, name: str, process: str | None, label: str | None, span: Span,
              p: _Path) -> None:
        guard = ir.conj(p.guard)
        if guard == ir.FALSE:
            return
        updates = tuple(sorted((s, e) for s, e in p.env.items() if e != ir.Ref(s)))
        checks = tuple(c for c in p.checks if decide(c.cond, self.ranges) is not True)
        self.actions.append(Action(len(self.actions), name, process, label, span, guard, updates,
                                   checks))

    # ---- statements ----------------------------------------------------------------------
    def _ctx(self, p: _Path) -> Context:
        return Context(self.c.symbols, self.instance, p.bound, p.env)

    def _run(self, stmts: tuple[ast.Stmt, ...], i: int, cont: _Cont, p: _Path) -> Iterator:
        if i >= len(stmts):
            yield from self._continue(cont, p)
        else:
            yield from self._exec(stmts[i], _Seq(stmts, i + 1, cont), p, first=False)

    def _continue(self, cont: _Cont, p: _Path) -> Iterator:
        if cont is None:
            yield p, DONE
        elif isinstance(cont, _Seq):
            yield from self._run(cont.stmts, cont.i, cont.next, p)
        elif isinstance(cont, _Loop):
            yield p, cont.label
        elif isinstance(cont, _ForNext):
            if cont.values:
                p.bound[cont.var] = cont.values[0]
                rest = _ForNext(cont.var, cont.values[1:], cont.body, cont.previous, cont.next)
                yield from self._run(cont.body, 0, rest, p)
            else:
                yield from self._continue(_Unbind(cont.var, cont.previous, cont.next), p)
        else:
            if cont.previous is None:
                p.bound.pop(cont.name, None)
            else:
                p.bound[cont.name] = cont.previous
            yield from self._continue(cont.next, p)

    def _exec(self, s: ast.Stmt, cont: _Cont, p: _Path, first: bool) -> Iterator:
        if isinstance(s, ast.Labeled):
            if not first:
                yield p, s.label
            elif isinstance(s.stmt, ast.While):
                yield from self._while(s.stmt, s.label, cont, p)
            else:
                yield from self._exec(s.stmt, cont, p, first=False)
        elif isinstance(s, ast.Assign):
            self._assign(s, p)
            yield from self._continue(cont, p)
        elif isinstance(s, ast.Await):
            p.guard.append(self.elab.boolean(s.cond, self._ctx(p)))
            if ir.conj(p.guard) != ir.FALSE:
                yield from self._continue(cont, p)
        elif isinstance(s, ast.If):
            c = self.elab.boolean(s.cond, self._ctx(p))
            for branch, cond in ((s.then, c), (s.else_ or (), op("not", c))):
                if cond == ir.FALSE:
                    continue
                q = p.fork()
                q.guard.append(cond)
                yield from self._run(branch, 0, cont, q)
        elif isinstance(s, ast.Goto):
            yield p, s.label
        elif isinstance(s, ast.Either):
            for branch in s.branches:
                yield from self._run(branch, 0, cont, p.fork())
        elif isinstance(s, ast.With):
            d = self.elab.domain(s.domain, self._ctx(p))
            previous = p.bound.get(s.var)
            for v in d.values:
                q = p.fork()
                if d.member is not None:
                    q.guard.append(self.elab.member(d, Const(v)))
                q.bound[s.var] = Scalar(Const(v), d.elem)
                yield from self._run(s.body, 0, _Unbind(s.var, previous, cont), q)
        elif isinstance(s, ast.For):
            d = self.elab.domain(s.domain, self._ctx(p))
            if d.member is not None:
                raise SpecError("'for' needs a fixed collection (a type, a constant range or "
                                "set); use 'if x in S' inside the body", s.domain.span)
            values = tuple(Scalar(Const(v), d.elem) for v in d.values)
            yield from self._continue(_ForNext(s.var, values, s.body, p.bound.get(s.var),
                                               cont), p)
        elif isinstance(s, ast.Assert):
            cond = self.elab.boolean(s.cond, self._ctx(p))
            name = self._assert_name(s)
            p.checks.append(Check("assert", cond, name, s.message or f"assertion failed: "
                                  f"{self._text(s.cond.span)}", s.span))
            yield from self._continue(cont, p)
        elif isinstance(s, ast.Skip):
            yield from self._continue(cont, p)
        elif isinstance(s, ast.Terminate):
            yield p, DONE
        else:  # pragma: no cover - the grammar has no other statements
            raise SpecError(f"unsupported statement {type(s).__name__}", s.span)

    def _while(self, w: ast.While, label: str, cont: _Cont, p: _Path) -> Iterator:
        c = self.elab.boolean(w.cond, self._ctx(p))
        if c != ir.FALSE:
            q = p.fork()
            q.guard.append(c)
            yield from self._run(w.body, 0, _Loop(label), q)
        if c != ir.TRUE:
            q = p.fork()
            q.guard.append(op("not", c))
            yield from self._continue(cont, q)

    def _assert_name(self, s: ast.Assert) -> str:
        if s.span not in self.assert_names:
            base = s.message or f"assertion at line {s.span.line}"
            taken = set(self.assert_names.values())
            self.assert_names[s.span] = base if base not in taken else \
                f"{base} (line {s.span.line})"
        return self.assert_names[s.span]

    def _text(self, span: Span) -> str:
        """The source text of a span, on one line with its white space folded."""
        lines = self.source_lines[span.line - 1:span.end_line]
        if not lines:
            return ""
        if len(lines) == 1:
            text = lines[0][span.col - 1:span.end_col - 1]
        else:
            text = "\n".join([lines[0][span.col - 1:], *lines[1:-1], lines[-1][:span.end_col - 1]])
        return " ".join(text.split())

    # ---- assignment ------------------------------------------------------------------------
    def _assign(self, s: ast.Assign, p: _Path) -> None:
        ctx = self._ctx(p)
        target = s.target
        value = self.elab.value(s.value, ctx)
        if target.name in p.temps:
            if target.indices:
                raise SpecError(f"'{target.name}' is not an array", target.span)
            t = p.temps[target.name]
            v = self._as_scalar_of(value, t, s.value.span)
            self._range_check(p, v, t, target.name, s.span)
            p.bound[target.name] = Scalar(v, t)
            return
        sym = self._variable(target.name, target.span, p)
        name = target.name if self.instance is None or target.name not in self.instance.locals \
            else f"{self.instance.name}.{target.name}"
        # each (layout, condition) is a part of the variable the target may denote
        parts: list[tuple[Layout, Expr, Type, str]] = [(sym.layout, ir.TRUE, sym.type, name)]
        for index_expr in target.indices:
            idx = self.elab.scalar(index_expr, ctx)
            new_parts = []
            for layout, cond, t, nm in parts:
                if not isinstance(t, ArrayT):
                    raise SpecError(f"'{nm}' is not an array", index_expr.span)
                if not compatible(idx.type, t.index) or isinstance(idx.type, SetT):
                    raise SpecError(f"'{nm}' is indexed by {type_name(t.index)}, found "
                                    f"{type_name(idx.type)}", index_expr.span)
                pos = position(t.index, idx.expr)
                n = len(layout)  # type: ignore[arg-type]
                if isinstance(pos, Const):
                    if not 0 <= pos.value < n:
                        raise SpecError(f"index {idx.expr.value} is outside {t.index} of "  # type: ignore[union-attr]
                                        f"'{nm}'", index_expr.span)
                    new_parts.append((layout[pos.value], cond, t.elem,  # type: ignore[index]
                                      f"{nm}[{_show_index_value(t.index, pos.value)}]"))
                    continue
                in_bounds = ir.conj((op("ge", pos, Const(0)), op("lt", pos, Const(n))))
                p.checks.append(Check("range", ir.disj((op("not", cond), in_bounds)), RUNTIME_NAME,
                                      f"index {{value}} is outside {t.index} of '{nm}'",
                                      index_expr.span, idx.expr))
                for k in range(n):
                    new_parts.append((layout[k], ir.conj((cond, op("eq", pos, Const(k)))),  # type: ignore[index]
                                      t.elem, f"{nm}[{_show_index_value(t.index, k)}]"))
            parts = new_parts
        for layout, cond, t, nm in parts:
            self._store(p, layout, cond, t, value, nm, s)

    def _variable(self, name: str, span: Span, p: _Path) -> VarSym:
        if name in p.bound:
            raise SpecError(f"'{name}' is bound by a quantifier, 'with' or a parameter and "
                            "cannot be assigned", span)
        if self.instance is not None and name in self.instance.locals:
            return self.instance.locals[name]
        sym = self.c.symbols.get(name)
        if isinstance(sym, VarSym):
            return sym
        if sym is None:
            raise SpecError(f"unknown variable '{name}'", span)
        raise SpecError(f"'{name}' is not a variable and cannot be assigned", span)

    def _store(self, p: _Path, layout: Layout, cond: Expr, t: Type, value: Value, name: str,
               s: ast.Assign) -> None:
        if isinstance(t, ArrayT):
            if not isinstance(value, ArrayVal) or value.type != t:
                raise SpecError(f"'{name}' is {type_name(t)}; the value is "
                                f"{_value_kind(value)}", s.value.span)
            for sub, elem in zip(layout, value.elems):  # type: ignore[arg-type]
                self._store(p, sub, cond, t.elem, elem, name, s)
            return
        assert isinstance(layout, int)
        v = self._as_scalar_of(value, t, s.value.span)
        if cond != ir.TRUE:
            self._range_check(p, v, t, name, s.span, cond)
            v = op("ite", cond, v, p.env.get(layout, ir.Ref(layout)))
        else:
            self._range_check(p, v, t, name, s.span)
        p.env[layout] = v

    def _as_scalar_of(self, value: Value, t: Type, span: Span) -> Expr:
        if not isinstance(value, Scalar) or not compatible(value.type, t):
            raise SpecError(f"cannot assign {_value_kind(value)} to a variable of type {t}", span)
        return value.expr

    def _range_check(self, p: _Path, v: Expr, t: Type, name: str, span: Span,
                     when: Expr = ir.TRUE) -> None:
        if isinstance(t, IntT) and t.bounded:
            ok = ir.conj((op("ge", v, Const(t.lo)), op("le", v, Const(t.hi))))  # type: ignore[arg-type]
            message = f"{name} would become {{value}}, outside {t}"
        elif isinstance(t, SetT) and t.elem is not None:
            ok = op("eq", op("bandnot", v, Const((1 << len(t.elem.values())) - 1)), Const(0))
            message = f"{name} would get an element outside {t.elem}"
        else:
            return
        ok = ir.disj((op("not", when), ok))
        if ok != ir.TRUE:
            p.checks.append(Check("range", ok, RUNTIME_NAME, message, span, v))

    # ---- properties -----------------------------------------------------------------------
    def _properties(self) -> list[Property]:
        props: list[Property] = []
        kinds = {"invariant": Kind.INVARIANT, "reachable": Kind.REACHABLE}
        for d in self.c.properties:
            try:
                e = self.elab.boolean(d.expr, Context(self.c.symbols))
            except SpecError as err:
                self._error(err)
                continue
            props.append(Property(d.name, kinds[d.kind], e, d.span, self._text(d.expr.span)))
        for span, name in self.assert_names.items():
            props.append(Property(name, Kind.ASSERTION, None, span, name))
        if any(c.kind == "range" for a in self.actions for c in a.checks) or \
                _has_partial(self.actions, props):
            props.append(Property(RUNTIME_NAME, Kind.RUNTIME, None, None,
                                  "values stay in their ranges; no division by zero; indexes "
                                  "in bounds"))
        props.append(Property(DEADLOCK_NAME, Kind.DEADLOCK, None, None,
                              "some step is enabled in every state where a process has not "
                              "terminated"))
        return props


def _has_partial(actions: list[Action], props: list[Property]) -> bool:
    def partial(e: Expr | None) -> bool:
        if isinstance(e, ir.Op):
            return e.op in ir.PARTIAL or any(partial(a) for a in e.args)
        return False
    for a in actions:
        if partial(a.guard) or any(partial(e) for _, e in a.updates) or \
                any(partial(c.cond) for c in a.checks):
            return True
    return any(partial(p.expr) for p in props)


def _show_scalar(v: Scalar) -> str:
    from spec.types import show_value
    shown = show_value(v.type, v.expr.value)  # type: ignore[union-attr]
    return str(shown).lower() if isinstance(shown, bool) else str(shown)


def _show_index_value(t, pos: int) -> str:
    from spec.types import element_value, show_value
    shown = show_value(t, element_value(t, pos))
    return str(shown).lower() if isinstance(shown, bool) else str(shown)


def _value_kind(v: Value) -> str:
    if isinstance(v, Scalar):
        return type_name(v.type)
    if isinstance(v, ArrayVal):
        return f"the array '{v.name}'"
    return "a type or range"
