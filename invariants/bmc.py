"""Bounded model checking: is a property violated within K steps of an initial state?

The meaning of "violated" is the explicit engine's, step for step (see `explorer.engines`):

- an invariant fails in a state where it is false and every checked invariant can be evaluated
  (when one cannot, the state is a `no_runtime_error` violation instead);
- an assertion or `no_runtime_error` fails by a step from a state: the trace is the path to that
  state plus the failing step;
- a deadlock is a state where every guard evaluates to false and some process has not
  terminated;
- a reachable goal is reached in a state where it holds and every goal can be evaluated.

The unrolling may stutter (see `invariants.unroll`), so one question at depth K asks whether any
pending property fails within K steps. Each property that can is then given its shortest
counterexample by bisection on the length, as breadth-first search would find it (only the
length is the same: BFS and Z3 may pick different interleavings of that length). One run gives
every property a verdict within the bound: a violation (for a goal, a witness) of the shortest
length, else `bounded`: nothing up to depth K.
"""
from __future__ import annotations

import time

import z3

from smp_explorer.runs.compiled import compile_model
from smp_explorer.runs.results import PropertyResult, RunResult
from smp_explorer.ir.properties import RUNTIME_NAME, Kind, Property
from smp_explorer.invariants.symbolic import (BOUNDED, Replayer, is_step_property,
                                             property_result, symbolic_result)
from smp_explorer.invariants.unroll import OutOfTime, Unrolling, true_in
from smp_explorer.invariants.z3enc import Bool, Encoder, SymState, conj, disj, negate
from smp_explorer.ir.model import Model


def selected_properties(model: Model, names: list[str] | None,
                        check_deadlock: bool) -> list[Property]:
    """The properties a run gives verdicts to, selected as `explorer.engines` does."""
    return [p for p in model.properties
            if not (p.kind is Kind.DEADLOCK and not check_deadlock)
            and not (p.per_state and names is not None and p.name not in names)]


class _Bmc:
    def __init__(self, model: Model, depth: int, properties: list[str] | None,
                 check_deadlock: bool, deadline: float | None):
        self.model = model
        self.depth = depth
        self.props = selected_properties(model, properties, check_deadlock)
        self.cm = compile_model(model, properties)
        self.invariants = [model.property(n) for n in self.cm.invariant_names]
        self.goals = [model.property(n) for n in self.cm.goal_names]
        self.enc = Encoder(model)
        self.replay = Replayer(model, self.cm)
        self.path = Unrolling(self.enc, "b", deadline, stutter=True, reduce=True)
        self.path.extend(depth)

    # what fails the property in state n ("state") or by a step from state n ("step")
    def in_state(self, p: Property, st: SymState) -> tuple[Bool, str]:
        enc = self.enc
        if p.kind is Kind.INVARIANT:
            return conj(enc.defined(p.condition, st), negate(enc.truth(p.condition, st))), "state"
        if p.kind is Kind.REACHABLE:
            return enc.holds(p.condition, st), "state"
        if p.kind is Kind.DEADLOCK:
            return enc.deadlock(st), "state"
        if p.name == RUNTIME_NAME:  # evaluating a checked invariant or goal fails
            return negate(conj(*(enc.defined(q.condition, st)
                                 for q in self.invariants + self.goals))), "evaluation"
        return False, "state"

    def by_step(self, p: Property, st: SymState) -> Bool:
        return self.enc.step_failure(p.name, st) if is_step_property(p) else False

    def within(self, p: Property, n: int) -> Bool:
        """p fails within n steps (the unrolling stutters: at state n, or by a step from
        state n - 1)."""
        states = self.path.states
        return disj(self.in_state(p, states[n])[0],
                    self.by_step(p, states[n - 1]) if n else False)

    def shortest(self, p: Property, m: z3.ModelRef) -> tuple:
        """The shortest counterexample of p, given a model where it fails within K steps:
        galloping (0, 1, 3, 7, ... steps), then bisection, each question over only the steps
        it needs."""
        lo, hi = 0, self.depth   # p fails within hi steps (model m), not within lo - 1
        probe = 0
        while probe < hi:
            found = self.path.check(self.within(p, probe), probe)
            if found is not None:
                hi, m = probe, found
                break
            lo = probe + 1
            probe = 2 * probe + 1
        while lo < hi:
            mid = (lo + hi) // 2
            found = self.path.check(self.within(p, mid), mid)
            if found is None:
                lo = mid + 1
            else:
                hi, m = mid, found
        n = hi
        states = self.path.states
        cond, where = self.in_state(p, states[n])
        if true_in(m, cond):
            walk, actions = self.path.decode(m, n)
            return self.replay.violation(p, walk, actions, where)
        walk, actions = self.path.decode(m, n - 1)
        hint = next((a.index for a in self.model.actions
                     if true_in(m, self.enc.action(a, states[n - 1]).failures.get(p.name, False))),
                    None)
        return self.replay.violation(p, walk, actions, "step", hint)

    def run(self) -> tuple[dict[str, PropertyResult], bool]:
        pending = {p.name: p for p in self.props}
        found: dict[str, PropertyResult] = {}
        try:
            while pending:
                m = self.path.check(disj(*(self.within(p, self.depth)
                                           for p in pending.values())))
                if m is None:
                    break
                hits = [p for p in pending.values() if true_in(m, self.within(p, self.depth))]
                for p in hits:
                    trace, message = self.shortest(p, m)
                    status = "holds" if p.kind is Kind.REACHABLE else "violated"
                    found[p.name] = property_result(p, status, message, trace)
                    del pending[p.name]
        except OutOfTime:
            return found, False
        return found, True


def bmc(model: Model, depth: int, properties: list[str] | None = None,
        check_deadlock: bool = True, memory: str | None = None,
        timeout: float | None = None) -> RunResult:
    """Every selected property's shortest violation (or goal's witness) within `depth` steps."""
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    try:
        engine = _Bmc(model, depth, properties, check_deadlock, deadline)
        found, complete = engine.run()
        props = engine.props
    except OutOfTime:
        props, found, complete = selected_properties(model, properties, check_deadlock), {}, False
    results = []
    for p in props:
        if p.name in found:
            results.append(found[p.name])
        elif not complete:
            results.append(property_result(p, "unknown", "the time limit ran out first", None))
        elif p.kind is Kind.REACHABLE:
            results.append(property_result(p, BOUNDED, f"not reached within {depth} steps", None))
        else:
            results.append(property_result(p, BOUNDED, f"no violation up to depth {depth}", None))
    return symbolic_result(model, memory, "bmc", depth, time.monotonic() - start, results,
                           complete, "bounded" if complete else "timeout")

