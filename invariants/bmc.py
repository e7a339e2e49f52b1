"""Bounded model checking: is a property violated within K steps of an initial state?

The questions are asked depth by depth, d = 0, 1, ..., K, so the first depth at which a property
can fail is its shortest counterexample, as in breadth-first search. The meaning of "fails" is
the explicit engine's, step for step (see `explorer.bfs`):

- an invariant fails in a state where it is false and every checked invariant can be evaluated
  (when one cannot, the state is a `no_runtime_error` violation instead);
- an assertion or `no_runtime_error` fails by a step from the last state: the trace is the path
  to that state plus the failing step;
- a deadlock is a state where every guard evaluates to false and some process has not
  terminated;
- a reachable goal is reached in a state where it holds and every goal can be evaluated.

One run gives every property a verdict within the bound: a violation (or, for a goal, a witness)
of the shortest length, else `bounded`: nothing up to depth K.
"""
from __future__ import annotations

import time

from explorer.codegen import compile_model
from explorer.results import PropertyResult
from invariants.properties import DEADLOCK_NAME, RUNTIME_NAME, Kind, Property
from invariants.runs import BOUNDED, Replayer, SymbolicRun, is_step_property
from invariants.unroll import OutOfTime, Unrolling, true_in
from invariants.z3enc import Bool, Encoder, conj, disj, negate
from ir.model import Model


def selected_properties(model: Model, names: list[str] | None,
                        check_deadlock: bool) -> list[Property]:
    """The properties a run gives verdicts to, as `explorer.bfs` selects them."""
    return [p for p in model.properties
            if not (p.kind is Kind.DEADLOCK and not check_deadlock)
            and not (p.per_state and names is not None and p.name not in names)]


def bmc(model: Model, depth: int, properties: list[str] | None = None,
        check_deadlock: bool = True, memory: str | None = None,
        timeout: float | None = None) -> SymbolicRun:
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    props = selected_properties(model, properties, check_deadlock)
    cm = compile_model(model, properties)
    invariants = [model.property(n) for n in cm.invariant_names]
    goals = [model.property(n) for n in cm.goal_names]
    enc = Encoder(model)
    replay = Replayer(model, cm)
    path = Unrolling(enc, "b", deadline)
    pending = {p.name: p for p in props}
    found: dict[str, PropertyResult] = {}

    def discover(preds: dict[str, Bool], where: dict[str, str], steps: int) -> None:
        live = {name: c for name, c in preds.items() if c is not False and name in pending}
        while live:
            m = path.check(disj(*live.values()))
            if m is None:
                return
            hits = [name for name, c in live.items() if true_in(m, c)]
            states, actions = path.decode(m)
            for name in hits:
                prop = pending.pop(name)
                del live[name]
                hint = None
                if where[name] == "step":
                    hint = next((a.index for a in model.actions
                                 if true_in(m, enc.action(a, path.states[-1]).failures
                                            .get(name, False))), None)
                trace, message = replay.violation(prop, states, actions, where[name], hint)
                assert len(trace) == steps
                status = "holds" if prop.kind is Kind.REACHABLE else "violated"
                found[name] = _result(prop, status, message, trace)

    complete = True
    try:
        for n in range(depth + 1):
            if not pending:
                break
            if n:
                path.extend()
            st = path.states[n]
            all_defined = conj(*(enc.defined(p.expr, st) for p in invariants))  # type: ignore[arg-type]
            goals_defined = conj(*(enc.defined(p.expr, st) for p in goals))  # type: ignore[arg-type]
            preds: dict[str, Bool] = {}
            where: dict[str, str] = {}
            for p in invariants:
                preds[p.name] = conj(all_defined, negate(enc.truth(p.expr, st)))  # type: ignore[arg-type]
                where[p.name] = "state"
            for p in goals:
                preds[p.name] = conj(goals_defined, enc.truth(p.expr, st))  # type: ignore[arg-type]
                where[p.name] = "state"
            preds[RUNTIME_NAME] = negate(all_defined)
            where[RUNTIME_NAME] = "invariant-error"
            preds[DEADLOCK_NAME] = enc.deadlock(st)
            where[DEADLOCK_NAME] = "state"
            discover(preds, where, n)
            if n < depth:
                steps = {p.name: enc.step_failure(p.name, st) for p in props
                         if is_step_property(p)}
                discover(steps, dict.fromkeys(steps, "step"), n + 1)
    except OutOfTime:
        complete = False
    results = []
    for p in props:
        if p.name in found:
            results.append(found[p.name])
        elif not complete:
            results.append(_result(p, "unknown", "the time limit ran out first", None))
        elif p.kind is Kind.REACHABLE:
            results.append(_result(p, BOUNDED, f"not reached within {depth} steps", None))
        else:
            results.append(_result(p, BOUNDED, f"no violation up to depth {depth}", None))
    return SymbolicRun(model.name, memory or model.memory, "bmc", depth,
                       time.monotonic() - start, results, complete,
                       "decided" if complete else "timeout")


def _result(p: Property, status: str, message: str | None, trace) -> PropertyResult:
    return PropertyResult(p.name, p.kind.value, status, p.description,
                          p.span.line if p.span else None, message, trace)
