"""The axiomatic engine: a spec's bounded executions checked against an axiomatic memory model
(the LKMM; SC and x86-TSO for the cross-check with the operational engines) with Z3.

Entry point (what the CLI calls):

    run(model, memory, *, unroll, properties=None, timeout=None) -> RunResult

- `model`: the spec lowered for the axiomatic engines, i.e. `spec.pipeline.load_model(path,
  consts, memory="lkmm")` (or `model_from_text(..., memory="lkmm")`, or a spec that says
  `memory lkmm;`): every step's shared accesses are `ir.model.StepEvent`s of its actions
  (spec/memory/events.py). The same lowering serves every axiomatic model: to run the axiomatic
  SC or TSO model, lower with memory="lkmm" and pass memory="sc" / "tso" here.
- `memory`: "lkmm", "sc" or "tso" (models.get).
- `unroll` (`--unroll K`): each step runs at most K times per process (a loop's label counts
  its iterations); an `await` is an assumption on the values read, not a loop.
- `properties`: names to check (default: all the engine can check, below); an unknown name is
  a SpecError.
- `timeout`: seconds per solver call; a call that runs out gives status `unknown`.

What is checked, and how (docs/language.md, "Axiomatic models: --memory lkmm"):
- assertions (`assert`) and `no_runtime_error`: some execution performs a failing step;
- an invariant over ONE process's locals and program counter: false at some step of it;
- a `reachable` goal over one process's locals and pc: true at some step of it;
- a condition on final states (an invariant or goal that can only be false, resp. true, when
  every process is Done -- how the litmus translation states `exists`/`forall`): shared
  locations have their coherence-last values, locals their values at Done;
- `no_data_race` (lkmm): the model's data-race flag; the execution names the racing pair.
Not checked: `deadlock_free` (an `await` that is never satisfied is a process that stops; it
is no error in an axiomatic model) and liveness; they are left out of the result and named in
`stats.notes`. An invariant or goal over shared memory at an arbitrary moment, or over several
processes' locals not at the end, has no meaning here: SpecError at the property.

Status: violated / holds (an invariant, assertion, no_data_race) or holds / unreached (a
goal), from one Z3 query each over the execution's well-formedness and the model's axioms;
when the answer is "no such execution" but an execution reaches the unrolling bound, the
status is `bounded` (RunResult.depth = K). `PropertyResult.execution` (runs/executions.py) is
the counterexample or witness: executed events per CPU in program order, each read's rf
source, each write's co position, final values, and for a race the flagged pair when the
model provides it (`Constraints.witnesses["data-race"](z3_model) -> pairs`).

Determinism: every run builds its own z3.Context (invariants/z3enc.py) and fixed solver
options, so the same question gets the same answer and the same execution.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import z3
from z3.z3core import Z3_solver_assert

from smp_explorer.invariants.axiomatic import terms as zt
from smp_explorer.invariants.axiomatic.build import Built, Node
from smp_explorer.invariants.axiomatic.execution import READ, WRITE, Constraints
from smp_explorer.invariants.axiomatic.models import get as get_model
from smp_explorer.invariants.z3enc import SymState
from smp_explorer.ir.expr import Const, Expr, Op, Ref, conjuncts, slots_read
from smp_explorer.ir.model import Model
from smp_explorer.ir.properties import DEADLOCK_NAME, RUNTIME_NAME, Kind, Property
from smp_explorer.runs.executions import ExecEvent, ExecutionTrace
from smp_explorer.runs.results import PropertyResult, RunResult, Stats
from smp_explorer.spec.errors import SpecError

RACE_FLAG = "data-race"
RACE_PROPERTY = "no_data_race"
NOT_CHECKED = "deadlock_free and liveness properties are not checked by an axiomatic model " \
    "(an await never satisfied is a process that stops)"

# fence(serialize) under lkmm is lowered as F[Mb] (spec/memory/events.py), never silently
SERIALIZE_NOTE = "fence(serialize) ({}) read as smp_mb(): the LKMM has no instruction-fetch " \
    "ordering; an x86 serializing instruction is at least a full barrier"


def run(model: Model, memory: str, *, unroll: int, properties: list[str] | None = None,
        timeout: float | None = None) -> RunResult:
    start = time.perf_counter()
    try:
        axiomatic = get_model(memory)
    except KeyError as err:
        raise SpecError(str(err.args[0])) from None
    if not any(a.events for a in model.actions) and any(s.shared for s in model.slots) and \
            model.memory != "lkmm":
        raise SpecError("the axiomatic engine needs the spec lowered to memory events "
                        "(load_model(..., memory='lkmm'))")
    serialize = sorted({e.span.line for a in model.actions for e in a.events
                        if e.serializing and e.span is not None}) if memory == "lkmm" else []
    built = Built(model, unroll)
    constraints = axiomatic.constrain(built)
    checker = _Checker(model, built, constraints, memory, timeout)
    wanted = checker.selected(properties)
    results = [checker.check(p) for p in wanted]
    stats = Stats(seconds=time.perf_counter() - start, engine="axiomatic")
    if any(p.kind in (Kind.DEADLOCK,) for p in model.properties) or model.liveness:
        stats.notes.append(NOT_CHECKED)
    if serialize:
        stats.notes.append(SERIALIZE_NOTE.format(", ".join(f"L{n}" for n in serialize)))
    return RunResult(model.name, memory, True, "exhausted", stats, results, engine="axiomatic",
                     depth=unroll)


class _Checker:
    def __init__(self, model: Model, built: Built, constraints: Constraints, memory: str,
                 timeout: float | None):
        self.model, self.b, self.c, self.memory = model, built, constraints, memory
        self.ctx = built.ctx
        self.timeout = timeout
        self.base = z3.Solver(ctx=self.ctx)
        self.base.set("random_seed", 0)
        if timeout is not None:
            self.base.set("timeout", max(1, int(timeout * 1000)))
        self._assert([self._bool(f) for f in built.facts])
        self._assert([ax for _, ax in constraints.axioms])
        self._bound: str | None = None
        self.owned: dict[int, set[int]] = {}
        for s, t in built.owner.items():
            self.owned.setdefault(t, set()).add(s)
        for t, p in enumerate(model.processes):
            self.owned.setdefault(t, set()).add(p.pc_slot)
        self._final_state: SymState | None = None
        self._serial: dict[int, int] = {}
        ctx = self.ctx
        self.all_done = zt.and_(ctx, *[zt.or_(ctx, [n.active for n in nodes] + [zt.false(ctx)])
                                       for nodes in built.done_nodes], zt.true(ctx))

    def _bool(self, b: object) -> z3.BoolRef:
        return b if isinstance(b, z3.BoolRef) else zt.boolean(self.ctx, bool(b))

    def _assert(self, terms: list[z3.BoolRef]) -> None:
        """self.base.add(*terms), without z3's per-term coercion (terms.py)."""
        ref, solver = self.ctx.ref(), self.base.solver
        for t in terms:
            Z3_solver_assert(ref, solver, t.as_ast())

    # ---- which properties -----------------------------------------------------------------
    def selected(self, names: list[str] | None) -> list[Property]:
        checkable = [p for p in self.model.properties
                     if p.kind not in (Kind.DEADLOCK, Kind.LIVENESS)]
        if RACE_FLAG in self.c.flags:
            checkable.append(Property(RACE_PROPERTY, Kind.INVARIANT, None, None,
                                      "no data race (the LKMM's definition)"))
        if names is None:
            return checkable
        by_name = {p.name: p for p in checkable}
        out = []
        for n in names:
            if n not in by_name:
                why = " (not checked by an axiomatic model)" if n == DEADLOCK_NAME or \
                    any(p.name == n for p in self.model.liveness) else ""
                raise SpecError(f"no property {n!r}{why} (checkable: {', '.join(by_name)})")
            out.append(by_name[n])
        return out

    # ---- one property ---------------------------------------------------------------------
    def check(self, p: Property) -> PropertyResult:
        goal = p.kind is Kind.REACHABLE
        target, note = self._target(p)
        status, zm = self._solve(target)
        line = p.span.line if p.span is not None else None
        result = PropertyResult(p.name, p.kind.value, "", p.description, line)
        if status == "sat":
            assert zm is not None
            result.status = "holds" if goal else "violated"
            result.execution = self._execution(zm, p)
            if not goal:
                result.message = note
            return result
        if status == "unknown":
            result.status = "unknown"
            result.message = "the solver gave no answer within the time limit"
            return result
        if self._bound_reached() == "sat":
            result.status = "bounded"
            result.message = (f"no execution {'reaches it' if goal else 'violates it'} within "
                              f"--unroll {self.b.unroll}, but some execution reaches that bound")
            return result
        if self._bound_reached() == "unknown":
            result.status = "unknown"
            result.message = "the solver gave no answer within the time limit (unwinding check)"
            return result
        result.status = "unreached" if goal else "holds"
        return result

    def _solve(self, target: z3.BoolRef) -> tuple[str, z3.ModelRef | None]:
        self.base.push()
        try:
            self.base.add(target)
            r = self.base.check()
            if r == z3.sat:
                return "sat", self.base.model()
            return ("unsat" if r == z3.unsat else "unknown"), None
        finally:
            self.base.pop()

    def _bound_reached(self) -> str:
        if self._bound is None:
            hit = zt.or_(self.ctx, [n.active for n in self.b.bound_nodes] + [zt.false(self.ctx)])
            self._bound = self._solve(hit)[0]
        return self._bound

    def _target(self, p: Property) -> tuple[z3.BoolRef, str | None]:
        """What an execution must satisfy to violate p (to reach it, for a goal)."""
        ctx = self.ctx
        f = zt.false(ctx)
        if p.name == RACE_PROPERTY and p.expr is None:
            return self.c.flags[RACE_FLAG], "two accesses race (LKMM data race)"
        if p.kind in (Kind.ASSERTION, Kind.RUNTIME):
            fails = []
            for n in self.b.nodes:
                for e in n.edges:
                    cond = e.failures.get(p.name)
                    if cond is not None and cond is not False:
                        fails.append(zt.and_(ctx, e.taken, self._bool(cond)))
            return zt.or_(ctx, fails + [f]), (None if p.kind is Kind.ASSERTION else
                                        "a step fails with a runtime error")
        expr = p.condition
        goal = p.kind is Kind.REACHABLE
        if self._final_only(expr, goal):
            st = self._final()
            val = self.b.enc.holds(expr, st)
            defined = self.b.enc.defined(expr, st)
            bad = zt.and_(ctx, self._bool(defined), self._bool(val)) if goal else \
                zt.and_(ctx, self._bool(defined), zt.not_(ctx, self._bool(val)))
            return zt.and_(ctx, self.all_done, bad), "false in a final state"
        # over one process's locals and pc at its steps; an invariant that is a conjunction
        # (a goal: a disjunction) of such conditions, e.g. `forall c: Cpu[c] at x implies ..`,
        # part by part
        parts: list[z3.BoolRef] = []
        whose: list[str] = []
        for part in (_disjuncts(expr) if goal else conjuncts(expr)):
            t = self._owner_of(part, p)
            whose.append(self.model.processes[t].name)
            for n in self.b.nodes:
                if n.thread == t:
                    val = self._bool(self.b.enc.holds(part, self._node_state(n)))
                    parts.append(zt.and_(ctx, n.active, val if goal else zt.not_(ctx, val)))
        return zt.or_(ctx, parts + [f]), (None if goal else f"false after a step of "
                                    f"{' or '.join(dict.fromkeys(whose))}")

    def _owner_of(self, part: Expr, p: Property) -> int:
        """The one process whose locals and pc `part` reads (SpecError if none such)."""
        used = slots_read(part)
        owners = {t for t, slots in self.owned.items() if used & slots}
        if any(self.model.slots[s].shared for s in used) or len(owners) > 1:
            what = "shared memory" if any(self.model.slots[s].shared for s in used) else \
                "the locals of several processes"
            raise SpecError(f"{p.kind.value} {p.name} reads {what} at an arbitrary moment, "
                            "which has no meaning in an axiomatic memory model (there is no "
                            "global state between steps): state it over one process's locals "
                            "and program counter, as an `assert` in the code, or over final "
                            "states (`P at Done and Q at Done and ... implies/and ...`)", p.span)
        return owners.pop() if owners else 0

    def _final_only(self, expr: Expr, goal: bool) -> bool:
        """Whether `expr` can only be false (an invariant; true: a goal) in states where every
        process is Done: then it is a condition on final states."""
        if _says_all_done(expr, goal, self.model):
            return True
        enc = self.b.enc
        st = enc.state("any")
        s = z3.Solver(ctx=self.ctx)
        s.add(self._bool(enc.in_types(st)))
        val = self._bool(enc.holds(expr, st))
        s.add(val if goal else z3.Not(val))
        s.add(z3.Or([st[p.pc_slot] != enc.num(p.done) for p in self.model.processes] +
                    [z3.BoolVal(False, self.ctx)]))
        return s.check() == z3.unsat

    def _node_state(self, n: Node) -> SymState:
        if not self._serial:
            self._serial = {id(m): k for k, m in enumerate(self.b.nodes)}
        k = self._serial[id(n)]  # names fixed by the unrolling, not by memory addresses
        terms = []
        pc = self.model.processes[n.thread].pc_slot
        for s in self.model.slots:
            if s.index in n.values:
                terms.append(n.values[s.index])
            elif s.index == pc:
                terms.append(self.b.enc.num(n.label))
            else:
                terms.append(self.b.enc.var(f"{s.name}@node{k}"))
        return SymState(self.b.enc, f"node{k}", terms)

    def _final(self) -> SymState:
        """The state after every process is Done: final shared values, locals at Done."""
        if self._final_state is not None:
            return self._final_state
        enc = self.b.enc
        terms = []
        pcs = {p.pc_slot: p for p in self.model.processes}
        for s in self.model.slots:
            if s.shared:
                terms.append(self.b.final[s.index])
            elif s.index in pcs:
                terms.append(enc.num(pcs[s.index].done))
            elif s.index in self.b.owner:
                v = enc.var(f"final:{s.name}")
                t = self.b.owner[s.index]
                for n in self.b.done_nodes[t]:
                    if s.index in n.values:
                        self._assert([zt.implies(enc.ctx, n.active,
                                                 zt.eq(enc.ctx, v, n.values[s.index]))])
                terms.append(v)
            else:
                terms.append(enc.num(self.model.init_values[s.index][0]))
        self._final_state = SymState(enc, "final", terms)
        return self._final_state

    # ---- the execution a report draws -------------------------------------------------------
    def _execution(self, zm: z3.ModelRef, p: Property) -> ExecutionTrace:
        b = self.b

        def val(t: Any) -> int:
            return b.enc.number(zm.eval(t, model_completion=True))

        def true(t: Any) -> bool:
            return z3.is_true(zm.eval(t, model_completion=True))

        done = [m for m in b.mem if true(m.executed)]
        index: dict[int, int] = {}
        counts: dict[int, int] = {}
        where: dict[int, str] = {}
        for m in done:
            index[m.event.id] = counts.get(m.event.thread, 0)
            counts[m.event.thread] = index[m.event.id] + 1
            if m.addr is not None:
                where[m.event.id] = self.model.slots[b.shared[val(m.addr)]].name
        # co positions per location
        co_index: dict[int, int] = {}
        by_loc: dict[str, list[tuple[int, int]]] = {}
        for m in done:
            if m.event.kind == WRITE:
                pos = 0 if m.event.thread < 0 else b._pos[m.event.id]
                by_loc.setdefault(where[m.event.id], []).append(
                    (pos if isinstance(pos, int) else zm.eval(pos, model_completion=True)
                     .as_long(), m.event.id))
        for writes in by_loc.values():
            for k, (_, eid) in enumerate(sorted(writes)):
                co_index[eid] = k
        rmw_pair: dict[int, int] = {}
        for r, w in b.static("rmw"):
            rmw_pair[r], rmw_pair[w] = w, r
        names = [pr.name for pr in self.model.processes]
        events = []
        for m in done:
            e = m.event
            source = None
            if e.kind == READ:
                for (w, r), v in b._rf.items():
                    if r == e.id and true(v):
                        source = w
            events.append(ExecEvent(
                e.id, names[e.thread] if e.thread >= 0 else None, index[e.id], e.kind,
                tuple(sorted(e.tags)), where.get(e.id), val(m.value) if m.value is not None
                else None, e.span.line if e.span is not None else None, e.label,
                e.text or None, source, co_index.get(e.id),
                rmw_pair.get(e.id) if rmw_pair.get(e.id) in index else None))
        final: dict[str, int] = {}
        for s in b.shared:
            final[self.model.slots[s].name] = val(b.final[s])
        for t, inst in enumerate(self.model.processes):
            last = self._last_node(zm, t)
            if last is None:
                continue
            for s, term in sorted(last.values.items()):
                if not self.model.slots[s].internal:
                    final[self.model.slots[s].name] = val(term)
        flagged: tuple[tuple[int, int], ...] = ()
        witness: Callable[[z3.ModelRef], Any] | None = self.c.witnesses.get(RACE_FLAG)
        if p.name == RACE_PROPERTY and witness is not None:
            flagged = tuple((int(x), int(y)) for x, y in witness(zm))
        return ExecutionTrace(self.memory, tuple(events), tuple(names), final, flagged)

    def _last_node(self, zm: z3.ModelRef, t: int) -> Node | None:
        best: Node | None = None
        for n in self.b.nodes:
            if n.thread == t and z3.is_true(zm.eval(n.active, model_completion=True)):
                if best is None or len(n.before) + sum(n.visits.values()) > \
                        len(best.before) + sum(best.visits.values()):
                    best = n
        return best


def _says_all_done(expr: Expr, goal: bool, model: Model) -> bool:
    """Whether `expr`'s shape alone says it can only be true (a goal) or false (an
    invariant) when every process is Done: a goal `P at Done and Q at Done and ... and C`, an
    invariant `not (P at Done and ...) or C` (how the litmus translation and
    `... at Done implies ...` lower). Saves the solver call that would prove the same."""
    if goal:
        parts = conjuncts(expr)
    else:
        nots = [a.args[0] for a in _disjuncts(expr)
                if isinstance(a, Op) and a.op == "not"]
        if len(nots) != 1:
            return False
        parts = conjuncts(nots[0])
    done: set[int] = set()
    for c in parts:
        if isinstance(c, Op) and c.op == "eq" and len(c.args) == 2:
            x, y = c.args
            if isinstance(y, Ref):
                x, y = y, x
            if isinstance(x, Ref) and isinstance(y, Const):
                done.update(t for t, p in enumerate(model.processes)
                            if p.pc_slot == x.slot and p.done == y.value)
    return len(done) == len(model.processes)


def _disjuncts(e: Expr) -> tuple[Expr, ...]:
    if isinstance(e, Op) and e.op == "or":
        return e.args
    return (e,)


__all__ = ["RACE_PROPERTY", "run", "RUNTIME_NAME"]
