"""Lowering: symbolic execution of every atomic step into guarded actions of one `ir.Model`.

A step starts at a label and runs until it reaches another label, a `goto`, the end of the body
(the process terminates) or the end of a loop body (back to the loop's label). `if`, `either` and
`with` fork the path; `await` adds to its guard; assignments update the symbolic environment.
Each finished path is one action: guard, simultaneous updates, and the checks to make when it fires.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Iterator, Union

from smp_explorer.ir import expr as ir
from smp_explorer.ir.bounds import decide
from smp_explorer.ir.expr import Const, Expr, op
from smp_explorer.ir.model import (Action, Check, Fairness, Model, ProcessInstance, Read, Slot,
                                    StepEvent)
from smp_explorer.ir.properties import DEADLOCK_NAME, RUNTIME_NAME, Kind, Property, Temporal
from smp_explorer.ir.span import Span
from smp_explorer.ir.types import (ArrayT, IntT, ScalarsetT, ScalarT, SetT, Type, compatible,
                                   index_value, show_text)
from smp_explorer.spec import ast
from smp_explorer.spec.checker import CheckedSpec
from smp_explorer.spec.symmetry import symmetric_types
from smp_explorer.spec.elaborate import INTRINSICS, Context, Elaborator, position, type_name
from smp_explorer.spec.errors import Diagnostics, SpecError
from smp_explorer.spec.memory import AXIOMATIC, DEFAULT_CAPACITY, MODELS
from smp_explorer.spec.memory.base import (FENCES, ORDERS_RMW, ORDERS_STORE, RMW_OPS, Location,
                                           MemoryModel, SharedInfo, Usage)
from smp_explorer.spec.ports import (ObserverMemory, Recorder, SlotAdder, StepMemory, StepPath,
                                     StepPort)
from smp_explorer.spec.scope import DONE, Instance, Layout, ProcSym, VarSym
from smp_explorer.spec.values import ArrayVal, Binding, ByName, Domain, Scalar, Value

MAX_CALL_DEPTH = 16


@dataclass
class _Path:
    env: dict[int, Expr]
    guard: list[Expr]
    checks: list[Check]
    bound: dict[str, Binding]
    temps: dict[str, Type] = field(default_factory=dict)  # step temporaries (action locals, let)
    choices: list[tuple[int, int]] = field(default_factory=list)  # (pseudo-slot, how many)
    # results of hoisted def calls (None: the def returned no value)
    calls: dict[int, Value | None] = field(default_factory=dict)
    depth: int = 0
    stores: int = 0  # buffered writes so far in this step (the usage pass counts them)
    slot_stores: dict[int, int] = field(default_factory=dict)  # per location (pso, weak)
    reads: list[Read] = field(default_factory=list)  # the step's loads, for traces
    events: list[StepEvent] = field(default_factory=list)  # axiomatic lowering: memory events

    def fork(self) -> _Path:
        return _Path(dict(self.env), list(self.guard), list(self.checks), dict(self.bound),
                     dict(self.temps), list(self.choices), dict(self.calls), self.depth,
                     self.stores, dict(self.slot_stores), list(self.reads), list(self.events))


_Finished = tuple[_Path, str]  # a path at the end of its step, and the label it goes to next


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
    previous: Binding | None
    next: "_Cont"


@dataclass(frozen=True)
class _ForNext:
    """After one iteration of a `for` body: bind the next value, or leave the loop."""

    var: str
    values: tuple[Value, ...]
    body: tuple[ast.Stmt, ...]
    previous: Binding | None
    next: "_Cont"


@dataclass(frozen=True)
class _DefExit:
    """The end of an expanded def: store its result, restore the caller's names, go on."""

    call: int                 # id of the call node (None result for a statement call)
    saved: dict[str, Binding]
    saved_temps: dict[str, Type]
    next: "_Cont"


@dataclass(frozen=True)
class _Resume:
    """Go on with a statement whose def calls have all run."""

    fn: Callable[[_Path], Iterator[_Finished]]


_Cont = Union[_Seq, _Loop, _Unbind, _ForNext, _DefExit, _Resume, None]


def lower(checked: CheckedSpec, source: str = "", memory: str | None = None,
          buffer: int | None = None) -> Model:
    """Lower a checked spec under a memory model (default: the spec's `memory`, else sc).

    A first pass under SC records which CPU loads and stores which shared location, so that the
    memory model adds buffers and views only where they can matter."""
    name = memory or checked.memory or "sc"
    usage = Usage([inst.name for proc in checked.procs for inst in proc.instances])
    if name in AXIOMATIC:  # memory events for an axiomatic engine (spec/memory/events.py)
        return _Lowerer(checked, source,
                        lambda shared, alloc: AXIOMATIC[name](shared, usage, alloc, 0)).run()
    if name not in MODELS:
        raise SpecError(f"unknown memory model '{name}' (known: "
                        f"{', '.join([*MODELS, *AXIOMATIC])})",
                        checked.memory_span if memory is None else None)
    _Lowerer(checked, source,
             lambda shared, alloc: Recorder(shared, usage, alloc, 1, name)).run()
    # A step is atomic: it cannot wait for a flush halfway, so a buffer must hold all the
    # stores of one step, or that step could never run.
    # (under pso and weak a buffer holds one location's stores: the most to one location count)
    most, where = usage.step_stores if name == "tso" else usage.step_location_stores
    if buffer is not None and name != "sc" and buffer < most:
        raise SpecError(f"--buffer {buffer} is too small for {name}: the step at line "
                        f"{where.line if where else '?'} makes {most} buffered stores"
                        f"{'' if name == 'tso' else ' to one location'} in one atomic step; use --buffer {most} or more", where)
    capacity = buffer or max(DEFAULT_CAPACITY, most)
    return _Lowerer(checked, source,
                    lambda shared, alloc: MODELS[name](shared, usage, alloc, capacity)).run()


class _Lowerer:
    def __init__(self, checked: CheckedSpec, source: str,
                 make_memory: Callable[[SharedInfo, SlotAdder], MemoryModel]):
        self.c = checked
        self.slots = list(checked.slots)
        shared_slots = [i for i, sd in enumerate(self.slots) if sd.shared]
        self.shared = SharedInfo(shared_slots, [self.slots[i].name for i in shared_slots],
                                 [self.slots[i].type for i in shared_slots])
        self.mm = make_memory(self.shared, SlotAdder(self.slots))
        self.source_lines = source.splitlines()
        self.elab = Elaborator()
        self.diag = Diagnostics()
        self.seen_errors: set[tuple[str, Span | None]] = set()
        self.ordered_stores: dict[ScalarsetT, str] = {}   # why a scalarset is not symmetric
        self.actions: list[Action] = []
        self.assert_names: dict[Span, str] = {}
        self.liveness: list[Property] = []
        self.instance: Instance | None = None
        self.stmt_span: Span | None = None  # the spec statement being lowered (ports.py)
        self.ranges = [(s.type.values()[0], s.type.values()[-1]) for s in self.slots]

    # ---- driver ------------------------------------------------------------------------
    def run(self) -> Model:
        for proc in self.c.procs:
            for inst in proc.instances:
                self._instance(proc, inst)
        for decl, params, temps in self.c.actions:
            self._tla_action(decl, params, temps)
        first_flush = len(self.actions)
        for flush in self.mm.flushes():
            path = _Path({}, [], [], {})
            self.instance = None
            flush.body(StepPort(self, path, flush.cpu, None))
            self._emit(flush.name, flush.cpu, "flush", None, path)
        props = self._properties()
        if not self.diag.errors and not self.c.procs and not self.c.actions:
            self.diag.error("nothing to explore: the spec has no process and no action", None)
        self.diag.raise_if_any()
        slots = tuple(Slot(i, s.name, s.type, s.owner, s.var, s.shared, s.is_pc, s.internal)
                      for i, s in enumerate(self.slots))
        processes = tuple(ProcessInstance(inst.name, proc.name, inst.id, inst.pc_slot,
                                          proc.pc_labels, proc.label_spans)
                          for proc in self.c.procs for inst in proc.instances)
        return Model(self.c.file.path, slots, tuple(s.init for s in self.slots),
                     tuple(self.actions), processes, tuple(props), "\n".join(self.source_lines),
                     self.mm.name, tuple(self.mm.views()),
                     tuple((m.name, m.expr, m.note) for m in self.mm.monitors()),
                     self.mm.capacity, tuple(self.liveness), self._fairness(first_flush),
                     symmetric_types(self.c, len(slots),
                                     tuple(s.index for s in slots if s.internal),
                                     self.mm.roles, self.shared, self.ordered_stores))

    def _error(self, err: SpecError) -> None:
        key = (err.message, err.span)
        if key not in self.seen_errors:  # the same code lowered for several instances
            self.seen_errors.add(key)
            self.diag.errors.append(err)

    def _instance(self, proc: ProcSym, inst: Instance) -> None:
        self.instance = inst
        # one walk of the body for all its labels (a search per label is quadratic: a spec
        # of 4,000 labels took 16 s to load)
        starts: dict[str, tuple[ast.Stmt, _Cont]] = {}
        self._index_labels(proc.decl.body, None, starts)
        pc_of = {label: i for i, label in enumerate(proc.pc_labels)}
        for label in proc.labels:
            stmt, cont = starts[label]
            pc_value = pc_of[label]
            path = _Path({}, [op("eq", ir.Ref(inst.pc_slot), Const(pc_value))], [],
                         dict(inst.bound))
            try:
                finished = list(self._exec(stmt, cont, path, first=True))
            except SpecError as err:
                self._error(err)
                continue
            for p, target in finished:
                p.env[inst.pc_slot] = Const(pc_of[target])
                self._emit(f"{inst.name}: {label}", inst.name, label, stmt.span, p)
        self.instance = None

    def _index_labels(self, stmts: tuple[ast.Stmt, ...], cont: _Cont,
                      out: dict[str, tuple[ast.Stmt, _Cont]]) -> None:
        """Each labelled statement among `stmts` (at any depth) and the continuation that
        follows it, into `out` (the first of a label wins, in source order)."""
        for i, s in enumerate(stmts):
            self._index_in(s, _Seq(stmts, i + 1, cont), out)

    def _index_in(self, s: ast.Stmt, after: _Cont,
                  out: dict[str, tuple[ast.Stmt, _Cont]]) -> None:
        if isinstance(s, ast.Labeled):
            out.setdefault(s.label, (s, after))
            if isinstance(s.stmt, ast.While):
                self._index_labels(s.stmt.body, _Loop(s.label), out)
            else:
                self._index_in(s.stmt, after, out)
        elif isinstance(s, ast.If):
            self._index_labels(s.then, after, out)
            if s.else_:
                self._index_labels(s.else_, after, out)
        elif isinstance(s, ast.Either):
            for b in s.branches:
                self._index_labels(b, after, out)

    def _tla_action(self, decl: ast.ActionDecl, params: list[tuple[str, ScalarT]],
                    temps: list[tuple[ast.LocalDecl, ScalarT | SetT]]) -> None:
        self.instance = None
        types = dict(params)
        combos: list[dict[str, int]] = [{}]  # one per combination of parameter values
        for param, t in params:
            combos = [{**c, param: v} for c in combos for v in t.values()]
        for combo in combos:
            shown = ", ".join(show_text(types[param], v) for param, v in combo.items())
            name = f"{decl.name}({shown})" if params else decl.name
            path = _Path({}, [], [], {param: Scalar(Const(v), types[param])
                                      for param, v in combo.items()})
            try:
                for local, local_type in temps:
                    self._bind_temp(local, local_type, path)
                finished = list(self._run(decl.body, 0, None, path))
            except SpecError as err:
                self._error(err)
                continue
            for p, _target in finished:
                self._emit(name, None, None, decl.span, p)

    def _bind_temp(self, local: ast.LocalDecl, t: ScalarT | SetT, path: _Path) -> None:
        if local.init is None:
            value = Scalar(Const(t.values()[0]), t)
        else:
            assert not isinstance(local.init, ast.AnyValue)  # the checker refused `any` here
            value = self.elab.constant(local.init, self._ctx(path))
        if not compatible(value.type, t):
            raise SpecError(f"initial value is {type_name(value.type)}, the local is "
                            f"{type_name(t)}", local.span)
        path.bound[local.name] = Scalar(value.expr, t)
        path.temps[local.name] = t

    def _emit(self, name: str, process: str | None, label: str | None, span: Span | None,
              p: _Path) -> None:
        """One action per combination of the path's nondeterministic choices."""
        combos: list[dict[int, Expr]] = [{}]
        for slot, n in p.choices:
            combos = [{**c, slot: Const(v)} for c in combos for v in range(n)]
        for combo in combos:
            memo: dict[int, tuple[Expr, Expr]] = {}   # the action's expressions share nodes

            def fix(e: Expr) -> Expr:
                return ir.substitute(e, combo, memo) if combo else e
            guard = ir.conj(tuple(fix(g) for g in p.guard))
            if guard == ir.FALSE:
                continue
            updates = tuple(sorted((s, fix(e)) for s, e in p.env.items()
                                   if fix(e) != ir.Ref(s)))
            checks = tuple(Check(c.kind, fix(c.cond), c.property, c.message, c.span,
                                 None if c.value is None else fix(c.value)) for c in p.checks)
            if len(self.ranges) < len(self.slots):  # slots a memory model added on the way
                self.ranges += [(sl.type.values()[0], sl.type.values()[-1])
                                for sl in self.slots[len(self.ranges):]]
            checks = tuple(c for c in checks if decide(c.cond, self.ranges) is not True)
            reads = tuple(Read(r.loc, fix(r.value), fix(r.source),
                               None if r.index is None else fix(r.index), r.names)
                          for r in p.reads)
            self.actions.append(Action(len(self.actions), name, process, label, span, guard,
                                       updates, checks, reads, tuple(p.events)))

    # ---- statements ----------------------------------------------------------------------
    def _ctx(self, p: _Path) -> Context:
        # a TLA+-style action is no CPU (cpu ""): the memory model acts on memory directly
        memory = StepMemory(self, p, self.instance.name if self.instance is not None else "")
        return Context(self.c.symbols, self.instance, p.bound, p.env, memory, p.calls,
                       self.c.defs)

    def _run(self, stmts: tuple[ast.Stmt, ...], i: int, cont: _Cont,
             p: _Path) -> Iterator[_Finished]:
        if i >= len(stmts):
            yield from self._continue(cont, p)
        else:
            yield from self._exec(stmts[i], _Seq(stmts, i + 1, cont), p, first=False)

    def _continue(self, cont: _Cont, p: _Path) -> Iterator[_Finished]:
        if cont is None:
            yield p, DONE
        elif isinstance(cont, _Seq):
            yield from self._run(cont.stmts, cont.i, cont.next, p)
        elif isinstance(cont, _Loop):
            yield p, cont.label
        elif isinstance(cont, _DefExit):
            p.calls.setdefault(cont.call, None)
            p.bound, p.temps = dict(cont.saved), dict(cont.saved_temps)
            p.depth -= 1
            yield from self._continue(cont.next, p)
        elif isinstance(cont, _Resume):
            yield from cont.fn(p)
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

    def _exec(self, s: ast.Stmt, cont: _Cont, p: _Path, first: bool) -> Iterator[_Finished]:
        if s.span.file == self.c.file.path:
            self.stmt_span = s.span
        if isinstance(s, ast.Labeled):
            if not first:  # reaching another label ends the step
                yield p, s.label
            elif isinstance(s.stmt, ast.While):
                w, label = s.stmt, s.label
                yield from self._after_calls([w.cond], p,
                                             lambda q: self._while(w, label, cont, q))
            else:
                yield from self._exec(s.stmt, cont, p, first=False)
            return
        yield from self._after_calls(_stmt_exprs(s), p,
                                     lambda q: self._exec_now(s, cont, q))

    def _after_calls(self, exprs: list[ast.Expr], p: _Path,
                     then: Callable[[_Path], Iterator[_Finished]]) -> Iterator[_Finished]:
        """Run the def calls inside `exprs` (innermost first, left to right), then `then`."""
        pending = [c for c in _calls_in(exprs, self.c.defs) if id(c) not in p.calls]
        if not pending:
            yield from then(p)
            return
        call = pending[0]
        resume = _Resume(lambda q: self._after_calls(exprs, q, then))
        yield from self._expand(call.func, call.args, id(call), call.span, p, resume)

    def _exec_now(self, s: ast.Stmt, cont: _Cont, p: _Path) -> Iterator[_Finished]:
        if isinstance(s, ast.CallStmt) and s.func in self.c.defs:
            yield from self._expand(s.func, s.args, id(s), s.span, p, cont)
            return
        yield from self._exec_plain(s, cont, p)

    def _expand(self, name: str, args: tuple[ast.Expr, ...], call: int, span: Span, p: _Path,
                cont: _Cont) -> Iterator[_Finished]:
        """Expand a def inline: its parameters are the caller's argument expressions."""
        d = self.c.defs[name]
        if len(args) != len(d.params):
            raise SpecError(f"{name}() takes {len(d.params)} argument"
                            f"{'s' if len(d.params) != 1 else ''}, given {len(args)}", span)
        if p.depth >= MAX_CALL_DEPTH:
            raise SpecError(f"definitions call each other too deeply (through '{name}')", span)
        saved, saved_temps = dict(p.bound), dict(p.temps)
        bound: dict[str, Binding] = {k: v for k, v in saved.items() if k == "self"}
        for param, arg in zip(d.params, args):
            bound[param] = ByName(arg, saved)
        p.bound, p.temps = bound, {}
        p.depth += 1
        yield from self._run(d.body, 0, _DefExit(call, saved, saved_temps, cont), p)

    def _exec_plain(self, s: ast.Stmt, cont: _Cont, p: _Path) -> Iterator[_Finished]:
        if isinstance(s, ast.Assign):
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
            if isinstance(d.elem, ScalarsetT):
                raise SpecError(f"'for' over symmetric type {d.elem.name} runs in one order of "
                                f"its values, which breaks the symmetry; use 'forall'/'exists' "
                                f"in a condition, or 'with' for a choice", s.domain.span)
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
        elif isinstance(s, ast.Let):
            temp = self.elab.scalar(s.value, self._ctx(p))
            if isinstance(temp.type, IntT):
                temp = Scalar(temp.expr, IntT())  # a temporary is an unbounded integer
            p.bound[s.name] = temp
            p.temps[s.name] = temp.type
            yield from self._continue(cont, p)
        elif isinstance(s, ast.Return):
            exit_ = _def_exit(cont)
            if exit_ is None:
                raise SpecError("'return' outside a def", s.span)
            p.calls[exit_.call] = self.elab.scalar(s.value, self._ctx(p))
            yield from self._continue(exit_, p)
        elif isinstance(s, ast.CallStmt):
            self._intrinsic_stmt(s, p)
            yield from self._continue(cont, p)
        elif isinstance(s, ast.Terminate):
            yield p, DONE
        else:  # pragma: no cover - the grammar has no other statements
            raise SpecError(f"unsupported statement {type(s).__name__}", s.span)

    def _while(self, w: ast.While, label: str, cont: _Cont, p: _Path) -> Iterator[_Finished]:
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
            taken = set(self.assert_names.values()) | {d.name for d in self.c.properties} | \
                {RUNTIME_NAME, DEADLOCK_NAME}
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
    def _intrinsic_stmt(self, s: ast.CallStmt, p: _Path) -> None:
        ctx = self._ctx(p)
        f, a = s.func, s.args
        if f not in INTRINSICS:
            hint = "" if self.c.uses else " (no prelude is imported: `use linux.x86;` or " \
                "`use linux.generic;` define the Linux primitives)"
            raise SpecError(f"unknown definition '{f}'{hint}", s.span)
        if f == "store":
            if len(a) != 3:
                raise SpecError(f"store() takes 3 arguments, given {len(a)}", s.span)
            loc = self.elab.location(a[0], ctx)
            value = self.elab.scalar(a[1], ctx)
            order = self.elab.word(a[2], ORDERS_STORE, "a store ordering")
            self._store_shared(p, loc, value, order, s.span, a[1].span)
        elif f == "fence":
            if len(a) not in (1, 2):
                raise SpecError(f"fence() takes 1 argument (2 for an SRCU fence), given "
                                f"{len(a)}", s.span)
            kind = self.elab.word(a[0], FENCES, "a fence kind")
            if len(a) == 2 and kind not in ("srcu_lock", "srcu_unlock", "sync_srcu"):
                raise SpecError("only an SRCU fence takes a second argument (its srcu_struct)",
                                s.span)
            if len(a) == 1 and kind in ("srcu_lock", "srcu_unlock", "sync_srcu"):
                raise SpecError(f"fence({kind}, s) needs the srcu_struct s", s.span)
            try:
                kind = self.mm.fence_kind(kind)
            except SpecError as err:
                raise SpecError(err.message, self.stmt_span or s.span) from None
            if self.instance is not None:
                port = StepPort(self, p, self.instance.name, s.span)
                if len(a) == 2:
                    self.mm.srcu_fence(port, kind, self.elab.location(a[1], ctx))
                else:
                    self.mm.fence(port, kind)
        elif f == "rmw" and len(a) == 4:
            loc = self.elab.location(a[0], ctx)
            name = self.elab.word(a[1], RMW_OPS, "an operation")
            operand = self.elab._operand(a[2], ctx, loc, name)
            order = self.mm.order("rmw", self.elab.word(a[3], ORDERS_RMW, "an RMW ordering"))
            self.mm.rmw(StepPort(self, p, self.instance.name if self.instance else "", s.span),
                        loc, name, operand, order, False)
        elif f == "drained":
            raise SpecError("drained() is a condition, not a statement", s.span)
        else:  # an intrinsic with a value, its result dropped
            self.elab.value(ast.Call(f, a, s.span), ctx)

    def _store_shared(self, p: _Path, loc: Location, value: Value, order: str, span: Span,
                      value_span: Span) -> None:
        v = self._as_scalar_of(value, loc.type, value_span)
        self.range_check(p, v, loc.type, loc.name, span)
        cpu = self.instance.name if self.instance is not None else ""
        port = StepPort(self, p, cpu, span)
        if self.instance is None:  # a TLA+-style action: memory directly
            self.mm.write_mem(port, loc, v)
        else:
            self.mm.store(port, loc, v, self.mm.order("store", order))

    def _assign(self, s: ast.Assign, p: _Path) -> None:
        ctx = self._ctx(p)
        target = s.target
        if self._is_location(target, p):
            where = self.elab.value(_target_expr(target), ctx)
            if isinstance(where, Location):
                self._store_shared(p, where, self.elab.scalar(s.value, ctx), "plain", s.span,
                                   s.value.span)
            else:  # a whole shared array: one store per element, in index order
                self._note_ordered_stores(where, s.span)
                self._store_array(p, where, self.elab.value(s.value, ctx), s, ctx)
            return
        bound = p.bound.get(target.name)
        if isinstance(bound, ByName):
            if not isinstance(bound.expr, ast.Name) or target.indices:
                raise SpecError("a def can assign to a shared location or a variable name "
                                "passed to it, not to this expression", target.span)
            target = ast.Target(bound.expr.id, (), target.span)
        value = self.elab.value(s.value, ctx)
        if isinstance(value, (Location, Domain)):  # a load, or a type used as a set value
            value = self.elab.scalar(s.value, ctx)
        if target.name in p.temps:
            if target.indices:
                raise SpecError(f"'{target.name}' is not an array", target.span)
            t = p.temps[target.name]
            v = self._as_scalar_of(value, t, s.value.span)
            self.range_check(p, v, t, target.name, s.span)
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
                self.elab.check_index_type(idx, t.index, index_expr.span, nm)
                pos = position(t.index, idx.expr)
                assert isinstance(layout, tuple)  # an array's layout
                n = len(layout)
                if isinstance(pos, Const):
                    if not 0 <= pos.value < n:
                        raise SpecError(f"index {index_value(t.index, pos.value)} is outside "
                                        f"{t.index} of '{nm}'", index_expr.span)
                    new_parts.append((layout[pos.value], cond, t.elem,
                                      f"{nm}[{show_text(t.index, index_value(t.index, pos.value))}]"))
                    continue
                in_bounds = ir.conj((op("ge", pos, Const(0)), op("lt", pos, Const(n))))
                p.checks.append(Check("range", ir.disj((op("not", cond), in_bounds)), RUNTIME_NAME,
                                      f"index {{value}} is outside {t.index} of '{nm}'",
                                      index_expr.span, idx.expr))
                for k in range(n):
                    new_parts.append((layout[k], ir.conj((cond, op("eq", pos, Const(k)))),
                                      t.elem, f"{nm}[{show_text(t.index, index_value(t.index, k))}]"))
            parts = new_parts
        for layout, cond, t, nm in parts:
            self._store(p, layout, cond, t, value, nm, s)

    def _note_ordered_stores(self, where: Value, span: Span) -> None:
        """A whole-array store over a scalarset stores its elements in one order of its
        values: under a model that keeps stores to different locations in order (tso) that
        order is visible, so the spec is not symmetric in that scalarset (spec.symmetry)."""
        if not isinstance(where, ArrayVal) or not self.mm.orders_stores_across_locations:
            return
        t: Type = where.type
        while isinstance(t, ArrayT):
            if isinstance(t.index, ScalarsetT):
                self.ordered_stores.setdefault(
                    t.index, f"`{self._text(span)}` (L{span.line}) stores every element of "
                             f"{where.name} in one step, in one order of {t.index.name}")
            t = t.elem

    def _store_array(self, p: _Path, where: Value, value: Value, s: ast.Assign,
                     ctx: Context) -> None:
        if isinstance(where, Location):
            if isinstance(value, Location):
                value = Scalar(ctx.memory.load(ctx, value, "plain"), value.type)
            self._store_shared(p, where, value, "plain", s.span, s.value.span)
            return
        assert isinstance(where, ArrayVal)
        if not isinstance(value, ArrayVal) or value.type != where.type:
            raise SpecError(f"'{where.name}' is {type_name(where.type)}; the value is "
                            f"{_value_kind(value)}", s.value.span)
        for w, v in zip(where.elems, value.elems):
            self._store_array(p, w, v, s, ctx)

    def _is_location(self, target: ast.Target, p: _Path) -> bool:
        """Whether an assignment's target is a shared location (a store)."""
        b = p.bound.get(target.name)
        if isinstance(b, ByName):
            try:
                v = self.elab.value(b.expr, self._ctx(p).rebind(b.bound))
            except SpecError:
                return False
            return isinstance(v, (Location, ArrayVal)) and _is_shared_value(v)
        if b is not None or (self.instance and target.name in self.instance.locals):
            return False
        sym = self.c.symbols.get(target.name)
        return isinstance(sym, VarSym) and sym.shared

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
            assert isinstance(layout, tuple)  # an array's layout
            for sub, elem in zip(layout, value.elems):
                self._store(p, sub, cond, t.elem, elem, name, s)
            return
        assert isinstance(layout, int)
        v = self._as_scalar_of(value, t, s.value.span)
        if cond != ir.TRUE:
            self.range_check(p, v, t, name, s.span, cond)
            v = op("ite", cond, v, p.env.get(layout, ir.Ref(layout)))
        else:
            self.range_check(p, v, t, name, s.span)
        p.env[layout] = v

    def _as_scalar_of(self, value: Value, t: Type, span: Span) -> Expr:
        if not isinstance(value, Scalar) or not compatible(value.type, t):
            raise SpecError(f"cannot assign {_value_kind(value)} to a variable of type {t}", span)
        return value.expr

    def range_check(self, p: StepPath, v: Expr, t: Type, name: str, span: Span | None,
                    when: Expr = ir.TRUE) -> None:
        """Check, when the action fires, that a value stored in a variable of type t fits it."""
        if isinstance(t, IntT) and t.lo is not None and t.hi is not None:
            ok = ir.conj((op("ge", v, Const(t.lo)), op("le", v, Const(t.hi))))
            message = f"{name} would become {{value}}, outside {t}"
        elif isinstance(t, SetT) and t.elem is not None:
            ok = op("eq", op("bandnot", v, Const(t.mask())), Const(0))
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
        observer = Context(self.c.symbols, None, {}, {}, ObserverMemory(self), {}, self.c.defs)
        for d in self.c.properties:
            try:
                if d.kind == "liveness":
                    self._liveness(d)
                    continue
                e = self.elab.boolean(d.expr, observer)
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


    def _liveness(self, d: ast.PropertyDecl) -> None:
        """A liveness property, or one per value of its parameter ("name[0]", ...)."""
        for suffix, bound in self.c.property_params.get(d.name, [("", {})]):
            observer = Context(self.c.symbols, None, dict(bound), {}, ObserverMemory(self), {},
                               self.c.defs)
            p = self.elab.boolean(d.expr, observer)
            q = None if d.expr2 is None else self.elab.boolean(d.expr2, observer)
            where = f" ({d.param.name} = {suffix[1:-1]})" if d.param is not None else ""
            self.liveness.append(Property(d.name + suffix, Kind.LIVENESS, None, d.span,
                                          _after_colon(self._text(d.span)) + where,
                                          Temporal(d.temporal, p, q)))

    def _fairness(self, first_flush: int) -> tuple[Fairness, ...]:
        """Fairness groups: each `fair` process instance; for each `fair` label of an instance,
        each way through it (each of its actions: a branch of its `if`s and `either`s) on its
        own; (memory=True) each of a memory model's flush steps (docs/language.md, "Liveness")."""
        out: list[Fairness] = []
        for proc in self.c.procs:
            labels = _fair_labels(proc.decl.body)
            for inst in proc.instances:
                acts = [a for a in self.actions[:first_flush] if a.process == inst.name]
                if proc.decl.fairness is not None:
                    out.append(Fairness(inst.name, proc.decl.fairness == "strong",
                                        frozenset(a.index for a in acts)))
                for label, kind in labels.items():  # each way through the label on its own
                    ways = [a for a in acts if a.label == label]
                    out.extend(Fairness(f"{inst.name}: {label}" +
                                        (f" #{k + 1}" if len(ways) > 1 else ""),
                                        kind == "strong", frozenset({a.index}))
                               for k, a in enumerate(ways))
        flushes: dict[str, list[int]] = {}
        for a in self.actions[first_flush:]:
            flushes.setdefault(a.name, []).append(a.index)
        out.extend(Fairness(name, False, frozenset(acts), memory=True)
                   for name, acts in flushes.items())
        return tuple(out)


def _after_colon(text: str) -> str:
    """`liveness name: eventually p;` -> `eventually p`."""
    return text.split(":", 1)[-1].strip().rstrip(";").strip()


def _fair_labels(node: object) -> dict[str, str]:
    """label -> "weak" | "strong" for each `fair` label in a process body."""
    out: dict[str, str] = {}
    if isinstance(node, ast.Labeled) and node.fairness is not None:
        out[node.label] = node.fairness
    if isinstance(node, tuple):
        for x in node:
            out.update(_fair_labels(x))
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            if f.name != "span":
                out.update(_fair_labels(getattr(node, f.name)))
    return out


def _def_exit(cont: _Cont) -> _DefExit | None:
    while cont is not None:
        if isinstance(cont, _DefExit):
            return cont
        cont = getattr(cont, "next", None)  # _Loop and _Resume end the search
    return None


def _target_expr(t: ast.Target) -> ast.Expr:
    e: ast.Expr = ast.Name(t.name, t.span)
    for i in t.indices:
        e = ast.Index(e, i, t.span)
    return e


def _is_shared_value(v: Value) -> bool:
    if isinstance(v, Location):
        return True
    return isinstance(v, ArrayVal) and all(_is_shared_value(x) for x in v.elems)


def _stmt_exprs(s: ast.Stmt) -> list[ast.Expr]:
    """The expressions a statement evaluates before anything else, in order."""
    if isinstance(s, ast.Assign):
        return [*s.target.indices, s.value]
    if isinstance(s, (ast.Await, ast.Assert)):
        return [s.cond]
    if isinstance(s, ast.If):
        return [s.cond]
    if isinstance(s, (ast.With, ast.For)):
        return [s.domain]
    if isinstance(s, (ast.Let, ast.Return)):
        return [s.value]
    if isinstance(s, ast.CallStmt):
        return list(s.args)
    return []


def _calls_in(exprs: list[ast.Expr], defs: dict[str, ast.DefDecl]) -> list[ast.Call]:
    """Calls of definitions inside expressions, innermost first, left to right."""
    out: list[ast.Call] = []

    def walk(e: object) -> None:
        if isinstance(e, ast.Quant):
            return  # a call under a quantifier cannot run before the step; reported later
        for name in getattr(e, "__dataclass_fields__", {}):
            child = getattr(e, name)
            if isinstance(child, tuple):
                for c in child:
                    if hasattr(c, "__dataclass_fields__"):
                        walk(c)
            elif hasattr(child, "__dataclass_fields__") and name != "span":
                walk(child)
        if isinstance(e, ast.Call) and e.func in defs:
            out.append(e)
    for e in exprs:
        walk(e)
    return out


def _has_partial(actions: list[Action], props: list[Property]) -> bool:
    def partial(e: Expr | None) -> bool:
        return e is not None and ir.contains_partial(e)
    for a in actions:
        if partial(a.guard) or any(partial(e) for _, e in a.updates) or \
                any(partial(c.cond) for c in a.checks):
            return True
    return any(partial(p.expr) for p in props)


def _value_kind(v: Value) -> str:
    if isinstance(v, Scalar):
        return type_name(v.type)
    if isinstance(v, ArrayVal):
        return f"the array '{v.name}'"
    return "a type or range"
