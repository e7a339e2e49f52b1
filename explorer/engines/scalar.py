"""The scalar engine: the whole breadth-first loop generated as one Python function per model.

States are packed into one int (`explorer.store.Layout`). The generated `expand` walks a slice
of the frontier; for each state it dispatches on each process's program counter (one mask test
per label), folds each guard's equalities into one mask test, computes the successor with
integer arithmetic (a constant delta when the old values are known from the guard), looks it up
in a Python set, and evaluates on a new state only the parts of each property that the step can
change: a conjunct of an invariant (a disjunct of a goal) whose value after the step, simplified
with what the guard says about the state, is the same expression as before the step keeps its
value, so it need not be evaluated again. (If it was false before, the property was already
decided at the parent.)

Counts, verdicts and traces are those of `explorer.engines.reference`: states are numbered in
the same order, and anything rare (the last steps before --max-states) goes through the
reference step in `common.Search.exact_row`.

With a visitor (`Options.visitor`), `expand` is generated with calls that report the steps it
computed for each state, and each new state with its properties evaluated whole by the packed
code (`state_properties`); without one, the code is exactly the plain loop.
"""
from __future__ import annotations

import time
from functools import partial
from typing import Callable

from smp_explorer.runs.compiled import HELPERS, CompiledModel, Failure
from smp_explorer.runs.pysource import Emitter, load_source
from smp_explorer.explorer.engines import gencache
from smp_explorer.explorer.engines.common import Search, SetFrontier, Stop, Watch
from smp_explorer.explorer.engines.packed_expr import PackedCompiler, simplify, size
from smp_explorer.explorer.options import Options
from smp_explorer.explorer.store import KeySet, Layout, fp_packed, fp_python
from smp_explorer.explorer.symmetry import Symmetry
from smp_explorer.ir.properties import DEADLOCK_NAME, RUNTIME_NAME
from smp_explorer.ir.bounds import may_fail
from smp_explorer.ir.expr import Const, Expr, Op, Ref, conjuncts, slots_read, substitute
from smp_explorer.ir.model import Action, Model

SLICE = 1024
# with more actions than this, the generated code counts their firings in the search's own
# list: locals would be set up and returned per call, a cost per action on every call (a process
# of 12,000 labels runs 12,000 levels of one state)
LOCAL_COUNTERS = 256


def disjuncts(e: Expr) -> tuple[Expr, ...]:
    if isinstance(e, Op) and e.op == "or":
        return e.args
    return (e,)


class Scope:
    """Which slots are decoded as locals at the current point of the generated code (and,
    through the compiler's `push`/`pop`, which shared subexpressions have temporaries)."""

    def __init__(self, ex: PackedCompiler) -> None:
        self.stack: list[set[str]] = [set()]
        self.ex = ex

    def push(self) -> None:
        self.stack.append(set(self.stack[-1]))
        self.ex.push()

    def pop(self) -> None:
        self.stack.pop()
        self.ex.pop()

    def __contains__(self, name: str) -> bool:
        return name in self.stack[-1]

    def add(self, name: str) -> None:
        self.stack[-1].add(name)


class ScalarCode:
    """Generates and compiles `expand` for one model, layout and set of options."""

    def __init__(self, cm: CompiledModel, layout: Layout, options: Options,
                 symmetry: Symmetry | None = None):
        started = time.perf_counter()
        self.cm = cm
        self.symmetry = symmetry   # successors are stored as canonical states
        self.model: Model = cm.model
        self.layout = layout
        self.options = options
        self.ranges = [(s.lo, s.hi) for s in self.model.slots]
        self.failures: list[Failure] = cm.failures  # new sites are appended to the same list
        self.ex = PackedCompiler(layout, self.ranges, self.failures, {})
        self.em = Emitter()
        self.scope = Scope(self.ex)
        self.flags: list[tuple[Watch, int]] = []   # A[i]: what flag i watches, its position
        self.visiting = options.visitor is not None
        self._reads_cache: dict[int, set[int]] = {}
        self._rewriters: dict[tuple, Callable[[Expr], Expr]] = {}   # `_rewriter`'s
        self._plan_properties()
        # how the generated loop counts firings (its signature depends on it)
        self.local_counters = len(self.model.actions) <= LOCAL_COUNTERS
        # the source, `max_succ` and the failure sites it adds: cached by what they are
        # generated from (`gencache`)
        n0 = len(self.failures)
        ck = gencache.key("scalar", cm, layout, options, symmetry is not None, n0)
        saved = gencache.load(ck)
        if saved is not None:
            self.source, self.max_succ, added = saved
            self.failures.extend(added)
        else:
            self.source = self._generate()
            gencache.save(ck, (self.source, self.max_succ, self.failures[n0:]), self.source)
        ns: dict = dict(HELPERS)
        ns["_fp"] = fp_python
        ns["_fpk"] = fp_packed
        if symmetry is not None:
            ns["_canon"] = symmetry.packed([(f.offset, f.mask, f.lo) for f in layout.fields])
        load_source(self.source, self.model, "scalar", ns)
        self.expand = ns["expand"]
        self.state_properties = ns.get("state_properties")
        cm.note_codegen("scalar", started, self.source)

    # ---- properties: which parts each step can change -------------------------------------
    def _plan_properties(self) -> None:
        cm, model = self.cm, self.model
        props: list[tuple[Watch, int, Expr]] = []
        for k, name in enumerate(cm.invariant_names):
            props.append((Watch.INVARIANT, k, _expr_of(model, name)))
        for k, name in enumerate(cm.goal_names):
            props.append((Watch.GOAL, k, _expr_of(model, name)))
        for k, (_, e, _) in enumerate(model.monitors):
            props.append((Watch.MONITOR, k, e))
        self.props = []
        # per property: slot -> the parts (indexes) that read it
        self.parts_by_slot: list[dict[int, list[int]]] = []
        for kind, k, e in props:
            e = simplify(e, self.ranges)
            partial = may_fail(e, self.ranges)
            parts: tuple[Expr, ...]
            if partial:
                parts = (e,)
            else:
                parts = conjuncts(e) if kind is Watch.INVARIANT else disjuncts(e)
                if not parts:
                    parts = (e,)
            self.flags.append((kind, k))
            self.props.append((kind, k, len(self.flags) - 1, e, parts, partial))
            by_slot: dict[int, list[int]] = {}
            for j, part in enumerate(parts):
                for slot in self._reads(part):
                    by_slot.setdefault(slot, []).append(j)
            self.parts_by_slot.append(by_slot)
        if self.options.check_deadlock:
            self.flags.append((Watch.DEADLOCK, 0))

    def flag_values(self, search: Search) -> list[bool]:
        pending = search.verdicts.pending
        runtime = RUNTIME_NAME in pending
        cm = self.cm
        out = []
        partial = {}
        for kind, k, _, _, _, p in self.props:
            partial[(kind, k)] = p
        for kind, k in self.flags:
            if kind is Watch.INVARIANT:
                out.append(cm.invariant_names[k] in pending or (partial[(kind, k)] and runtime))
            elif kind is Watch.GOAL:
                out.append(search.goals_left and (cm.goal_names[k] in pending or
                                                  (partial[(kind, k)] and runtime)))
            elif kind is Watch.MONITOR:
                out.append(search.monitors_left and k not in search.monitors_seen)
            else:
                out.append(DEADLOCK_NAME in pending)
        return out

    # ---- code ---------------------------------------------------------------------------------
    def decode(self, slots, var: str = "s") -> None:
        prefix = "f" if var == "s" else "g"
        for slot in sorted(slots):
            name = f"{prefix}{slot}"
            if name in self.scope:
                continue
            f = self.layout.fields[slot]
            if not f.width:
                continue
            src = var if not f.offset else f"({var} >> {f.offset})"
            src = f"{src} & {f.mask}"
            if f.lo:
                src = f"({src}) + {f.lo}"
            self.em.line(f"{name} = {src}")
            self.scope.add(name)

    def expr(self, e: Expr, var: str = "s") -> str:
        """Decode what `e` reads, give its shared subexpressions temporaries, then return its
        source."""
        self.bind([e], var)
        return self.ex(e)

    def bind(self, exprs: list[Expr], var: str = "s") -> None:
        """Decode what `exprs` read and compute their shared subexpressions (`ir.share`)."""
        self.ex.prefix = "f" if var == "s" else "g"
        reads: set[int] = set()
        for e in exprs:
            self.ex.reads(e, reads)
        self.decode(reads, var)
        self.ex.prefix = "f" if var == "s" else "g"
        self.ex.bind(self.em, exprs)

    def _generate(self) -> str:
        em = self.em
        model = self.model
        layout = self.layout
        nact = len(model.actions)
        counters = [f"c{i}" for i in range(nact)] if self.local_counters else ["nf"]
        opts = self.options
        self.max_succ = self._max_successors()
        em.line("def expand(cur, i0, i1, pos, npos, lim, seen, nxt, par, via, A, "
                "evI, evG, evM, evU, evB, evD, evN, evX, F):")
        with em.indent():
            em.line("seen_add = seen.add; nxt_append = nxt.append; "
                    "par_append = par.append; via_append = via.append")
            if counters:
                em.line(" = ".join(counters) + " = 0")
            em.line("nb = 0")
            em.line("stop = 0")
            em.line("i = i0")
            em.line("try:")
            with em.indent():
                em.line("for s in cur[i0:i1]:")
                with em.indent():
                    em.line("if npos > lim: break")
                    em.line("en = 0")
                    if self.visiting:
                        em.line("vis_out = []; vis_bad = []")
                    self.scope.push()
                    self._emit_dispatch()
                    self.scope.pop()
                    if opts.check_deadlock:
                        dead = len(self.flags) - 1
                        done = [(p.pc_slot, p.done) for p in model.processes]
                        cond = "not en"
                        if done:
                            m, v = layout.slot_test_mask(dict(done))
                            cond += f" and (s & {m}) != {v}"
                        em.line(f"if {cond} and A[{dead}]:")
                        with em.indent():
                            em.line("if evD(pos): stop = 1")
                    if self.visiting:
                        em.line("evX(s, vis_out, vis_bad)")
                    em.line("i += 1")
                    em.line("pos += 1")
                    em.line("if stop: break")
            em.line("except KeyboardInterrupt:")
            with em.indent():
                em.line(f"return (i, npos, nb, 1, ({''.join(c + ', ' for c in counters)}))")
            em.line(f"return (i, npos, nb, 0, ({''.join(c + ', ' for c in counters)}))")
        if self.visiting:
            self._emit_state_properties()
        return em.source()

    def _emit_state_properties(self) -> None:
        """`state_properties(s)`: the invariants false and the goals true in packed state `s`,
        each evaluated whole, as the tuple code's `invariants` and `goals` report them."""
        em, model = self.em, self.model
        em.line("")
        em.line("def state_properties(s):")
        with em.indent():
            self.scope.push()
            for var, names, kind in (("inv", self.cm.invariant_names, Watch.INVARIANT),
                                     ("goals", self.cm.goal_names, Watch.GOAL)):
                em.line(f"{var} = []")
                for k, name in enumerate(names):
                    src = self.expr(_expr_of(model, name))
                    em.line("try:")
                    with em.indent():
                        em.line(f"if {'not ' if kind.when_false else ''}{src}: {var}.append({k})")
                    em.line("except Undefined as u:")
                    with em.indent():
                        em.line(f"{var}.append(u)")
            em.line("return inv, goals")
            self.scope.pop()

    def _max_successors(self) -> int:
        n = 0
        for pc_slot, groups, rest in self._groups():
            if pc_slot is not None:
                n += max((len(acts) for _, acts in groups), default=0)
            n += len(rest)
        return n

    def _groups(self):
        from smp_explorer.runs.compiled import _dispatch
        return list(_dispatch(self.model))

    def _emit_dispatch(self) -> None:
        em = self.em
        for pc_slot, groups, rest in self._groups():
            if pc_slot is not None:
                f = self.layout.fields[pc_slot]
                m = f.mask << f.offset
                em.line(f"p = s & {m}")

                def case(value: int, acts: list, pc_slot: int = pc_slot) -> None:
                    self.scope.push()
                    shared = self._shared_conditions(acts, {pc_slot: value})
                    for a in acts:
                        self._emit_action(a, {pc_slot: value}, shared)
                    self.scope.pop()
                # (the masked pc grows with the label's value: the switch's order holds)
                em.switch("p", [((value - f.lo) << f.offset, partial(case, value, acts))
                                for value, acts in groups])
            for a in rest:
                self.scope.push()
                self._emit_action(a, {})
                self.scope.pop()

    def _shared_conditions(self, acts, known: dict[int, int]) -> dict[Expr, str]:
        """Guard conjuncts that several actions of one label test: evaluated once, up front
        (only those that cannot fail)."""
        if len(acts) < 2:
            return {}
        env: dict[int, Expr] = {slot: Const(v) for slot, v in known.items()}
        fix = self._rewriter(env)
        count: dict[Expr, int] = {}
        for a in acts:
            for c in conjuncts(a.guard):
                if _slot_test(c, self.ranges) is None:
                    c2 = fix(c)
                    if isinstance(c2, Op) and not may_fail(c2, self.ranges):
                        count[c2] = count.get(c2, 0) + 1
        shared = {}
        for c, n in count.items():
            if n > 1:
                name = self.em.fresh("x")
                self.em.line(f"{name} = {self.expr(c)}")
                shared[c] = name
        return shared

    # ---- one action -----------------------------------------------------------------------
    def _emit_action(self, a: Action, known: dict[int, int],
                     shared: dict[Expr, str] | None = None) -> None:
        em, layout = self.em, self.layout
        line = a.span.line if a.span else "?"
        em.line(f"# action {a.index}: {a.name} (line {line})")
        facts = dict(known)
        simple: dict[int, int] = {}
        rest: list[Expr] = []
        head, tail = split_guard(a.guard, self.ranges)
        for c in head:
            slot_value = _slot_test(c, self.ranges)
            if slot_value is not None:
                slot, value = slot_value
                if slot in known:
                    if known[slot] != value:
                        em.line("pass  # never enabled here")
                        return
                    continue
                if slot in simple and simple[slot] != value:
                    em.line("pass  # never enabled")
                    return
                simple[slot] = value
                facts[slot] = value
            else:
                rest.append(c)
        env: dict[int, Expr] = {slot: Const(v) for slot, v in facts.items()}
        env_known: dict[int, Expr] = {slot: Const(v) for slot, v in known.items()}
        fix, fix_known = self._rewriter(env), self._rewriter(env_known)
        named: dict[Expr, str] = {}
        rest2 = []
        for c in rest + tail:
            c_known = fix_known(c)
            if shared and c_known in shared:
                named[c_known] = shared[c_known]
                rest2.append(c_known)
            else:
                rest2.append(fix(c))
        rest = rest2
        if any(c == Const(0) for c in rest):
            em.line("pass  # never enabled")
            return
        rest = [c for c in rest if c != Const(1)]
        checks = [(c, fix(c.cond), None if c.value is None else fix(c.value)) for c in a.checks]
        updates = [(slot, fix(e)) for slot, e in a.updates]
        rg = self.ranges
        risky = any(may_fail(c, rg) for c in rest) or any(may_fail(u, rg) for _, u in updates) or \
            any(may_fail(cond, rg) or (v is not None and may_fail(v, rg)) for _, cond, v in checks)
        self.scope.push()
        base = em.level
        if simple:
            m, v = layout.slot_test_mask(simple)
            em.line(f"if (s & {m}) == {v}:")
            em.level += 1
            self.scope.push()
        k = a.index
        if risky:
            em.line("t = -1")
            em.line("try:")
            em.level += 1
            self.scope.push()
        inner = em.level
        if rest:
            srcs = [named[c] if c in named else self.expr(c) for c in rest]
            em.line(f"if {' and '.join(srcs)}:")
            em.level += 1
            self.scope.push()
        for check, cond, check_value in checks:   # the first failing check ends the step
            self.failures.append(Failure(check.property, check.message,
                                         check.span.line if check.span else None))
            fid = len(self.failures) - 1
            vname = "None"
            if check_value is not None:
                em.line(f"v = {self.expr(check_value)}")
                vname = "v"
            em.line(f"if not {self.expr(cond)}:")
            with em.indent():
                em.line(f"en = 1; {self._fire(k)}; nb += 1")
                if self.visiting:
                    em.line(f"vis_bad.append(({k}, {fid}))")
                em.line(f"if evB(pos, {k}, {fid}, {vname}): stop = 1")
            em.line("else:")
            em.level += 1
            self.scope.push()
        tsrc = self._successor(updates, facts)
        em.line(f"t = {tsrc}")
        if self.visiting:
            em.line(f"vis_out.append(({k}, t))")
        if not risky:
            self._emit_insert(a, updates, facts)
        while em.level > inner:
            em.level -= 1
            self.scope.pop()
        if risky:
            em.level -= 1
            self.scope.pop()
            em.line("except Undefined as u:")
            with em.indent():
                em.line(f"en = 1; {self._fire(k)}; nb += 1; t = -1")
                if self.visiting:
                    em.line(f"vis_bad.append(({k}, u.site))")
                em.line(f"if evB(pos, {k}, u.site, u.value): stop = 1")
            em.line("if t >= 0:")
            with em.indent():
                self._emit_insert(a, updates, facts)
        if simple:
            em.level -= 1
            self.scope.pop()
        assert em.level == base
        self.scope.pop()

    def _rewriter(self, env: dict[int, Expr]):
        """e -> e with `env` substituted and simplified; each distinct node rewritten once
        (for an `env` of constants, once per model: the scalar code, the vector code and the
        actions at one program counter share the work)."""
        key = None
        if all(isinstance(v, Const) for v in env.values()):
            key = tuple(sorted((slot, v.value) for slot, v in env.items() if isinstance(v, Const)))
            got = self._rewriters.get(key)
            if got is not None:
                return got
        subs: dict = {}
        simp: dict = {}

        def fix(e: Expr) -> Expr:
            return simplify(substitute(e, env, subs), self.ranges, simp)
        if key is not None:
            self._rewriters[key] = fix
        return fix

    def _successor(self, updates, facts) -> str:
        layout = self.layout
        self.bind([e for _, e in updates])
        delta = 0
        clear = 0
        const_bits = 0
        parts = []
        for slot, e in updates:
            f = layout.fields[slot]
            if e == Ref(slot) or f.width == 0:
                continue
            if isinstance(e, Const):
                if slot in facts:
                    delta += (e.value - facts[slot]) << f.offset
                else:
                    clear |= f.mask << f.offset
                    const_bits |= (e.value - f.lo) << f.offset
                continue
            step = _increment(e, slot)
            if step is not None:   # y := y + c stays in range (else a range check failed)
                delta += step << f.offset
                continue
            clear |= f.mask << f.offset
            src = self.expr(e)
            if f.lo:
                src = f"({src} - {f.lo})"
            parts.append(f"({src} << {f.offset})" if f.offset else f"{src}")
        t = "s"
        if delta > 0:
            t = f"s + {delta}"
        elif delta < 0:
            t = f"s - {-delta}"
        if clear:
            full = (1 << (63 * layout.nwords)) - 1
            t = f"(({t}) & {full & ~clear})"
        if const_bits:
            t = f"{t} | {const_bits}"
        for p in parts:
            t = f"{t} | {p}"
        return t

    def _fire(self, k: int) -> str:
        """The statement that counts a firing of action `k`."""
        return f"c{k} += 1" if self.local_counters else f"F[{k}] += 1; nf += 1"

    def _emit_insert(self, a: Action, updates, facts) -> None:
        em, layout = self.em, self.layout
        k = a.index
        em.line(f"en = 1; {self._fire(k)}")
        if self.symmetry is not None:
            em.line("t = _canon(t)")
        key = layout.key_source("t")
        if key != "t":
            em.line(f"key = {key}")
            key = "key"
        em.line(f"if {key} not in seen:")
        with em.indent():
            em.line(f"seen_add({key}); nxt_append(t); par_append(pos); via_append({k})")
            if self.visiting:
                em.line("evN(t)")
            self.scope.push()
            self._emit_properties(updates, facts)
            self.scope.pop()
            em.line("npos += 1")

    def _emit_properties(self, updates, facts) -> None:
        em = self.em
        env_s: dict[int, Expr] = {slot: Const(v) for slot, v in facts.items()}
        upd = dict(updates)
        env_t = dict(env_s)
        for slot, e in upd.items():
            env_t[slot] = e
        changed = {slot for slot, e in upd.items() if e != Ref(slot)}
        fix_s, fix_t = self._rewriter(env_s), self._rewriter(env_t)
        for pi, (kind, k, flag, whole, parts, partial) in enumerate(self.props):
            todo = []
            for part in self.parts_reading(pi, changed):
                before = fix_s(part)
                after = fix_t(part)
                if before == after:
                    continue
                todo.append((part, after))
            if not todo:
                continue
            if partial:
                # evaluated whole, on the new state, exactly as the compiled properties are
                src = self.expr(whole, "t")
                test = f"not {src}" if kind.when_false else src
                em.line("try:")
                with em.indent():
                    em.line(f"if A[{flag}] and {test}:")
                    with em.indent():
                        self._event(kind, k)
                em.line("except Undefined as u:")
                with em.indent():
                    if kind is not Watch.MONITOR:
                        em.line(f"if A[{flag}] and evU(npos, u): stop = 1")
                    else:
                        em.line("pass")
                continue
            for part, after in todo:
                if isinstance(after, Const):
                    holds = bool(after.value)
                    if holds == kind.when_false:
                        continue
                    test = "True"
                elif size(after) <= size(part) + 6:
                    src = self.expr(after, "s")
                    test = f"not {src}" if kind.when_false else src
                else:
                    src = self.expr(part, "t")
                    test = f"not {src}" if kind.when_false else src
                em.line(f"if A[{flag}] and {test}:")
                with em.indent():
                    self._event(kind, k)

    def parts_reading(self, prop: int, slots: set[int]) -> list[Expr]:
        """The parts of property `prop` (an index into `props`) that read one of `slots`, in
        order (looked up by slot: a step that skipped the others one by one made a `forall`
        over N processes cost N per action)."""
        by_slot = self.parts_by_slot[prop]
        parts = self.props[prop][4]
        return [parts[j] for j in sorted({j for s in slots for j in by_slot.get(s, ())})]

    def _reads(self, e: Expr) -> set[int]:
        key = id(e)
        got = self._reads_cache.get(key)
        if got is None:
            got = slots_read(e)
            self._reads_cache[key] = got
        return got

    def _event(self, kind: Watch, k: int) -> None:
        if kind is Watch.INVARIANT:
            self.em.line(f"if evI({k}, npos): stop = 1")
        elif kind is Watch.GOAL:
            self.em.line(f"if evG({k}, npos): stop = 1")
        else:
            self.em.line(f"if evM({k}): stop = 1")


def _expr_of(model: Model, name: str) -> Expr:
    """The expression of a per-state property."""
    e = model.property(name).expr
    assert e is not None, name
    return e


def _increment(e: Expr, slot: int) -> int | None:
    """`slot + c` or `slot - c`: the constant c (signed)."""
    if isinstance(e, Op) and e.op in ("add", "sub") and isinstance(e.args[1], Const):
        if e.args[0] == Ref(slot):
            return e.args[1].value if e.op == "add" else -e.args[1].value
    if isinstance(e, Op) and e.op == "add" and isinstance(e.args[0], Const) and \
            e.args[1] == Ref(slot):
        return e.args[0].value
    return None


def split_guard(guard: Expr, ranges) -> tuple[list[Expr], list[Expr]]:
    """A guard's conjuncts as (head, tail): the tail starts at the first conjunct that may fail.

    A guard is evaluated left to right (`ir.model.Action`): a conjunct after one that may fail
    is only evaluated where that one succeeded, so it must not be hoisted in front of it (as a
    row mask or a known slot value) nor used to simplify it. The head's slot tests can be."""
    parts = list(conjuncts(guard))
    for i, c in enumerate(parts):
        if may_fail(c, ranges):
            return parts[:i], parts[i:]
    return parts, []


def _slot_test(c: Expr, ranges) -> tuple[int, int] | None:
    """`slot == const` (or a boolean slot, or its negation) as (slot, value)."""
    if isinstance(c, Op) and c.op == "eq":
        a, b = c.args
        if isinstance(a, Ref) and isinstance(b, Const):
            return a.slot, b.value
        if isinstance(b, Ref) and isinstance(a, Const):
            return b.slot, a.value
    if isinstance(c, Ref) and ranges[c.slot] == (0, 1):
        return c.slot, 1
    if isinstance(c, Op) and c.op == "not" and isinstance(c.args[0], Ref) and \
            ranges[c.args[0].slot] == (0, 1):
        return c.args[0].slot, 0
    return None


class ScalarLevels(SetFrontier):
    """The scalar strategy: expands a level with the generated `expand`, a slice at a time;
    the frontier is a list of packed states, the visited set a Python set of keys."""

    def __init__(self, search: Search, code: ScalarCode):
        self.search = search
        self.code = code
        layout = code.layout
        self.frontier: list[int] = [layout.pack(s) for s in search.initial]
        self.visited = KeySet(layout.key(t) for t in self.frontier)
        self.A = code.flag_values(search)
        self.visitor = search.visitor

    def restore(self, d: dict) -> None:
        super().restore(d)
        self._refresh()

    def _refresh(self) -> None:
        self.A[:] = self.code.flag_values(self.search)

    # event callbacks: record, refresh the flags, say whether something was decided
    def evI(self, k, pos):
        if self.search.invariant_failed(k, pos):
            self._refresh()
            return True
        return False

    def evG(self, k, pos):
        if self.search.goal_reached(k, pos):
            self._refresh()
            return True
        return False

    def evM(self, k):
        if self.search.monitor_seen(k):
            self._refresh()
        return False

    def evU(self, pos, u):
        if self.search.undefined(pos, u):
            self._refresh()
            return True
        return False

    def evB(self, pos, ai, fid, value):
        if self.search.step_failed(pos, ai, fid, value):
            self._refresh()
            return True
        return False

    def evD(self, pos):
        if self.search.deadlocked(pos):
            self._refresh()
            return True
        return False

    # with a visitor: what the generated code computed for a new state and an expanded one
    def evN(self, t: int) -> None:
        assert self.visitor is not None and self.code.state_properties is not None
        failing, reached = self.code.state_properties(t)
        self.visitor.discovered(self.code.layout.unpack(t), failing, reached)

    def evX(self, s: int, out: list[tuple[int, int]], bad: list[tuple[int, int]]) -> None:
        assert self.visitor is not None
        unpack, failures = self.code.layout.unpack, self.code.failures
        self.visitor.expanded(unpack(s), [(ai, unpack(t)) for ai, t in out],
                              [(ai, failures[fid].property) for ai, fid in bad])

    def level(self, pos0: int) -> str | None:
        nxt: list[int] = []
        reason = self._expand(self.frontier, pos0, nxt)
        self.frontier = nxt
        return reason

    def _expand(self, cur: list[int], pos0: int, nxt: list[int]) -> str | None:
        """Expand the states `cur` into `nxt`; a stop reason, or None when all are done."""
        search = self.search
        links = search.links
        expand = self.code.expand
        max_states = search.options.max_states
        lim = (1 << 62) if max_states is None else max_states - self.code.max_succ - 1
        fired = search.fired
        n = len(cur)
        i = 0
        visiting = self.visitor is not None
        ev = (self.evI, self.evG, self.evM, self.evU, self.evB, self.evD,
              self.evN if visiting else None, self.evX if visiting else None)
        while i < n:
            reason = search.pause()
            if reason:
                return reason
            if search.states > lim:
                try:
                    search.exact_row(self.code.layout.unpack(cur[i]), pos0 + i, self.visited, nxt)
                except Stop:
                    return "max-states"
                i += 1
                continue
            npos0 = len(links)
            j, npos, nb, interrupted, counts = expand(
                cur, i, min(n, i + SLICE), pos0 + i, npos0, lim, self.visited.keys, nxt,
                links.parent, links.via, self.A, *ev, fired)
            tr = -nb
            if self.code.local_counters:
                for a, c in enumerate(counts):
                    if c:
                        fired[a] += c
                        tr += c
            else:            # counted in `fired` itself; `counts` is (how many fired,)
                tr += counts[0]
            search.transitions += tr
            if npos > npos0:
                search.max_depth_seen = search.depth + 1
            if interrupted:
                raise KeyboardInterrupt
            i = j
        return None
