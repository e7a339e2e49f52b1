"""k-induction over the IR's transition relation: `explorer prove`.

A safety property is taken as a predicate on states (`Encoder.good`): an invariant evaluates to
true; no step from the state fails an assertion or with a runtime error; the state is not a
deadlock. It holds in every reachable state if, for some k,

- base: it holds in every state reachable in fewer than k steps (bounded model checking: a
  failure here is a real counterexample, reported as `violated` with its trace), and
- step: any k + 1 states within the declared types, each a step from the one before, all
  different (a simple path, which makes the method complete for finite models), the first k
  satisfying it, also satisfy it in the last one.

When the step fails for every k up to the limit, the last counterexample to induction is
reported (`not-inductive`): a path of states that need not be reachable, ending where the
property fails, so the user can see what to strengthen. Helper invariants (`assume`) are proved
together with the property (their conjunction must be k-inductive), so a proof never rests on an
unproved assumption.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from smp_explorer.runs.compiled import compile_model
from smp_explorer.runs.results import PropertyResult, RunResult, Trace
from smp_explorer.ir.expr import contains_partial
from smp_explorer.ir.properties import Kind, Property
from smp_explorer.invariants.symbolic import (NOT_INDUCTIVE, PROVED, Replayer, property_result,
                                             symbolic_result)
from smp_explorer.invariants.unroll import OutOfTime, Unrolling, true_in
from smp_explorer.invariants.z3enc import Bool, Encoder, SymState, conj, disj, negate
from smp_explorer.ir.model import Model


@dataclass
class _Failure:
    prop: Property         # the property (or helper) that fails
    trace: Trace
    message: str


class _Prover:
    def __init__(self, model: Model, deadline: float | None):
        self.model = model
        self.deadline = deadline
        self.enc = Encoder(model)
        self.cm = compile_model(model)
        self.replay = Replayer(model, self.cm)
        # evaluating these in a state can fail with a runtime error (explorer.engines)
        self.evaluated = [p for p in model.properties if p.expr is not None]
        self.base = Unrolling(self.enc, "i", deadline, stutter=True, reduce=True)
        self.queries = 0

    def good(self, p: Property, st: SymState) -> Bool:
        return self.enc.good(p, st, self.evaluated)

    def base_failure(self, props: list[Property], depth: int) -> _Failure | None:
        """A real counterexample: some prop fails within `depth` steps of an initial state."""
        self.base.extend(depth)
        for p in props:
            if self.base.check(negate(self.good(p, self.base.states[depth])), depth) is None:
                continue
            # the shortest one, as BFS would report it
            for n in range(depth + 1):
                m = self.base.check(negate(self.good(p, self.base.states[n])), n)
                if m is not None:
                    states, actions = self.base.decode(m, n)
                    trace, message = self.replay.failing_end(p, states, actions,
                                                             self.evaluated)
                    return _Failure(p, trace, message)
        return None

    def step_failure(self, props: list[Property], k: int) -> _Failure | None:
        """A counterexample to k-induction for the conjunction of `props`, or None."""
        self.queries += 1
        path = Unrolling(self.enc, f"k{self.queries}_", self.deadline, initial=False)
        path.extend(k)
        states = path.states
        for i in range(k):
            path.add(conj(*(self.good(p, states[i]) for p in props)))
        for i in range(k + 1):
            for j in range(i + 1, k + 1):
                path.add(self.enc.differ(states[i], states[j]))
        m = path.check(disj(*(negate(self.good(p, states[k])) for p in props)))
        if m is None:
            return None
        broken = next(p for p in props if not true_in(m, self.good(p, states[k])))
        walk, actions = path.decode(m)
        trace, message = self.replay.failing_end(broken, walk, actions, self.evaluated)
        return _Failure(broken, trace, message)

    def prove(self, target: Property, helpers: list[Property], k_max: int) -> list[PropertyResult]:
        props = [target] + [h for h in helpers if h.name != target.name]
        with_helpers = "" if len(props) == 1 else \
            " together with " + ", ".join(h.name for h in props[1:])
        cti: _Failure | None = None
        for k in range(1, k_max + 1):
            failed = self.base_failure(props, k - 1)
            if failed is not None:
                if failed.prop is target:
                    return [property_result(target, "violated", failed.message, failed.trace)]
                # a helper is false: it cannot help, and the user must see why
                return [property_result(target, "unknown",
                                f"not proved: the helper {failed.prop.name} is violated", None),
                        property_result(failed.prop, "violated", failed.message, failed.trace)]
            cti = self.step_failure(props, k)
            if cti is None:
                how = "inductive" if k == 1 else f"{k}-inductive"
                return [property_result(target, PROVED, f"proved: {how}{with_helpers}", None)]
        assert cti is not None
        steps = len(cti.trace)
        holds = target.name + with_helpers
        verb = "holds" if len(props) == 1 else "hold"
        broken = "" if cti.prop is target else f" (the helper {cti.prop.name} breaks)"
        k_text = "inductive" if k_max == 1 else f"k-inductive for any k up to {k_max}"
        start = f"from a state where {holds} {verb}, which need not be reachable" \
            if k_max == 1 else f"from states where {holds} {verb} (the first {k_max} of the " \
            "trace, which need not be reachable)"
        message = (f"not {k_text}: {start}, {steps} step{'s' if steps != 1 else ''} "
                   f"lead{'s' if steps == 1 else ''} to a failure{broken}: {cti.message}")
        result = property_result(target, NOT_INDUCTIVE, message, cti.trace)
        result.may_be_unreachable = True
        return [result]


def prove(model: Model, targets: list[str] | None = None, helpers: list[str] | None = None,
          k: int = 1, memory: str | None = None, timeout: float | None = None) -> RunResult:
    """Prove each target (default: every invariant) by k-induction, k = 1..`k`."""
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    names = targets if targets is not None else \
        [p.name for p in model.properties if p.kind is Kind.INVARIANT]
    if targets is None and any(contains_partial(model.property(n).condition) for n in names):
        # evaluating an invariant may fail: that is no_runtime_error's to report, as check does
        names += [p.name for p in model.properties if p.kind is Kind.RUNTIME]
    chosen = [model.property(n) for n in names]
    helping = [model.property(n) for n in helpers or []]
    results: list[PropertyResult] = []
    complete = True
    prover = _Prover(model, deadline)
    for target in chosen:
        if not complete:
            results.append(property_result(target, "unknown", "the time limit ran out first", None))
            continue
        try:
            for r in prover.prove(target, helping, k):
                if all(r.name != seen.name for seen in results):
                    results.append(r)
        except OutOfTime:
            complete = False
            results.append(property_result(target, "unknown", "the time limit ran out first", None))
    return symbolic_result(model, memory, "prove", k, time.monotonic() - start, results,
                           complete, "decided" if complete else "timeout")

