"""Expressions to IR: resolve names, check types, and read slots through a symbolic environment.

The environment maps a slot to its value at this point of a step (an IR expression over the state
the step started from), so that code after an assignment in the same step sees the new value.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from smp_explorer.ir import expr as ir
from smp_explorer.ir.expr import Const, Expr, Ref, op
from smp_explorer.ir.span import Span
from smp_explorer.ir.types import (BOOL, INT, ArrayT, BoolT, EnumT, IntT, ScalarsetT, ScalarT,
                                   SetT, Type, compatible, finite_scalar, index_value, show_text)
from smp_explorer.spec import ast
from smp_explorer.spec.errors import SpecError
from smp_explorer.spec.memory.base import ORDERS_LOAD, ORDERS_RMW, RMW_OPS, Location, mem_read
from smp_explorer.spec.scope import (ConstSym, EnumMemberSym, Instance, Layout, ProcSym, Symbol,
                                     TypeSym, VarSym)
from smp_explorer.spec.values import (ArrayVal, Binding, ByName, Domain, ProcRef, Scalar,
                                      SetMember, Value, const_value)

# intrinsics usable in expressions; `store`, `fence` (and `rmw` with its result dropped) are
# statements, handled by spec.lower
INTRINSICS = {"load", "rmw", "cas", "rmw_unless", "drained", "store", "fence"}
BUILTINS = {"card", "min", "max", "abs"}
# Sizes a spec may ask to enumerate: a range's values (`with`, `forall`, `any`), and the
# elements of one array or the instances of one process set (a slot or an instance each).
MAX_CHOICES = 1 << 20
MAX_ELEMENTS = 1 << 16

ARITH = {"+": "add", "-": "sub", "*": "mul", "/": "div", "%": "mod"}
ORDER = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
EQUALITY = {"==": "eq", "!=": "ne"}


class Memory:
    """How an expression reaches shared memory. This default reads memory directly, as a
    property or a TLA+-style action does; a CPU's step goes through its memory model."""

    def load(self, ctx: Context, loc: Location, order: str) -> Expr:
        return mem_read(ctx, loc)

    def rmw(self, ctx: Context, loc: Location, name: str, operand: Expr, order: str,
            span: Span) -> Expr:
        raise SpecError("an atomic operation can only run inside a process's step", span)

    def cmpxchg(self, ctx: Context, loc: Location, expected: Expr, new: Expr, order: str,
                fail_order: str, span: Span) -> Expr:
        raise SpecError("an atomic operation can only run inside a process's step", span)

    def rmw_unless(self, ctx: Context, loc: Location, name: str, operand: Expr, unless: Expr,
                   order: str, fail_order: str, span: Span) -> Expr:
        raise SpecError("an atomic operation can only run inside a process's step", span)

    def drained(self, ctx: Context) -> Expr:
        return ir.TRUE


DIRECT = Memory()


@dataclass
class Context:
    """Where an expression is elaborated: which names it sees and the current slot values."""

    symbols: dict[str, Symbol]
    instance: Instance | None = None
    bound: dict[str, Binding] = field(default_factory=dict)
    env: dict[int, Expr] = field(default_factory=dict)
    memory: Memory = DIRECT
    # results of the `def` calls the step has run (None: the def returned no value)
    call_results: dict[int, Value | None] = field(default_factory=dict)
    defs: dict[str, ast.DefDecl] = field(default_factory=dict)

    def read(self, slot: int) -> Expr:
        return self.env.get(slot, Ref(slot))

    def with_bound(self, name: str, value: Binding) -> Context:
        return self.rebind({**self.bound, name: value})

    def rebind(self, bound: dict[str, Binding]) -> Context:
        return Context(self.symbols, self.instance, bound, self.env, self.memory,
                       self.call_results, self.defs)


def type_name(t: Type) -> str:
    if isinstance(t, IntT):
        return "an integer" if not t.bounded else f"an integer ({t})"
    if isinstance(t, BoolT):
        return "a bool"
    if isinstance(t, ScalarsetT):
        return f"a value of symmetric type {t.name}"
    if isinstance(t, EnumT):
        return f"a value of enum {t.name}"
    if isinstance(t, SetT):
        return f"a set ({t})"
    return f"an array ({t})"


def var_value(ctx: Context, layout: Layout, t: Type, name: str, shared: bool = False) -> Value:
    """A variable's value; a shared variable's elements are locations, loaded when used."""
    if isinstance(t, ArrayT):
        assert isinstance(layout, tuple)
        return ArrayVal(t, tuple(var_value(ctx, sub, t.elem, f"{name}[{show_text(t.index, v)}]",
                                           shared)
                                 for sub, v in zip(layout, t.index.values())), name)
    assert isinstance(layout, int)
    if shared:
        return Location((layout,), None, t, name)
    return Scalar(ctx.read(layout), t)


def _array_var(e: ast.Expr, ctx: Context) -> tuple[Layout, ArrayT, str, bool] | None:
    """The layout, type, name and sharing of the array variable `e` names (a process's local or
    a global), or None when `e` is anything else."""
    if not isinstance(e, ast.Name) or e.id in ctx.bound:
        return None
    if ctx.instance is not None and e.id in ctx.instance.locals:
        local = ctx.instance.locals[e.id]
        if isinstance(local.type, ArrayT):
            return local.layout, local.type, f"{ctx.instance.name}.{e.id}", False
        return None
    sym = ctx.symbols.get(e.id)
    if isinstance(sym, VarSym) and isinstance(sym.type, ArrayT):
        return sym.layout, sym.type, e.id, sym.shared
    return None


def select_value(index: Expr, options: list[Value], span: Span, info: ir.IndexInfo) -> Value:
    """options[index] for a dynamic index, component by component for arrays."""
    first = options[0]
    if isinstance(first, Location):
        slots: list[int] = []
        positions: list[Expr] = []
        for o in options:  # flatten: candidate positions of every option, one after the other
            assert isinstance(o, Location)
            positions.append(op("add", Const(len(slots)), o.index or Const(0)))
            slots.extend(o.slots)
        return Location(tuple(slots), op("select", index, *positions, span=span, info=info),
                        first.type, info.name + "[...]")
    if isinstance(first, Scalar):
        scalars = [o for o in options if isinstance(o, Scalar)]
        assert len(scalars) == len(options), "options of one select have one kind"
        return Scalar(op("select", index, *(o.expr for o in scalars), span=span, info=info),
                      first.type)
    if isinstance(first, ArrayVal):
        arrays = [o for o in options if isinstance(o, ArrayVal)]
        assert len(arrays) == len(options), "options of one select have one kind"
        elems = tuple(select_value(index, [o.elems[k] for o in arrays], span, info)
                      for k in range(len(first.elems)))
        return ArrayVal(first.type, elems, info.name)
    raise SpecError("cannot select this kind of value by a computed index", span)


def position(t: ScalarT, value: Expr) -> Expr:
    """Position of a value among the values of a finite scalar type."""
    if isinstance(t, IntT):
        return op("sub", value, Const(_index_lo(t)))
    return value


class Elaborator:
    """Turns `spec.ast` expressions into `Value`s; raises `SpecError` on the first mistake."""

    # ---- entry points --------------------------------------------------------------
    def value(self, e: ast.Expr, ctx: Context) -> Value:
        method = getattr(self, "_" + type(e).__name__)
        return method(e, ctx)

    def scalar(self, e: ast.Expr, ctx: Context) -> Scalar:
        v = self.value(e, ctx)
        if isinstance(v, Location):  # a plain load of a shared location
            return Scalar(ctx.memory.load(ctx, v, "plain"), v.type)
        if isinstance(v, Scalar):
            return v
        if isinstance(v, Domain) and v.member is None and all(x >= 0 for x in v.values) and \
                not isinstance(v.elem, IntT) or isinstance(v, Domain) and v.member is None and \
                v.values and min(v.values) >= 0 and max(v.values) < 64:
            mask = 0  # a type or constant range used as a value: the set of all its values
            for x in v.values:
                mask |= 1 << x
            return Scalar(Const(mask), SetT(v.elem))
        raise SpecError(f"expected a value, found {_describe(v)}", e.span)

    def boolean(self, e: ast.Expr, ctx: Context) -> Expr:
        v = self.scalar(e, ctx)
        if not isinstance(v.type, BoolT):
            raise SpecError(f"expected a bool, found {type_name(v.type)}", e.span)
        return v.expr

    def integer(self, e: ast.Expr, ctx: Context) -> Expr:
        v = self.scalar(e, ctx)
        if isinstance(v.type, ScalarsetT):
            raise SpecError(f"a value of symmetric type {v.type.name} is not a number: no "
                            f"arithmetic or ordering (<, <=, >, >=) on it, only == and != "
                            f"(anything else breaks the symmetry)", e.span)
        if not isinstance(v.type, IntT):
            raise SpecError(f"expected an integer, found {type_name(v.type)}", e.span)
        return v.expr

    def constant(self, e: ast.Expr, ctx: Context) -> Scalar:
        v = self.scalar(e, ctx)
        if not isinstance(v.expr, Const):
            raise SpecError("expected a constant expression (it may not read variables)", e.span)
        return v

    def const_int(self, e: ast.Expr, ctx: Context) -> int:
        v = self.constant(e, ctx)
        if not isinstance(v.type, IntT):
            raise SpecError(f"expected an integer, found {type_name(v.type)}", e.span)
        return const_value(v)

    def domain(self, e: ast.Expr, ctx: Context) -> Domain:
        if isinstance(e, ast.Range):
            lo, hi = self.const_int(e.lo, ctx), self.const_int(e.hi, ctx)
            if hi - lo + 1 > MAX_CHOICES:
                raise SpecError(f"{lo}..{hi} has {hi - lo + 1:,} values: too many to enumerate "
                                f"(at most {MAX_CHOICES:,})", e.span)
            return Domain(IntT(lo, hi) if lo <= hi else IntT(lo, lo), tuple(range(lo, hi + 1)))
        v = self.value(e, ctx)
        if isinstance(v, Domain):
            return v
        if isinstance(v, Location):
            v = Scalar(ctx.memory.load(ctx, v, "plain"), v.type)
        if isinstance(v, Scalar) and isinstance(v.type, SetT):
            if v.type.elem is None:
                return Domain(IntT(0, 0), ())
            elem = v.type.elem
            if isinstance(v.expr, Const):
                vals = tuple(x for x in elem.values() if x >= 0 and v.expr.value >> x & 1)
                return Domain(elem, vals)
            return Domain(elem, tuple(elem.values()), SetMember(v.expr))
        raise SpecError(f"expected a set, a range or a type after 'in', found {_describe(v)}", e.span)

    def member(self, d: Domain, x: Expr) -> Expr:
        """The condition `x in d` for a candidate value x of d's element type."""
        if d.member is not None:
            return op("bit", d.member.set_expr, x)
        if isinstance(x, Const):
            return Const(int(x.value in d.values))
        vals = d.values
        if vals and list(vals) == list(range(vals[0], vals[-1] + 1)):
            return ir.conj((op("ge", x, Const(vals[0])), op("le", x, Const(vals[-1]))))
        return ir.disj(tuple(op("eq", x, Const(v)) for v in vals))

    # ---- atoms ----------------------------------------------------------------------
    def _IntLit(self, e: ast.IntLit, ctx: Context) -> Value:
        return Scalar(Const(e.value), INT)

    def _BoolLit(self, e: ast.BoolLit, ctx: Context) -> Value:
        return Scalar(Const(int(e.value)), BOOL)

    def _SelfRef(self, e: ast.SelfRef, ctx: Context) -> Value:
        if "self" in ctx.bound:
            return self._bound(ctx.bound["self"], ctx)
        raise SpecError("'self' is only defined inside a parameterised process", e.span)

    def location(self, e: ast.Expr, ctx: Context) -> Location:
        v = self.value(e, ctx)
        if not isinstance(v, Location):
            raise SpecError("expected a shared location (a `shared` variable or one of its "
                            f"elements), found {_describe(v)}", e.span)
        return v

    def _bound(self, b: Binding, ctx: Context) -> Value:
        if isinstance(b, ByName):  # a def parameter: the caller's expression, in its scope
            scope = dict(b.bound)
            if "VAL" in ctx.bound:  # as the kernel's cond_read macros: VAL is the value read
                scope["VAL"] = ctx.bound["VAL"]
            return self.value(b.expr, ctx.rebind(scope))
        return b

    def _Name(self, e: ast.Name, ctx: Context) -> Value:
        if e.id in ctx.bound:
            return self._bound(ctx.bound[e.id], ctx)
        if ctx.instance is not None and e.id in ctx.instance.locals:
            local = ctx.instance.locals[e.id]
            return var_value(ctx, local.layout, local.type, f"{ctx.instance.name}.{e.id}")
        sym = ctx.symbols.get(e.id)
        if sym is None:
            raise SpecError(f"unknown name '{e.id}'", e.span)
        if isinstance(sym, VarSym):
            return var_value(ctx, sym.layout, sym.type, e.id, sym.shared)
        if isinstance(sym, ConstSym):
            return Scalar(Const(sym.value), sym.type)
        if isinstance(sym, EnumMemberSym):
            if isinstance(sym.type, ScalarsetT):
                raise SpecError(f"'{e.id}' is a value of symmetric type {sym.type.name}: a spec "
                                f"cannot name one (a constant breaks the symmetry); use 'self', "
                                f"a parameter, 'with', 'forall' or 'exists'", e.span)
            return Scalar(Const(sym.value), sym.type)
        if isinstance(sym, TypeSym):
            t = sym.type
            if not finite_scalar(t):
                raise SpecError(f"type '{e.id}' has no finite list of values to range over", e.span)
            return Domain(t, tuple(t.values()))
        if isinstance(sym, ProcSym):
            if sym.param_type is None:
                return ProcRef(sym.name, Const(0))
            return Domain(sym.param_type, tuple(sym.param_type.values()))  # the instances' ids
        raise SpecError(f"'{e.id}' cannot be used in an expression", e.span)

    def _Call(self, e: ast.Call, ctx: Context) -> Value:
        f = e.func
        if id(e) in ctx.call_results:  # a def call already run by the step being lowered
            result = ctx.call_results[id(e)]
            if result is None:
                raise SpecError(f"'{f}' returns no value", e.span)
            return result
        if f in ctx.defs:
            raise SpecError(f"a call to '{f}' is not allowed here: a definition runs as part of "
                            "a step, so calls belong in process or action code, not in "
                            "properties, initial values or under forall/exists", e.span)
        if f in INTRINSICS:
            return self._intrinsic(e, ctx)
        if f == "card":
            self._arity(e, 1)
            s = self.scalar(e.args[0], ctx)
            if not isinstance(s.type, SetT):
                raise SpecError(f"card() takes a set, found {type_name(s.type)}", e.args[0].span)
            return Scalar(op("popcount", s.expr), INT)
        if f in ("min", "max"):
            self._arity(e, 2)
            a, b = self.integer(e.args[0], ctx), self.integer(e.args[1], ctx)
            return Scalar(op("ite", op("le" if f == "min" else "ge", a, b), a, b), INT)
        if f == "abs":
            self._arity(e, 1)
            a = self.integer(e.args[0], ctx)
            return Scalar(op("ite", op("ge", a, Const(0)), a, op("neg", a)), INT)
        raise SpecError(f"unknown function '{f}' (built in: card, min, max, abs, load, rmw, "
                        f"cas, rmw_unless, drained; or a def)", e.span)

    def word(self, e: ast.Expr, allowed: tuple[str, ...], what: str) -> str:
        """An ordering, fence kind or operation name written as a bare word."""
        if isinstance(e, ast.Name) and e.id in allowed:
            return e.id
        raise SpecError(f"expected {what}: one of {', '.join(allowed)}", e.span)

    def _intrinsic(self, e: ast.Call, ctx: Context) -> Value:
        f, a = e.func, e.args
        arity = {"load": 2, "rmw": 4, "cas": 5, "rmw_unless": 6, "drained": 0, "store": 3,
                 "fence": 1}[f]
        if len(a) != arity:
            raise SpecError(f"{f}() takes {arity} argument{'s' if arity != 1 else ''}, given "
                            f"{len(a)}", e.span)
        if f in ("store", "fence"):
            raise SpecError(f"{f}() is a statement; it has no value", e.span)
        if f == "drained":
            return Scalar(ctx.memory.drained(ctx), BOOL)
        loc = self.location(a[0], ctx)
        if f == "load":
            order = self.word(a[1], ORDERS_LOAD, "a load ordering")
            return Scalar(ctx.memory.load(ctx, loc, order), loc.type)
        self._need_int_location(loc, a[0])
        if f == "rmw":
            name = self.word(a[1], RMW_OPS, "an operation")
            operand = self._operand(a[2], ctx, loc, name)
            order = self.word(a[3], ORDERS_RMW, "an RMW ordering")
            return Scalar(ctx.memory.rmw(ctx, loc, name, operand, order, e.span), loc.type)
        if f == "cas":
            expected = self._operand(a[1], ctx, loc, "xchg")
            new = self._operand(a[2], ctx, loc, "xchg")
            order = self.word(a[3], ORDERS_RMW, "an RMW ordering")
            fail = self.word(a[4], ORDERS_RMW, "a failure ordering")
            return Scalar(ctx.memory.cmpxchg(ctx, loc, expected, new, order, fail, e.span),
                          loc.type)
        name = self.word(a[1], RMW_OPS, "an operation")
        operand = self._operand(a[2], ctx, loc, name)
        unless = self._operand(a[3], ctx, loc, "xchg")
        order = self.word(a[4], ORDERS_RMW, "an RMW ordering")
        fail = self.word(a[5], ORDERS_RMW, "a failure ordering")
        return Scalar(ctx.memory.rmw_unless(ctx, loc, name, operand, unless, order, fail, e.span),
                      loc.type)

    @staticmethod
    def _need_int_location(loc: Location, node: ast.Expr) -> None:
        if isinstance(loc.type, (ArrayT,)):
            raise SpecError("an atomic operation needs one location, not an array", node.span)

    def _operand(self, e: ast.Expr, ctx: Context, loc: Location, name: str) -> Expr:
        v = self.scalar(e, ctx)
        if name == "xchg":
            if not compatible(v.type, loc.type):
                raise SpecError(f"'{loc.name}' holds {type_name(loc.type)}; this is "
                                f"{type_name(v.type)}", e.span)
        elif not isinstance(v.type, IntT) or not isinstance(loc.type, IntT):
            raise SpecError(f"'{name}' works on integers", e.span)
        return v.expr

    @staticmethod
    def _arity(e: ast.Call, n: int) -> None:
        if len(e.args) != n:
            raise SpecError(f"{e.func}() takes {n} argument{'s' if n > 1 else ''}, "
                            f"given {len(e.args)}", e.span)

    def _SetLit(self, e: ast.SetLit, ctx: Context) -> Value:
        if not e.items:
            return Scalar(Const(0), SetT(None))
        items = [self.scalar(x, ctx) for x in e.items]
        elem = items[0].type
        for x, node in zip(items, e.items):
            if not compatible(x.type, elem) or isinstance(x.type, (SetT, ArrayT)):
                raise SpecError(f"set elements must share one scalar type; found "
                                f"{type_name(x.type)}", node.span)
        assert not isinstance(elem, (SetT, ArrayT))  # the loop checked the first item too
        if isinstance(elem, IntT) and not elem.bounded:
            # an integer literal set: the element type is the smallest range holding the constants
            consts = [x.expr.value for x in items if isinstance(x.expr, Const)]
            if len(consts) != len(items):
                raise SpecError("a set of computed integers needs a typed context; write it as "
                                "a set variable's value", e.span)
            elem = IntT(min(consts), max(consts))
        mask: Expr = Const(0)
        for x, node in zip(items, e.items):
            bit = op("shl", Const(1), x.expr, span=node.span,
                     info=ir.FailureText("set element {value} is negative"))
            mask = op("bor", mask, bit)
        return Scalar(mask, SetT(elem))

    # ---- compound ---------------------------------------------------------------------
    def _Index(self, e: ast.Index, ctx: Context) -> Value:
        proc = _process_named(e.base, ctx)
        if proc is not None:
            if proc.param_type is None:
                raise SpecError(f"process '{proc.name}' is not parameterised; write '{proc.name}' "
                                "without an index", e.span)
            idx = self.scalar(e.index, ctx)
            self.check_index_type(idx, proc.param_type, e.index.span, proc.name)
            pos = position(proc.param_type, idx.expr)
            if isinstance(pos, Const) and not 0 <= pos.value < len(proc.instances):
                shown = show_text(proc.param_type, index_value(proc.param_type, pos.value))
                raise SpecError(f"{proc.name} has no instance {shown}", e.index.span)
            return ProcRef(proc.name, pos)
        var = _array_var(e.base, ctx)
        if var is not None:
            # a variable indexed by a constant: that element alone (the whole array's values
            # per access made specs of N processes over N-element arrays quadratic to load)
            layout, t, name, shared = var
            idx = self.scalar(e.index, ctx)
            self.check_index_type(idx, t.index, e.index.span, name)
            pos = position(t.index, idx.expr)
            if isinstance(pos, Const) and isinstance(layout, tuple) and \
                    0 <= pos.value < len(layout):
                shown = show_text(t.index, index_value(t.index, pos.value))
                return var_value(ctx, layout[pos.value], t.elem, f"{name}[{shown}]", shared)
            base = var_value(ctx, layout, t, name, shared)
            assert isinstance(base, ArrayVal)
        else:
            base = self.value(e.base, ctx)
            if not isinstance(base, ArrayVal):
                raise SpecError(f"only arrays can be indexed; this is {_describe(base)}",
                                e.base.span)
            idx = self.scalar(e.index, ctx)
            self.check_index_type(idx, base.type.index, e.index.span, base.name)
            pos = position(base.type.index, idx.expr)
        if isinstance(pos, Const):
            if not 0 <= pos.value < len(base.elems):
                raise SpecError(f"index {index_value(base.type.index, pos.value)} is outside "
                                f"{base.type.index} of '{base.name}'", e.index.span)
            return base.elems[pos.value]
        return select_value(pos, list(base.elems), e.index.span,
                            ir.IndexInfo(base.name, _index_lo(base.type.index), str(base.type.index)))

    @staticmethod
    def check_index_type(idx: Scalar, expected: ScalarT, span: Span, what: str) -> None:
        if isinstance(idx.type, ScalarsetT) and idx.type != expected:
            raise SpecError(f"a value of symmetric type {idx.type.name} can only index what is "
                            f"indexed by {idx.type.name}; '{what}' is indexed by "
                            f"{type_name(expected)} (breaks the symmetry)", span)
        if not compatible(idx.type, expected) or isinstance(idx.type, SetT):
            raise SpecError(f"'{what}' is indexed by {type_name(expected)}, found "
                            f"{type_name(idx.type)}", span)

    def _Field(self, e: ast.Field, ctx: Context) -> Value:
        base = self.value(e.base, ctx)
        if not isinstance(base, ProcRef):
            raise SpecError(f"'.{e.name}' needs a process instance on its left, such as "
                            f"Cpu[c].{e.name}", e.span)
        proc = _process(ctx, base.proc)
        if e.name not in proc.instances[0].locals:
            known = ", ".join(proc.instances[0].locals) or "none"
            raise SpecError(f"process '{proc.name}' has no local '{e.name}' (locals: {known})",
                            e.span)
        if isinstance(base.index, Const):
            i = proc.instances[base.index.value]
            return var_value(ctx, i.locals[e.name].layout, i.locals[e.name].type,
                             f"{i.name}.{e.name}")
        options = [var_value(ctx, i.locals[e.name].layout, i.locals[e.name].type,
                             f"{i.name}.{e.name}") for i in proc.instances]
        return select_value(base.index, options, e.span, ir.IndexInfo(proc.name, instances=True))

    def _At(self, e: ast.At, ctx: Context) -> Value:
        base = self.value(e.process, ctx)
        if not isinstance(base, ProcRef):
            raise SpecError("'at' needs a process instance on its left, such as Cpu[c] at label",
                            e.process.span)
        proc = _process(ctx, base.proc)
        if e.label not in proc.pc_labels:
            raise SpecError(f"process '{proc.name}' has no label '{e.label}' (labels: "
                            f"{', '.join(proc.pc_labels)})", e.span)
        pc = proc.pc_labels.index(e.label)
        if isinstance(base.index, Const):
            sel: Value = Scalar(ctx.read(proc.instances[base.index.value].pc_slot), INT)
        else:
            options: list[Value] = [Scalar(ctx.read(i.pc_slot), INT) for i in proc.instances]
            sel = select_value(base.index, options, e.span,
                               ir.IndexInfo(proc.name, instances=True))
        assert isinstance(sel, Scalar)  # a program counter is a scalar
        return Scalar(op("eq", sel.expr, Const(pc)), BOOL)

    def _Neg(self, e: ast.Neg, ctx: Context) -> Value:
        return Scalar(op("neg", self.integer(e.operand, ctx)), INT)

    def _Not(self, e: ast.Not, ctx: Context) -> Value:
        return Scalar(op("not", self.boolean(e.operand, ctx)), BOOL)

    def _Ite(self, e: ast.Ite, ctx: Context) -> Value:
        c = self.boolean(e.cond, ctx)
        a, b = self.scalar(e.then, ctx), self.scalar(e.else_, ctx)
        if not compatible(a.type, b.type):
            raise SpecError(f"the branches have different types: {type_name(a.type)} and "
                            f"{type_name(b.type)}", e.span)
        t = INT if isinstance(a.type, IntT) else (b.type if isinstance(a.type, SetT) and
                                                  a.type.elem is None else a.type)
        return Scalar(op("ite", c, a.expr, b.expr), t)

    def _Quant(self, e: ast.Quant, ctx: Context) -> Value:
        d = self.domain(e.domain, ctx)
        parts = []
        for v in d.values:
            body = self.boolean(e.body, ctx.with_bound(e.var, Scalar(Const(v), d.elem)))
            if d.member is not None:
                m = self.member(d, Const(v))
                body = ir.disj((op("not", m), body)) if e.kind == "forall" else ir.conj((m, body))
            parts.append(body)
        if not d.values:  # still check the body once, for its names and types
            self.boolean(e.body, ctx.with_bound(e.var, Scalar(Const(0), d.elem)))
        return Scalar(ir.conj(parts) if e.kind == "forall" else ir.disj(parts), BOOL)

    def _Range(self, e: ast.Range, ctx: Context) -> Value:
        return self.domain(e, ctx)

    def _BinOp(self, e: ast.BinOp, ctx: Context) -> Value:
        o = e.op
        if o in ("and", "or", "implies"):
            a, b = self.boolean(e.left, ctx), self.boolean(e.right, ctx)
            if o == "and":
                return Scalar(ir.conj((a, b)), BOOL)
            if o == "or":
                return Scalar(ir.disj((a, b)), BOOL)
            return Scalar(ir.disj((op("not", a), b)), BOOL)
        if o in ARITH:
            a, b = self.integer(e.left, ctx), self.integer(e.right, ctx)
            return Scalar(op(ARITH[o], a, b, span=e.right.span, info=ir.FailureText("division by zero")), INT)
        if o in ORDER:
            a, b = self.integer(e.left, ctx), self.integer(e.right, ctx)
            return Scalar(op(ORDER[o], a, b), BOOL)
        if o in EQUALITY:
            x, y = self.scalar(e.left, ctx), self.scalar(e.right, ctx)
            if not compatible(x.type, y.type):
                raise SpecError(f"cannot compare {type_name(x.type)} with {type_name(y.type)}",
                                e.span)
            return Scalar(op(EQUALITY[o], x.expr, y.expr), BOOL)
        if o == "in":
            x = self.scalar(e.left, ctx)
            if isinstance(e.right, ast.Range):
                lo, hi = self.integer(e.right.lo, ctx), self.integer(e.right.hi, ctx)
                self._need_int(x, e.left.span)
                return Scalar(ir.conj((op("ge", x.expr, lo), op("le", x.expr, hi))), BOOL)
            d = self.domain(e.right, ctx)
            if d.values and not compatible(x.type, d.elem):
                raise SpecError(f"{type_name(x.type)} cannot be an element of a collection of "
                                f"{type_name(d.elem)}", e.span)
            return Scalar(self.member(d, x.expr), BOOL)
        if o in ("union", "minus"):
            left, right = self.scalar(e.left, ctx), self.scalar(e.right, ctx)
            for s, node in ((left, e.left), (right, e.right)):
                if not isinstance(s.type, SetT):
                    raise SpecError(f"'{o}' works on sets, found {type_name(s.type)}", node.span)
            if not compatible(left.type, right.type):
                raise SpecError(f"cannot combine {left.type} with {right.type}", e.span)
            assert isinstance(left.type, SetT)  # the loop checked both sides
            t = left.type if left.type.elem is not None else right.type
            return Scalar(op("bor" if o == "union" else "bandnot", left.expr, right.expr), t)
        raise SpecError(f"unknown operator '{o}'", e.span)

    @staticmethod
    def _need_int(x: Scalar, span: Span) -> None:
        if not isinstance(x.type, IntT):
            raise SpecError(f"expected an integer, found {type_name(x.type)}", span)


def _index_lo(t: ScalarT) -> int:
    """The first value of an index type: a range's lower bound, else 0."""
    return t.values()[0]


def _process_named(e: ast.Expr, ctx: Context) -> ProcSym | None:
    """The process a name denotes (`Cpu` in `Cpu[c]`), unless a local or a bound name hides it."""
    if not isinstance(e, ast.Name) or e.id in ctx.bound or \
            (ctx.instance is not None and e.id in ctx.instance.locals):
        return None
    sym = ctx.symbols.get(e.id)
    return sym if isinstance(sym, ProcSym) else None


def _process(ctx: Context, name: str) -> ProcSym:
    """The process a `ProcRef` names."""
    proc = ctx.symbols[name]
    assert isinstance(proc, ProcSym)
    return proc


def _describe(v: Value) -> str:
    if isinstance(v, ArrayVal):
        return f"the whole array '{v.name}'"
    if isinstance(v, Domain):
        return "a type or range"
    if isinstance(v, ProcRef):
        return f"the process '{v.proc}'"
    return type_name(v.type)
